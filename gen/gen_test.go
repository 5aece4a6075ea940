package gen_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/gen"
	"github.com/arbor-go/arbor/schema"
)

var update = flag.Bool("update", false, "rewrite the expected files in ../testdata")

// TestGolden runs every case in ../testdata, in the style of wire: a case is
// a spec with its Go package and either the expected arbor_gen.go or the
// expected errors.golden, plus, for main packages, the expected output of
// running the program in program.golden.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("../testdata/*")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			abs, err := filepath.Abs(dir)
			require.NoError(t, err)
			r, err := gen.Generate(context.Background(), dir, nil)
			genFile := filepath.Join(dir, "arbor_gen.go")
			errFile := filepath.Join(dir, "errors.golden")
			if err != nil {
				var list schema.ErrorList
				require.ErrorAs(t, err, &list, "a spec problem comes as a positioned list: %v", err)
				golden(t, errFile, []byte(list.Relative(abs).Error()+"\n"))
				assert.NoFileExists(t, genFile, "a case with errors has no generated file")
				return
			}
			require.Equal(t, filepath.Join(abs, "arbor_gen.go"), r.Path)
			golden(t, genFile, r.Content)
			assert.NoFileExists(t, errFile)
			checkGenerated(t, r.Content)
			if _, err := os.Stat(filepath.Join(dir, "program.golden")); err == nil || *update && isMain(t, r.Content) {
				out := runProgram(t, dir)
				golden(t, filepath.Join(dir, "program.golden"), out)
			}
		})
	}
}

// golden compares got with the file, or rewrites it with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(file, got, 0o644))
		return
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "run go test ./gen -update to create it")
	assert.Equal(t, string(want), string(got), "%s differs; run go test ./gen -update if the change is right", file)
}

// checkGenerated checks what every generated file promises: the header
// go/ast recognises, and gofmt-clean code.
func checkGenerated(t *testing.T, src []byte) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "arbor_gen.go", src, parser.ParseComments)
	require.NoError(t, err)
	assert.True(t, ast.IsGenerated(f), "go/ast must see the file as generated")
	assert.True(t, bytes.HasPrefix(src, []byte("// "+gen.Header+"\n")))
	formatted, err := format.Source(src)
	require.NoError(t, err)
	assert.Equal(t, string(formatted), string(src), "gofmt-clean")
}

func isMain(t *testing.T, src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "arbor_gen.go", src, parser.PackageClauseOnly)
	require.NoError(t, err)
	return f.Name.Name == "main"
}

// runProgram builds and runs the case's main package with its generated file.
func runProgram(t *testing.T, dir string) []byte {
	t.Helper()
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("go run: %v", err)
	}
	return out.Bytes()
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := gen.Generate(context.Background(), "../testdata/wiring", nil)
	require.NoError(t, err)
	b, err := gen.Generate(context.Background(), "../testdata/wiring", nil)
	require.NoError(t, err)
	assert.Equal(t, string(a.Content), string(b.Content))
}

// TestVetClean does what arbor vet does in every directory with a
// committed generated file, the examples and the valid cases of
// ../testdata: the file is current, and the static checks of the run
// functions find nothing (the fixtures that misbehave on purpose say so
// with directives).
func TestVetClean(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every example and fixture")
	}
	files, err := filepath.Glob("../*/*/arbor_gen.go")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 5, "the examples and the valid cases of ../testdata")
	for _, f := range files {
		dir := filepath.Dir(f)
		t.Run(strings.TrimPrefix(dir, "../"), func(t *testing.T) {
			t.Parallel()
			r, err := gen.Generate(context.Background(), dir, &gen.Options{Lint: true})
			require.NoError(t, err)
			assert.Empty(t, r.Findings.Relative(dir).Error())
			want, err := os.ReadFile(f)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(r.Content), "with or without Lint, the same code")
		})
	}
}

// TestGoVet runs go vet on every committed generated file (TestGolden
// checks that they are current) with the code around it: generated code
// must pass vet in every package that builds.
func TestGoVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	files, err := filepath.Glob("../*/*/arbor_gen.go")
	require.NoError(t, err)
	var pkgs []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(filepath.Dir(f), "go.mod")); err == nil {
			continue // a module of its own, such as examples/singleton: vetted there
		}
		pkgs = append(pkgs, "./"+filepath.ToSlash(filepath.Dir(strings.TrimPrefix(f, "../"))))
	}
	require.GreaterOrEqual(t, len(pkgs), 5, "the examples and the valid cases of ../testdata")
	// The file is the same for every platform: it must build on each, a
	// 32-bit one (where an int holds less) and Windows included.
	for _, env := range [][]string{nil, {"GOARCH=386"}, {"GOOS=windows"}} {
		cmd := exec.Command("go", append([]string{"vet"}, pkgs...)...)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v go vet %v:\n%s", env, pkgs, out)
	}
}
