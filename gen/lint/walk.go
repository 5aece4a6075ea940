package lint

import (
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
)

// maxDepth bounds how many calls deep a walk follows.
const maxDepth = 16

// frame is a function being walked, with the variables in it that hold
// the run function's attempt.
type frame struct {
	f   *fnode
	att map[*types.Var]bool
	// derived holds the context parameters bound to a context that may end
	// before the run function's: one a caller derived, such as sctx in
	// sctx, cancel := context.WithTimeout(ctx, d); serve(sctx).
	derived map[*types.Var]bool
}

// state is where a walk is.
type state struct {
	fr *frame
	// blocked is a statement that came before on this goroutine and
	// blocks until shutdown, such as <-ctx.Done() or srv.Serve(ln).
	blocked ast.Node
	long    bool // in a loop that may run long, or code that may run again and again
	closure bool // in a function literal not called on the spot, or in a goroutine
	stored  bool // in a function literal that may never run: not called on the spot, nor started by go or g.Go
	done    bool // in a branch taken once a context is done
	comm    bool // in the communication of a select case, among others
	oneCase bool // in the body of a select of one case, which waits as its case does
	depth   int  // calls followed
}

type visitKey struct {
	f                              *fnode
	att                            uint64
	blocked, long, closure, stored bool
}

// walker walks the code a run function executes: its body and, through
// static calls, the bodies of the functions of the package it calls,
// binding the attempt to the parameters it is passed to. Only code on the
// run function's own goroutine is walked, unless all is set: then function
// literals and goroutines are walked too.
type walker struct {
	c   *checker
	all bool
	// visit is called on each node before its children; false skips them.
	visit func(n ast.Node, s *state) bool
	seen  map[visitKey]bool
	ids   map[*types.Var]uint64
	cur   state // what visit reads: a copy, so that the walk's state stays on the stack
	// The node whose children ast.Inspect is walking, and its state.
	parent ast.Node
	ps     state
	child  func(ast.Node) bool
}

func (c *checker) walk(fr *frame, all bool, visit func(n ast.Node, s *state) bool) {
	w := &walker{c: c, all: all, visit: visit, seen: map[visitKey]bool{}, ids: map[*types.Var]uint64{}}
	w.child = w.walkChild
	w.fn(fr, state{})
}

// rootFrame is the run function with its attempt parameters.
func (c *checker) rootFrame(f *fnode) *frame {
	fr := &frame{f: f, att: map[*types.Var]bool{}}
	for _, p := range f.params {
		if isAttempt(p.Type()) {
			fr.att[p] = true
		}
	}
	return fr
}

// tracked reports whether id refers to a variable holding the attempt.
func (c *checker) tracked(fr *frame, id *ast.Ident) bool {
	v, ok := c.info.Uses[id].(*types.Var)
	return ok && fr.att[v]
}

func (w *walker) key(fr *frame) uint64 {
	var k uint64
	for v := range fr.att {
		k ^= w.id(v)
	}
	for v := range fr.derived {
		k ^= w.id(v) * 3
	}
	return k
}

func (w *walker) id(v *types.Var) uint64 {
	id, ok := w.ids[v]
	if !ok {
		id = uint64(len(w.ids)+1) * 0x9E3779B97F4A7C15
		w.ids[v] = id
	}
	return id
}

func (w *walker) fn(fr *frame, s state) {
	k := visitKey{fr.f, w.key(fr), s.blocked != nil, s.long, s.closure, s.stored}
	if w.seen[k] {
		return
	}
	w.seen[k] = true
	s.fr = fr
	if w.c.recursive(fr.f) {
		s.long = true // a loop written as recursion
	}
	w.stmts(fr.f.body.List, s)
}

// stmts walks a statement list; what follows a statement that blocks
// until shutdown is walked as blocked, and what follows a label that a
// later goto jumps back to, as a loop.
func (w *walker) stmts(list []ast.Stmt, s state) {
	for _, st := range list {
		if l, ok := st.(*ast.LabeledStmt); ok && w.c.loopLabel(l) {
			s.long = true
		}
		w.node(st, s)
		if s.blocked == nil {
			s.blocked = w.c.blocksIn(s.fr, w.c.blocksStmt(st))
		}
	}
}

func (w *walker) node(n ast.Node, s state) {
	if isNil(n) {
		return
	}
	w.cur = s
	if !w.visit(n, &w.cur) {
		return
	}
	switch n := n.(type) {
	case *ast.Ident, *ast.BasicLit:
		return
	case *ast.BlockStmt:
		w.stmts(n.List, s)
		return
	case *ast.CaseClause:
		for _, e := range n.List {
			w.node(e, s)
		}
		w.stmts(n.Body, s)
		return
	case *ast.SelectStmt:
		inner := s
		inner.oneCase = len(n.Body.List) == 1
		w.node(n.Body, inner)
		return
	case *ast.CommClause:
		comm := s
		comm.comm, comm.oneCase = !s.oneCase, false
		w.node(n.Comm, comm)
		s.oneCase = false
		if w.c.isDoneRecv(n.Comm) {
			s.done = true
		}
		w.stmts(n.Body, s)
		return
	case *ast.IfStmt:
		w.node(n.Init, s)
		if s.blocked == nil && n.Init != nil {
			s.blocked = w.c.blocksIn(s.fr, w.c.blocksStmt(n.Init))
		}
		w.node(n.Cond, s)
		then := s
		if w.c.isDoneCond(n.Cond) {
			then.done = true
		}
		w.node(n.Body, then)
		w.node(n.Else, s)
		return
	case *ast.ForStmt:
		w.node(n.Init, s)
		inner := s
		inner.long = s.long || !counted(n)
		w.node(n.Cond, inner)
		w.node(n.Post, inner)
		w.node(n.Body, inner)
		return
	case *ast.RangeStmt:
		w.node(n.X, s)
		inner := s
		inner.long = s.long || !w.c.finiteRange(n)
		w.node(n.Body, inner)
		return
	case *ast.FuncLit:
		if w.all {
			w.lit(n, s, true)
		}
		return
	case *ast.GoStmt:
		if w.all {
			inner := s
			inner.closure, inner.long, inner.done, inner.blocked = true, false, false, nil
			w.node(n.Call, inner)
		}
		return
	case *ast.DeferStmt:
		// A deferred call runs when the function returns: after what
		// blocks at its top level.
		if s.blocked == nil && !s.closure {
			s.blocked = w.c.blocksIn(s.fr, w.c.topBlock(s.fr.f))
		}
		w.node(n.Call, s)
		return
	case *ast.CallExpr:
		w.call(n, s)
		return
	case *ast.BinaryExpr:
		if (n.Op == token.EQL || n.Op == token.NEQ) && (w.nilAttempt(n.X, n.Y, s) || w.nilAttempt(n.Y, n.X, s)) {
			return // a == nil hands the attempt to no one
		}
	case *ast.AssignStmt:
		if len(n.Lhs) == 1 && len(n.Rhs) == 1 && isBlank(n.Lhs[0]) {
			if id, ok := ast.Unparen(n.Rhs[0]).(*ast.Ident); ok && w.c.tracked(s.fr, id) {
				return // _ = a, neither
			}
		}
	}
	// The children, through one function value kept on the walker:
	// a closure per node would allocate.
	parent, ps := w.parent, w.ps
	w.parent, w.ps = n, s
	ast.Inspect(n, w.child)
	w.parent, w.ps = parent, ps
}

// lit walks the body of a function literal not called on the spot: one
// passed, stored, or started as a goroutine by a call such as g.Go(f),
// which runs it for sure (stored false).
func (w *walker) lit(n *ast.FuncLit, s state, stored bool) {
	inner := s
	inner.closure, inner.long, inner.done, inner.blocked = true, true, false, nil
	inner.stored = s.stored || stored
	w.stmts(n.Body.List, inner)
}

// child walks a child of w.parent; ast.Inspect calls it.
func (w *walker) walkChild(m ast.Node) bool {
	if m == w.parent {
		return true
	}
	if m != nil {
		w.node(m, w.ps) // restores w.parent and w.ps when it descends
	}
	return false
}

// call walks a call: the function and arguments, then the callee's body
// when it is at hand. An attempt passed as an argument is bound to the
// callee's parameter instead of being seen as an escape.
func (w *walker) call(call *ast.CallExpr, s state) {
	callee := w.c.callee(call)
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.SelectorExpr:
		if id, ok := ast.Unparen(fun.X).(*ast.Ident); !ok || !w.c.tracked(s.fr, id) {
			w.node(fun.X, s) // else a method of the attempt: not an escape
		}
	case *ast.FuncLit:
		// walked below, as the callee
	default:
		w.node(call.Fun, s)
	}
	var bound []*types.Var
	for i, arg := range call.Args {
		if id, ok := ast.Unparen(arg).(*ast.Ident); ok && callee != nil && w.c.tracked(s.fr, id) {
			if p := param(callee, i); p != nil {
				bound = append(bound, p)
				continue
			}
		}
		if lit, ok := ast.Unparen(arg).(*ast.FuncLit); ok && w.all && w.c.startsArg(call) {
			// g.Go(func() error {...}): a goroutine, not a function that
			// may never run.
			w.cur = s
			if w.visit(lit, &w.cur) {
				w.lit(lit, s, false)
			}
			continue
		}
		w.node(arg, s)
	}
	if callee == nil || s.depth >= maxDepth {
		return
	}
	fr := &frame{f: callee, att: map[*types.Var]bool{}}
	derive := func(v *types.Var) {
		if fr.derived == nil {
			fr.derived = map[*types.Var]bool{}
		}
		fr.derived[v] = true
	}
	if _, lit := callee.node.(*ast.FuncLit); lit {
		for v := range s.fr.att {
			fr.att[v] = true
		}
		for v := range s.fr.derived {
			derive(v)
		}
	}
	for _, p := range bound {
		fr.att[p] = true
	}
	for i, arg := range call.Args {
		if p := param(callee, i); p != nil && isContext(p.Type()) && !w.c.endIn(s.fr, arg) {
			derive(p)
		}
	}
	inner := s
	inner.depth++
	inner.done, inner.comm = false, false
	w.fn(fr, inner)
}

// counted reports whether a for loop has the shape of a counting loop,
// for init; cond; post, which is taken to end.
func counted(n *ast.ForStmt) bool { return n.Init != nil && n.Cond != nil && n.Post != nil }

// finiteRange reports whether a range loop ends by itself: over an
// integer, a string, an array, a slice or a map.
func (c *checker) finiteRange(n *ast.RangeStmt) bool {
	t := c.info.TypeOf(n.X)
	if t == nil {
		return false
	}
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&(types.IsInteger|types.IsString) != 0
	case *types.Array, *types.Slice, *types.Map:
		return true
	}
	return false
}

// isNil reports whether n is nil, also when it is a nil pointer in an
// interface, as an absent Init or Else is.
func isNil(n ast.Node) bool { return n == nil || reflect.ValueOf(n).IsNil() }

// nilAttempt reports whether x is the attempt and y is nil: a comparison
// of the two, unlike other uses of the attempt, lets it escape nowhere.
func (w *walker) nilAttempt(x, y ast.Expr, s state) bool {
	id, ok := ast.Unparen(x).(*ast.Ident)
	return ok && w.c.tracked(s.fr, id) && w.c.info.Types[y].IsNil()
}

// isBlank reports whether e is the blank identifier.
func isBlank(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}
