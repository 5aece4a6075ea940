package lint

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"
)

// calledFunc returns the function or method a call names statically,
// wherever it is declared, or nil.
func (c *checker) calledFunc(call *ast.CallExpr) *types.Func {
	var obj types.Object
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		obj = c.info.Uses[f]
	case *ast.SelectorExpr:
		if sel, ok := c.info.Selections[f]; ok {
			obj = sel.Obj()
		} else {
			obj = c.info.Uses[f.Sel]
		}
	}
	fn, _ := obj.(*types.Func)
	return fn
}

// isFunc reports whether fn is one of the named functions or methods of
// the package at path.
func isFunc(fn *types.Func, path string, names ...string) bool {
	return fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == path && slices.Contains(names, fn.Name())
}

// serves reports whether a call serves HTTP: it returns only once the
// server is shut down or closed.
func (c *checker) serves(call *ast.CallExpr) bool {
	return isFunc(c.calledFunc(call), "net/http", "Serve", "ServeTLS", "ListenAndServe", "ListenAndServeTLS")
}

// blockingCall reports whether a call waits for something that only
// another goroutine or the outside world ends: a server, an accept, a
// wait group.
func (c *checker) blockingCall(call *ast.CallExpr) bool {
	fn := c.calledFunc(call)
	return c.serves(call) ||
		isFunc(fn, "net", "Accept", "AcceptTCP", "AcceptUnix") ||
		isFunc(fn, "sync", "Wait") || // WaitGroup, Cond
		isFunc(fn, "golang.org/x/sync/errgroup", "Wait")
}

// isExitCall reports whether a call never returns: panic, a call that
// ends the process (see endsProcess), runtime.Goexit, log.Panic,
// testing's Fatal and Skip, a function or method of another package named
// as a logger's that ends the process or panics (Fatal, Panic, as zap's
// and logrus's), or a function of the package that does one of those
// among its top-level statements.
func (c *checker) isExitCall(call *ast.CallExpr) bool {
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if b, ok := c.info.Uses[id].(*types.Builtin); ok && b.Name() == "panic" {
			return true
		}
	}
	fn := c.calledFunc(call)
	if c.endsProcess(call) || isFunc(fn, "runtime", "Goexit") ||
		isFunc(fn, "log", "Panic", "Panicf", "Panicln") ||
		isFunc(fn, "testing", "Fatal", "Fatalf", "FailNow", "Skip", "Skipf", "SkipNow") {
		return true
	}
	if fn != nil && fn.Pkg() != nil && fn.Pkg() != c.pkg.Types {
		return slices.Contains([]string{"Fatal", "Fatalf", "Fatalln", "Fatalw", "Panic", "Panicf", "Panicln", "Panicw"}, fn.Name())
	}
	f := c.callee(call)
	if f == nil {
		return false
	}
	return summary(c.exitsAlways, f, false, func() bool {
		for _, st := range f.body.List {
			if e, ok := st.(*ast.ExprStmt); ok {
				if call, ok := ast.Unparen(e.X).(*ast.CallExpr); ok && c.isExitCall(call) {
					return true
				}
			}
		}
		return false
	})
}

// endsProcess reports whether a call ends the whole process: os.Exit,
// syscall.Exit, x/sys/unix's Exit, log's Fatal functions and methods,
// glog's and klog's Exit functions, Arbor's exit.With unless given nil, or
// a function or method of another package named as a logger's that logs
// and exits (Fatal, Fatalf, Fatalln, Fatalw, FatalDepth, as zap's, logrus's
// and zerolog's), but not testing's nor a method of a type with FailNow
// too, as testing.TB or a test helper's type, whose Fatal ends only the
// goroutine.
func (c *checker) endsProcess(call *ast.CallExpr) bool {
	fn := c.calledFunc(call)
	switch {
	case fn == nil || fn.Pkg() == nil || fn.Pkg().Path() == "testing":
		return false
	case isFunc(fn, "os", "Exit") || isFunc(fn, "syscall", "Exit") || isFunc(fn, "golang.org/x/sys/unix", "Exit"):
		return true
	case isFunc(fn, "github.com/golang/glog", "Exit", "Exitf", "Exitln", "ExitDepth") ||
		isFunc(fn, "k8s.io/klog", "Exit", "Exitf", "Exitln", "ExitDepth") ||
		isFunc(fn, "k8s.io/klog/v2", "Exit", "Exitf", "Exitln", "ExitDepth"):
		return true
	case isFunc(fn, runtimePath+"/exit", "With"):
		return len(call.Args) != 1 || !c.isNilIdent(call.Args[0]) // exit.With(nil) returns
	case fn.Pkg() == c.pkg.Types || !slices.Contains([]string{"Fatal", "Fatalf", "Fatalln", "Fatalw", "FatalDepth"}, fn.Name()):
		return false
	}
	recv := fn.Type().(*types.Signature).Recv()
	if recv == nil {
		return true
	}
	failNow, _, _ := types.LookupFieldOrMethod(recv.Type(), true, fn.Pkg(), "FailNow")
	return failNow == nil
}

// startsArg reports whether a call runs its function argument in a
// goroutine for sure: errgroup's and sync.WaitGroup's Go.
func (c *checker) startsArg(call *ast.CallExpr) bool {
	fn := c.calledFunc(call)
	return isFunc(fn, "golang.org/x/sync/errgroup", "Go") || isFunc(fn, "sync", "Go")
}

// summary returns what compute says of a function, remembered in m; while
// compute runs, a recursion into the same function finds assume.
func summary(m map[*fnode]bool, f *fnode, assume bool, compute func() bool) bool {
	if b, ok := m[f]; ok {
		return b
	}
	m[f] = assume
	b := compute()
	m[f] = b
	return b
}

// timeChan reports whether x is a channel of the time package that
// delivers once after a delay: time.After(d), time.Tick(d), t.C.
func (c *checker) timeChan(x ast.Expr) bool {
	switch x := ast.Unparen(x).(type) {
	case *ast.CallExpr:
		return isFunc(c.calledFunc(x), "time", "After", "Tick")
	case *ast.SelectorExpr:
		if x.Sel.Name != "C" {
			return false
		}
		t := c.info.TypeOf(x.X)
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		return isNamed(t, "time", "Timer") || isNamed(t, "time", "Ticker")
	}
	return false
}

// tickerChan reports whether x is a channel that ticks forever and is
// never closed: time.Tick(d) or a time.Ticker's C, also held by a variable
// that holds nothing else (see boundValue).
func (c *checker) tickerChan(x ast.Expr) bool {
	for range maxValueDepth { // variables that hold each other do not compile
		id, ok := ast.Unparen(x).(*ast.Ident)
		if !ok {
			break
		}
		v, ok := c.info.Uses[id].(*types.Var)
		if !ok || c.boundValue(v) == nil {
			break
		}
		x = c.boundValue(v)
	}
	switch x := ast.Unparen(x).(type) {
	case *ast.CallExpr:
		return isFunc(c.calledFunc(x), "time", "Tick")
	case *ast.SelectorExpr:
		t := c.info.TypeOf(x.X)
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		return x.Sel.Name == "C" && isNamed(t, "time", "Ticker")
	}
	return false
}

// endless reports whether a loop has no condition to end it: for {},
// for true {}, a range over a ticker, or a loop written with goto (see
// gotoLoop).
func (c *checker) endless(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.LabeledStmt:
		return c.gotoLoop(n) != nil
	case *ast.ForStmt:
		if n.Cond == nil {
			return true
		}
		tv := c.info.Types[n.Cond]
		return tv.Value != nil && tv.Value.Kind() == constant.Bool && constant.BoolVal(tv.Value)
	case *ast.RangeStmt:
		return c.tickerChan(n.X)
	}
	return false
}

// exits reports whether a loop's body has a way out: a return, a break
// or goto that leaves it (a goto to its own label does not), a labeled
// continue of an outer loop, or a call that never returns; for a loop
// written with goto, an unlabeled continue too. Function literals in it
// do not count.
func (c *checker) exits(loop ast.Stmt) bool {
	var body *ast.BlockStmt
	switch l := loop.(type) {
	case *ast.LabeledStmt:
		f := c.gotoLoop(l)
		if f == nil {
			return true
		}
		return c.exits(f)
	case *ast.ForStmt:
		body = l.Body
	case *ast.RangeStmt:
		body = l.Body
	default:
		return true
	}
	inner := map[string]bool{} // labels declared in the body
	ast.Inspect(body, func(n ast.Node) bool {
		if l, ok := n.(*ast.LabeledStmt); ok {
			inner[l.Label.Name] = true
		}
		_, lit := n.(*ast.FuncLit)
		return !lit
	})
	own := c.labelOf(loop)
	goto_ := c.madeUp[loop]
	found := false
	var walk func(n ast.Node, nested, inLoop bool)
	walk = func(n ast.Node, nested, inLoop bool) {
		ast.Inspect(n, func(m ast.Node) bool {
			if found || m == nil {
				return false
			}
			switch m := m.(type) {
			case *ast.FuncLit:
				return false
			case *ast.ReturnStmt:
				found = true
			case *ast.BranchStmt:
				switch {
				case m.Label != nil && m.Tok == token.CONTINUE:
					found = !inner[m.Label.Name] && m.Label.Name != own
				case m.Label != nil && m.Tok == token.GOTO:
					found = !inner[m.Label.Name] && m.Label.Name != own // a goto to the loop's own label starts it again
				case m.Label != nil:
					found = !inner[m.Label.Name] // break out of the loop
				case m.Tok == token.BREAK:
					found = !nested
				case m.Tok == token.CONTINUE:
					found = goto_ && !inLoop // a continue of a loop around it
				}
			case *ast.ForStmt, *ast.RangeStmt:
				if m != n {
					walk(m, true, true)
					return false
				}
			case *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
				if m != n {
					walk(m, true, inLoop)
					return false
				}
			case *ast.CallExpr:
				found = c.isExitCall(m)
			}
			return !found
		})
	}
	walk(body, false, false)
	return found
}

// labelOf returns the label of a statement, or "".
func (c *checker) labelOf(s ast.Stmt) string {
	if c.labels == nil {
		c.labels = map[ast.Stmt]string{}
		for _, f := range c.pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				if l, ok := n.(*ast.LabeledStmt); ok {
					c.labels[l.Stmt] = l.Label.Name
				}
				return true
			})
		}
	}
	return c.labels[s]
}

// gotoLoop returns a loop written with goto as the for {} it stands
// for, or nil: a labeled statement, and the statements after it in its
// block up to a goto back to the label that is itself one of them (a goto
// in an if may end the loop by not jumping). The for statement is made
// up, out of the function's own statements: its position is the
// label's.
func (c *checker) gotoLoop(l *ast.LabeledStmt) *ast.ForStmt {
	if c.gotoLoops == nil {
		c.gotoLoops = map[*ast.LabeledStmt]*ast.ForStmt{}
		c.madeUp = map[ast.Stmt]bool{}
		c.labelOf(l) // build c.labels, which exits reads for the loop's own label
		for _, f := range c.pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				var list []ast.Stmt
				switch n := n.(type) {
				case *ast.BlockStmt:
					list = n.List
				case *ast.CaseClause:
					list = n.Body
				case *ast.CommClause:
					list = n.Body
				}
				c.findGotoLoops(list)
				return true
			})
		}
	}
	return c.gotoLoops[l]
}

func (c *checker) findGotoLoops(list []ast.Stmt) {
	for i, st := range list {
		l, ok := st.(*ast.LabeledStmt)
		if !ok {
			continue
		}
		lb := c.info.Defs[l.Label]
		for j := i + 1; j < len(list) && lb != nil; j++ {
			if b, ok := list[j].(*ast.BranchStmt); ok && b.Tok == token.GOTO && b.Label != nil && c.info.Uses[b.Label] == lb {
				f := &ast.ForStmt{For: l.Pos(), Body: &ast.BlockStmt{Lbrace: l.Pos(), List: list[i : j+1], Rbrace: b.End() - 1}}
				c.gotoLoops[l] = f
				c.madeUp[f] = true
				c.labels[f] = l.Label.Name
				break
			}
		}
	}
}

// loopLabel reports whether a goto after a labeled statement jumps back
// to it: the code from the label to the goto is a loop.
func (c *checker) loopLabel(l *ast.LabeledStmt) bool {
	if c.backward == nil {
		c.backward = map[*types.Label]bool{}
		for _, f := range c.pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				if b, ok := n.(*ast.BranchStmt); ok && b.Tok == token.GOTO && b.Label != nil {
					if lb, ok := c.info.Uses[b.Label].(*types.Label); ok && lb.Pos() < b.Pos() {
						c.backward[lb] = true
					}
				}
				return true
			})
		}
	}
	lb, ok := c.info.Defs[l.Label].(*types.Label)
	return ok && c.backward[lb]
}

// recursive reports whether a function calls itself, directly or through
// other functions of the package: its code may run again and again.
func (c *checker) recursive(f *fnode) bool {
	if b, ok := c.recurs[f]; ok {
		return b
	}
	seen := map[*fnode]bool{}
	var reaches func(g *fnode) bool
	reaches = func(g *fnode) bool {
		for _, h := range c.callees(g) {
			if h == f {
				return true
			}
			if !seen[h] {
				seen[h] = true
				if reaches(h) {
					return true
				}
			}
		}
		return false
	}
	b := reaches(f)
	c.recurs[f] = b
	return b
}

// callees returns the declared functions of the package that a function
// calls statically, also from its function literals.
func (c *checker) callees(f *fnode) []*fnode {
	if l, ok := c.calls[f]; ok {
		return l
	}
	var l []*fnode
	ast.Inspect(f.body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if g := c.callee(call); g != nil {
				if _, lit := g.node.(*ast.FuncLit); !lit { // a literal's body is in f's
					l = append(l, g)
				}
			}
		}
		return true
	})
	c.calls[f] = l
	return l
}

// contextCall returns X when x is X.name() and X is a context, or nil.
func (c *checker) contextCall(x ast.Expr, name string) ast.Expr {
	call, ok := ast.Unparen(x).(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return nil
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name || !isContext(c.info.TypeOf(sel.X)) {
		return nil
	}
	return sel.X
}

// isDoneChan reports whether x is X.Done() of a context.
func (c *checker) isDoneChan(x ast.Expr) bool { return c.contextCall(x, "Done") != nil }

// isErrCall reports whether x is X.Err() of a context.
func (c *checker) isErrCall(x ast.Expr) bool { return c.contextCall(x, "Err") != nil }

// waitsForEnd reports whether x is <-ctx.Done() where ctx is a parameter
// never assigned: the run function's context, or the one a caller passed
// down. A context the function derived itself, such as one with a
// timeout, may end sooner.
func (c *checker) waitsForEnd(x ast.Expr) bool {
	u, ok := ast.Unparen(x).(*ast.UnaryExpr)
	if !ok || u.Op != token.ARROW {
		return false
	}
	done := c.contextCall(u.X, "Done")
	return done != nil && c.isEndCtx(done)
}

// reassigned reports whether a variable is assigned after its declaration
// (ctx, cancel := context.WithTimeout(ctx, d) among others) or has its
// address taken: it may no longer hold what it was declared with.
func (c *checker) reassigned(v *types.Var) bool {
	if c.assigned == nil {
		c.assigned = map[*types.Var]bool{}
		mark := func(e ast.Expr) {
			if id, ok := ast.Unparen(e).(*ast.Ident); ok {
				if v, ok := c.info.Uses[id].(*types.Var); ok {
					c.assigned[v] = true
				}
			}
		}
		for _, f := range c.pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					for _, l := range n.Lhs {
						mark(l) // a := that redeclares a variable uses it
					}
				case *ast.RangeStmt:
					if n.Tok == token.ASSIGN {
						mark(n.Key)
						mark(n.Value)
					}
				case *ast.UnaryExpr:
					if n.Op == token.AND {
						mark(n.X)
					}
				}
				return true
			})
		}
	}
	return c.assigned[v]
}

// isDoneRecv reports whether a select case receives from a context's
// Done channel.
func (c *checker) isDoneRecv(comm ast.Stmt) bool {
	u := commRecv(comm)
	return u != nil && c.isDoneChan(u.X)
}

// commRecv returns the receive of a select case, <-ch in <-ch, v := <-ch
// or v, ok = <-ch, or nil for a send or default.
func commRecv(comm ast.Stmt) *ast.UnaryExpr {
	var x ast.Expr
	switch s := comm.(type) {
	case *ast.ExprStmt:
		x = s.X
	case *ast.AssignStmt:
		if len(s.Rhs) == 1 {
			x = s.Rhs[0]
		}
	}
	if u, ok := ast.Unparen(x).(*ast.UnaryExpr); ok && u.Op == token.ARROW {
		return u
	}
	return nil
}

// isDoneCond reports whether an if condition holds once a context is
// done: ctx.Err() != nil, errors.Is(err, context.Canceled), err ==
// context.DeadlineExceeded, or a conjunction with one of those.
func (c *checker) isDoneCond(cond ast.Expr) bool {
	switch e := ast.Unparen(cond).(type) {
	case *ast.BinaryExpr:
		switch e.Op {
		case token.LAND:
			return c.isDoneCond(e.X) || c.isDoneCond(e.Y)
		case token.NEQ:
			return (c.isErrCall(e.X) && c.isNilIdent(e.Y)) || (c.isErrCall(e.Y) && c.isNilIdent(e.X))
		case token.EQL:
			return c.isCtxErrVar(e.X) || c.isCtxErrVar(e.Y)
		}
	case *ast.CallExpr:
		if isFunc(c.calledFunc(e), "errors", "Is") && len(e.Args) == 2 {
			return c.isCtxErrVar(e.Args[1])
		}
	}
	return false
}

func (c *checker) isNilIdent(x ast.Expr) bool {
	id, ok := ast.Unparen(x).(*ast.Ident)
	if !ok {
		return false
	}
	_, ok = c.info.Uses[id].(*types.Nil)
	return ok
}

// isCtxErrVar reports whether x is context.Canceled or
// context.DeadlineExceeded.
func (c *checker) isCtxErrVar(x ast.Expr) bool {
	sel, ok := ast.Unparen(x).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	v, ok := c.info.Uses[sel.Sel].(*types.Var)
	return ok && v.Pkg() != nil && v.Pkg().Path() == "context" && (v.Name() == "Canceled" || v.Name() == "DeadlineExceeded")
}

// blocksStmt returns what makes a statement block until shutdown, or
// nil: a receive from the Done of a context parameter (also as the one
// case of a select), serving HTTP, an empty select, an endless loop
// without exit, or a call of a function of the package that does one of
// those at its top level.
func (c *checker) blocksStmt(st ast.Stmt) ast.Node {
	switch st := st.(type) {
	case *ast.ExprStmt:
		return c.blocksExpr(st.X)
	case *ast.AssignStmt:
		for _, r := range st.Rhs {
			if b := c.blocksExpr(r); b != nil {
				return b
			}
		}
	case *ast.DeclStmt:
		if g, ok := st.Decl.(*ast.GenDecl); ok {
			for _, spec := range g.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok {
					for _, v := range vs.Values {
						if b := c.blocksExpr(v); b != nil {
							return b
						}
					}
				}
			}
		}
	case *ast.IfStmt:
		if st.Init != nil {
			if b := c.blocksStmt(st.Init); b != nil {
				return b
			}
		}
		return c.blocksExpr(st.Cond)
	case *ast.ReturnStmt:
		for _, r := range st.Results {
			if b := c.blocksExpr(r); b != nil {
				return b
			}
		}
	case *ast.ForStmt, *ast.RangeStmt:
		if c.endless(st) && !c.exits(st) {
			return st
		}
	case *ast.SelectStmt:
		if len(st.Body.List) == 0 {
			return st
		}
		if len(st.Body.List) == 1 { // select { case <-ctx.Done(): }
			if u := commRecv(st.Body.List[0].(*ast.CommClause).Comm); u != nil && c.waitsForEnd(u) {
				return st
			}
		}
	case *ast.LabeledStmt:
		if f := c.gotoLoop(st); f != nil && !c.exits(f) {
			return f
		}
		return c.blocksStmt(st.Stmt)
	}
	return nil
}

func (c *checker) blocksExpr(e ast.Expr) ast.Node {
	switch e := ast.Unparen(e).(type) {
	case *ast.UnaryExpr:
		if c.waitsForEnd(e) {
			return e
		}
	case *ast.CallExpr:
		if c.serves(e) {
			return e
		}
		if f := c.callee(e); f != nil && c.blocksForever(f) && c.passesEnd(e, f) {
			return e
		}
	case *ast.BinaryExpr:
		if b := c.blocksExpr(e.X); b != nil {
			return b
		}
		return c.blocksExpr(e.Y)
	}
	return nil
}

// passesEnd reports whether a call of f, which blocks at its top level,
// blocks until shutdown: when f waits for the end of a context it takes,
// the call passes it a context parameter never assigned, not one the
// caller derived, as in serve(sctx) with sctx, cancel :=
// context.WithTimeout(ctx, d).
func (c *checker) passesEnd(call *ast.CallExpr, f *fnode) bool {
	i := c.endParam(f, 0)
	if i < 0 || i >= len(call.Args) || (i == len(f.params)-1 && isVariadic(f)) {
		return true
	}
	return c.isEndCtx(call.Args[i])
}

// endParam returns the index of the parameter of f whose context's end
// f waits for at its top level, directly or through the functions it
// calls, or -1 when f blocks on something else.
func (c *checker) endParam(f *fnode, depth int) int {
	var id *ast.Ident
	switch b := c.topBlock(f).(type) {
	case *ast.UnaryExpr:
		id, _ = ast.Unparen(c.contextCall(b.X, "Done")).(*ast.Ident)
	case *ast.CallExpr:
		g := c.callee(b)
		if g == nil || depth >= maxDepth {
			return -1
		}
		if j := c.endParam(g, depth+1); j >= 0 && j < len(b.Args) {
			id, _ = ast.Unparen(b.Args[j]).(*ast.Ident)
		}
	}
	v, ok := c.info.Uses[id].(*types.Var)
	if !ok {
		return -1
	}
	return slices.Index(f.params, v)
}

// endIn reports whether x is a context parameter never assigned, bound in
// the frame to the run function's context or one that ends with it.
func (c *checker) endIn(fr *frame, x ast.Expr) bool {
	if !c.isEndCtx(x) {
		return false
	}
	v, _ := c.info.Uses[ast.Unparen(x).(*ast.Ident)].(*types.Var)
	return !fr.derived[v]
}

// blocksIn returns b, what blocks until shutdown in a function, unless in
// the frame it waits for the end of a context that may end sooner: a
// parameter bound to a context the caller derived.
func (c *checker) blocksIn(fr *frame, b ast.Node) ast.Node {
	if len(fr.derived) == 0 {
		return b
	}
	var x ast.Expr
	switch b := b.(type) {
	case *ast.UnaryExpr:
		x = c.contextCall(b.X, "Done")
	case *ast.SelectStmt: // select { case <-ctx.Done(): }
		if len(b.Body.List) == 1 {
			if u := commRecv(b.Body.List[0].(*ast.CommClause).Comm); u != nil {
				x = c.contextCall(u.X, "Done")
			}
		}
	case *ast.CallExpr:
		if g := c.callee(b); g != nil {
			if j := c.endParam(g, 0); j >= 0 && j < len(b.Args) {
				x = b.Args[j]
			}
		}
	}
	if x != nil && !c.endIn(fr, x) {
		return nil
	}
	return b
}

// isEndCtx reports whether x is a context parameter never assigned, whose
// end is the end of the caller's.
func (c *checker) isEndCtx(x ast.Expr) bool {
	id, ok := ast.Unparen(x).(*ast.Ident)
	if !ok {
		return false
	}
	v, ok := c.info.Uses[id].(*types.Var)
	return ok && v.Kind() == types.ParamVar && !c.reassigned(v)
}

// blocksForever reports whether a function blocks until shutdown at its
// top level.
func (c *checker) blocksForever(f *fnode) bool { return c.topBlock(f) != nil }

// topBlock returns the first statement at a function's top level that
// blocks until shutdown, or nil.
func (c *checker) topBlock(f *fnode) ast.Node {
	if b, ok := c.blocks[f]; ok {
		return b
	}
	c.blocks[f] = nil // recursion: assume not, and stay silent
	for _, st := range f.body.List {
		if b := c.blocksStmt(st); b != nil {
			c.blocks[f] = b
			return b
		}
	}
	return nil
}

// neverReturns reports whether a function cannot return: at its top
// level it has an endless loop without exit or an empty select, or calls
// a function of the package that does.
func (c *checker) neverReturns(f *fnode) bool {
	return summary(c.never, f, false, func() bool {
		return slices.ContainsFunc(f.body.List, c.stmtNeverEnds)
	})
}

func (c *checker) stmtNeverEnds(st ast.Stmt) bool {
	switch st := st.(type) {
	case *ast.ForStmt, *ast.RangeStmt:
		return c.endless(st) && !c.exits(st)
	case *ast.SelectStmt:
		return len(st.Body.List) == 0
	case *ast.LabeledStmt:
		if f := c.gotoLoop(st); f != nil && !c.exits(f) {
			return true
		}
		return c.stmtNeverEnds(st.Stmt)
	case *ast.ExprStmt:
		if call, ok := ast.Unparen(st.X).(*ast.CallExpr); ok {
			if f := c.callee(call); f != nil {
				return c.neverReturns(f)
			}
		}
	}
	return false
}

// looksAtContext reports whether code mentions a context: any value of
// type context.Context, here or in a function of the package it calls.
// Function literals in it count.
func (c *checker) looksAtContext(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if found {
			return false
		}
		if e, ok := m.(ast.Expr); ok {
			if tv, ok := c.info.Types[e]; ok && tv.IsValue() && isContext(tv.Type) {
				found = true
			}
		}
		if call, ok := m.(*ast.CallExpr); ok {
			if f := c.callee(call); f != nil && f.node != n && c.fnLooks(f) {
				found = true
			}
		}
		return !found
	})
	return found
}

func (c *checker) fnLooks(f *fnode) bool {
	// In a recursion, assume it does, and stay silent.
	return summary(c.observes, f, true, func() bool { return c.looksAtContext(f.body) })
}

// usesParam reports whether a function uses its i-th parameter other than
// by passing it to a function of the package that does not use it.
func (c *checker) usesParam(f *fnode, i int) bool {
	key := paramKey{f, i}
	if u, ok := c.uses[key]; ok {
		return u
	}
	c.uses[key] = true // recursion: assume it does, and stay silent
	v := f.params[i]
	used := false
	var stack []ast.Node
	ast.Inspect(f.body, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if used {
			return false
		}
		if id, ok := n.(*ast.Ident); ok && c.info.Uses[id] == v {
			used = c.useOf(id, stack[len(stack)-1])
		}
		stack = append(stack, n)
		return true
	})
	c.uses[key] = used
	return used
}

// useOf reports whether a reference to a parameter, with its parent, is a
// use: anything but an argument of a function of the package whose
// parameter is unused.
func (c *checker) useOf(id *ast.Ident, parent ast.Node) bool {
	call, ok := parent.(*ast.CallExpr)
	if !ok {
		return true
	}
	i := slices.IndexFunc(call.Args, func(a ast.Expr) bool { return a == id })
	callee := c.callee(call)
	if i < 0 || callee == nil {
		return true
	}
	p := param(callee, i)
	if p == nil {
		return true
	}
	return c.usesParam(callee, slices.Index(callee.params, p))
}
