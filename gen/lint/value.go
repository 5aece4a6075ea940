package lint

import (
	"go/ast"
	"go/token"
	"go/types"
)

// maxValueDepth bounds how many variables and factories funcValue follows
// to find the function a value holds.
const maxValueDepth = 8

// funcValue returns the function an expression holds, when it is known:
// a function (also instantiated, F[T]), a method value (store.Run), a
// function literal, runtime.Func of one or a conversion such as
// runtime.RunFunc(F); a variable that holds one (see boundValue); or the
// call of a function of the package whose every return returns the same
// one (a factory, p.runner(n)). It returns nil, nil otherwise.
func (c *checker) funcValue(e ast.Expr, depth int) (*types.Func, *ast.FuncLit) {
	if depth > maxValueDepth {
		return nil, nil
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.CallExpr:
		if len(e.Args) == 1 && (isFunc(c.calledFunc(e), runtimePath, "Func") || c.info.Types[e.Fun].IsType()) {
			return c.funcValue(e.Args[0], depth+1) // runtime.Func(F), or a conversion: runtime.RunFunc(F)
		}
		return c.factoryValue(e, depth)
	case *ast.FuncLit:
		return nil, e
	case *ast.IndexExpr: // an instantiation, F[T]
		return c.funcValue(e.X, depth)
	case *ast.IndexListExpr:
		return c.funcValue(e.X, depth)
	case *ast.Ident:
		switch obj := c.info.Uses[e].(type) {
		case *types.Func:
			return obj, nil
		case *types.Var:
			if x := c.boundValue(obj); x != nil {
				return c.funcValue(x, depth+1)
			}
		}
	case *ast.SelectorExpr:
		if sel, ok := c.info.Selections[e]; ok {
			if sel.Kind() == types.MethodVal {
				fn, _ := sel.Obj().(*types.Func)
				return fn, nil
			}
			return nil, nil
		}
		fn, _ := c.info.Uses[e.Sel].(*types.Func)
		return fn, nil
	}
	return nil, nil
}

// factoryValue returns the function that a call of a function of the
// package returns, when each of its returns returns the same one.
func (c *checker) factoryValue(call *ast.CallExpr, depth int) (*types.Func, *ast.FuncLit) {
	g := c.callee(call)
	if g == nil {
		return nil, nil
	}
	if _, lit := g.node.(*ast.FuncLit); lit {
		return nil, nil
	}
	var fn *types.Func
	var lit *ast.FuncLit
	found, same := false, true
	ast.Inspect(g.body, func(n ast.Node) bool {
		if !same {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // its returns are its own
		case *ast.ReturnStmt:
			if len(n.Results) != 1 {
				same = false
				return false
			}
			f, l := c.funcValue(n.Results[0], depth+1)
			switch {
			case f == nil && l == nil:
				same = false
			case !found:
				fn, lit, found = f, l, true
			case f != fn || l != lit:
				same = false
			}
		}
		return true
	})
	if !found || !same {
		return nil, nil
	}
	return fn, lit
}

// boundValue returns the expression a variable was declared with, when it
// holds nothing else: it is never assigned afterwards nor has its address
// taken, and it is local or unexported (another package may set an
// exported one). It returns nil otherwise.
func (c *checker) boundValue(v *types.Var) ast.Expr {
	if v.Exported() && (c.pkg.Types == nil || v.Parent() == c.pkg.Types.Scope()) || c.reassigned(v) {
		return nil
	}
	if c.values == nil {
		c.values = map[*types.Var]ast.Expr{}
		bind := func(names []*ast.Ident, values []ast.Expr) {
			if len(names) != len(values) {
				return // v1, v2 := f(): not one value each
			}
			for i, id := range names {
				if v, ok := c.info.Defs[id].(*types.Var); ok {
					c.values[v] = values[i]
				}
			}
		}
		for _, f := range c.pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					bind(n.Names, n.Values)
				case *ast.AssignStmt:
					if n.Tok == token.DEFINE {
						var ids []*ast.Ident
						for _, l := range n.Lhs {
							id, _ := l.(*ast.Ident)
							ids = append(ids, id)
						}
						bind(ids, n.Rhs)
					}
				}
				return true
			})
		}
	}
	return c.values[v]
}
