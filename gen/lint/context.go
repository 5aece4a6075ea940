package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
)

// ctxUnused is the ctxunused check, for a run function that never uses
// its context, given what waits on its own goroutine (nil if nothing). It
// reports whether it found something.
func (r *run) ctxUnused(block ast.Node) bool {
	f := r.fn
	switch {
	case block != nil:
		r.report(CheckCtxUnused, ctxParamPos(f), fmt.Sprintf("%s never uses its context, yet it waits in %s: cancellation cannot stop it, so at every shutdown and restart it is abandoned after its grace",
			f.name, r.c.describe(block)), Related{Pos: block.Pos(), Message: "waits here"})
	case r.t.Timeout:
		r.report(CheckCtxUnused, ctxParamPos(f), fmt.Sprintf("%s never uses its context, so the child's timeout, which cancels that context, cannot stop it", f.name))
	default:
		return false
	}
	return true
}

// ctxParamPos is the position of the context parameter: its name, or its
// type when it has none.
func ctxParamPos(f *fnode) token.Pos {
	p := f.ftype.Params.List[0]
	if len(p.Names) > 0 {
		return p.Names[0].Pos()
	}
	return p.Type.Pos()
}

// blocking returns what in n waits for something it does not control:
// an endless loop without exit, a range over a channel, a select without
// default, a send, a receive (but from the time package), or a blocking
// call such as serving HTTP, accepting a connection or waiting for a
// group. It returns nil for anything else.
func (c *checker) blocking(n ast.Node, s *state) ast.Node {
	switch n := n.(type) {
	case *ast.LabeledStmt:
		if f := c.gotoLoop(n); f != nil && !c.exits(f) {
			return f
		}
	case *ast.ForStmt:
		if c.endless(n) && !c.exits(n) {
			return n
		}
	case *ast.RangeStmt:
		if isChan(c.info.TypeOf(n.X)) {
			return n
		}
	case *ast.SelectStmt:
		if !hasDefault(n) && !c.hasTimeCase(n) {
			return n
		}
	case *ast.UnaryExpr:
		if n.Op == token.ARROW && !s.comm && !c.timeChan(n.X) {
			return n
		}
	case *ast.SendStmt:
		if !s.comm {
			return n
		}
	case *ast.CallExpr:
		if c.blockingCall(n) {
			return n
		}
	}
	return nil
}

func isChan(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Chan)
	return ok
}

func hasDefault(n *ast.SelectStmt) bool {
	for _, cc := range n.Body.List {
		if cc.(*ast.CommClause).Comm == nil {
			return true
		}
	}
	return false
}

// hasTimeCase reports whether a select has a case that receives from a
// channel of the time package, which ends the select by itself.
func (c *checker) hasTimeCase(n *ast.SelectStmt) bool {
	for _, cc := range n.Body.List {
		if u := commRecv(cc.(*ast.CommClause).Comm); u != nil && c.timeChan(u.X) {
			return true
		}
	}
	return false
}

// ctxLoop is the ctxloop check, on a node of the run function's own
// goroutine.
func (r *run) ctxLoop(n ast.Node) {
	if l, ok := n.(*ast.LabeledStmt); ok && r.c.gotoLoop(l) != nil {
		n = r.c.gotoLoop(l)
	}
	switch n := n.(type) {
	case *ast.ForStmt, *ast.RangeStmt:
	case *ast.SelectStmt:
		if len(n.Body.List) == 0 {
			r.report(CheckCtxLoop, n.Pos(), fmt.Sprintf("select {} never ends: cancellation cannot stop %s, so at every shutdown and restart it is abandoned after its grace; wait for <-ctx.Done() and return", r.fn.name))
		}
		return
	case *ast.CallExpr:
		if fn := r.c.calledFunc(n); isFunc(fn, "net/http", "ListenAndServe", "ListenAndServeTLS") && fn.Type().(*types.Signature).Recv() == nil {
			r.report(CheckCtxLoop, n.Pos(), fmt.Sprintf("http.%s serves with a server of its own, which nothing can shut down: it never returns, cancellation cannot stop %s, and at every shutdown and restart it is abandoned after its grace; make an http.Server, and call its Shutdown once the context is done", fn.Name(), r.fn.name))
		}
		return
	default:
		return
	}
	if !r.c.endless(n) || r.c.exits(n.(ast.Stmt)) {
		return
	}
	switch w := r.c.watchesEnd(n); {
	case !r.c.looksAtContext(n):
		r.report(CheckCtxLoop, n.Pos(), fmt.Sprintf("this loop never ends and never looks at the context: cancellation cannot stop %s, so at every shutdown and restart it is abandoned after its grace", r.fn.name))
	case r.c.mayPanic(n):
		// It may end by a panic once the context is done: must(ctx.Err()).
	case w != nil:
		r.report(CheckCtxLoop, n.Pos(), fmt.Sprintf("this loop watches the context, but nothing leaves it: once the context is done it spins%s, and cancellation cannot stop %s, so at every shutdown and restart it is abandoned after its grace", innerBreak(n), r.fn.name),
			Related{Pos: w.Pos(), Message: "watches the context here"})
	default:
		r.report(CheckCtxLoop, n.Pos(), fmt.Sprintf("this loop never ends: nothing leaves it (no return, break or panic), so once the context is done it goes on, and cancellation cannot stop %s, so at every shutdown and restart it is abandoned after its grace", r.fn.name))
	}
}

// mayPanic reports whether code may leave by a panic or an exit on
// purpose: it calls panic, or a function that never returns (see
// isExitCall), or a function of the package that may, such as must(err).
// Function literals in it count.
func (c *checker) mayPanic(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if call, ok := m.(*ast.CallExpr); ok && !found {
			if c.isExitCall(call) {
				found = true
			} else if f := c.callee(call); f != nil {
				found = c.fnMayPanic(f)
			}
		}
		return !found
	})
	return found
}

func (c *checker) fnMayPanic(f *fnode) bool {
	// In a recursion, assume it may, and stay silent.
	return summary(c.panics, f, true, func() bool { return c.mayPanic(f.body) })
}

// innerBreak says, for a message, what the first unlabeled break in a
// loop's body leaves instead of the loop: a select or a switch.
func innerBreak(loop ast.Node) string {
	what := ""
	var walk func(n ast.Node, in string)
	walk = func(n ast.Node, in string) {
		ast.Inspect(n, func(m ast.Node) bool {
			if what != "" || m == n {
				return what == ""
			}
			switch m := m.(type) {
			case *ast.FuncLit, *ast.ForStmt, *ast.RangeStmt:
				return false
			case *ast.SelectStmt:
				walk(m, "select")
				return false
			case *ast.SwitchStmt, *ast.TypeSwitchStmt:
				walk(m, "switch")
				return false
			case *ast.BranchStmt:
				if m.Tok == token.BREAK && m.Label == nil && in != "" {
					what = in
				}
			}
			return true
		})
	}
	switch l := loop.(type) {
	case *ast.ForStmt:
		walk(l.Body, "")
	case *ast.RangeStmt:
		walk(l.Body, "")
	}
	if what == "" {
		return ""
	}
	return fmt.Sprintf(" (a break in a %s leaves only the %s)", what, what)
}

// watchesEnd returns where code itself, outside its function literals,
// watches for the end of a context: a receive from X.Done(), or X.Err()
// or context.Cause(X); or nil.
func (c *checker) watchesEnd(n ast.Node) ast.Node {
	var w ast.Node
	ast.Inspect(n, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.FuncLit:
			return false
		case *ast.UnaryExpr:
			if m.Op == token.ARROW && c.isDoneChan(m.X) {
				w = m
			}
		case *ast.CallExpr:
			if c.isErrCall(m) || c.isCause(m) {
				w = m
			}
		}
		return w == nil
	})
	return w
}
