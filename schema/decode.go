package schema

import (
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"cuelang.org/go/cue"
)

// This file decodes the unified, validated value into the model. It walks
// the value field by field (not through JSON) to keep declaration order and
// positions, applies the schema's defaults to absent fields and checks what
// the schema cannot: names, run versus children and durations in Go's
// terms.

// decodeTrees decodes the trees field of the unified value v.
func (l *loader) decodeTrees(v cue.Value) []*Node {
	if !l.user.LookupPath(cue.MakePath(cue.Str("trees"))).Exists() {
		if l.user.Err() != nil && len(l.errs) > 0 {
			return nil // the package did not build, as reported: no field exists
		}
		l.errs.Add(l.pkgPos, "missing field trees (a spec declares its trees as trees: <name>: {children: ...})")
		// Perhaps they are in a file CUE left out.
		for _, f := range l.inst.IgnoredFiles {
			if !strings.HasPrefix(filepath.Base(f.Filename), "_") && !strings.HasPrefix(filepath.Base(f.Filename), ".") {
				l.errs.Add(Pos{Filename: f.Filename, Line: 1, Column: 1}, excluded(f))
			}
		}
		return nil
	}
	path := []string{"trees"}
	tv := v.LookupPath(cue.MakePath(cue.Str("trees")))
	if !l.isStruct(tv, path) {
		return nil
	}
	var trees []*Node
	for _, f := range l.fields(tv, path) {
		n := &Node{Name: f.name, Tree: true, Pos: l.declPos(f.v)}
		if !n.Pos.IsValid() {
			n.Pos = l.pkgPos
		}
		trees = append(trees, n)
		l.decodeNode(f.v, n, append(slices.Clip(path), f.label), nil)
	}
	if len(trees) == 0 && !l.reported["trees"] {
		pos := l.labelPos(tv)
		if !pos.IsValid() {
			pos = l.pkgPos
		}
		l.errs.Add(pos, "trees: no trees declared")
	}
	slices.SortFunc(trees, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
	return trees
}

// field is a regular field of a struct value.
type field struct {
	name  string // the label
	label string // the label as written in a CUE path (quoted if need be)
	v     cue.Value
}

// fields returns the regular fields of v in order. When v is not a struct,
// it reports the error and returns nil.
func (l *loader) fields(v cue.Value, path []string) []field {
	var opts []cue.Option
	if l.strict {
		opts = append(opts, cue.Optional(true))
	}
	it, err := v.Fields(opts...)
	if err != nil {
		l.valueErr(v, path)
		return nil
	}
	var fs []field
	for it.Next() {
		sel := it.Selector()
		if !sel.IsString() {
			continue
		}
		if sel.ConstraintType() != 0 {
			l.unsure = true // an optional or required field: the schema decides
			continue
		}
		if it.Value().Err() != nil && l.required(v, sel.Unquoted()) {
			// A required field (db!: _) the spec did not fill in: listed
			// as a regular field in error, it is no child to decode.
			l.valueErr(it.Value(), append(slices.Clip(path), sel.Unquoted()))
			continue
		}
		fs = append(fs, field{name: sel.Unquoted(), label: sel.String(), v: it.Value()})
	}
	return fs
}

// required reports whether the struct v declares name as a required
// field (name!: ...).
func (l *loader) required(v cue.Value, name string) bool {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return false
	}
	for it.Next() {
		if sel := it.Selector(); sel.IsString() && sel.Unquoted() == name {
			return sel.ConstraintType() == cue.RequiredConstraint
		}
	}
	return false
}

// isStruct reports whether v is a struct, reporting an error if not. A
// struct with an error inside is an error value too, but still has its
// fields, which are decoded all the same.
func (l *loader) isStruct(v cue.Value, path []string) bool {
	if undecided(v) != "" {
		// Neither struct is the value: what either says is no fact.
		l.valueErr(v, path)
		return false
	}
	switch v.IncompleteKind() {
	case cue.StructKind:
		return true
	case cue.BottomKind:
		// An error with no field inside, such as a reference to a field
		// that is not there, is no struct: its error alone is reported,
		// not the fields a struct would lack.
		if it, err := v.Fields(cue.Optional(true)); err == nil && it.Next() {
			return true
		}
	}
	l.valueErr(v, path)
	return false
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// decodeNode decodes the tree or child v into n, whose Name, Pos and Tree
// are set. parent is the path of names of n's supervisor.
func (l *loader) decodeNode(v cue.Value, n *Node, path, parent []string) {
	n.Path = append(slices.Clip(parent), n.Name)
	n.CUEPath = strings.Join(path, ".")
	what := "child"
	if n.Tree {
		what = "tree"
	}
	if !nameRE.MatchString(n.Name) {
		l.errs.Add(n.Pos, Sprintf("%s: invalid %s name %q (a name matches [a-z][a-z0-9_-]*)", ClipPath(path, "."), what, n.Name))
	}
	o := l.object(v, path, n.Pos)
	if o == nil {
		return
	}
	d := &defaults
	supervisor := n.Tree || o.has("children")
	switch {
	case n.Tree:
	case supervisor && o.has("run"):
		_, pos := o.str("run", "")
		l.errs.Add(pos, ClipPath(path, ".")+": supervisor cannot have run (a child with children is a nested supervisor; a worker has run)")
	case !supervisor && !o.has("run") && !l.required(v, "run"): // run!: reported as required
		l.errs.Add(n.Pos, ClipPath(path, ".")+`: worker has no run (a child needs run: "Func", or children: {...} to be a nested supervisor)`)
	}

	if l.strict {
		allowed := supervisorFields
		switch {
		case !n.Tree && supervisor:
			allowed = append(slices.Clone(childFields), supervisorFields...)
		case !n.Tree:
			allowed = append(slices.Clone(childFields), workerFields...)
		}
		o.only(allowed)
	}
	if !n.Tree {
		n.Restart, n.RestartPos = o.str("restart", d.restart)
		n.Significant, n.SignificantPos = o.boolean("significant", d.significant)
		n.After, n.AfterPos = o.refs("after")
		if o.has("lease") {
			n.Lease = l.lease(o.object("lease"))
		}
	}
	if supervisor {
		n.Strategy, n.StrategyPos = o.str("strategy", d.strategy)
		n.Shutdown, n.ShutdownPos = o.duration("shutdown", d.treeShutdown)
		n.RestartLimit = l.limit(o.object("restartLimit"))
		n.Backoff = l.backoff(o.object("backoff"))
		n.Children = []*Node{}
		if !o.has("children") {
			return
		}
		cpath := o.sub("children")
		cv := o.fs["children"].v
		if !l.isStruct(cv, cpath) {
			return
		}
		for _, f := range l.fields(cv, cpath) {
			c := &Node{Name: f.name, Pos: l.declPos(f.v)}
			if !c.Pos.IsValid() {
				c.Pos = n.Pos
			}
			n.Children = append(n.Children, c)
			l.decodeNode(f.v, c, append(slices.Clip(cpath), f.label), n.Path)
		}
		// CUE keeps the order of the fields of one struct, but orders
		// fields from separate declarations of a struct (say, in two files)
		// by name. Declaration order is source order: by file, then by
		// position, the first label of each child counting.
		slices.SortStableFunc(n.Children, func(a, b *Node) int { return l.comparePos(a.Pos, b.Pos) })
		return
	}
	n.Run, n.RunPos = o.str("run", "")
	n.Shutdown, n.ShutdownPos = o.duration("shutdown", d.workerShutdown)
	if o.has("timeout") {
		n.Timeout, n.TimeoutPos = o.duration("timeout", 0)
	}
	n.Ready = l.probe(o.object("ready"))
	n.Heartbeat = l.probe(o.object("heartbeat"))
	if o.has("restartLimit") || o.has("pool") {
		// A pool always has a limit: its own intensity.
		n.RestartLimit = l.limit(o.object("restartLimit"))
	}
	if o.has("backoff") {
		n.Backoff = l.backoff(o.object("backoff"))
	}
	if o.has("pool") {
		l.pool(n, o.object("pool"))
	}
}

// pool decodes the pool block of the worker n.
func (l *loader) pool(n *Node, o *object) {
	if o == nil {
		return
	}
	if l.strict {
		o.only(subFields["pool"])
	}
	n.Pool = &Pool{Max: o.integer("max", 0), Pos: o.pos}
	if n.Significant {
		l.errs.Add(n.SignificantPos, Clip(n.CUEPath)+": a pool cannot be significant: the pool runs until its supervisor stops it, and an instance's end never ends the supervisor; remove significant")
	}
}

// lease decodes a lease block, applying the defaults.
func (l *loader) lease(o *object) *Lease {
	if o == nil {
		return nil
	}
	if l.strict {
		o.only(subFields["lease"])
	}
	le := &Lease{Pos: o.pos}
	le.Name, le.NamePos = o.str("name", "")
	if !o.has("name") {
		le.NamePos = Pos{}
	}
	le.TTL, le.TTLPos = o.duration("ttl", defaults.leaseTTL)
	return le
}

// limit decodes a restartLimit, applying the defaults.
func (l *loader) limit(o *object) *Limit {
	d := defaults.limit
	if o == nil {
		return &d
	}
	if l.strict {
		o.only(subFields["restartLimit"])
	}
	d.Max = o.integer("max", d.Max)
	d.Window, _ = o.duration("window", d.Window)
	d.Pos = o.pos
	return &d
}

// backoff decodes a backoff, applying the defaults.
func (l *loader) backoff(o *object) *Backoff {
	d := defaults.backoff
	if o == nil {
		return &d
	}
	if l.strict {
		o.only(subFields["backoff"])
	}
	d.Initial, _ = o.duration("initial", d.Initial)
	d.Max, _ = o.duration("max", d.Max)
	d.Multiplier = o.float("multiplier", d.Multiplier)
	d.Jitter = o.float("jitter", d.Jitter)
	d.ResetAfter, _ = o.duration("resetAfter", d.ResetAfter)
	d.Pos = o.pos
	return &d
}

// probe decodes a ready or heartbeat struct; nil when absent.
func (l *loader) probe(o *object) *Probe {
	if o == nil || !o.given {
		return nil
	}
	p := &Probe{Pos: o.pos}
	if o.l.strict {
		o.only(subFields["ready"])
	}
	if !o.has("timeout") {
		// CUE reports only one such incomplete field per struct; and none
		// when the struct itself was reported, such as an ambiguous
		// *{timeout: "1s"} | *{timeout: "2s"}, which misses no field.
		path := o.sub("timeout")
		if !o.l.reported[strings.Join(path, ".")] && !o.l.reported[strings.Join(o.path, ".")] {
			o.l.errs.Add(o.pos, fmt.Sprintf("%s: missing field timeout (%s)", ClipPath(path, "."), want[kDuration]))
		}
		return p
	}
	p.Timeout, _ = o.duration("timeout", 0)
	return p
}

// object is a struct being decoded: its regular fields by name, its path,
// and the position given to the fields left at their defaults.
type object struct {
	l     *loader
	path  []string
	pos   Pos
	given bool // the struct is in the spec, not just defaults
	fs    map[string]field
}

// object returns v as an object, or nil when v is in error or not a
// struct (which is reported).
func (l *loader) object(v cue.Value, path []string, pos Pos) *object {
	if !l.isStruct(v, path) {
		return nil
	}
	o := &object{l: l, path: path, pos: pos, given: true, fs: map[string]field{}}
	for _, f := range l.fields(v, path) {
		o.fs[f.name] = f
	}
	return o
}

// object returns the struct field name: its label position is the
// position of its defaulted fields. An absent field gives an empty object
// at o's position, so that all its fields take their defaults; a field in
// error gives nil.
func (o *object) object(name string) *object {
	f, ok := o.fs[name]
	if !ok {
		return &object{l: o.l, path: o.sub(name), pos: o.pos, fs: map[string]field{}}
	}
	return o.l.object(f.v, o.sub(name), o.fieldPos(f))
}

// only notes, in strict mode, a field that is not one of names.
func (o *object) only(names []string) {
	for name := range o.fs {
		if !slices.Contains(names, name) {
			o.l.unsure = true
		}
	}
}

func (o *object) has(name string) bool {
	_, ok := o.fs[name]
	return ok
}

// sub returns the path of the field name.
func (o *object) sub(name string) []string { return append(slices.Clip(o.path), name) }

// fieldPos returns the position of the label of field f.
func (o *object) fieldPos(f field) Pos {
	if p := o.l.labelPos(f.v); p.IsValid() {
		return p
	}
	return o.pos
}

// get returns the field name and its position; ok is false when the field
// is absent (pos is then o's) or in error (which is reported).
func (o *object) get(name string) (v cue.Value, pos Pos, ok bool) {
	f, ok := o.fs[name]
	if !ok {
		return cue.Value{}, o.pos, false
	}
	pos = o.fieldPos(f)
	if valueError(f.v) != nil {
		o.l.valueErr(f.v, o.sub(name))
		return cue.Value{}, pos, false
	}
	// The schema checked the value unified with it, but the decoder reads
	// the spec's own, which differs where the spec's default (*"x" | ...)
	// is one the schema rules out: check what is decoded.
	v = f.v
	if d, ok := v.Default(); ok {
		v = d
	}
	if k, _ := classify(o.sub(name)); v.IsConcrete() && check(k, v) != "" {
		o.l.valueErr(v, o.sub(name))
		return cue.Value{}, pos, false
	}
	return v, pos, true
}

// kindErr reports that the field name does not hold the expected kind,
// which the schema should have caught.
func (o *object) kindErr(name string, v cue.Value) {
	o.l.valueErr(v, o.sub(name))
}

func (o *object) str(name, def string) (string, Pos) {
	v, pos, ok := o.get(name)
	if !ok {
		return def, pos
	}
	s, err := v.String()
	if err != nil {
		o.kindErr(name, v)
		return def, pos
	}
	return s, pos
}

func (o *object) boolean(name string, def bool) (bool, Pos) {
	v, pos, ok := o.get(name)
	if !ok {
		return def, pos
	}
	b, err := v.Bool()
	if err != nil {
		o.kindErr(name, v)
		return def, pos
	}
	return b, pos
}

func (o *object) integer(name string, def int) int {
	v, pos, ok := o.get(name)
	if !ok {
		return def
	}
	n, err := v.Int64()
	if err != nil || n > math.MaxInt32 {
		if v.Kind() == cue.IntKind {
			o.l.errs.Add(o.l.valuePosOr(v, pos), fmt.Sprintf("%s: invalid value %s (%s)", ClipPath(o.sub(name), "."), show(v), intRange))
		} else {
			o.kindErr(name, v)
		}
		return def
	}
	return int(n)
}

func (o *object) float(name string, def float64) float64 {
	v, pos, ok := o.get(name)
	if !ok {
		return def
	}
	x, err := v.Float64()
	if err != nil {
		if v.Kind()&cue.NumberKind != 0 {
			o.l.errs.Add(o.l.valuePosOr(v, pos), fmt.Sprintf("%s: invalid value %s (%s)", ClipPath(o.sub(name), "."), show(v), floatRange(x)))
		} else {
			o.kindErr(name, v)
		}
		return def
	}
	return x
}

// duration decodes a duration, checking it with time.ParseDuration.
func (o *object) duration(name string, def time.Duration) (time.Duration, Pos) {
	v, pos, ok := o.get(name)
	if !ok {
		return def, pos
	}
	s, err := v.String()
	if err != nil {
		o.kindErr(name, v)
		return def, pos
	}
	d, msg := parseDuration(s)
	if msg != "" {
		o.l.errs.Add(o.l.valuePosOr(v, pos), ClipPath(o.sub(name), ".")+": "+msg)
		return def, pos
	}
	return d, pos
}

// refs decodes a list of names; an absent list is empty.
func (o *object) refs(name string) ([]Ref, Pos) {
	refs := []Ref{}
	v, pos, ok := o.get(name)
	if !ok {
		return refs, pos
	}
	it, err := v.List()
	if err != nil {
		o.kindErr(name, v)
		return refs, pos
	}
	for i := 0; it.Next(); i++ {
		e := it.Value()
		s, err := e.String()
		if err != nil {
			o.l.valueErr(e, append(o.sub(name), fmt.Sprint(i)))
			continue
		}
		refs = append(refs, Ref{Name: s, Pos: o.l.valuePosOr(e, pos)})
	}
	return refs, pos
}

// comparePos orders positions by file (in the order of Spec.Files), line
// and column; invalid positions come last.
func (l *loader) comparePos(a, b Pos) int {
	fa, fb := l.fileIndex(a), l.fileIndex(b)
	if fa != fb {
		return cmp.Compare(fa, fb)
	}
	return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
}

func (l *loader) fileIndex(p Pos) int {
	if !p.IsValid() {
		return len(l.files) + 1
	}
	if i := slices.Index(l.files, p.Filename); i >= 0 {
		return i
	}
	return len(l.files)
}
