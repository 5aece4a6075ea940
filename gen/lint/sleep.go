package lint

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"time"
)

// sleep is the sleep check, on a node of the run function's own
// goroutine, for a child whose grace is known.
func (r *run) sleep(n ast.Node, s *state, grace time.Duration) {
	var d ast.Expr
	switch n := n.(type) {
	case *ast.CallExpr:
		if isFunc(r.c.calledFunc(n), "time", "Sleep") && len(n.Args) == 1 {
			d = n.Args[0]
		}
	case *ast.UnaryExpr: // <-time.After(d), outside a select
		if call, ok := ast.Unparen(n.X).(*ast.CallExpr); ok && n.Op == token.ARROW && !s.comm &&
			isFunc(r.c.calledFunc(call), "time", "After") && len(call.Args) == 1 {
			d = call.Args[0]
		}
	}
	if d == nil {
		return
	}
	tv := r.c.info.Types[d]
	if tv.Value == nil || tv.Value.Kind() != constant.Int {
		return
	}
	v, exact := constant.Int64Val(tv.Value)
	if !exact || time.Duration(v) < grace {
		return
	}
	r.report(CheckSleep, n.Pos(), fmt.Sprintf("%s waits %v without watching the context: a shutdown or restart during it waits that long, past the child's %v grace, and the attempt is abandoned; select on ctx.Done() and a timer instead",
		short(n.(ast.Expr)), time.Duration(v), grace))
}
