package lint

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"reflect"
	"strings"
	"time"

	"golang.org/x/tools/go/analysis"

	"github.com/arbor-go/arbor/runtime"
)

// Analyzer runs the checks on the run functions of a package: those that
// its runtime.Child literals name (arbor_gen.go has one per worker), with
// what each literal asks for, and every other function with the signature
// func(context.Context, *runtime.Attempt, ...) error that the package does
// not call itself, with no requirements. Run functions declared in another
// package are checked when that package is analyzed, without the
// requirements of the child.
var Analyzer = &analysis.Analyzer{
	Name:       "arborlint",
	Doc:        "check Arbor run functions for what a supervisor can only suffer at run time\n\nIt reports run functions that cannot be stopped, that never report readiness or heartbeats their child asks for, that leak the attempt to a goroutine, and other misuse. See the package documentation for each check's rule and for the //arbor:nolint directive.",
	URL:        "https://pkg.go.dev/github.com/arbor-go/arbor/gen/lint",
	Run:        runAnalyzer,
	ResultType: reflect.TypeFor[*Result](),
}

// Result is what the Analyzer returns for a package: the run functions it
// checked.
type Result struct {
	Targets []Target
}

func runAnalyzer(pass *analysis.Pass) (any, error) {
	pkg := &Package{Fset: pass.Fset, Files: pass.Files, Types: pass.Pkg, Info: pass.TypesInfo}
	targets := Targets(pkg)
	type key struct {
		check string
		pos   token.Pos
	}
	seen := map[key]bool{} // a function that several children name is reported once
	for _, f := range Check(pkg, targets) {
		if seen[key{f.Check, f.Pos}] {
			continue
		}
		seen[key{f.Check, f.Pos}] = true
		d := analysis.Diagnostic{Pos: f.Pos, Category: f.Check, Message: f.Message}
		if f.Target >= 0 {
			t := targets[f.Target]
			if t.Child != "" {
				d.Message = t.Child + ": " + d.Message
			}
			d.Message += " (" + f.Check + ")"
			for _, r := range f.Related {
				d.Related = append(d.Related, analysis.RelatedInformation{Pos: r.Pos, Message: r.Message})
			}
			if t.Spec.IsValid() {
				d.Related = append(d.Related, analysis.RelatedInformation{Pos: t.Spec, Message: "the child is declared here"})
			}
		}
		pass.Report(d)
	}
	return &Result{Targets: targets}, nil
}

// Targets finds the run functions of a package, as the Analyzer checks
// them: the functions, methods and literals that the Run fields of its
// runtime.Child literals name, directly or through runtime.Func, with
// what the literal asks for; then every other function or method with the
// signature func(context.Context, *runtime.Attempt, ...) error outside
// generated files that the package does not call itself, with no
// requirements and an unknown grace.
func Targets(pkg *Package) []Target {
	c := newChecker(pkg)
	var targets []Target
	named := map[*types.Func]bool{}
	for _, f := range pkg.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || !isNamed(pkg.Info.TypeOf(lit), runtimePath, "Child") {
				return true
			}
			if t, ok := c.childTarget(lit); ok {
				targets = append(targets, t)
				if t.Func != nil {
					named[t.Func] = true
				}
			}
			return true
		})
	}
	// The run functions of pools' instances, with no requirements: the
	// pool's runtime.Child has them, but which pool a Start call starts
	// an instance of is not known here.
	for _, f := range pkg.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && len(call.Args) == 2 && c.isPoolStart(call) {
				fn, lit := c.poolRun(call.Args[1])
				switch {
				case fn != nil && fn.Pkg() == pkg.Types && !named[fn]:
					named[fn] = true
					targets = append(targets, Target{Func: fn, Grace: -1})
				case lit != nil && !ast.IsGenerated(f):
					targets = append(targets, Target{Lit: lit, Grace: -1})
				}
			}
			return true
		})
	}
	// A function the package calls is a helper: the checks walk it as
	// part of its callers. Its tests calling it do not make it one.
	called := map[*types.Func]bool{}
	for _, f := range pkg.Files {
		if tf := pkg.Fset.File(f.FileStart); tf != nil && strings.HasSuffix(tf.Name(), "_test.go") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if fn := c.calledFunc(call); fn != nil {
					called[fn.Origin()] = true
				}
			}
			return true
		})
	}
	for _, f := range pkg.Files {
		if ast.IsGenerated(f) {
			continue // its author cannot act on a finding
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			fn, ok := pkg.Info.Defs[fd.Name].(*types.Func)
			if ok && !named[fn] && !called[fn] && attemptSignature(fn.Type().(*types.Signature)) {
				targets = append(targets, Target{Func: fn, Grace: -1})
			}
		}
	}
	return targets
}

// childTarget reads a runtime.Child literal: its run function, when it is
// declared in the package, and what the child asks of it.
func (c *checker) childTarget(lit *ast.CompositeLit) (Target, bool) {
	t := Target{Spec: lit.Pos()}
	found := false
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			return t, false // positional: not worth guessing
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok {
			continue
		}
		v := ast.Unparen(kv.Value)
		tv := c.info.Types[v]
		switch key.Name {
		case "Name":
			if tv.Value != nil && tv.Value.Kind() == constant.String {
				t.Child = constant.StringVal(tv.Value)
			}
		case "Run":
			t.Func, t.Lit = c.funcValue(v, 0)
			found = (t.Func != nil && t.Func.Pkg() == c.pkg.Types) || t.Lit != nil
		case "Restart":
			if tv.Value != nil && tv.Value.Kind() == constant.String {
				r := runtime.Restart(constant.StringVal(tv.Value))
				t.OneShot = r == runtime.Transient || r == runtime.Temporary
			}
		case "Ready":
			t.Ready = !tv.IsNil()
		case "Heartbeat":
			t.Heartbeat = !tv.IsNil()
		case "Timeout":
			// Not a number only in a package that does not compile.
			t.Timeout = tv.Value == nil || !isNumeric(tv.Value) || constant.Sign(tv.Value) != 0
		case "Shutdown":
			t.Grace = -1
			if tv.Value != nil {
				if d, exact := constant.Int64Val(constant.ToInt(tv.Value)); exact && d > 0 {
					t.Grace = time.Duration(d)
				}
			}
		}
	}
	return t, found
}

// isPoolStart reports whether a call is (*runtime.Pool).Start.
func (c *checker) isPoolStart(call *ast.CallExpr) bool {
	fn := c.calledFunc(call)
	if !isFunc(fn, runtimePath, "Start") {
		return false
	}
	recv := fn.Type().(*types.Signature).Recv()
	return recv != nil && isPointerTo(recv.Type(), runtimePath, "Pool")
}

// poolRun resolves the run function given to Pool.Start. A function
// literal that only calls a function of the package, as arbor_gen.go
// writes for a pool (return Handle(ctx, a, arg)), stands for that
// function.
func (c *checker) poolRun(e ast.Expr) (*types.Func, *ast.FuncLit) {
	fn, lit := c.funcValue(e, 0)
	if lit == nil || len(lit.Body.List) != 1 {
		return fn, lit
	}
	if ret, ok := lit.Body.List[0].(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
		if call, ok := ast.Unparen(ret.Results[0]).(*ast.CallExpr); ok {
			if g := c.callee(call); g != nil {
				if fd, ok := g.node.(*ast.FuncDecl); ok {
					f, _ := c.info.Defs[fd.Name].(*types.Func)
					return f, nil
				}
			}
		}
	}
	return fn, lit
}

// attemptSignature reports whether sig is func(context.Context,
// *runtime.Attempt, ...) error.
func attemptSignature(sig *types.Signature) bool {
	p, r := sig.Params(), sig.Results()
	return p.Len() >= 2 && isContext(p.At(0).Type()) && isAttempt(p.At(1).Type()) &&
		r.Len() == 1 && types.Identical(r.At(0).Type(), types.Universe.Lookup("error").Type())
}

// isNumeric reports whether a constant is a number, as constant.Sign
// requires.
func isNumeric(v constant.Value) bool {
	switch v.Kind() {
	case constant.Int, constant.Float, constant.Complex:
		return true
	}
	return false
}
