package gen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/arbor/schema"
)

// The tests in this file run the generator on specs no one would write by
// hand (1,000 children, 50 levels, 1,000 colliding names) and on Go code
// that go/types accepts but the go command does not. They work in a module
// of their own, written to a temporary directory, whose go.mod replaces
// arbor with this repository, so they run offline.

// moduleEnv is the environment for the go command in a temporary module:
// offline, with go.sum filled in from the module cache.
func moduleEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")
}

// writeModule writes a module example.com/big that requires this
// repository, with files (slash-separated names relative to the module
// root), and returns its directory.
func writeModule(tb testing.TB, files map[string]string) string {
	tb.Helper()
	return writeModuleAt(tb, tb.TempDir(), files)
}

// writeModuleAt is writeModule in the directory dir.
func writeModuleAt(tb testing.TB, dir string, files map[string]string) string {
	tb.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		tb.Fatal(err)
	}
	all := map[string]string{
		"go.mod": fmt.Sprintf("module example.com/big\n\ngo 1.26\n\nrequire github.com/arbor-go/arbor v0.0.0\n\nreplace github.com/arbor-go/arbor => %s\n", root),
	}
	for name, src := range files {
		all[name] = src
	}
	for name, src := range all {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// goCmd runs the go command in dir with moduleEnv.
func goCmd(tb testing.TB, dir string, args ...string) {
	tb.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = moduleEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// bigGo is the Go side of bigSpec: run targets in the spec's package and in
// another one, and code that uses the generated constructor and handles
// before they exist.
var bigGo = map[string]string{
	"big/big.go": `// Package big is supervised by a generated tree of 1,000 workers.
package big

import (
	"context"
	"time"

	"example.com/big/ext"
	"github.com/arbor-go/arbor/runtime"
)

// Pool reports readiness.
type Pool struct{}

// Run runs until cancelled.
func (p *Pool) Run(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// Work runs until cancelled.
func Work(ctx context.Context) error { <-ctx.Done(); return nil }

// Serve beats until cancelled.
func Serve(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			a.Beat()
		}
	}
}

// New uses the generated code, which does not exist before generation.
func New() *Big {
	b := NewBig(&Pool{}, &ext.Conn{})
	_ = b.Group0().W0()
	_ = b.Group99().Handle()
	return b
}
`,
	"ext/ext.go": `// Package ext holds run targets outside the spec's package.
package ext

import "context"

// Conn is a receiver from another package.
type Conn struct{}

// Run runs until cancelled.
func (*Conn) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Lint runs until cancelled.
func Lint(ctx context.Context) error { <-ctx.Done(); return nil }
`,
}

// bigSpec returns a spec of one tree with n workers (n a multiple of 10)
// in nested supervisors of 10, with a template, after lists, overrides,
// and run functions and methods of the spec's package and of another.
func bigSpec(n int) string {
	var b strings.Builder
	b.WriteString("package big\n\n#Service: {restart: \"transient\", ready: timeout: \"10s\", ...}\n\n")
	b.WriteString("trees: big: {\n\tstrategy: \"one_for_one\"\n\tchildren: {\n")
	for g := range n / 10 {
		fmt.Fprintf(&b, "\t\t\"group-%d\": {\n\t\t\tstrategy: \"rest_for_one\"\n\t\t\tchildren: {\n", g)
		for i := range 10 {
			switch {
			case i == 0:
				fmt.Fprintf(&b, "\t\t\t\tw0: #Service & {run: \"(*Pool).Run\"}\n")
			case i == 5:
				fmt.Fprintf(&b, "\t\t\t\tw5: {run: \"example.com/big/ext.Lint\", restart: \"temporary\"}\n")
			case i == 9:
				fmt.Fprintf(&b, "\t\t\t\tw9: {run: \"(*example.com/big/ext.Conn).Run\", after: [\"w8\", \"w0\"], shutdown: \"1s\"}\n")
			case i%3 == 0:
				fmt.Fprintf(&b, "\t\t\t\tw%d: {run: \"Work\", after: [\"w%d\"], backoff: {initial: \"1s\", max: \"1m\", multiplier: 1.5, jitter: 0, resetAfter: \"5m\"}, timeout: \"1m\"}\n", i, i-1)
			default:
				fmt.Fprintf(&b, "\t\t\t\tw%d: {run: \"Serve\", after: [\"w0\"], heartbeat: timeout: \"3s\", restartLimit: {max: 3, window: \"30s\"}}\n", i)
			}
		}
		b.WriteString("\t\t\t}\n\t\t}\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// deepSpecGo returns a spec whose single worker sits depth supervisors
// below its tree.
func deepSpecGo(depth int) string {
	var b strings.Builder
	b.WriteString("package deep\n\ntrees: deep: children: ")
	for i := range depth {
		fmt.Fprintf(&b, "l%d: {strategy: \"one_for_all\", children: {", i)
	}
	b.WriteString(`leaf: {run: "Work"}`)
	b.WriteString(strings.Repeat("}}", depth))
	b.WriteString("\n")
	return b.String()
}

// collidingNames returns n distinct spec names that all become the Go
// name AB: a, then a non-empty run of '-' and '_', then b.
func collidingNames(n int) []string {
	var names []string
	for k := 1; len(names) < n; k++ {
		for bits := 0; bits < 1<<k && len(names) < n; bits++ {
			sep := make([]byte, k)
			for i := range sep {
				sep[i] = "-_"[bits>>i&1]
			}
			names = append(names, "a"+string(sep)+"b")
		}
	}
	return names
}

// TestAdversarial generates, in one temporary module, a spec of 1,000
// workers and a spec 50 supervisors deep, and builds and vets the result;
// and checks that 1,000 children whose names all become the same Go name
// give 999 errors, sorted and each at its child.
func TestAdversarial(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	const depth = 50
	files := map[string]string{
		"big/spec.cue":    bigSpec(1000),
		"deep/spec.cue":   deepSpecGo(depth),
		"deep/deep.go":    "package deep\n\nimport \"context\"\n\n// Work runs until cancelled.\nfunc Work(ctx context.Context) error { <-ctx.Done(); return nil }\n\nvar _ = NewDeep().L0().L1().Handle()\n",
		"collide/work.go": "package collide\n\nimport \"context\"\n\n// Work runs until cancelled.\nfunc Work(ctx context.Context) error { <-ctx.Done(); return nil }\n",
	}
	for name, src := range bigGo {
		files[name] = src
	}
	names := collidingNames(1000)
	var spec strings.Builder
	spec.WriteString("package collide\n\ntrees: t: children: {\n") // children start on line 4
	for _, n := range names {
		fmt.Fprintf(&spec, "\t%q: run: \"Work\"\n", n)
	}
	spec.WriteString("}\n")
	files["collide/spec.cue"] = spec.String()
	mod := writeModule(t, files)
	opts := &Options{Env: moduleEnv()}
	ctx := context.Background()

	generate := func(t *testing.T, dir string) *Result {
		t.Helper()
		start := time.Now()
		r, err := Generate(ctx, filepath.Join(mod, dir), opts)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		t.Logf("generated %s: %d bytes in %v", dir, len(r.Content), time.Since(start).Round(time.Millisecond))
		if err := os.WriteFile(r.Path, r.Content, 0o644); err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("1000", func(t *testing.T) {
		r := generate(t, "big")
		if got := len(regexp.MustCompile(`Name: +"w\d"`).FindAll(r.Content, -1)); got != 1000 {
			t.Errorf("%d workers in the generated spec, want 1000", got)
		}
		for _, want := range []string{"func NewBig(pool *Pool, conn *ext.Conn, opts ...runtime.Option) *Big", "func (s *BigGroup99) W9() *runtime.Handle"} {
			if !bytes.Contains(r.Content, []byte(want)) {
				t.Errorf("the generated code lacks %q", want)
			}
		}
	})
	t.Run("deep", func(t *testing.T) {
		r := generate(t, "deep")
		var typ strings.Builder
		typ.WriteString("Deep")
		for i := range depth {
			fmt.Fprintf(&typ, "L%d", i)
		}
		if want := "func (s *" + typ.String() + ") Leaf() *runtime.Handle"; !bytes.Contains(r.Content, []byte(want)) {
			t.Errorf("the generated code lacks %q", want)
		}
	})
	t.Run("build", func(t *testing.T) {
		start := time.Now()
		goCmd(t, mod, "build", "./...")
		goCmd(t, mod, "vet", "./big", "./deep")
		t.Logf("go build and go vet: %v", time.Since(start).Round(time.Millisecond))
	})
	t.Run("collide", func(t *testing.T) {
		_, err := Generate(ctx, filepath.Join(mod, "collide"), opts)
		var list schema.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("want an ErrorList, got %T %v", err, err)
		}
		if len(list) != len(names)-1 {
			t.Fatalf("%d errors, want %d (one per child after the first):\n%v", len(list), len(names)-1, list)
		}
		specFile := filepath.Join(mod, "collide", "spec.cue")
		if !slices.IsSortedFunc(list, func(a, b *schema.Error) int { return a.Pos.Line - b.Pos.Line }) {
			t.Error("errors are not sorted")
		}
		for i, e := range list {
			child := i + 1 // the first child collides with nothing before it
			want := schema.Pos{Filename: specFile, Line: 4 + child, Column: 2}
			if e.Pos != want {
				t.Errorf("error %d at %v, want %v: %s", i, e.Pos, want, e.Msg)
			}
			if !strings.Contains(e.Msg, fmt.Sprintf("%q", names[child])) || !strings.Contains(e.Msg, "the Go name AB") {
				t.Errorf("error %d does not name child %q and AB: %s", i, names[child], e.Msg)
			}
		}
	})
}

// TestSameReceiverName13 generates a tree whose 13 run methods have
// receivers of different types with the same name (13 packages, each with
// a Server), and builds it. (paramName used to run out of names after
// server, serverRecv, serverRecv2…9, serverRecv0, serverRecv1 and loop for
// ever on the 13th: n%10 repeated.)
func TestSameReceiverName13(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	files := map[string]string{"app/app.go": "package app\n"}
	var spec strings.Builder
	spec.WriteString("package app\n\ntrees: app: children: {\n")
	for i := range 13 {
		files[fmt.Sprintf("svc%d/svc.go", i)] = fmt.Sprintf("package svc%d\n\nimport \"context\"\n\n// Server serves.\ntype Server struct{}\n\n// Run runs until cancelled.\nfunc (*Server) Run(ctx context.Context) error { <-ctx.Done(); return nil }\n", i)
		fmt.Fprintf(&spec, "\tsvc%d: run: \"(*example.com/big/svc%d.Server).Run\"\n", i, i)
	}
	spec.WriteString("}\n")
	files["app/spec.cue"] = spec.String()
	mod := writeModule(t, files)
	type result struct {
		r   *Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := Generate(context.Background(), filepath.Join(mod, "app"), &Options{Env: moduleEnv()})
		done <- result{r, err}
	}()
	var r *Result
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatal(res.err)
		}
		r = res.r
	case <-time.After(30 * time.Second):
		t.Fatal("Generate did not return within 30s")
	}
	params := []string{"server *svc0.Server", "serverRecv *svc1.Server"}
	for i := 2; i < 13; i++ {
		params = append(params, fmt.Sprintf("serverRecv%d *svc%d.Server", i, i))
	}
	if want := "func NewApp(" + strings.Join(params, ", ") + ", opts ...runtime.Option) *App"; !bytes.Contains(r.Content, []byte(want)) {
		t.Errorf("the generated code lacks %q", want)
	}
	if err := os.WriteFile(r.Path, r.Content, 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, mod, "build", "./...")
}

// TestUnimportableRunTargets: run targets in packages the spec's package
// cannot import are positioned errors, not code that type-checks in memory
// but does not build: a package main, an internal package of another
// module, and a package that imports the spec's own (an import cycle).
// go/types does not check these rules; the go command does.
func TestUnimportableRunTargets(t *testing.T) {
	mod := writeModule(t, map[string]string{
		"app/app.go":            "package app\n\n// Config is what handlers import app for.\ntype Config struct{}\n",
		"app/handlers/h.go":     "package handlers\n\nimport (\n\t\"context\"\n\n\t\"example.com/big/app\"\n)\n\nvar _ app.Config\n\n// Serve runs until cancelled.\nfunc Serve(ctx context.Context) error { <-ctx.Done(); return nil }\n",
		"tool/main.go":          "package main\n\nimport \"context\"\n\n// Work runs until cancelled.\nfunc Work(ctx context.Context) error { <-ctx.Done(); return nil }\n\nfunc main() {}\n",
		"other/go.mod":          "module example.com/other\n\ngo 1.26\n",
		"other/internal/x/x.go": "package x\n\nimport \"context\"\n\n// Work runs until cancelled.\nfunc Work(ctx context.Context) error { <-ctx.Done(); return nil }\n",
	})
	gomod := filepath.Join(mod, "go.mod")
	src, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, "\nrequire example.com/other v0.0.0\n\nreplace example.com/other => ./other\n"...)
	if err := os.WriteFile(gomod, src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"example.com/big/tool.Work", "example.com/other/internal/x.Work", "example.com/big/app/handlers.Serve"} {
		t.Run(run, func(t *testing.T) {
			spec := fmt.Sprintf("package app\n\ntrees: app: children: a: run: %q\n", run)
			if err := os.WriteFile(filepath.Join(mod, "app", "spec.cue"), []byte(spec), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Generate(context.Background(), filepath.Join(mod, "app"), &Options{Env: moduleEnv()})
			var list schema.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("want a positioned error at the run field, got %v", err)
			}
			if want := (schema.Pos{Filename: filepath.Join(mod, "app", "spec.cue"), Line: 3, Column: 26}); len(list) != 1 || list[0].Pos != want {
				t.Fatalf("want one error at %v, got\n%v", want, list)
			}
		})
	}
}

// TestResolveTraps: specs that once made the generator panic or emit code
// that does not type-check now give compiling code or a positioned error.
func TestResolveTraps(t *testing.T) {
	ws := mustFuzzWorkspace(t)
	for _, c := range []struct {
		name, spec, wantErr string
	}{
		{"alias receiver", `trees: t: children: a: run: "(*PoolAlias).Run"`, ""},
		{"generic receiver", `trees: t: children: a: run: "(*Box).Run"`, "Box is a generic type"},
		{"alias of an instance of a generic receiver", `trees: t: children: {a: run: "(*IntBox).Run", b: run: "(IntBox).Run"}`, "method Run has a pointer receiver; write (*IntBox).Run"},
		{"alias of an instance of a generic receiver, pointer", `trees: t: children: a: run: "(*IntBox).Run"`, ""},
		{"parameter would shadow a run function", `trees: t: children: {a: run: "(*Server).Run", b: run: "server"}`, ""},
		{"parameter would shadow the function of a method looked up at each attempt", `trees: t: children: {a: run: "(Runner).Run", b: run: "(*RunnerRun).Run"}`, ""},
		{"interface receiver named like the attempt", `trees: t: children: a: {run: "(A).Run", ready: timeout: "1s"}`, ""},
		{"tree type clashes with a Go declaration", `trees: work: children: a: run: "Work"`, "the generated tree type Work is already declared by the package"},
		{"a method expression as Go writes it", `trees: t: children: a: run: "Pool.Run"`, `t/a: run: Pool is a type of the spec's package, not a package: write "(*Pool).Run"`},
		{"a value method expression", `trees: t: children: a: run: "Clock.Tick"`, `t/a: run: Clock is a type of the spec's package, not a package: write "(Clock).Tick"`},
		{"a variable's method", `trees: t: children: a: run: "Default.Sync"`, `t/a: run: Default is a variable of the spec's package, not a package: write "(*Pool).Sync", and pass the value to the constructor`},
		{"an import's name", `trees: t: children: a: run: "clashrt.Work"`, `t/a: run: clashrt is the name a file of the spec's package imports github.com/arbor-go/arbor/gen/testdata/fuzz/clash by, not an import path: write "github.com/arbor-go/arbor/gen/testdata/fuzz/clash.Work"`},
		{"nested type clashes with a Go declaration", `trees: no: children: error: children: a: run: "Work"`, "the generated type of the nested supervisor NoError is already declared"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer forgetGenerated(ws)
			src := "package fuzz\n" + c.spec + "\n"
			spec, err := schema.LoadFiles(ws.dir, map[string][]byte{"spec.cue": []byte(src)})
			if err != nil {
				t.Fatal(err)
			}
			r, err := ws.generate(spec)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("want compiling code, got %v", err)
				}
				checkOutput(t, src, ws, r)
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q", c.wantErr)
			}
			checkErrorList(t, src, filepath.Join(ws.dir, "spec.cue"), err)
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("want %q in\n%v", c.wantErr, err)
			}
		})
	}
}

// TestOutputNotRegular: an arbor_gen.go that is not a regular file (a named
// pipe, or a link to a device such as /dev/zero) is refused at once, with
// the file named, before anything reads it: reading a pipe blocks for ever,
// and reading /dev/zero never ends.
func TestOutputNotRegular(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(path string) error
	}{
		{"fifo", func(path string) error { return exec.Command("mkfifo", path).Run() }},
		{"device", func(path string) error { return os.Symlink(os.DevNull, path) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, outputName)
			if err := c.make(path); err != nil {
				t.Skipf("cannot make the file: %v", err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Generate(context.Background(), dir, nil)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Generate did not return within 30s")
			}
			var list schema.ErrorList
			if !errors.As(err, &list) || len(list) != 1 || list[0].Pos != (schema.Pos{Filename: path}) {
				t.Fatalf("want one error at %s, got %v", path, err)
			}
			if want := "not a regular file"; !strings.Contains(list[0].Msg, want) {
				t.Errorf("the error does not say %q: %s", want, list[0].Msg)
			}
		})
	}
}

// TestCUEPackageNotGo: in a directory without Go files the generated file
// takes the CUE package's name, which CUE allows to be no Go package name
// ($x, a Go keyword): a positioned error at the package clause, not an
// internal error about code that does not parse.
func TestCUEPackageNotGo(t *testing.T) {
	mod := writeModule(t, map[string]string{
		"ext/ext.go": "package ext\n\nimport \"context\"\n\n// Work runs until cancelled.\nfunc Work(ctx context.Context) error { <-ctx.Done(); return nil }\n",
	})
	for _, name := range []string{"$x", "type", "go", "map"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(mod, "nogo")
			spec := "// A spec whose package name Go refuses.\n\npackage\t" + name + "\n\ntrees: t: children: a: run: \"example.com/big/ext.Work\"\n"
			writeModuleAt(t, mod, map[string]string{"nogo/spec.cue": spec})
			_, err := Generate(context.Background(), dir, &Options{Env: moduleEnv()})
			var list schema.ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("want one positioned error, got %v", err)
			}
			if want := (schema.Pos{Filename: filepath.Join(dir, "spec.cue"), Line: 3, Column: 9}); list[0].Pos != want {
				t.Errorf("error at %v, want %v: %s", list[0].Pos, want, list[0].Msg)
			}
			if want := fmt.Sprintf("the CUE package name %s is not a valid Go package name", name); !strings.Contains(list[0].Msg, want) {
				t.Errorf("the error does not say %q: %s", want, list[0].Msg)
			}
		})
	}
}

// TestSpecFileNames: the header names the spec's files, and a file name may
// hold what a line comment cannot (a newline, a carriage return), or look
// like a separator (a comma): such a name is quoted, and the file builds.
func TestSpecFileNames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	names := []string{"a\npackage x\n.cue", "b\r.cue", "c, d.cue", "e\u2028.cue", `f".cue`}
	files := map[string]string{
		"odd/odd.go": "package odd\n\nimport \"context\"\n\n// Work runs until cancelled.\nfunc Work(ctx context.Context) error { <-ctx.Done(); return nil }\n",
	}
	for i, name := range names {
		files["odd/"+name] = fmt.Sprintf("package odd\n\ntrees: t: children: c%d: run: \"Work\"\n", i)
	}
	mod := t.TempDir()
	writeModuleAt(t, mod, files)
	r, err := Generate(context.Background(), filepath.Join(mod, "odd"), &Options{Env: moduleEnv()})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	want := `// Generated by "arbor gen" from "a\npackage x\n.cue", "b\r.cue", "c, d.cue", "e\u2028.cue", "f\".cue".`
	if !bytes.Contains(r.Content, []byte(want+" Edit")) {
		t.Errorf("the header does not say %s:\n%s", want, r.Content[:min(len(r.Content), 300)])
	}
	if err := os.WriteFile(r.Path, r.Content, 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, mod, "build", "./odd")
}

// TestLongUserText: a message repeats only the start of a long run string,
// name or value, and the first few members of a long cycle, so that each
// error stays one readable line.
func TestLongUserText(t *testing.T) {
	const goSrc = "package p\n\nimport (\n\t\"context\"\n\n\t\"github.com/arbor-go/arbor/runtime\"\n)\n\n" +
		"// Idle runs until cancelled.\nfunc Idle(ctx context.Context) error { <-ctx.Done(); return nil }\n\n" +
		"// Deaf never reports ready.\nfunc Deaf(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }\n"
	long := "l" + strings.Repeat("o", 10_000)
	var cycle strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&cycle, "\tc%d: {run: \"Idle\", after: [\"c%d\"]}\n", i, (i+1)%2000)
	}
	for name, c := range map[string]struct {
		spec, want string
		more       map[string]string // more files of the module
	}{
		"run":          {fmt.Sprintf("trees: t: children: a: run: %q\n", "Idle"+strings.Repeat("x", 1<<20)), "(1048580 bytes) is not declared", nil},
		"cycle":        {"trees: t: children: {\n" + cycle.String() + "}\n", "c7 -> ... (1992 more) -> c0", nil},
		"name":         {fmt.Sprintf("trees: t: children: {\n\t%s: run: \"Nope\"\n\tz: {run: \"Idle\", after: [%q]}\n}\n", long, long+"x"), "(10001 bytes)", nil},
		"invalid name": {fmt.Sprintf("trees: t: children: %s: run: \"Idle\"\n", strings.ToUpper(long)), "(10001 bytes): invalid child name", nil},
		"lint":         {fmt.Sprintf("trees: t: children: %s: {run: \"Deaf\", ready: timeout: \"1s\"}\n", long), "(10001 bytes): the child has ready", nil},
		"value":        {fmt.Sprintf("trees: t: children: a: {run: \"Idle\", shutdown: %q}\n", strings.Repeat("9", 1<<20)+"s"), "(1048577 bytes)", nil},
		"go package":   {"trees: t: children: a: run: \"Idle\"\n", "package " + long[:72] + "… (10001 bytes), but", map[string]string{"p/q.go": "package " + long + "\n"}},
		"cue package":  {"trees: t: children: a: run: \"Idle\"\n", "(10001 bytes): the .cue files", map[string]string{"p/q.cue": "package " + long + "\n"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"p/p.go": goSrc, "p/spec.cue": "package p\n\n" + c.spec}
			maps.Copy(files, c.more)
			mod := writeModule(t, files)
			r, err := Generate(context.Background(), filepath.Join(mod, "p"), &Options{Env: moduleEnv(), Lint: true})
			var list schema.ErrorList
			if err == nil {
				list = r.Findings
			} else if !errors.As(err, &list) {
				t.Fatalf("want positioned errors, got %v", err)
			}
			if len(list) == 0 {
				t.Fatal("want errors or findings, got none")
			}
			text := list.Relative(mod).Error()
			for line := range strings.Lines(text) {
				if len(line) > 400 {
					t.Errorf("a line of %d bytes: %.300s...", len(line), line)
				}
			}
			if !strings.Contains(text, c.want) {
				t.Errorf("want the message to say %q, got\n%.2000s", c.want, text)
			}
		})
	}
}
