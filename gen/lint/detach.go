package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
)

// detach is the detach check: in the run function's own body, a go
// statement followed only by logging and reports to the attempt, then a
// return that neither calls nor receives; and no earlier defer that may
// wait for the goroutine.
func (r *run) detach() {
	list := r.fn.body.List
	for i, st := range list {
		if d, ok := st.(*ast.DeferStmt); ok && !r.c.logs(d.Call) && !isCancel(r.c.info.TypeOf(d.Call.Fun)) {
			return // defer wg.Wait(), among others, waits for the goroutine
		}
		g, ok := st.(*ast.GoStmt)
		if !ok || !r.c.returnsAtOnce(list[i+1:]) {
			continue
		}
		r.report(CheckDetach, g.Pos(), fmt.Sprintf("%s starts a goroutine and returns at once: the supervisor sees the child end while the goroutine runs on unsupervised, neither stopped at shutdown nor restarted when it fails; do the work in %s, or wait for it", r.fn.name, r.fn.name))
		// That it never returns either adds nothing.
		r.findings = slices.DeleteFunc(r.findings, func(f Finding) bool { return f.Check == CheckEscape && f.Pos == g.Pos() && r.leaks[g.Pos()] })
		return
	}
}

// returnsAtOnce reports whether a statement list is only go statements,
// calls that log or report to an attempt, and a final return that does
// not wait (return <-errc waits for the goroutine; see waits).
func (c *checker) returnsAtOnce(list []ast.Stmt) bool {
	if len(list) == 0 {
		return false
	}
	ret, ok := list[len(list)-1].(*ast.ReturnStmt)
	if !ok || c.waits(ret) {
		return false
	}
	for _, st := range list[:len(list)-1] {
		switch st := st.(type) {
		case *ast.GoStmt:
		case *ast.ExprStmt:
			call, ok := ast.Unparen(st.X).(*ast.CallExpr)
			if !ok || !c.logs(call) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// logs reports whether a call only logs or reports: a method of the
// attempt, fmt's printing, the log and log/slog packages.
func (c *checker) logs(call *ast.CallExpr) bool {
	fn := c.calledFunc(call)
	if fn == nil || fn.Pkg() == nil {
		return false
	}
	switch fn.Pkg().Path() {
	case "log", "log/slog":
		return true
	case "fmt":
		return isFunc(fn, "fmt", "Print", "Printf", "Println", "Fprint", "Fprintf", "Fprintln")
	case runtimePath:
		recv := fn.Type().(*types.Signature).Recv()
		return recv != nil && isAttempt(recv.Type())
	}
	return false
}

// waits reports whether n receives from a channel or calls something
// that may wait: anything but a context's Err, context.Cause, and the
// errors and fmt functions that make an error.
func (c *checker) waits(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.CallExpr:
			fn := c.calledFunc(m)
			found = !c.isErrCall(m) && !isFunc(fn, "context", "Cause") &&
				!isFunc(fn, "errors", "New", "Join") && !isFunc(fn, "fmt", "Errorf")
		case *ast.UnaryExpr:
			found = m.Op == token.ARROW
		}
		return !found
	})
	return found
}

// isCancel reports whether t is context.CancelFunc or
// context.CancelCauseFunc, which cancel and return at once.
func isCancel(t types.Type) bool {
	return t != nil && (isNamed(t, "context", "CancelFunc") || isNamed(t, "context", "CancelCauseFunc"))
}
