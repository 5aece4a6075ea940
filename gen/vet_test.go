package gen

import (
	"fmt"
	"go/ast"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/appends"
	"golang.org/x/tools/go/analysis/passes/assign"
	"golang.org/x/tools/go/analysis/passes/atomic"
	"golang.org/x/tools/go/analysis/passes/bools"
	"golang.org/x/tools/go/analysis/passes/composite"
	"golang.org/x/tools/go/analysis/passes/copylock"
	"golang.org/x/tools/go/analysis/passes/defers"
	"golang.org/x/tools/go/analysis/passes/errorsas"
	"golang.org/x/tools/go/analysis/passes/hostport"
	"golang.org/x/tools/go/analysis/passes/httpresponse"
	"golang.org/x/tools/go/analysis/passes/ifaceassert"
	"golang.org/x/tools/go/analysis/passes/loopclosure"
	"golang.org/x/tools/go/analysis/passes/lostcancel"
	"golang.org/x/tools/go/analysis/passes/nilfunc"
	"golang.org/x/tools/go/analysis/passes/printf"
	"golang.org/x/tools/go/analysis/passes/shift"
	"golang.org/x/tools/go/analysis/passes/sigchanyzer"
	"golang.org/x/tools/go/analysis/passes/slog"
	"golang.org/x/tools/go/analysis/passes/stdmethods"
	"golang.org/x/tools/go/analysis/passes/stringintconv"
	"golang.org/x/tools/go/analysis/passes/structtag"
	"golang.org/x/tools/go/analysis/passes/testinggoroutine"
	"golang.org/x/tools/go/analysis/passes/tests"
	"golang.org/x/tools/go/analysis/passes/timeformat"
	"golang.org/x/tools/go/analysis/passes/unmarshal"
	"golang.org/x/tools/go/analysis/passes/unreachable"
	"golang.org/x/tools/go/analysis/passes/unsafeptr"
	"golang.org/x/tools/go/analysis/passes/unusedresult"
	"golang.org/x/tools/go/analysis/passes/waitgroup"

	"github.com/arbor-go/arbor/schema"
)

// vetAnalyzers are the analyzers of go vet (cmd/vet) that read Go files:
// all but asmdecl, buildtag, cgocall, directive, framepointer and
// stdversion, which look at assembly, build constraints, cgo or language
// versions, none of which generated code has.
var vetAnalyzers = []*analysis.Analyzer{
	appends.Analyzer, assign.Analyzer, atomic.Analyzer, bools.Analyzer, composite.Analyzer,
	copylock.Analyzer, defers.Analyzer, errorsas.Analyzer, hostport.Analyzer, httpresponse.Analyzer,
	ifaceassert.Analyzer, loopclosure.Analyzer, lostcancel.Analyzer, nilfunc.Analyzer, printf.Analyzer,
	shift.Analyzer, sigchanyzer.Analyzer, slog.Analyzer, stdmethods.Analyzer, stringintconv.Analyzer,
	structtag.Analyzer, testinggoroutine.Analyzer, tests.Analyzer, timeformat.Analyzer, unmarshal.Analyzer,
	unreachable.Analyzer, unsafeptr.Analyzer, unusedresult.Analyzer, waitgroup.Analyzer,
}

// vet runs go vet's analyzers in process on the package with src as its
// arbor_gen.go, and returns their findings in that file. Facts about
// other packages are not available (printf then checks only the fmt
// functions it knows), which is what makes it fast enough for a fuzz loop.
func vet(ws *workspace, src []byte) ([]string, error) {
	info := &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		Scopes:       map[ast.Node]*types.Scope{},
		Instances:    map[*ast.Ident]types.Instance{},
		FileVersions: map[*ast.File]string{},
	}
	c, problems, err := ws.check(src, info)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("does not type-check: %v", problems)
	}
	name := filepath.Join(ws.dir, outputName)
	var found []string
	results := map[*analysis.Analyzer]any{}
	var run func(a *analysis.Analyzer) error
	run = func(a *analysis.Analyzer) error {
		if _, ok := results[a]; ok {
			return nil
		}
		resultOf := map[*analysis.Analyzer]any{}
		for _, req := range a.Requires {
			if err := run(req); err != nil {
				return err
			}
			resultOf[req] = results[req]
		}
		pass := &analysis.Pass{
			Analyzer:          a,
			Fset:              ws.fset,
			Files:             c.files,
			Pkg:               c.pkg,
			TypesInfo:         info,
			TypesSizes:        types.SizesFor("gc", "amd64"),
			ResultOf:          resultOf,
			ReadFile:          os.ReadFile,
			ImportObjectFact:  func(types.Object, analysis.Fact) bool { return false },
			ImportPackageFact: func(*types.Package, analysis.Fact) bool { return false },
			ExportObjectFact:  func(types.Object, analysis.Fact) {},
			ExportPackageFact: func(analysis.Fact) {},
			AllObjectFacts:    func() []analysis.ObjectFact { return nil },
			AllPackageFacts:   func() []analysis.PackageFact { return nil },
			Report: func(d analysis.Diagnostic) {
				if p := ws.fset.Position(d.Pos); p.Filename == name {
					found = append(found, fmt.Sprintf("%s: %s: %s", p, a.Name, d.Message))
				}
			},
		}
		res, err := a.Run(pass)
		if err != nil {
			return fmt.Errorf("%s: %v", a.Name, err)
		}
		results[a] = res
		return nil
	}
	for _, a := range vetAnalyzers {
		if err := run(a); err != nil {
			return nil, err
		}
	}
	slices.Sort(found)
	return found, nil
}

// TestVetSeesWhatGoVetSees checks the in-process vet on code that go vet
// rejects: without it, a vet that ran nothing would pass every fuzz input.
func TestVetSeesWhatGoVetSees(t *testing.T) {
	ws := mustFuzzWorkspace(t)
	defer forgetGenerated(ws)
	src := "package fuzz\ntrees: t: children: a: run: \"Work\"\n"
	spec, err := schema.LoadFiles(ws.dir, map[string][]byte{"spec.cue": []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ws.generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	bad := append(slices.Clip(r.Content), "\nfunc (t *T) MarshalJSON() *runtime.Handle { return nil }\n\nfunc copies(c Counter) {}\n"...)
	found, err := vet(ws, bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || !strings.Contains(found[0], "stdmethods") || !strings.Contains(found[1], "copylocks") {
		t.Fatalf("want a stdmethods and a copylocks finding, got\n%s", strings.Join(found, "\n"))
	}
}

// TestMethodNamesGoVetKnows generates a child for every method name go
// vet's stdmethods check knows, and for String and Error: each is either
// refused with a positioned error or passes vet.
func TestMethodNamesGoVetKnows(t *testing.T) {
	ws := mustFuzzWorkspace(t)
	for _, name := range []string{
		"as", "format", "gob-decode", "gob-encode", "is", "marshal-json", "marshal-xml", "read-byte", "read-from",
		"read-rune", "scan", "seek", "unmarshal-json", "unmarshal-xml", "unread-byte", "unread-rune", "unwrap",
		"write-byte", "write-to", "string", "error",
	} {
		for _, spec := range []string{
			fmt.Sprintf("trees: t: children: %q: run: \"Work\"", name),
			fmt.Sprintf("trees: t: children: n: children: %q: run: \"Work\"", name),
		} {
			t.Run(spec, func(t *testing.T) {
				defer forgetGenerated(ws)
				src := "package fuzz\n" + spec + "\n"
				s, err := schema.LoadFiles(ws.dir, map[string][]byte{"spec.cue": []byte(src)})
				if err != nil {
					t.Fatal(err)
				}
				r, err := ws.generate(s)
				if err != nil {
					checkErrorList(t, src, filepath.Join(ws.dir, "spec.cue"), err)
					if _, vetted := vetMethods[goName(name)]; !vetted {
						t.Errorf("%s refused, though vet does not check it: %v", name, err)
					}
					return
				}
				checkOutput(t, src, ws, r)
			})
		}
	}
}
