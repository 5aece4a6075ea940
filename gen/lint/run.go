package lint

import (
	"go/ast"
	"go/token"
	"go/types"
)

// run checks one target.
type run struct {
	c        *checker
	t        Target
	idx      int
	fn       *fnode
	findings []Finding
	seen     map[findingKey]bool
	uses     *attemptUses // computed on first use
}

type findingKey struct {
	check string
	pos   token.Pos
}

func (r *run) checkAll() {
	if !r.ctxUnused() {
		r.ctxLoop() // an unused context already says it
	}
	r.ready()
	r.beat()
	r.escape()
	r.doNotRestart()
	r.sleep()
	r.detach()
}

func (r *run) report(check string, pos token.Pos, msg string, related ...Related) {
	k := findingKey{check, pos}
	if r.seen[k] {
		return
	}
	r.seen[k] = true
	r.findings = append(r.findings, Finding{Check: check, Pos: pos, Message: msg, Target: r.idx, Related: related})
}

func (r *run) root() *frame { return r.c.rootFrame(r.fn) }

// namePos is where the run function is declared: its name, or the func
// keyword of a literal.
func (r *run) namePos() token.Pos {
	if fd, ok := r.fn.node.(*ast.FuncDecl); ok {
		return fd.Name.Pos()
	}
	return r.fn.node.Pos()
}

// hasAttempt reports whether the run function takes a *runtime.Attempt.
func (r *run) hasAttempt() bool {
	for _, p := range r.fn.params {
		if isAttempt(p.Type()) {
			return true
		}
	}
	return false
}

// describe names what blocks, for a message.
func (c *checker) describe(n ast.Node) string {
	switch n := n.(type) {
	case *ast.ForStmt, *ast.RangeStmt:
		return "a loop"
	case *ast.SelectStmt:
		if len(n.Body.List) == 0 {
			return "select {}"
		}
		return "a select"
	case *ast.SendStmt:
		return "a send on " + short(n.Chan)
	case *ast.UnaryExpr:
		return short(n)
	case *ast.CallExpr:
		return short(n.Fun) + "(...)"
	}
	return "a statement"
}

// short renders an expression for a message, cut if long.
func short(e ast.Expr) string {
	s := types.ExprString(e)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
