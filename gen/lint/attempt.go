package lint

import (
	"fmt"
	"go/ast"
	"go/token"
)

// attemptUses is what a run function does with its attempt, in its own
// code, its function literals, its goroutines and the functions of the
// package it passes the attempt to.
type attemptUses struct {
	ready, beat []callAt
	escape      ast.Node // a use the checks cannot follow, or nil
}

// callAt is a call and where the walk met it.
type callAt struct {
	call *ast.CallExpr
	s    state
}

// attempt records, on a node of any code the run function runs, what it
// does with its attempt.
func (r *run) attempt(n ast.Node, s *state) {
	u := &r.uses
	switch n := n.(type) {
	case *ast.Ident:
		if u.escape == nil && r.c.tracked(s.fr, n) {
			u.escape = n
		}
	case *ast.CallExpr:
		sel, ok := ast.Unparen(n.Fun).(*ast.SelectorExpr)
		if !ok {
			break
		}
		if id, ok := ast.Unparen(sel.X).(*ast.Ident); ok && r.c.tracked(s.fr, id) {
			switch sel.Sel.Name {
			case "Ready":
				u.ready = append(u.ready, callAt{n, *s})
			case "Beat":
				u.beat = append(u.beat, callAt{n, *s})
			}
		}
	}
}

// ready is the ready check.
func (r *run) ready() {
	if !r.t.Ready {
		return
	}
	name := r.fn.name
	// A one-shot child is ready once it ends with a success: it needs
	// a.Ready() only if it ends at shutdown.
	var waits ast.Node
	if r.t.OneShot {
		if waits = r.c.blocksIn(r.root(), r.c.topBlock(r.fn)); waits == nil {
			return
		}
	}
	if !r.hasAttempt() {
		if waits != nil {
			r.report(CheckReady, r.namePos(), fmt.Sprintf("the child has ready, but %s takes no *runtime.Attempt, so it cannot call a.Ready(), and it ends only at shutdown (%s), not with the success that makes a transient or temporary child ready: the child never becomes ready", name, r.c.describe(waits)),
				Related{Pos: waits.Pos(), Message: "waits until shutdown here"})
			return
		}
		r.report(CheckReady, r.namePos(), fmt.Sprintf("the child has ready, but %s takes no *runtime.Attempt, so it cannot call a.Ready(): the child never becomes ready", name))
		return
	}
	u := &r.uses
	if u.escape != nil {
		return // it may call Ready where the walk cannot see
	}
	if len(u.ready) == 0 {
		if waits != nil {
			r.report(CheckReady, r.namePos(), fmt.Sprintf("the child has ready, but %s never calls a.Ready(), and it ends only at shutdown (%s), not with the success that makes a transient or temporary child ready: the child never becomes ready, its dependents never start, and its ready timeout, if any, fails every attempt", name, r.c.describe(waits)),
				Related{Pos: waits.Pos(), Message: "waits until shutdown here"})
			return
		}
		r.report(CheckReady, r.namePos(), fmt.Sprintf("the child has ready, but %s never calls a.Ready(): the child never becomes ready, its dependents never start, and its ready timeout, if any, fails every attempt", name))
		return
	}
	for _, c := range u.ready {
		if c.s.blocked == nil || c.s.closure {
			return
		}
	}
	first := u.ready[0]
	r.report(CheckReady, first.call.Pos(), fmt.Sprintf("%s calls a.Ready() only after %s, which waits until shutdown: the child is never ready while it runs", name, r.c.describe(first.s.blocked)),
		Related{Pos: first.s.blocked.Pos(), Message: "waits until shutdown here"})
}

// timeout is the timeout check: a child with a timeout whose run function
// waits until its context ends, as a service does, fails every attempt at
// its deadline. Newcomers take timeout for a deadline on starting, which
// is ready's.
func (r *run) timeout() {
	if !r.t.Timeout {
		return
	}
	waits := r.c.blocksIn(r.root(), r.c.topBlock(r.fn))
	if waits == nil {
		return
	}
	r.report(CheckTimeout, waits.Pos(), fmt.Sprintf("the child has a timeout, but %s ends only when its context does (%s): every attempt runs until its deadline and fails; a timeout bounds one attempt of a job: leave it out for a service (ready bounds its start)", r.fn.name, r.c.describe(waits)))
}

// beat is the beat check.
func (r *run) beat() {
	if !r.t.Heartbeat {
		return
	}
	name := r.fn.name
	if !r.hasAttempt() {
		r.report(CheckBeat, r.namePos(), fmt.Sprintf("the child has heartbeat, but %s takes no *runtime.Attempt, so it cannot call a.Beat(): the watchdog cancels every attempt", name))
		return
	}
	u := &r.uses
	if u.escape != nil {
		return
	}
	if len(u.beat) == 0 {
		r.report(CheckBeat, r.namePos(), fmt.Sprintf("the child has heartbeat, but %s never calls a.Beat(): the watchdog cancels every attempt one heartbeat timeout after it starts", name))
		return
	}
	for _, c := range u.beat {
		if c.s.long || c.s.closure {
			return // it beats again and again, or may
		}
	}
	// Every beat runs a bounded number of times: find what waits long
	// without one.
	var long ast.Node
	r.c.walk(r.root(), false, func(n ast.Node, s *state) bool {
		if long == nil && !s.comm { // a select's other cases may end it sooner
			long = r.c.blocksIn(s.fr, r.c.longRunning(n))
		}
		return long == nil
	})
	if long != nil {
		r.report(CheckBeat, long.Pos(), fmt.Sprintf("%s calls a.Beat() only outside %s, which never beats: the watchdog cancels the attempt once it has waited here for one heartbeat timeout", name, r.c.describe(long)))
	}
}

// longRunning returns n when it runs until shutdown or a channel closes:
// a loop without condition, a range over a channel, a receive from the
// Done of a context parameter (also as a select's only case), serving
// HTTP, or an empty select.
func (c *checker) longRunning(n ast.Node) ast.Node {
	switch n := n.(type) {
	case *ast.LabeledStmt:
		if f := c.gotoLoop(n); f != nil {
			return f
		}
	case *ast.ForStmt:
		if c.endless(n) {
			return n
		}
	case *ast.RangeStmt:
		if c.endless(n) || isChan(c.info.TypeOf(n.X)) {
			return n
		}
	case *ast.UnaryExpr:
		if c.waitsForEnd(n) {
			return n
		}
	case *ast.CallExpr:
		if c.serves(n) {
			return n
		}
	case *ast.SelectStmt:
		if len(n.Body.List) == 0 {
			return n
		}
		if len(n.Body.List) == 1 {
			if st, ok := n.Body.List[0].(*ast.CommClause).Comm.(*ast.ExprStmt); ok && c.waitsForEnd(st.X) {
				return n
			}
		}
	}
	return nil
}

// escape is the escape check, on a node of the run function's own
// goroutine.
func (r *run) escape(n ast.Node, s *state) {
	g, ok := n.(*ast.GoStmt)
	if !ok {
		return
	}
	f := r.c.callee(g.Call)
	uses := false
	mentions := func(m ast.Node) bool {
		if id, ok := m.(*ast.Ident); ok && r.c.tracked(s.fr, id) {
			uses = true
		}
		return !uses
	}
	ast.Inspect(g.Call, mentions)
	if f != nil && !uses {
		if _, lit := f.node.(*ast.FuncLit); lit {
			ast.Inspect(f.body, mentions) // also held by a variable: go beat()
		}
	}
	switch {
	case f == nil || !r.c.neverReturns(f):
	case uses:
		r.report(CheckEscape, g.Pos(), fmt.Sprintf("this goroutine uses the attempt and never returns: it outlives %s, so every attempt leaves one behind, and what it reports once its attempt has ended is fenced and does nothing", r.fn.name))
	default:
		r.report(CheckEscape, g.Pos(), fmt.Sprintf("this goroutine never returns: it outlives %s, so every attempt leaves one behind, which nothing supervises or stops, at shutdown either", r.fn.name))
		if r.leaks == nil {
			r.leaks = map[token.Pos]bool{}
		}
		r.leaks[g.Pos()] = true
	}
}
