package lint_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/arbor-go/arbor/gen/lint"
)

// BenchmarkCheck measures the checks alone on the corpus, once loaded:
// what arbor vet adds to a load it does anyway.
func BenchmarkCheck(b *testing.B) {
	dir := testdata(b)
	cfg := &packages.Config{Mode: packages.LoadAllSyntax, Dir: dir}
	pkgs, err := packages.Load(cfg, "./corpus")
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		b.Fatalf("loading the corpus: %v %v", err, pkgs)
	}
	p := pkgs[0]
	pkg := &lint.Package{Fset: p.Fset, Files: p.Syntax, Types: p.Types, Info: p.TypesInfo}
	targets := lint.Targets(pkg)
	b.ReportAllocs()
	for b.Loop() {
		if f := lint.Check(pkg, targets); len(f) != 0 {
			b.Fatalf("%d findings", len(f))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(targets)), "ns/target")
}

// BenchmarkCheckLong measures the checks on one long run function: 500
// defers among 500 loops, each defer asking what blocks at the function's
// top level. The work must grow with the function, not with its square.
func BenchmarkCheckLong(b *testing.B) {
	var src strings.Builder
	src.WriteString("package long\n\nimport (\n\t\"context\"\n\n\t\"github.com/arbor-go/arbor/runtime\"\n)\n\n" +
		"var tree = runtime.Spec{Name: \"t\", Children: []runtime.Child{{Name: \"long\", Run: Long, Ready: &runtime.Ready{}, Heartbeat: &runtime.Heartbeat{}}}}\n\n" +
		"func work() bool { return true }\n\nfunc Long(ctx context.Context, a *runtime.Attempt) error {\n")
	for range 500 {
		src.WriteString("\tdefer work()\n\tfor {\n\t\tif work() {\n\t\t\tbreak\n\t\t}\n\t\ta.Beat()\n\t}\n")
	}
	src.WriteString("\ta.Ready()\n\t<-ctx.Done()\n\treturn nil\n}\n")
	checkBench(b, "long", src.String())
}

// BenchmarkCheckShared measures the checks on many run functions that
// share their helpers: 20 children whose functions call into one tree of
// 1,023 helpers, each taking the context and the attempt twice and
// passing them on in three calls. The work grows with the code each run
// function reaches times the run functions, not times the checks too.
func BenchmarkCheckShared(b *testing.B) {
	const runs, helpers = 20, 1023
	var src strings.Builder
	src.WriteString("package shared\n\nimport (\n\t\"context\"\n\t\"time\"\n\n\t\"github.com/arbor-go/arbor/runtime\"\n)\n\n")
	src.WriteString("var tree = runtime.Spec{Name: \"t\", Children: []runtime.Child{\n")
	for i := range runs {
		fmt.Fprintf(&src, "\t{Name: \"c%d\", Run: R%d, Ready: &runtime.Ready{}, Heartbeat: &runtime.Heartbeat{}, Timeout: time.Minute},\n", i, i)
	}
	src.WriteString("}}\n\n")
	for i := range runs {
		fmt.Fprintf(&src, "func R%d(ctx context.Context, a *runtime.Attempt) error {\n\ta.Ready()\n\tfor {\n\t\tif err := f0(ctx, a, ctx, a); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n}\n\n", i)
	}
	for i := range helpers {
		fmt.Fprintf(&src, "func f%d(ctx context.Context, a *runtime.Attempt, c2 context.Context, b *runtime.Attempt) error {\n\ta.Beat()\n", i)
		if l, r := 2*i+1, 2*i+2; r < helpers {
			fmt.Fprintf(&src, "\tf%d(c2, b, ctx, a)\n\tf%d(ctx, a, c2, b)\n\tf%d(c2, a, ctx, b)\n", l, r, l)
		}
		src.WriteString("\treturn ctx.Err()\n}\n\n")
	}
	checkBench(b, "shared", src.String())
}

// checkBench writes src as the package name of a copy of the test data
// module, loads it, and measures Check on its targets, which must find
// nothing.
func checkBench(b *testing.B, name, src string) {
	dir := testdata(b)
	if err := os.MkdirAll(filepath.Join(dir, name), 0o777); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, name+".go"), []byte(src), 0o666); err != nil {
		b.Fatal(err)
	}
	cfg := &packages.Config{Mode: packages.LoadSyntax, Dir: dir}
	pkgs, err := packages.Load(cfg, "./"+name)
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		b.Fatalf("loading: %v %v", err, pkgs)
	}
	p := pkgs[0]
	pkg := &lint.Package{Fset: p.Fset, Files: p.Syntax, Types: p.Types, Info: p.TypesInfo}
	targets := lint.Targets(pkg)
	b.ReportAllocs()
	for b.Loop() {
		if f := lint.Check(pkg, targets); len(f) != 0 {
			b.Fatalf("%d findings: %s", len(f), f[0].Message)
		}
	}
}
