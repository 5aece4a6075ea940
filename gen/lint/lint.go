package lint

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

const runtimePath = "github.com/arbor-go/arbor/runtime"

// The checks, by the name a directive uses to silence them.
const (
	CheckCtxUnused    = "ctxunused"
	CheckCtxLoop      = "ctxloop"
	CheckReady        = "ready"
	CheckBeat         = "beat"
	CheckEscape       = "escape"
	CheckDoNotRestart = "donotrestart"
	CheckSleep        = "sleep"
	CheckDetach       = "detach"
	CheckExit         = "exit"
	CheckTimeout      = "timeout"
	// CheckDirective reports a malformed //arbor:nolint directive; it
	// cannot be silenced.
	CheckDirective = "directive"
)

var checkNames = []string{CheckCtxUnused, CheckCtxLoop, CheckReady, CheckBeat, CheckEscape, CheckDoNotRestart, CheckSleep, CheckDetach, CheckExit, CheckTimeout}

// Package is a type-checked package: the syntax and type information that
// Check reads. Info needs Types, Defs, Uses and Selections.
type Package struct {
	Fset  *token.FileSet
	Files []*ast.File
	Types *types.Package
	Info  *types.Info
}

// Target is a run function to check, with what its child's spec asks of
// it. Exactly one of Func and Lit is set, and it lies in the package's
// Files: calls are followed only into code whose syntax is at hand.
type Target struct {
	Func *types.Func  // a function or method declared in the package
	Lit  *ast.FuncLit // or a function literal
	// Child names the child in messages, such as "shop/db"; it may be empty.
	Child     string
	Ready     bool // the child has ready: the function must call a.Ready()
	Heartbeat bool // the child has heartbeat: the function must keep calling a.Beat()
	Timeout   bool // the child has a timeout for each attempt
	// OneShot is set for a transient or temporary child: ended for good
	// after a success, it counts as ready, without a.Ready().
	OneShot bool
	// Grace is the child's shutdown grace: 0 means
	// runtime.DefaultChildShutdown, a negative value that it is unknown
	// (the sleep check then stays silent).
	Grace time.Duration
	// Spec is where the child is declared in Go, if it is: the Analyzer
	// points there. Arbor leaves it unset and names the spec instead.
	Spec token.Pos
}

// Finding is a problem a check found in a target.
type Finding struct {
	Check   string // the check's name, as a directive names it
	Pos     token.Pos
	Message string // a sentence without the child's name or the check's
	// Target is the index of the target in Check's argument, or -1 for a
	// malformed directive, which concerns no target.
	Target  int
	Related []Related
}

// Related is a second position a finding points at.
type Related struct {
	Pos     token.Pos
	Message string
}

// Check runs every check on each target and returns the findings, sorted
// by position, without those a directive silences. The Analyzer calls it
// with the targets of runtime.Child literals; a caller that knows the spec
// calls it with the functions the spec names.
func Check(pkg *Package, targets []Target) []Finding {
	c := newChecker(pkg)
	var out []Finding
	for i, t := range targets {
		f := c.target(t)
		if f == nil {
			continue
		}
		r := &run{c: c, t: t, idx: i, fn: f, seen: map[findingKey]bool{}}
		r.checkAll()
		for _, fd := range r.findings {
			if !c.silenced(fd, f) {
				out = append(out, fd)
			}
		}
	}
	out = append(out, c.badDirs...)
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Pos, b.Pos), cmp.Compare(a.Target, b.Target), cmp.Compare(a.Check, b.Check))
	})
	return out
}

// checker holds what the checks share for one package.
type checker struct {
	pkg   *Package
	info  *types.Info
	decls map[*types.Func]*ast.FuncDecl
	nodes map[ast.Node]*fnode
	// memos of the summaries of functions, keyed by function
	blocks      map[*fnode]ast.Node // what blocks until shutdown at the top level
	observes    map[*fnode]bool     // looks at a context
	never       map[*fnode]bool     // never returns
	exitsAlways map[*fnode]bool     // never returns normally: exits the process or goroutine, or panics
	panics      map[*fnode]bool     // may panic or exit on purpose
	uses        map[paramKey]bool
	labels      map[ast.Stmt]string               // built on first use
	backward    map[*types.Label]bool             // labels a later goto jumps to; built on first use
	gotoLoops   map[*ast.LabeledStmt]*ast.ForStmt // loops written with goto, as for {}; built on first use
	madeUp      map[ast.Stmt]bool                 // the values of gotoLoops
	calls       map[*fnode][]*fnode               // the functions each calls statically
	recurs      map[*fnode]bool
	assigned    map[*types.Var]bool          // variables assigned after their declaration; built on first use
	values      map[*types.Var]ast.Expr      // what variables are declared with; built on first use
	nolint      map[ast.Node]map[string]bool // by *ast.FuncDecl, *ast.GenDecl or *ast.ValueSpec
	badDirs     []Finding                    // malformed directives
}

type paramKey struct {
	f *fnode
	i int
}

func newChecker(pkg *Package) *checker {
	c := &checker{
		pkg:         pkg,
		info:        pkg.Info,
		decls:       map[*types.Func]*ast.FuncDecl{},
		nodes:       map[ast.Node]*fnode{},
		blocks:      map[*fnode]ast.Node{},
		observes:    map[*fnode]bool{},
		never:       map[*fnode]bool{},
		exitsAlways: map[*fnode]bool{},
		panics:      map[*fnode]bool{},
		uses:        map[paramKey]bool{},
		calls:       map[*fnode][]*fnode{},
		recurs:      map[*fnode]bool{},
	}
	for _, f := range pkg.Files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := c.info.Defs[fd.Name].(*types.Func); ok {
					c.decls[fn] = fd
				}
			}
		}
	}
	c.parseDirectives()
	return c
}

// fnode is a function whose body is at hand: a declaration or a literal.
type fnode struct {
	node   ast.Node // *ast.FuncDecl or *ast.FuncLit
	body   *ast.BlockStmt
	ftype  *ast.FuncType
	params []*types.Var
	name   string // for messages
}

func (c *checker) declNode(fn *types.Func) *fnode {
	fd := c.decls[fn.Origin()]
	if fd == nil {
		return nil
	}
	if f := c.nodes[fd]; f != nil {
		return f
	}
	sig := fn.Origin().Type().(*types.Signature)
	f := &fnode{node: fd, body: fd.Body, ftype: fd.Type, params: tupleVars(sig.Params()), name: funcName(fn.Origin())}
	c.nodes[fd] = f
	return f
}

func (c *checker) litNode(lit *ast.FuncLit) *fnode {
	if f := c.nodes[lit]; f != nil {
		return f
	}
	sig, ok := c.info.TypeOf(lit).(*types.Signature)
	if !ok {
		return nil
	}
	f := &fnode{node: lit, body: lit.Body, ftype: lit.Type, params: tupleVars(sig.Params()), name: "the function literal"}
	c.nodes[lit] = f
	return f
}

// target returns the function a target names, or nil when it is not a
// run function whose body is at hand.
func (c *checker) target(t Target) *fnode {
	var f *fnode
	switch {
	case t.Func != nil:
		f = c.declNode(t.Func)
	case t.Lit != nil:
		f = c.litNode(t.Lit)
	}
	if f == nil || len(f.params) == 0 || !isContext(f.params[0].Type()) {
		return nil
	}
	return f
}

// enclosing returns the declarations that contain pos: a function
// declaration, or a var declaration and its spec.
func (c *checker) enclosing(pos token.Pos) []ast.Node {
	for _, f := range c.pkg.Files {
		if pos < f.FileStart || pos > f.FileEnd {
			continue
		}
		for _, d := range f.Decls {
			if pos < d.Pos() || pos >= d.End() {
				continue
			}
			out := []ast.Node{d}
			if g, ok := d.(*ast.GenDecl); ok {
				for _, spec := range g.Specs {
					if spec.Pos() <= pos && pos < spec.End() {
						out = append(out, spec)
					}
				}
			}
			return out
		}
	}
	return nil
}

// callee returns the function a call runs when it is a static call of
// code at hand: a function or a concrete method of this package, a
// function literal called on the spot, or one of those held by a variable
// that holds nothing else (see boundValue).
func (c *checker) callee(call *ast.CallExpr) *fnode {
	fun := ast.Unparen(call.Fun)
	switch f := fun.(type) {
	case *ast.IndexExpr: // an instantiation, f[T](...)
		fun = f.X
	case *ast.IndexListExpr:
		fun = f.X
	case *ast.FuncLit:
		return c.litNode(f)
	}
	var obj types.Object
	switch f := fun.(type) {
	case *ast.Ident:
		obj = c.info.Uses[f]
		if v, ok := obj.(*types.Var); ok { // a variable that holds a function: loop()
			if x := c.boundValue(v); x != nil {
				fn, lit := c.funcValue(x, 1)
				if lit != nil {
					return c.litNode(lit)
				}
				if fn != nil {
					return c.declNode(fn)
				}
			}
		}
	case *ast.SelectorExpr:
		if sel, ok := c.info.Selections[f]; ok {
			if sel.Kind() != types.MethodVal {
				return nil // a method expression: its arguments are shifted
			}
			obj = sel.Obj()
		} else {
			obj = c.info.Uses[f.Sel]
		}
	}
	if fn, ok := obj.(*types.Func); ok {
		return c.declNode(fn)
	}
	return nil
}

// param returns the parameter of f that a call's i-th argument binds, or
// nil for a variadic argument.
func param(f *fnode, i int) *types.Var {
	n := len(f.params)
	if i >= n || (i == n-1 && isVariadic(f)) {
		return nil
	}
	return f.params[i]
}

func isVariadic(f *fnode) bool {
	l := f.ftype.Params.List
	if len(l) == 0 {
		return false
	}
	_, ok := l[len(l)-1].Type.(*ast.Ellipsis)
	return ok
}

func tupleVars(t *types.Tuple) []*types.Var {
	vs := make([]*types.Var, t.Len())
	for i := range vs {
		vs[i] = t.At(i)
	}
	return vs
}

// funcName names a function as a spec's run does: F, (*T).M or (T).M.
func funcName(fn *types.Func) string {
	sig := fn.Type().(*types.Signature)
	recv := sig.Recv()
	if recv == nil {
		return fn.Name()
	}
	t := recv.Type()
	star := ""
	if p, ok := t.(*types.Pointer); ok {
		t, star = p.Elem(), "*"
	}
	name := "?"
	if n, ok := types.Unalias(t).(*types.Named); ok {
		name = n.Obj().Name()
	}
	return "(" + star + name + ")." + fn.Name()
}

// grace is the child's shutdown grace, or 0 when unknown.
func (t Target) grace() time.Duration {
	switch {
	case t.Grace < 0:
		return 0
	case t.Grace == 0:
		return runtime.DefaultChildShutdown
	}
	return t.Grace
}

func isContext(t types.Type) bool { return isNamed(t, "context", "Context") }

func isAttempt(t types.Type) bool { return isPointerTo(t, runtimePath, "Attempt") }

func isPointerTo(t types.Type, pkgPath, name string) bool {
	p, ok := types.Unalias(t).(*types.Pointer)
	return ok && isNamed(p.Elem(), pkgPath, name)
}

func isNamed(t types.Type, pkgPath, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == pkgPath && obj.Name() == name
}
