package lint

import (
	"go/ast"
	"go/types"
)

// doNotRestart is the donotrestart check, on a node of any code the run
// function runs; wraps holds the calls it reported.
func (r *run) doNotRestart(n ast.Node, s *state, wraps map[ast.Node]bool) {
	switch n := n.(type) {
	case *ast.CallExpr:
		if r.c.wrapsCtxErr(n) {
			wraps[n] = true
			r.report(CheckDoNotRestart, n.Pos(), "runtime.ErrDoNotRestart wrapped with the context's error never takes effect: once the context is done, the supervisor that cancelled it decides whether the child restarts, not this error; and while it is not done, the context's error is nil")
		}
		if r.c.isPanic(n) && len(n.Args) == 1 && r.c.mentionsDoNotRestart(n.Args[0]) {
			r.report(CheckDoNotRestart, n.Pos(), "a panic with runtime.ErrDoNotRestart is a failure like any other panic: the child is restarted; return the error to end the child for good")
		}
	case *ast.ReturnStmt:
		if !s.done || !(r.t.Ready || r.t.Heartbeat || r.t.Timeout) {
			break
		}
		for _, res := range n.Results {
			if !wraps[ast.Unparen(res)] && r.c.mentionsDoNotRestart(res) {
				r.report(CheckDoNotRestart, res.Pos(), "returning runtime.ErrDoNotRestart once the context is done ends the child for good when the supervisor cancels it for a missed deadline (ready, heartbeat or timeout), instead of restarting it")
			}
		}
	}
}

// wrapsCtxErr reports whether a call is fmt.Errorf or errors.Join with
// both runtime.ErrDoNotRestart and a context's error among its arguments.
func (c *checker) wrapsCtxErr(call *ast.CallExpr) bool {
	fn := c.calledFunc(call)
	if !isFunc(fn, "fmt", "Errorf") && !isFunc(fn, "errors", "Join") {
		return false
	}
	dnr, ctxErr := false, false
	for _, a := range call.Args {
		dnr = dnr || c.isDoNotRestart(a)
		ctxErr = ctxErr || c.isErrCall(a) || c.isCause(a)
	}
	return dnr && ctxErr
}

// isPanic reports whether call calls the builtin panic.
func (c *checker) isPanic(call *ast.CallExpr) bool {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return false
	}
	b, ok := c.info.Uses[id].(*types.Builtin)
	return ok && b.Name() == "panic"
}

// isCause reports whether x is context.Cause(ctx).
func (c *checker) isCause(x ast.Expr) bool {
	call, ok := ast.Unparen(x).(*ast.CallExpr)
	return ok && isFunc(c.calledFunc(call), "context", "Cause")
}

func (c *checker) isDoNotRestart(x ast.Expr) bool {
	var id *ast.Ident
	switch x := ast.Unparen(x).(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
	default:
		return false
	}
	v, ok := c.info.Uses[id].(*types.Var)
	return ok && v.Pkg() != nil && v.Pkg().Path() == runtimePath && v.Name() == "ErrDoNotRestart"
}

// mentionsDoNotRestart reports whether an expression refers to
// runtime.ErrDoNotRestart, bare or wrapped.
func (c *checker) mentionsDoNotRestart(x ast.Expr) bool {
	found := false
	ast.Inspect(x, func(n ast.Node) bool {
		if e, ok := n.(ast.Expr); ok && c.isDoNotRestart(e) {
			found = true
		}
		_, lit := n.(*ast.FuncLit)
		return !found && !lit
	})
	return found
}
