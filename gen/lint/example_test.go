package lint_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"

	"github.com/arbor-go/arbor/gen/lint"
)

// Check takes a type-checked package and the run functions to check, with
// what each child asks of its function: arbor vet calls it with the
// functions a spec names. (Analyzer does the same under go vet -vettool,
// learning the targets from the package's runtime.Child literals.)
func ExampleCheck() {
	const src = `package jobs

import (
	"context"
	"time"
)

func Poll(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			break // leaves the select, not the loop
		case <-time.After(time.Second):
			fetch()
		}
	}
}

func fetch() {}
`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "jobs.go", src, parser.ParseComments)
	if err != nil {
		panic(err)
	}
	info := &types.Info{
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Types:      map[ast.Expr]types.TypeAndValue{},
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("example.com/jobs", fset, []*ast.File{file}, info)
	if err != nil {
		panic(err)
	}

	poll := pkg.Scope().Lookup("Poll").(*types.Func)
	findings := lint.Check(
		&lint.Package{Fset: fset, Files: []*ast.File{file}, Types: pkg, Info: info},
		[]lint.Target{{Func: poll, Child: "jobs/poller"}},
	)
	for _, f := range findings {
		fmt.Printf("%v: %s (%s)\n", fset.Position(f.Pos), f.Message, f.Check)
	}
	// Output:
	// jobs.go:9:2: this loop watches the context, but nothing leaves it: once the context is done it spins (a break in a select leaves only the select), and cancellation cannot stop Poll, so at every shutdown and restart it is abandoned after its grace (ctxloop)
}
