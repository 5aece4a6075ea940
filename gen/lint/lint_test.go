package lint_test

import (
	"bytes"
	"go/ast"
	"go/types"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
	"golang.org/x/tools/go/packages"

	"github.com/arbor-go/arbor/gen/lint"
)

// testdata copies testdata, a module that requires this repository
// (replaced by its directory, so that the checks see the real runtime),
// to a temporary directory: the go command may complete its go.sum there
// when the repository's requirements change, not in the source tree.
func testdata(t testing.TB) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(mod)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("=> ../../.."), []byte("=> "+root), 1)
	if err := os.WriteFile(mod, b, 0o666); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOSUMDB", "off")
	return dir
}

// TestChecks runs each check's cases, and the corpus: every finding must
// be announced by a want comment, and every want comment met. The corpus
// has none: realistic run functions (servers, pollers, consumers,
// pipelines, jobs) on which any finding is a false positive.
func TestChecks(t *testing.T) {
	// One load for all: each costs seconds of go list and type checking.
	results := analysistest.Run(t, testdata(t), lint.Analyzer, "./ctxunused", "./ctxloop/...", "./gotoloop", "./ready", "./beat", "./escape",
		"./donotrestart", "./sleep", "./detach", "./exit/...", "./directive", "./follow/...", "./indirect", "./pool", "./timeout", "./corpus")
	for _, r := range results {
		if r.Action.Package.PkgPath == "lintdata/corpus" {
			checkCorpus(t, r)
			return
		}
	}
	t.Fatal("the corpus was not analyzed")
}

func checkCorpus(t *testing.T, r *analysistest.Result) {
	if n := len(r.Diagnostics); n != 0 {
		t.Errorf("%d false positives in the corpus", n)
	}
	// Every child of the corpus's spec was checked, with what it asks.
	children, ready, beat := 0, 0, 0
	for _, tg := range r.Result.(*lint.Result).Targets {
		if tg.Spec.IsValid() {
			children++
		}
		if tg.Ready {
			ready++
		}
		if tg.Heartbeat {
			beat++
		}
	}
	if children != 55 || ready != 20 || beat != 18 {
		t.Errorf("checked %d children, %d with ready, %d with heartbeat; want 55, 20, 18", children, ready, beat)
	}
}

// TestRobust runs the checks where the Analyzer never goes: on a package
// with type errors, as arbor vet does before arbor gen has run, and on
// every function of some standard packages that takes a context first,
// asking for everything. Nothing may panic.
func TestRobust(t *testing.T) {
	dir := testdata(t)
	cfg := &packages.Config{Mode: packages.LoadSyntax, Dir: dir}
	pkgs, err := packages.Load(cfg, "./broken", "net/http", "net", "database/sql", "os/exec", "log/slog")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		if p.PkgPath == "lintdata/broken" && len(p.Errors) == 0 {
			t.Error("testdata/broken compiles; it should not")
		}
		pkg := &lint.Package{Fset: p.Fset, Files: p.Syntax, Types: p.Types, Info: p.TypesInfo}
		targets := lint.Targets(pkg)
		for _, f := range p.Syntax {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					if fn, ok := p.TypesInfo.Defs[fd.Name].(*types.Func); ok {
						targets = append(targets, lint.Target{Func: fn, Ready: true, Heartbeat: true, Timeout: true})
					}
				}
			}
		}
		findings := lint.Check(pkg, targets)
		t.Logf("%s: %d targets, %d findings", p.PkgPath, len(targets), len(findings))
	}
}
