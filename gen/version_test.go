package gen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/arbor-go/arbor/runtime"
)

// TestVersionGuard builds a generated file whose guard names the next
// version, as a file written by a newer arbor would: the build fails, and
// the compiler's message says what to do.
func TestVersionGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	mod := writeModule(t, map[string]string{
		"app/app.go":   "package app\n\nimport \"context\"\n\n// Work runs until cancelled.\nfunc Work(ctx context.Context) error { <-ctx.Done(); return nil }\n",
		"app/spec.cue": "package app\n\ntrees: app: children: a: run: \"Work\"\n",
	})
	r, err := Generate(context.Background(), filepath.Join(mod, "app"), &Options{Env: moduleEnv()})
	if err != nil {
		t.Fatal(err)
	}
	guard := fmt.Sprintf("const _ = runtime.GeneratedCodeV%d_RunArborGen\n", runtime.GeneratedCodeVersion)
	if !bytes.Contains(r.Content, []byte(guard)) {
		t.Fatalf("the generated file lacks %q", guard)
	}
	build := func(src []byte) (string, error) {
		if err := os.WriteFile(r.Path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "build", "./app")
		cmd.Dir = mod
		cmd.Env = moduleEnv()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := build(r.Content); err != nil {
		t.Fatalf("the file builds against its own runtime: %v\n%s", err, out)
	}
	next := fmt.Sprintf("GeneratedCodeV%d_RunArborGen", runtime.GeneratedCodeVersion+1)
	out, err := build(bytes.Replace(r.Content, []byte(fmt.Sprintf("GeneratedCodeV%d_", runtime.GeneratedCodeVersion)), []byte(fmt.Sprintf("GeneratedCodeV%d_", runtime.GeneratedCodeVersion+1)), 1))
	if err == nil {
		t.Fatal("a file of the next version builds against this runtime")
	}
	if want := "undefined: runtime." + next; !strings.Contains(out, want) {
		t.Fatalf("want %q in\n%s", want, out)
	}
}

// TestVersionOf reads the version of Arbor from build information: the
// main module's when arbor was installed, the dependency's when it runs
// as a tool of a module, and "(devel)" for a development build or a
// replacement by a directory, whose required version says nothing.
func TestVersionOf(t *testing.T) {
	const arbor = "github.com/arbor-go/arbor"
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"installed", &debug.BuildInfo{Main: debug.Module{Path: arbor, Version: "v0.2.0"}}, "v0.2.0"},
		{"devel", &debug.BuildInfo{Main: debug.Module{Path: arbor, Version: "(devel)"}}, "(devel)"},
		{"tool", &debug.BuildInfo{Main: debug.Module{Path: "example.com/m"}, Deps: []*debug.Module{{Path: arbor, Version: "v0.3.1"}}}, "v0.3.1"},
		{"replaced by a version", &debug.BuildInfo{Main: debug.Module{Path: "example.com/m"}, Deps: []*debug.Module{{Path: arbor, Version: "v0.3.1", Replace: &debug.Module{Path: "example.com/fork", Version: "v0.3.2"}}}}, "v0.3.2"},
		{"replaced by a directory", &debug.BuildInfo{Main: debug.Module{Path: "example.com/m"}, Deps: []*debug.Module{{Path: arbor, Version: "v0.0.0", Replace: &debug.Module{Path: "../arbor"}}}}, "(devel)"},
		{"tool replaced by a directory", &debug.BuildInfo{Main: debug.Module{Path: arbor, Version: "v0.0.0", Replace: &debug.Module{Path: "/src/arbor", Version: "(devel)"}}}, "(devel)"},
		{"absent", &debug.BuildInfo{Main: debug.Module{Path: "example.com/m"}}, "(devel)"},
		{"none", nil, "(devel)"},
	} {
		if got := versionOf(c.bi); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
