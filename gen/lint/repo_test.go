package lint_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/arbor-go/arbor/gen/lint"
)

// TestRepository runs the analyzer on the repository's examples and
// fixtures: it must find nothing. The fixtures that misbehave on purpose
// (testdata/liveness) say so with //arbor:nolint directives, as a user
// would, which keeps arbor vet over them clean too.
func TestRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every example and fixture")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	patterns := []string{"./examples/..."}
	generated := 0 // packages with an arbor_gen.go: they must compile
	filepath.WalkDir(filepath.Join(root, "testdata"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if gos, _ := filepath.Glob(filepath.Join(path, "*.go")); len(gos) > 0 {
			rel, _ := filepath.Rel(root, path)
			patterns = append(patterns, "./"+filepath.ToSlash(rel))
		}
		return nil
	})
	cfg := &packages.Config{Mode: packages.LoadSyntax, Dir: root} // dependencies from export data
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := checker.Analyze([]*analysis.Analyzer{lint.Analyzer}, pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	analyzed := 0
	for _, act := range res.Roots {
		if len(act.Package.GoFiles) == 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(act.Package.GoFiles[0]), "arbor_gen.go")); err == nil {
			generated++
			if act.Err != nil {
				t.Errorf("%s: %v", act.Package.PkgPath, act.Err)
			}
		}
		if act.Err != nil {
			continue // a fixture of spec errors: it does not compile before arbor gen
		}
		analyzed++
		for _, d := range act.Diagnostics {
			pos := act.Package.Fset.Position(d.Pos)
			rel, _ := filepath.Rel(root, pos.Filename)
			got = append(got, fmt.Sprintf("%s:%d:%d: %s", filepath.ToSlash(rel), pos.Line, pos.Column, d.Message))
		}
	}
	if generated < 6 {
		t.Errorf("analyzed %d generated packages, want at least 6", generated)
	}
	if analyzed < generated {
		t.Errorf("analyzed %d packages, fewer than the %d generated ones", analyzed, generated)
	}
	if len(got) > 0 {
		slices.Sort(got)
		t.Errorf("%d findings in the repository's examples and fixtures:\n%s", len(got), strings.Join(got, "\n"))
	}
}
