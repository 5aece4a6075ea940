package lint_test

import (
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
