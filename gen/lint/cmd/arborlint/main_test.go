package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestVetTool builds arborlint and runs it under go vet -vettool, as a
// user would, on a package of the analyzer's test data.
func TestVetTool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary and runs go vet")
	}
	bin := filepath.Join(t.TempDir(), "arborlint")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A copy of the test data module, requiring this repository by path,
	// where the go command may complete go.sum.
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../testdata")); err != nil {
		t.Fatal(err)
	}
	edit := exec.Command("go", "mod", "edit", "-replace", "github.com/arbor-go/arbor="+root)
	edit.Dir = dir
	if out, err := edit.CombinedOutput(); err != nil {
		t.Fatalf("go mod edit: %v\n%s", err, out)
	}
	vet := exec.Command("go", "vet", "-vettool="+bin, "./ready")
	vet.Dir = dir
	vet.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off")
	out, err := vet.CombinedOutput()
	if err == nil {
		t.Fatalf("go vet succeeded; want findings:\n%s", out)
	}
	for _, want := range []string{
		`(?m)^ready/ready\.go:\d+:17: never: the child has ready, but \(\*Store\)\.Run never calls a\.Ready\(\)`,
		`(?m)^ready/ready\.go:\d+:2: late: Late calls a\.Ready\(\) only after srv\.ListenAndServe\(\.\.\.\)`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("go vet output does not match %s:\n%s", want, out)
		}
	}
}
