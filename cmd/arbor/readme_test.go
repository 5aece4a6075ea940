package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/schema"
)

// TestReadmeQuickstart builds the README's quickstart as a new user would:
// its tree.cue and main.go in a new module, arbor gen, arbor vet (whose
// static checks of run functions must find nothing in it), then go vet,
// which also builds it, with the README's example of the runtime used by
// hand beside it; then it runs it and compares its log with the
// README's. A README whose first example does not compile
// would be the worst first contact.
func TestReadmeQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	readme := readReadme(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":   fmt.Sprintf("module example.com/hello\n\ngo 1.26\n\nrequire github.com/arbor-go/arbor v0.0.0\n\nreplace github.com/arbor-go/arbor => %s\n", root),
		"tree.cue": codeAfter(t, readme, "`tree.cue`, next to your Go code:"),
		"main.go":  codeAfter(t, readme, "`main.go`:"),
		// The runtime used by hand, compiled alongside.
		"byhand.go": "package main\n\nimport (\n\t\"context\"\n\t\"log/slog\"\n\n\t\"github.com/arbor-go/arbor/runtime\"\n)\n\n" +
			"func poll(ctx context.Context) error                    { return nil }\n" +
			"func send(ctx context.Context, a *runtime.Attempt) error { return nil }\n\n" +
			"func byHand(ctx context.Context) error {\n" + codeAfter(t, readme, "The runtime is usable by hand") + "}\n",
	}
	// An editor that formats on save must not change the file a reader
	// pasted.
	if formatted, err := format.Source([]byte(files["main.go"])); err != nil || string(formatted) != files["main.go"] {
		t.Errorf("the README's main.go is not gofmt-clean (%v); gofmt makes it\n%s", err, formatted)
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

	// Run it, Ctrl-C it once api has started, and compare its log with
	// the one the README shows.
	bin := filepath.Join(dir, "hello")
	cmd = exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var log syncBuffer
	prog := exec.Command(bin)
	prog.Stderr = &log
	if err := prog.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(log.String(), `"arbor: starting" path=hello/api`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			prog.Process.Kill()
			prog.Wait()
			t.Fatalf("api never started:\n%s", log.String())
		}
	}
	if err := prog.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := prog.Wait(); err != nil {
		t.Fatalf("after Ctrl-C: %v (want exit 0)\n%s", err, log.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		_, rest, ok := strings.Cut(line, " ") // time=...
		if !ok || !strings.HasPrefix(line, "time=") {
			t.Fatalf("log line without time=: %q", line)
		}
		got = append(got, rest)
	}
	want := strings.Split(strings.TrimSpace(codeAfter(t, readme, "It prints what the tree does")), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the quickstart logs\n%s\n\nthe README shows\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReadmeSpecs loads every CUE example of the README against the
// schema, so that none shows a field, a value or a syntax that arbor would
// refuse. (Their run references are not resolved: they name the reader's
// Go code.)
func TestReadmeSpecs(t *testing.T) {
	readme := readReadme(t)
	blocks := 0
	for rest := string(readme); ; {
		_, block, ok := strings.Cut(rest, "```cue\n")
		if !ok {
			break
		}
		block, rest, _ = strings.Cut(block, "```")
		blocks++
		src := dedent(block)
		if !strings.HasPrefix(src, "package ") {
			src = "package main\n\n" + src
		}
		if _, err := schema.LoadFiles(t.TempDir(), map[string][]byte{"spec.cue": []byte(src)}); err != nil {
			t.Errorf("README's CUE example %d:\n%s\n%v", blocks, src, err)
		}
	}
	if blocks < 4 {
		t.Errorf("found %d CUE examples in the README, want at least 4", blocks)
	}
}

// dedent removes the indentation of a code block nested in a list item.
func dedent(block string) string {
	lines := strings.Split(block, "\n")
	indent := ""
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			indent = l[:len(l)-len(strings.TrimLeft(l, " "))]
			break
		}
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, indent)
	}
	return strings.Join(lines, "\n")
}

// codeAfter returns the first fenced code block after the line that starts
// with intro.
func codeAfter(t *testing.T, doc []byte, intro string) string {
	t.Helper()
	return codeAfterN(t, doc, intro, 1)
}

// codeAfterN returns the nth fenced code block after the line that starts
// with intro.
func codeAfterN(t *testing.T, doc []byte, intro string, n int) string {
	t.Helper()
	_, rest, ok := bytes.Cut(doc, []byte("\n"+intro))
	if !ok {
		t.Fatalf("README has no line starting with %q", intro)
	}
	var code []byte
	for range n {
		_, rest, _ = bytes.Cut(rest, []byte("```"))
		_, rest, _ = bytes.Cut(rest, []byte("\n")) // the language tag
		code, rest, ok = bytes.Cut(rest, []byte("```"))
		if !ok {
			t.Fatalf("no code block %d after %q", n, intro)
		}
	}
	return strings.TrimLeft(string(code), "\n")
}

// TestReadmeCLI checks the README's summary of the commands against the
// CLI: each command, help included, has its line, with the arguments its
// -h gives, so that a command added or a flag renamed shows up there too.
func TestReadmeCLI(t *testing.T) {
	readme := readReadme(t)
	_, section, ok := strings.Cut(string(readme), "\n## CLI\n")
	if !ok {
		t.Fatal("README has no CLI section")
	}
	lines := map[string]string{} // command: its arguments in the README
	for _, line := range strings.Split(section, "\n") {
		rest, ok := strings.CutPrefix(line, "    arbor ")
		if !ok {
			continue
		}
		name, rest, _ := strings.Cut(rest, " ")
		args, _, _ := strings.Cut(strings.TrimLeft(rest, " "), "   ") // then the description
		if strings.HasPrefix(line[len("    arbor "+name):], strings.Repeat(" ", 20)) {
			args = "" // no arguments: the description follows
		}
		lines[name] = strings.TrimSpace(args)
	}
	want := map[string]string{"help": "[command]"}
	for _, c := range commands {
		want[c.name] = c.args
	}
	for name, args := range want {
		got, ok := lines[name]
		switch {
		case !ok:
			t.Errorf("README's CLI section has no line for arbor %s", name)
		case got != args:
			t.Errorf("README's CLI section gives arbor %s %q; its -h gives %q", name, got, args)
		}
	}
	for name := range lines {
		if _, ok := want[name]; !ok {
			t.Errorf("README's CLI section lists arbor %s, which is no command", name)
		}
	}
}

// TestReadmeSnippets compiles the README's other Go examples against code
// generated from their specs, as a reader would paste them: the pool's
// Start and StartNamed, and the main of "Running under Kubernetes and
// systemd" with the console beside it.
func TestReadmeSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	readme := readReadme(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	poolIntro := "A worker with a `pool` block is a pool"
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": fmt.Sprintf("module example.com/snippets\n\ngo 1.26\n\nrequire github.com/arbor-go/arbor v0.0.0\n\nreplace github.com/arbor-go/arbor => %s\n", root),

		"pool/spec.cue": "package main\n\n" + codeAfter(t, readme, poolIntro),
		"pool/main.go": "package main\n\nimport (\n\t\"context\"\n\t\"net\"\n\n\t\"github.com/arbor-go/arbor/runtime\"\n)\n\n" +
			"type Handler struct{}\n\n" +
			"func (*Handler) Serve(ctx context.Context, a *runtime.Attempt, c net.Conn) error { return c.Close() }\n" +
			"func (*Handler) Listen(ctx context.Context) error { <-ctx.Done(); return nil }\n\n" +
			"func use(handler *Handler, conn net.Conn) (*runtime.Handle, error, int) {\n" +
			codeAfterN(t, readme, poolIntro, 2) + "\treturn h, err, n\n}\n\nfunc main() {}\n",

		"ops/spec.cue": "package main\n\ntrees: shop: children: {\n\tstore: run: \"(*Store).Run\"\n\tapi: {run: \"(*API).Serve\", after: [\"store\"]}\n}\n",
		"ops/main.go": "package main\n\nimport (\n\t\"context\"\n\t\"net/http\"\n\t\"os\"\n\t\"os/signal\"\n\t\"syscall\"\n\n" +
			"\t\"github.com/arbor-go/arbor/runtime/console\"\n\t\"github.com/arbor-go/arbor/runtime/exit\"\n" +
			"\t\"github.com/arbor-go/arbor/runtime/probe\"\n\t\"github.com/arbor-go/arbor/runtime/systemd\"\n)\n\n" +
			"type Store struct{}\n\nfunc (*Store) Run(ctx context.Context) error { <-ctx.Done(); return nil }\n\n" +
			"type API struct{}\n\nfunc (*API) Serve(ctx context.Context) error { <-ctx.Done(); return nil }\n\n" +
			"var store, api = &Store{}, &API{}\n\n" +
			codeAfter(t, readme, "the core `runtime` imports none of them.") +
			"\nfunc serveConsole(ctx context.Context, shop *Shop) error {\n" +
			codeAfter(t, readme, "![The console of a tree") + "\treturn nil\n}\n",
	}
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOSUMDB": "off", "GOWORK": "off"} {
		t.Setenv(k, v) // offline, with go.sum filled in from the module cache
	}
	var stderr bytes.Buffer
	for _, pkg := range []string{"pool", "ops"} {
		if code := run([]string{"gen", filepath.Join(dir, pkg)}, &stderr, &stderr); code != 0 {
			t.Fatalf("arbor gen %s: exit %d\n%s", pkg, code, &stderr)
		}
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet: %v\n%s\n%s", err, out, files["pool/main.go"])
	}
}

// readReadme returns the repository's README.
func readReadme(t *testing.T) []byte {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return readme
}
