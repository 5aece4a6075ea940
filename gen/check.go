package gen

import (
	"cmp"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/schema"
)

// reserved are the method names the generated types use themselves: a
// tree's type has Run and Tree, a nested supervisor's type Handle (a pool's
// type has no children).
var reserved = map[bool]map[string]bool{
	true:  {"Run": true, "Tree": true},
	false: {"Handle": true},
}

// vetMethods are the method names go vet's stdmethods check expects to have
// the signature of a standard interface (json.Marshaler, io.ByteReader,
// errors.Is...). A child accessor of that name, which takes nothing and
// returns a handle, would fail go vet. Format, Scan, Seek, ReadFrom and
// WriteTo are absent: vet only checks those when their first parameter
// has the standard type, which an accessor has not.
var vetMethods = map[string]string{
	"As": "errors.As", "Is": "errors.Is", "Unwrap": "errors.Unwrap",
	"GobDecode": "gob.GobDecoder", "GobEncode": "gob.GobEncoder",
	"MarshalJSON": "json.Marshaler", "UnmarshalJSON": "json.Unmarshaler",
	"MarshalXML": "xml.Marshaler", "UnmarshalXML": "xml.Unmarshaler",
	"ReadByte": "io.ByteReader", "ReadRune": "io.RuneReader",
	"UnreadByte": "io.ByteScanner", "UnreadRune": "io.RuneScanner",
	"WriteByte": "io.ByteWriter",
}

// checker runs the checks that need only the spec. It remembers which
// runtime rules (a node's path and a runtime.Spec field) it reported, so
// that the runtime's own validation, run afterwards, adds only what it
// alone finds.
type checker struct {
	errs     *schema.ErrorList
	decls    map[string]*schema.Node // generated top-level names
	reported map[fieldKey]bool
}

// fieldKey is a field of a runtime.Spec or runtime.Child, such as
// {"shop/db", "Backoff.Max"}, as runtime.SpecError names it.
type fieldKey struct{ path, field string }

// report adds an error about a field of n at pos.
func (c *checker) report(n *schema.Node, field string, pos schema.Pos, format string, args ...any) {
	c.reported[fieldKey{n.String(), field}] = true
	c.errs.Add(pos, schema.Sprintf(format, args...))
}

// checkSpec runs the checks that need only the spec: Go names, after lists,
// values the runtime would read otherwise than written, and the semantic
// traps OTP only finds at run time.
func checkSpec(spec *schema.Spec, errs *schema.ErrorList) *checker {
	c := &checker{errs: errs, decls: map[string]*schema.Node{}, reported: map[fieldKey]bool{}}
	for _, tree := range spec.Trees {
		name := goName(tree.Name)
		if c.declare(name, tree) {
			c.declare("New"+name, tree)
		}
		c.supervisor(tree, name)
	}
	return c
}

// declare records a generated top-level name, reporting a collision.
func (c *checker) declare(name string, n *schema.Node) bool {
	if prev, ok := c.decls[name]; ok {
		c.errs.Add(n.Pos, schema.Sprintf("%s and %s both become the Go name %s", prev, n, name))
		return false
	}
	c.decls[name] = n
	return true
}

// checkFileScopes reports a generated top-level name that a file of the
// package already uses for an import: a package imported under that name,
// or a name that a dot-import brings in. Go refuses a package-level
// declaration that clashes with either.
func (ws *workspace) checkFileScopes(name string, n *schema.Node, errs *schema.ErrorList) {
	for _, f := range ws.ownFiles() {
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil || imp.Name == nil {
				continue
			}
			var how string
			switch imp.Name.Name {
			case name:
				how = "the name under which a file imports " + path
			case ".":
				if p := ws.lookupImport(path); p != nil && p.Scope().Lookup(name) != nil && token.IsExported(name) {
					how = "a name that a file's dot-import of " + path + " brings in"
				}
			}
			if how != "" {
				ws.addDecl(errs, n.Pos, imp.Pos(), "%s: the generated %s is %s; rename the %s, or import the package otherwise", n, name, how, declWhat(n))
				return
			}
		}
	}
}

// lookupImport returns the package a file of the spec's package imports,
// or nil.
func (ws *workspace) lookupImport(path string) *types.Package {
	for _, p := range ws.own.Types.Imports() {
		if p.Path() == path {
			return p
		}
	}
	return nil
}

// declWhat says what a node that declares a top-level name is.
func declWhat(n *schema.Node) string {
	switch {
	case n.Tree:
		return "tree"
	case n.IsPool():
		return "pool"
	}
	return "supervisor"
}

// checkDecls reports generated names that the package already declares.
func (ws *workspace) checkDecls(decls map[string]*schema.Node, errs *schema.ErrorList) {
	if ws.own == nil || ws.own.Types == nil {
		return
	}
	for name, n := range decls {
		decl := token.NoPos
		if obj := ws.own.Types.Scope().Lookup(name); obj != nil {
			decl = obj.Pos()
		} else if pos, ok := ws.testDecls()[name]; ok {
			decl = pos
		} else {
			ws.checkFileScopes(name, n, errs)
			continue
		}
		kind := "the generated tree type"
		if strings.HasPrefix(name, "New") && n.Tree && goName(n.Name) != name {
			kind = "the generated constructor"
		} else if n.IsPool() {
			kind = "the generated type of the pool"
		} else if !n.Tree {
			kind = "the generated type of the nested supervisor"
		}
		ws.addDecl(errs, n.Pos, decl, "%s: %s %s is already declared by the package; rename the %s or the Go declaration", n, kind, name, declWhat(n))
	}
}

// maxNesting is how deep supervisors may nest below a tree: far more than
// any real tree, far less than what makes the generated code explode.
const maxNesting = 64

func (c *checker) supervisor(sup *schema.Node, typeName string) {
	if len(sup.Children) == 0 {
		c.report(sup, "Children", sup.Pos, "%s: a supervisor needs at least one child", sup)
	}
	if sup.Shutdown == 0 {
		c.report(sup, "Shutdown", sup.ShutdownPos, `%s: shutdown "0s" leaves the children no time to stop (and the runtime would read 0 as the default, 30s); give a positive budget, or leave shutdown out for 30s`, sup)
	}
	c.limit(sup, sup.RestartLimit)
	c.backoff(sup, sup.Backoff)
	methods := map[string]*schema.Node{}
	for _, ch := range sup.Children {
		m := goName(ch.Name)
		switch prev, dup := methods[m]; {
		case dup:
			c.errs.Add(ch.Pos, schema.Sprintf("children %q and %q both become the Go name %s", prev.Name, ch.Name, m))
		case reserved[sup.Tree][m]:
			c.errs.Add(ch.Pos, schema.Sprintf("child %q would become the method %s, which the generated type %s already has; rename the child", ch.Name, m, typeName))
		case vetMethods[m] != "":
			c.errs.Add(ch.Pos, schema.Sprintf("child %q would become the method %s of %s, a name go vet reserves for %s; rename the child", ch.Name, m, typeName, vetMethods[m]))
		}
		methods[m] = ch
		c.child(sup, ch)
		switch {
		case ch.IsSupervisor() && len(ch.Path)-1 > maxNesting:
			// Each level's type is named after its path: the generated
			// code would grow with the square of the depth.
			c.errs.Add(ch.Pos, schema.Sprintf("%s: supervisors nest at most %d deep; this one is at depth %d", ch, maxNesting, len(ch.Path)-1))
		case ch.IsSupervisor():
			c.declare(typeName+m, ch)
			c.supervisor(ch, typeName+m)
		case ch.IsPool():
			c.declare(typeName+m, ch)
		}
	}
	c.after(sup)
}

func (c *checker) child(sup, n *schema.Node) {
	if n.Significant && n.Restart == string(runtime.Permanent) {
		c.report(n, "Significant", n.SignificantPos, "%s: a significant child cannot be permanent: a permanent child is always restarted, so it never ends its supervisor; make it transient or temporary", n)
	}
	if n.IsSupervisor() && n.Restart == string(runtime.Permanent) {
		for _, g := range n.Children {
			if g.Significant {
				c.errs.Add(n.Pos, schema.Sprintf("%s has the significant child %s but is permanent: when %s ends it, %s restarts it at once; make %s transient or temporary", n, g.Name, g.Name, sup, n.Name))
				break
			}
		}
	}
	if l := n.Lease; l != nil {
		if l.TTL == 0 {
			c.report(n, "Lease.TTL", l.TTLPos, `%s: lease: ttl "0s" would let another process take the lease the moment this one stops renewing it, and stop the child at once (and the runtime would read 0 as the default, %v); give a positive ttl, or leave ttl out for %v`, n, runtime.DefaultLeaseTTL, runtime.DefaultLeaseTTL)
		}
		if l.Name == "" && l.NamePos.IsValid() {
			c.report(n, "Lease.Name", l.NamePos, `%s: lease: name "" (the runtime would read it as the child's path, %q); leave name out for that`, n, n.String())
		}
	}
	if n.IsSupervisor() {
		return
	}
	if n.Shutdown == 0 {
		c.report(n, "Shutdown", n.ShutdownPos, `%s: shutdown "0s" would abandon each attempt the moment it is cancelled (and the runtime would read 0 as the default, 5s); give a positive grace such as "100ms", or leave shutdown out for 5s`, n)
	}
	if n.Timeout == 0 && n.TimeoutPos.IsValid() {
		c.report(n, "Timeout", n.TimeoutPos, `%s: timeout "0s" would end every attempt at once (and the runtime would read 0 as no deadline); leave timeout out for no deadline`, n)
	}
	if r := n.Ready; r != nil && r.Timeout == 0 {
		c.report(n, "Ready.Timeout", r.Pos, `%s: ready: timeout "0s" leaves no time to call a.Ready() (and the runtime would read 0 as waiting for ever); give a positive timeout, or leave ready out if the child is ready once started`, n)
	}
	if hb := n.Heartbeat; hb != nil && hb.Timeout < runtime.MinHeartbeat {
		c.report(n, "Heartbeat.Timeout", hb.Pos, "%s: heartbeat timeout %v is shorter than the minimum %v", n, hb.Timeout, runtime.MinHeartbeat)
	}
	// An instance's failures count against its pool's limit, a worker's
	// against its supervisor's.
	limiter, limit := sup, sup.RestartLimit
	if n.IsPool() {
		limiter, limit = n, n.RestartLimit
	}
	if r := n.Ready; r != nil && limit != nil && limit.Window > 0 && r.Timeout > limit.Window {
		c.errs.Add(r.Pos, schema.Sprintf("%s: ready timeout %v is longer than %s's restart window %v: failures that slow could never reach the restart limit; shorten the timeout or widen the window", n, r.Timeout, limiter, limit.Window))
	}
	if n.RestartLimit != nil {
		c.limit(n, n.RestartLimit)
	}
	if n.Backoff != nil {
		c.backoff(n, n.Backoff)
	}
}

func (c *checker) limit(n *schema.Node, l *schema.Limit) {
	if l.Window == 0 {
		c.report(n, "RestartLimit.Window", l.Pos, `%s: restartLimit: window "0s" counts no restarts, so the limit could never be reached; give a positive window (default "10s"), or write max: 0 to give up at the first failure`, n)
	}
}

func (c *checker) backoff(n *schema.Node, b *schema.Backoff) {
	if b.Max < b.Initial {
		// Name the default on the side that may not have been written.
		var dflt string
		switch {
		case b.Max == runtime.DefaultBackoffMax:
			dflt = schema.Sprintf(" (max defaults to %v)", runtime.DefaultBackoffMax)
		case b.Initial == runtime.DefaultBackoffInitial:
			dflt = schema.Sprintf(" (initial defaults to %v)", runtime.DefaultBackoffInitial)
		}
		c.report(n, "Backoff.Max", b.Pos, "%s: backoff: initial %v is longer than max %v, which caps every delay%s; lower initial or raise max", n, b.Initial, b.Max, dflt)
	}
}

// nestedIn says which child of sup holds name, a child nested in it (or a
// path such as "n/x" below it), since after names siblings only; "" if
// none does.
func nestedIn(sup *schema.Node, name string) string {
	var in func(n *schema.Node) bool
	in = func(n *schema.Node) bool {
		return slices.ContainsFunc(n.Children, func(c *schema.Node) bool { return c.Name == name || in(c) })
	}
	if rest, ok := strings.CutPrefix(name, sup.String()+"/"); ok && slices.ContainsFunc(sup.Children, func(c *schema.Node) bool { return c.Name == rest }) {
		return schema.Sprintf(" (after names a sibling by its name, not its path: write %q)", rest)
	}
	for _, sib := range sup.Children {
		if first, _, ok := strings.Cut(name, "/"); ok && first == sib.Name || !ok && in(sib) {
			return schema.Sprintf(" (it is in %s: after names siblings only; name %s to wait for all of it)", sib, sib.Name)
		}
	}
	return ""
}

// after reports unknown, self and repeated references, then a cycle among
// the other references.
func (c *checker) after(sup *schema.Node) {
	byName := children(sup)
	var names []string // for suggestions, once
	for _, n := range sup.Children {
		for k, ref := range n.After {
			switch {
			case slices.ContainsFunc(n.After[:k], func(r schema.Ref) bool { return r.Name == ref.Name }):
				c.report(n, "After", ref.Pos, "%s: after names %q twice", n, ref.Name)
			case ref.Name == n.Name:
				c.report(n, "After", ref.Pos, "%s: after names the child itself", n)
			case byName[ref.Name] == nil:
				if names == nil {
					names = childNames(sup)
				}
				c.report(n, "After", ref.Pos, "%s: after names %q, which is not a child of %s%s", n, ref.Name, sup, cmp.Or(nestedIn(sup, ref.Name), suggest(ref.Name, names)))
			}
		}
	}
	if cycle := findCycle(sup, byName); cycle != nil {
		first := byName[cycle[0]]
		pos := first.AfterPos
		for _, ref := range first.After {
			if ref.Name == cycle[1] {
				pos = ref.Pos
			}
		}
		for _, name := range cycle {
			c.reported[fieldKey{byName[name].String(), "After"}] = true
		}
		// The last name is the first again.
		c.errs.Add(pos, schema.Sprintf("after: dependency cycle in %s: %s -> %s", sup, schema.ClipList(cycle[:len(cycle)-1], " -> "), cycle[0]))
	}
}

// children maps the names of sup's children to them: a wide supervisor's
// after lists must not look up each sibling by a scan of its children.
func children(sup *schema.Node) map[string]*schema.Node {
	m := make(map[string]*schema.Node, len(sup.Children))
	for _, c := range sup.Children {
		m[c.Name] = c
	}
	return m
}

func childNames(sup *schema.Node) []string {
	names := make([]string, len(sup.Children))
	for i, c := range sup.Children {
		names[i] = c.Name
	}
	return names
}

// findCycle returns the names of one cycle of after edges, first name
// repeated at the end, or nil. It ignores references to the child itself or
// to no child, which after reports on their own. byName maps the names of
// sup's children to them.
func findCycle(sup *schema.Node, byName map[string]*schema.Node) []string {
	const (
		unvisited = iota
		onStack
		finished
	)
	state := map[string]int{}
	var stack []string
	var visit func(n *schema.Node) []string
	visit = func(n *schema.Node) []string {
		state[n.Name] = onStack
		stack = append(stack, n.Name)
		for _, ref := range n.After {
			if ref.Name == n.Name || byName[ref.Name] == nil {
				continue
			}
			switch state[ref.Name] {
			case onStack:
				return append(slices.Clone(stack[slices.Index(stack, ref.Name):]), ref.Name)
			case unvisited:
				if c := visit(byName[ref.Name]); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n.Name] = finished
		return nil
	}
	for _, c := range sup.Children {
		if state[c.Name] == unvisited {
			if cycle := visit(c); cycle != nil {
				return cycle
			}
		}
	}
	return nil
}
