package schema

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// This file turns CUE errors into positioned, readable errors.
//
// A wrong value usually gives several CUE errors at the same path (one per
// branch of a disjunction such as *"one_for_one" | "one_for_all" | ...).
// When the user's own value at that path is concrete, it is checked here
// against the field's rule and the group is replaced by one message such
// as `invalid value "x" (must be one_for_one, one_for_all or
// rest_for_one)`. Other errors keep CUE's message, without the
// disjunction headers and with a position in the user's files.

// kind is what the schema expects at a path.
type kind int

const (
	kNone       kind = iota
	kTrees           // trees
	kTree            // trees.x
	kChildren        // ....children
	kChild           // ....children.x
	kStrategy        // strategy
	kRestart         // restart
	kDuration        // shutdown, timeout, window, initial, ...
	kMax             // restartLimit.max
	kMultiplier      // backoff.multiplier
	kJitter          // backoff.jitter
	kRun             // run
	kBool            // significant
	kAfter           // after
	kAfterElem       // after[i]
	kLimit           // restartLimit
	kBackoff         // backoff
	kProbe           // ready, heartbeat
	kPool            // pool
	kLease           // lease
	kLeaseName       // lease.name
)

// classify returns what the schema expects at path, and for a path under a
// tree, the length of the path of the innermost node (tree or child) at or
// above it.
func classify(path []string) (k kind, node int) {
	if len(path) == 0 || path[0] != "trees" {
		return kNone, 0
	}
	if len(path) == 1 {
		return kTrees, 0
	}
	node = 2
	k = kTree
	i := 2
	for i < len(path) {
		f := path[i]
		rest := len(path) - i - 1
		switch f {
		case "children":
			if rest == 0 {
				return kChildren, node
			}
			i += 2
			node = i
			k = kChild
			continue
		case "restartLimit":
			switch {
			case rest == 0:
				return kLimit, node
			case rest == 1 && path[i+1] == "max":
				return kMax, node
			case rest == 1 && path[i+1] == "window":
				return kDuration, node
			}
		case "backoff":
			switch {
			case rest == 0:
				return kBackoff, node
			case rest == 1 && path[i+1] == "multiplier":
				return kMultiplier, node
			case rest == 1 && path[i+1] == "jitter":
				return kJitter, node
			case rest == 1 && (path[i+1] == "initial" || path[i+1] == "max" || path[i+1] == "resetAfter"):
				return kDuration, node
			}
		case "ready", "heartbeat":
			switch {
			case rest == 0:
				return kProbe, node
			case rest == 1 && path[i+1] == "timeout":
				return kDuration, node
			}
		case "pool":
			switch {
			case rest == 0:
				return kPool, node
			case rest == 1 && path[i+1] == "max":
				return kMax, node
			}
		case "lease":
			switch {
			case rest == 0:
				return kLease, node
			case rest == 1 && path[i+1] == "name":
				return kLeaseName, node
			case rest == 1 && path[i+1] == "ttl":
				return kDuration, node
			}
		case "after":
			switch {
			case rest == 0:
				return kAfter, node
			case rest == 1 && isIndex(path[i+1]):
				return kAfterElem, node
			}
		case "strategy", "restart", "shutdown", "timeout", "run", "significant":
			if rest == 0 {
				return map[string]kind{
					"strategy": kStrategy, "restart": kRestart, "shutdown": kDuration,
					"timeout": kDuration, "run": kRun, "significant": kBool,
				}[f], node
			}
		}
		return kNone, node
	}
	return k, node
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && s != "" && s[0] != '-' && s[0] != '+'
}

// want describes the values allowed for k, for messages.
var want = map[kind]string{
	kTrees:      "must be a struct of trees, such as trees: shop: {children: ...}",
	kTree:       "a tree must be a struct, such as {children: ...}",
	kChildren:   "must be a struct of children, such as {db: {run: \"Func\"}}",
	kChild:      `a child must be a struct: {run: "Func"} for a worker or {children: ...} for a nested supervisor`,
	kStrategy:   "must be one_for_one, one_for_all or rest_for_one",
	kRestart:    "must be permanent, transient or temporary",
	kDuration:   `must be a duration such as "100ms", "10s" or "1m30s"`,
	kMax:        "must be an integer >= 0",
	kMultiplier: "must be a number >= 1",
	kJitter:     "must be a number from 0 to 1",
	kRun:        `must be a string naming a Go function or method, such as "Serve" or "(*Pool).Run"`,
	kBool:       "must be true or false",
	kAfter:      `must be a list of sibling names, such as ["db"]`,
	kAfterElem:  "must be a sibling name",
	kLimit:      `must be a struct such as {max: 5, window: "10s"}`,
	kBackoff:    `must be a struct such as {initial: "100ms", max: "10s"}`,
	kProbe:      `must be a struct such as {timeout: "10s"}`,
	kPool:       "must be a struct such as {max: 100}, or {} for no cap",
	kLease:      `must be a struct such as {ttl: "15s"}, or {} for the defaults`,
	kLeaseName:  `must be a string such as "shop/scheduler"`,
}

// durationRE is the schema's #Duration.
var durationRE = regexp.MustCompile(`^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// parseDuration parses a spec duration; msg is non-empty when s is not one.
func parseDuration(s string) (time.Duration, string) {
	if !durationRE.MatchString(s) {
		if d, err := time.ParseDuration(s); err == nil && strings.HasPrefix(s, "-") && d < 0 {
			return 0, Sprintf("invalid duration %q (a duration here is never negative)", s)
		}
		return 0, Sprintf("invalid duration %q (%s)", s, want[kDuration])
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, Sprintf("invalid duration %q (out of range: at most about 290 years)", s)
	}
	if d == 0 && strings.ContainsAny(s, "123456789") {
		// Go counts whole nanoseconds: "0.5ns" would silently be "0s".
		return 0, Sprintf("invalid duration %q (less than a nanosecond, the smallest step: it would be 0s)", s)
	}
	return d, ""
}

// valueError returns the error of v. A field that refers to a value in
// error (run: _r, where _r conflicts) is bottom without an Err of its own:
// its error is the referred value's, which Validate returns.
func valueError(v cue.Value) error {
	if err := v.Err(); err != nil || v.Kind() != cue.BottomKind {
		return err
	}
	return v.Validate()
}

// check checks the user's concrete value v against k and returns a
// message when it is wrong.
func check(k kind, v cue.Value) string {
	bad := func() string { return fmt.Sprintf("invalid value %s (%s)", show(v), want[k]) }
	switch k {
	case kTrees, kTree, kChildren, kChild, kLimit, kBackoff, kProbe, kPool, kLease:
		if v.Kind() != cue.StructKind {
			return bad()
		}
	case kLeaseName:
		if v.Kind() != cue.StringKind {
			return bad()
		}
	case kStrategy, kRestart:
		s, err := v.String()
		ok := map[string]bool{
			"one_for_one": k == kStrategy, "one_for_all": k == kStrategy, "rest_for_one": k == kStrategy,
			"permanent": k == kRestart, "transient": k == kRestart, "temporary": k == kRestart,
		}
		if err != nil || !ok[s] {
			return bad()
		}
	case kDuration:
		s, err := v.String()
		if err != nil {
			return bad()
		}
		if _, msg := parseDuration(s); msg != "" {
			return msg
		}
	case kMax:
		if v.Kind() == cue.FloatKind {
			// 1.0 and 1e2 are floats in CUE, however whole.
			if x, err := v.Float64(); err == nil && x >= 0 && x <= math.MaxInt32 && x == math.Trunc(x) {
				return fmt.Sprintf("invalid value %s (%s: CUE reads it as a float; write %d)", show(v), want[k], int64(x))
			}
		}
		if v.Kind() != cue.IntKind {
			return bad()
		}
		n, err := v.Int64()
		if err != nil || n > math.MaxInt32 {
			return fmt.Sprintf("invalid value %s (%s)", show(v), intRange)
		}
		if n < 0 {
			return bad()
		}
	case kMultiplier, kJitter:
		if v.Kind()&cue.NumberKind == 0 {
			return bad()
		}
		x, err := v.Float64() // rounded to ±Inf or 0 when out of range
		if x < 0 || (k == kMultiplier && x < 1) || (k == kJitter && x > 1) {
			return bad()
		}
		if err != nil {
			// Within the bounds, but no float64 holds it: 1e309, 1e-400.
			return fmt.Sprintf("invalid value %s (%s)", show(v), floatRange(x))
		}
	case kRun, kAfterElem:
		if v.Kind() != cue.StringKind {
			return bad()
		}
	case kBool:
		if v.Kind() != cue.BoolKind {
			return bad()
		}
	case kAfter:
		if v.Kind() != cue.ListKind {
			return bad()
		}
	}
	return ""
}

// intRange says why an integer is out of range: the generated file writes
// it as an int, which must fit in the int of every build of it, 32-bit
// ones (GOARCH=386, arm) included.
var intRange = fmt.Sprintf("out of range: at most %d, the largest int of a 32-bit build", math.MaxInt32)

// floatRange says why a number is out of range, given what Float64 made of
// it: ±Inf, or 0.
func floatRange(x float64) string {
	if x == 0 {
		return "out of range: too close to 0 for a float64; write 0"
	}
	return "out of range: too large for a float64"
}

// show formats a user's value for a message: scalars as CUE writes them,
// composite values by their kind.
func show(v cue.Value) string {
	if op, alts := v.Expr(); op == cue.OrOp {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = show(a)
		}
		return Clip(strings.Join(parts, " | "))
	}
	switch v.Kind() {
	case cue.StringKind:
		if s, err := v.String(); err == nil {
			return Quote(s)
		}
	case cue.StructKind:
		return "(a struct)"
	case cue.ListKind:
		return "(a list)"
	}
	return Clip(fmt.Sprint(v))
}

// addCUE reports the CUE errors in err.
func (l *loader) addCUE(err error) { l.addErrors(cueerrors.Errors(err)) }

// addCUEError reports the single CUE error e.
func (l *loader) addCUEError(e cueerrors.Error) { l.addErrors([]cueerrors.Error{e}) }

// addErrors reports CUE errors, grouped by path.
func (l *loader) addErrors(list []cueerrors.Error) {
	type group struct {
		path []string
		errs []cueerrors.Error
	}
	var groups []*group
	byPath := map[string]*group{}
	for _, e := range list {
		path := e.Path()
		if len(path) > 0 && path[0] == "#Spec" {
			path = path[1:]
		}
		key := strings.Join(path, ".")
		g := byPath[key]
		if g == nil {
			g = &group{path: path}
			byPath[key] = g
			groups = append(groups, g)
		}
		g.errs = append(g.errs, e)
	}
	for _, g := range groups {
		l.addGroup(g.path, g.errs)
	}
}

// hiddenPkg is the package CUE prints after a hidden field's name.
var hiddenPkg = regexp.MustCompile(`(\b_[\pL\pN_]*)\(:[^()\s]*\)`)

// declaredAt is a second line of a CUE error that names another place.
var declaredAt = regexp.MustCompile(`^\s*previous declaration at (.+):(\d+):(\d+)$`)

var disjunctionHeader = regexp.MustCompile(`^\d+ errors in empty disjunction:?$`)

// addGroup reports the CUE errors errs, which share the path.
func (l *loader) addGroup(path []string, errs []cueerrors.Error) {
	key := strings.Join(path, ".")
	l.reported[key] = true
	prefix := ""
	if key != "" {
		prefix = ClipPath(path, ".") + ": "
	}
	if pos, msg, ok := l.rewrite(path, errs); ok {
		l.errs.Add(pos, prefix+msg)
		return
	}
	if own := l.ownErrors(path); len(own) > 0 && key != "" {
		// (At the root, Err gives the first error only, not errs.)
		// The spec conflicts with itself: say so with the values it wrote,
		// not with the schema's alternatives that each of them fails.
		errs = own
	}
	for _, e := range errs {
		msg := cueerrors.StringWithConfig(e, &cueerrors.Config{OmitPath: true})
		if disjunctionHeader.MatchString(msg) && len(errs) > 1 {
			continue
		}
		msg = strings.TrimSuffix(msg, ":")
		msg = hiddenPkg.ReplaceAllString(msg, "$1") // _more(:shop), CUE's name of a hidden field
		msg = strings.ReplaceAll(msg, `=~"^(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$"`, "#Duration")
		if msg == "field not allowed" {
			msg += l.notAllowedHint(path)
		}
		if strings.HasPrefix(msg, "incomplete value ") {
			msg = l.incomplete(path, msg)
		}
		// CUE's own second lines, such as "\tprevious declaration at
		// file:line:col": one line per error, the place as also-at.
		var prev []Pos
		if first, rest, ok := strings.Cut(msg, "\n"); ok {
			msg = first
			for _, line := range strings.Split(rest, "\n") {
				if m := declaredAt.FindStringSubmatch(line); m != nil {
					ln, _ := strconv.Atoi(m[2])
					col, _ := strconv.Atoi(m[3])
					prev = append(prev, Pos{Filename: m[1], Line: ln, Column: col})
				} else if line = strings.TrimSpace(line); line != "" {
					msg += "; " + line
				}
			}
		}
		if key == "" {
			msg += l.syntaxHint(e.Position())
		}
		if r := []rune(msg); len(r) > 300 {
			// Such as a conflict with a whole struct, printed in full.
			msg = string(r[:297]) + "..."
		}
		var at []Pos
		for _, p := range append([]token.Pos{e.Position()}, e.InputPositions()...) {
			if l.isUser(p) && !slices.Contains(at, position(p)) {
				at = append(at, position(p))
			}
		}
		if len(at) == 0 {
			at = append(at, l.fallbackPos(path))
		}
		err := &Error{Pos: at[0], Msg: prefix + msg}
		if strings.HasPrefix(msg, "conflicting values") {
			// Every side of a conflict, in source order.
			slices.SortFunc(at, l.comparePos)
			err.Pos, err.Also = at[0], at[1:]
		}
		for _, p := range prev {
			if p != err.Pos && !slices.Contains(err.Also, p) {
				err.Also = append(err.Also, p)
			}
		}
		l.errs = append(l.errs, err)
	}
}

// hyphenated is a name with a hyphen at the end of a line's text.
var hyphenated = regexp.MustCompile(`(?:^|[\s{,])([a-z][a-z0-9_]*(?:-[a-z0-9_]+)+)\s*$`)

// syntaxHint explains a syntax error just after a name with a hyphen,
// such as http-server: {...}, which CUE reads as a subtraction, or inside
// an unquoted duration, shutdown: 10s: CUE reports only a missing comma.
func (l *loader) syntaxHint(p token.Pos) string {
	if !p.IsValid() || p.Line() < 1 {
		return ""
	}
	src, ok := l.overlay[p.Filename()]
	if !ok {
		var err error
		if src, err = os.ReadFile(p.Filename()); err != nil {
			return ""
		}
	}
	lines := bytes.Split(src, []byte("\n"))
	if p.Line() > len(lines) || p.Column() < 1 || p.Column()-1 > len(lines[p.Line()-1]) {
		return ""
	}
	before := string(lines[p.Line()-1][:p.Column()-1])
	after := strings.TrimSpace(string(lines[p.Line()-1][p.Column()-1:]))
	if m := hyphenated.FindStringSubmatch(before); m != nil && strings.HasPrefix(after, ":") {
		return Sprintf(" (quote a name with a hyphen: %q:)", m[1])
	}
	// shutdown: 10s is the number 10 and a stray s to CUE.
	if m, u := unquotedNumber.FindStringSubmatch(before), durationTail.FindString(after); m != nil && u != "" {
		if _, err := time.ParseDuration(m[1] + u); err == nil {
			return Sprintf(" (a duration is a string: %q)", m[1]+u)
		}
	}
	return ""
}

var (
	unquotedNumber = regexp.MustCompile(`:\s*([0-9]+(?:\.[0-9]+)?)$`)
	durationTail   = regexp.MustCompile(`^(?:[0-9.]*(?:ns|us|µs|μs|ms|s|m|h))+`)
)

// incomplete rewrites CUE's message about a value left open at path, which
// shows the value unified with the schema (#Duration, a regular
// expression), with the value the spec wrote and what the field wants.
func (l *loader) incomplete(path []string, msg string) string {
	k, _ := classify(path)
	cp, ok := l.cuePath(path)
	if !ok || !l.user.Exists() {
		return msg
	}
	v := l.user.LookupPath(cp)
	if m := undecided(v); m != "" {
		return m
	}
	if want[k] == "" {
		return msg
	}
	if !v.Exists() || v.IsConcrete() || v.Err() != nil || (v.IncompleteKind() != cue.TopKind && v.IncompleteKind()&(cue.StructKind|cue.ListKind) != 0) {
		return msg // CUE shows a struct or a list better than show does
	}
	return fmt.Sprintf("incomplete value %s (%s)", show(v), want[k])
}

// undecided describes v when it is a disjunction without a default (or
// with several), of which CUE's own message shows every alternative
// unified with the schema: the value the spec wrote, in short, and how to
// pick one. It returns "" for any other value.
func undecided(v cue.Value) string {
	why := "%d alternatives and no default: mark the one to use with *"
	if d, ok := v.Default(); ok {
		v, why = d, "%d alternatives are marked the default: keep one *"
	}
	op, alts := v.Eval().Expr() // one disjunction, however many fields declare it
	if op != cue.OrOp || len(alts) < 2 {
		return ""
	}
	parts := make([]string, len(alts))
	for i, a := range alts {
		parts[i] = shortAlt(a)
	}
	return fmt.Sprintf("incomplete value %s ("+why+")", strings.Join(parts, " | "), len(alts))
}

// shortAlt shows one alternative of a disjunction: a scalar as show does, a
// struct or a list on one line if it is short, else as {...} or [...].
func shortAlt(v cue.Value) string {
	k := v.IncompleteKind()
	if k != cue.StructKind && k != cue.ListKind {
		return show(v)
	}
	// CUE prints a struct's fields one a line, aligned, without commas.
	var lines []string
	nested := false
	for line := range strings.Lines(fmt.Sprint(v)) {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			nested = nested || len(lines) > 0 && strings.HasSuffix(line, "{")
			lines = append(lines, line)
		}
	}
	s := strings.Join(lines, " ")
	if n := len(lines); n > 2 && lines[0] == "{" && lines[n-1] == "}" {
		s = "{" + strings.Join(lines[1:n-1], ", ") + "}"
	}
	if !nested && len(s) <= 40 {
		return s
	}
	if k == cue.StructKind {
		return "{...}"
	}
	return "[...]"
}

// ownErrors returns the errors of the user's value at path, without the
// schema, when the spec's own values conflict there.
func (l *loader) ownErrors(path []string) []cueerrors.Error {
	if !l.user.Exists() {
		return nil
	}
	cp, ok := l.cuePath(path)
	if !ok {
		return nil
	}
	err := valueError(l.user.LookupPath(cp))
	if err == nil {
		return nil
	}
	var own []cueerrors.Error
	for _, e := range cueerrors.Errors(err) {
		if slices.Equal(e.Path(), path) {
			own = append(own, e)
		}
	}
	return own
}

// rewrite replaces a group of CUE errors at path by one message when the
// user's value there breaks a rule of the schema.
func (l *loader) rewrite(path []string, errs []cueerrors.Error) (Pos, string, bool) {
	k, _ := classify(path)
	if k == kNone || !l.user.Exists() {
		return Pos{}, "", false
	}
	cp, ok := l.cuePath(path)
	if !ok {
		return Pos{}, "", false
	}
	v := l.user.LookupPath(cp)
	if !v.Exists() {
		// The fields the schema requires: ready.timeout and
		// heartbeat.timeout.
		n := len(path)
		if n < 2 || path[n-1] != "timeout" || (path[n-2] != "ready" && path[n-2] != "heartbeat") {
			return Pos{}, "", false
		}
		if pp, ok := l.cuePath(path[:n-1]); !ok || !l.user.LookupPath(pp).Exists() {
			return Pos{}, "", false
		}
		return l.fallbackPos(path), fmt.Sprintf("missing field %s (%s)", path[len(path)-1], want[k]), true
	}
	if err := valueError(v); err != nil && v.Err() == nil {
		// A reference to a value in error, reported where it is: say so
		// here, rather than print the bottom value or the schema's side.
		if errs := cueerrors.Errors(err); len(errs) > 0 && !slices.Equal(errs[0].Path(), path) {
			pos := l.valuePos(v)
			if !pos.IsValid() {
				pos = l.fallbackPos(path)
			}
			return pos, fmt.Sprintf("refers to %s, which is in error", ClipPath(errs[0].Path(), ".")), true
		}
	}
	if d, ok := v.Default(); ok {
		v = d // the spec's own default, such as *"1s" | string
	}
	if op, alts := v.Expr(); op == cue.OrOp && !v.IsConcrete() && noneAllowed(k, alts) {
		// Once, not once for each value the schema allows.
		pos := l.valuePos(v)
		if !pos.IsValid() {
			pos = l.fallbackPos(path)
		}
		return pos, fmt.Sprintf("invalid value %s (%s; none of them is)", show(v), want[k]), true
	}
	if valueError(v) != nil || !v.IsConcrete() {
		return Pos{}, "", false
	}
	msg := check(k, v)
	if msg != "" {
		msg = misplaced(k, path, v, msg)
	}
	if msg == "" && k == kAfter {
		// A list, but of what?
		it, _ := v.List()
		for it.Next() {
			if e := it.Value(); e.Kind() != cue.StringKind {
				msg = fmt.Sprintf("invalid element %s (%s)", show(e), want[kAfter])
				v = e
				break
			}
		}
	}
	if msg == "" {
		return Pos{}, "", false
	}
	pos := l.valuePos(v)
	if !pos.IsValid() {
		pos = l.fallbackPos(path)
	}
	return pos, msg, true
}

// misplaced returns msg, the message for the value v of the child at path
// that is no struct, or, when the child's name is a field of a node (run,
// shutdown), a message that says a node's fields went into children.
func misplaced(k kind, path []string, v cue.Value, msg string) string {
	if k != kChild || v.Kind() == cue.StructKind || len(path) < 2 {
		return msg
	}
	name := path[len(path)-1]
	if !slices.Contains(workerFields, name) && !slices.Contains(childFields, name) && !slices.Contains(supervisorFields, name) {
		return msg
	}
	example := show(v)
	if strings.HasPrefix(example, "(") {
		example = "..." // (a list)
	}
	return Sprintf("invalid value %s (%s is a field, not a child: children holds children by name, such as children: {api: {%s: %s}})", show(v), name, name, example)
}

// noneAllowed reports whether every alternative of a user's disjunction
// is concrete and breaks the rule of k.
func noneAllowed(k kind, alts []cue.Value) bool {
	for _, a := range alts {
		if !a.IsConcrete() || check(k, a) == "" {
			return false
		}
	}
	return len(alts) > 0
}

// cuePath converts an error path back to a cue.Path, with the user's
// package for hidden fields (CUE reports a structural cycle in a helper
// without a position: fallbackPos finds the helper's).
func (l *loader) cuePath(path []string) (cue.Path, bool) {
	sels := make([]cue.Selector, 0, len(path))
	for _, s := range path {
		switch {
		case s == "":
			return cue.Path{}, false
		case isIndex(s):
			n, _ := strconv.Atoi(s)
			sels = append(sels, cue.Index(n))
		case s[0] == '"':
			u, err := literal.Unquote(s)
			if err != nil {
				return cue.Path{}, false
			}
			sels = append(sels, cue.Str(u))
		case s[0] == '#':
			sels = append(sels, cue.Def(s))
		case s[0] == '_':
			if l.inst == nil {
				return cue.Path{}, false
			}
			// The user's helper: a hidden field is scoped by its package.
			sels = append(sels, cue.Hid(s, l.inst.ID()))
		default:
			sels = append(sels, cue.Str(s))
		}
	}
	p := cue.MakePath(sels...)
	return p, p.Err() == nil
}

// fallbackPos returns the position of the nearest label at or above path
// in the user's files, or the package clause.
func (l *loader) fallbackPos(path []string) Pos {
	if l.user.Exists() {
		for i := len(path); i > 0; i-- {
			cp, ok := l.cuePath(path[:i])
			if !ok {
				continue
			}
			if v := l.user.LookupPath(cp); v.Exists() {
				if p := l.labelPos(v); p.IsValid() {
					return p
				}
			}
		}
	}
	return l.pkgPos
}

// Fields of nodes, for hints.
var (
	supervisorFields = []string{"strategy", "restartLimit", "backoff", "shutdown", "children"}
	childFields      = []string{"restart", "after", "significant", "lease"}
	workerFields     = []string{"run", "shutdown", "timeout", "ready", "heartbeat", "restartLimit", "backoff", "pool"}
	subFields        = map[string][]string{
		"pool":         {"max"},
		"restartLimit": {"max", "window"},
		"backoff":      {"initial", "max", "multiplier", "jitter", "resetAfter"},
		"ready":        {"timeout"},
		"heartbeat":    {"timeout"},
		"lease":        {"name", "ttl"},
	}
)

// notAllowedHint explains why the field at path is not allowed.
func (l *loader) notAllowedHint(path []string) string {
	if len(path) == 0 {
		return ""
	}
	name := path[len(path)-1]
	if len(path) == 1 {
		return fmt.Sprintf(" (a spec has only trees; name helpers #%s or _%s)", Clip(name), Clip(name))
	}
	k, _ := classify(path[:len(path)-1])
	var allowed []string
	closedHint := fmt.Sprintf(" (%s is allowed here, but a definition used here does not declare it: add ... to the definition to allow more fields)", name)
	switch {
	case k == kTree:
		allowed = supervisorFields
		if slices.Contains(allowed, name) {
			// A tree has it (shutdown, say): only a closed definition forbids it.
			return closedHint
		}
		if slices.Contains(childFields, name) || slices.Contains(workerFields, name) {
			return fmt.Sprintf(" (a tree has no %s; only children do)", name)
		}
	case k == kChild:
		cp, ok := l.cuePath(append(path[:len(path)-1:len(path)-1], "children"))
		supervisor := ok && l.user.LookupPath(cp).Exists()
		allowed = append(slices.Clone(childFields), "run", "children")
		if supervisor {
			allowed = append(allowed, supervisorFields...)
		} else {
			allowed = append(allowed, workerFields...)
		}
		if slices.Contains(allowed, name) {
			// This child has it (backoff, say): only a closed definition forbids it.
			return closedHint
		}
		if supervisor {
			if name == "pool" {
				return " (a pool cannot have children: its instances all run its run function, started at run time; remove children, or pool to make a nested supervisor)"
			}
			if slices.Contains(workerFields, name) {
				return fmt.Sprintf(" (a nested supervisor has no %s; only workers do)", name)
			}
		} else {
			if slices.Contains(supervisorFields, name) {
				return fmt.Sprintf(" (only supervisors, trees and children with children, have %s)", name)
			}
		}
	case k == kChildren || k == kTrees:
		return " (a definition used here declares this struct without ...: add ... to it to allow more fields)"
	case k == kLimit || k == kBackoff || k == kProbe || k == kPool || k == kLease:
		allowed = subFields[path[len(path)-2]]
	default:
		return ""
	}
	if slices.Contains(allowed, name) {
		return closedHint
	}
	if s := closest(name, allowed); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	if block := path[len(path)-2]; subFields[block] != nil && (k == kLimit || k == kBackoff || k == kProbe || k == kPool || k == kLease) {
		// A block of a few fields: name them all, as no one is close.
		fields := subFields[block]
		if len(fields) == 1 {
			return fmt.Sprintf(" (%s has one field, %s)", block, fields[0])
		}
		return fmt.Sprintf(" (%s has the fields %s and %s)", block, strings.Join(fields[:len(fields)-1], ", "), fields[len(fields)-1])
	}
	return ""
}

// closest returns the name in names nearest to s, if it is a likely typo.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		d := distance(strings.ToLower(s), strings.ToLower(n))
		if d < bestD && d <= max(1, (len(n)+1)/3) {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
