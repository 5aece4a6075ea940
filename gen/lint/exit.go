package lint

import (
	"fmt"
	"go/ast"
)

// exit is the exit check, on a node of any code the run function runs:
// a call that ends the process, on its own goroutine or in a goroutine it
// starts, but not in a function literal that may never run.
func (r *run) exit(n ast.Node, s *state) {
	call, ok := n.(*ast.CallExpr)
	if !ok || s.stored || !r.c.endsProcess(call) {
		return
	}
	r.report(CheckExit, call.Pos(), fmt.Sprintf("%s(...) ends the whole process: unlike an error or a panic, the supervisor of %s cannot contain it, so no shutdown runs (siblings are neither stopped nor given their grace, deferred functions do not run, no shutdown report is made); return an error instead: the tree's restart limit decides, runtime.ErrDoNotRestart ends the child for good, a significant child ends the tree",
		short(call.Fun), r.fn.name))
}
