package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeQuickstart builds the README's quickstart as a new user would:
// its tree.cue and main.go in a new module, arbor gen, arbor vet (whose
// static checks of run functions must find nothing in it), then go vet,
// which also builds it. A README whose first example does not compile
// would be the worst first contact.
func TestReadmeQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":   fmt.Sprintf("module example.com/hello\n\ngo 1.26\n\nrequire github.com/arbor-go/arbor v0.0.0\n\nreplace github.com/arbor-go/arbor => %s\n", root),
		"tree.cue": codeAfter(t, readme, "`tree.cue`, next to your Go code:"),
		"main.go":  codeAfter(t, readme, "`main.go`:"),
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOSUMDB": "off", "GOWORK": "off"} {
		t.Setenv(k, v) // offline, with go.sum filled in from the module cache
	}
	var stderr bytes.Buffer
	if code := run([]string{"gen", dir}, &stderr, &stderr); code != 0 {
		t.Fatalf("arbor gen: exit %d\n%s", code, &stderr)
	}
	if code := run([]string{"vet", dir}, &stderr, &stderr); code != 0 {
		t.Fatalf("arbor vet: exit %d\n%s", code, &stderr)
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet: %v\n%s", err, out)
	}
}

// codeAfter returns the first fenced code block after the line that starts
// with intro.
func codeAfter(t *testing.T, doc []byte, intro string) string {
	t.Helper()
	_, rest, ok := bytes.Cut(doc, []byte("\n"+intro))
	if !ok {
		t.Fatalf("README has no line starting with %q", intro)
	}
	_, rest, _ = bytes.Cut(rest, []byte("```"))
	_, rest, _ = bytes.Cut(rest, []byte("\n")) // the language tag
	code, _, ok := bytes.Cut(rest, []byte("```"))
	if !ok {
		t.Fatalf("no code block after %q", intro)
	}
	return strings.TrimLeft(string(code), "\n")
}
