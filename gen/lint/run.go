package lint

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
)

// run checks one target.
type run struct {
	c        *checker
	t        Target
	idx      int
	fn       *fnode
	findings []Finding
	seen     map[findingKey]bool
	uses     attemptUses
	leaks    map[token.Pos]bool // go statements escape reports without the attempt
}

type findingKey struct {
	check string
	pos   token.Pos
}

// checkAll runs the checks. Most visit the code the run function runs,
// in two walks that they share, so that the work grows with the code, not
// with the code times the checks: one of the run function's own goroutine,
// one of all the code, its function literals and goroutines included.
func (r *run) checkAll() {
	unused := !r.c.usesParam(r.fn, 0)
	var block ast.Node // what waits, for ctxunused
	grace := r.t.grace()
	r.c.walk(r.root(), false, func(n ast.Node, s *state) bool {
		if unused && block == nil {
			block = r.c.blocking(n, s)
		}
		r.ctxLoop(n)
		r.escape(n, s)
		if grace > 0 {
			r.sleep(n, s, grace)
		}
		return true
	})
	if unused && r.ctxUnused(block) {
		r.drop(CheckCtxLoop) // an unused context already says it
	}
	wraps := map[ast.Node]bool{}
	r.c.walk(r.root(), true, func(n ast.Node, s *state) bool {
		r.attempt(n, s)
		r.doNotRestart(n, s, wraps)
		r.exit(n, s)
		return true
	})
	r.ready()
	r.beat()
	r.detach()
	if !unused {
		// One that never uses its context does not end when it does:
		// ctxunused says what is wrong, with the timeout or without it.
		r.timeout()
	}
}

// drop removes the findings of a check.
func (r *run) drop(check string) {
	r.findings = slices.DeleteFunc(r.findings, func(f Finding) bool { return f.Check == check })
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
