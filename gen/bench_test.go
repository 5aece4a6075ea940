package gen

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/arbor/schema"
)

// bigModule writes the module of TestAdversarial's 1,000-worker spec and
// returns the spec's directory.
func bigModule(b *testing.B) string {
	b.Helper()
	return writeBigModule(b, b.TempDir())
}

func writeBigModule(tb testing.TB, dir string) string {
	return writeBigModuleN(tb, dir, 1000)
}

// writeBigModuleN writes the module with a spec of n workers.
func writeBigModuleN(tb testing.TB, dir string, n int) string {
	tb.Helper()
	files := map[string]string{"big/spec.cue": bigSpec(n)}
	for name, src := range bigGo {
		files[name] = src
	}
	mod := writeModuleAt(tb, dir, files)
	goCmd(tb, mod, "list", "./...") // fill in go.sum and warm the go command's caches
	return filepath.Join(mod, "big")
}

// TestWriteBigModule writes the module of the 1,000-worker benchmarks to
// $ARBOR_BIG_MODULE ($ARBOR_BIG_N workers if set), to time the CLI or the
// compiler by hand, for example with hyperfine:
//
//	ARBOR_BIG_MODULE=/tmp/arbor-big go test -run TestWriteBigModule ./gen/
//	go build -o /tmp/arbor ./cmd/arbor
//	cd /tmp/arbor-big/big
//	export GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOWORK=off
//	hyperfine --warmup 2 '/tmp/arbor vet && /tmp/arbor gen'
func TestWriteBigModule(t *testing.T) {
	dir := os.Getenv("ARBOR_BIG_MODULE")
	if dir == "" {
		t.Skip("set ARBOR_BIG_MODULE to a directory to write the module there")
	}
	n := 1000
	if s := os.Getenv("ARBOR_BIG_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 || n%10 != 0 {
			t.Fatalf("ARBOR_BIG_N=%q: want a positive multiple of 10", s)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("spec in %s", writeBigModuleN(t, dir, n))
}

// BenchmarkVetGen1000 measures what `arbor vet && arbor gen` does in the
// library on a spec of 1,000 workers: Generate twice (vet discards the
// result, gen writes it). It does not count the CLI process start; see
// BenchmarkCLIVetGen1000.
//
//	go test -run '^$' -bench 'VetGen1000' -benchtime 10x ./gen/
func BenchmarkVetGen1000(b *testing.B) {
	dir := bigModule(b)
	opts := &Options{Env: moduleEnv()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(ctx, dir, opts); err != nil { // vet
			b.Fatal(err)
		}
		r, err := Generate(ctx, dir, opts) // gen
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(r.Path, r.Content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerate1000Phases splits one Generate of the 1,000-worker spec
// into its phases: loading the CUE spec, loading the Go code with
// go/packages (a go list process; without and with an old arbor_gen.go),
// and the rest (check, resolve, emit and the in-memory type check).
//
//	go test -run '^$' -bench 'Generate1000Phases' -benchtime 10x ./gen/
func BenchmarkGenerate1000Phases(b *testing.B) {
	dir := bigModule(b)
	opts := &Options{Env: moduleEnv()}
	ctx := context.Background()
	spec, err := schema.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	paths := []string{"example.com/big/ext"}
	b.Run("spec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := schema.Load(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := loadGo(ctx, dir, paths, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	ws, err := loadGo(ctx, dir, paths, opts)
	if err != nil {
		b.Fatal(err)
	}
	// With an arbor_gen.go on disk, as after the first gen: loadGo hides
	// it from the go command with an overlay and never compiles it.
	b.Run("go-with-old-file", func(b *testing.B) {
		r, err := ws.generate(spec)
		if err != nil {
			b.Fatal(err)
		}
		forgetGenerated(ws)
		if err := os.WriteFile(r.Path, r.Content, 0o644); err != nil {
			b.Fatal(err)
		}
		defer os.Remove(r.Path)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := loadGo(ctx, dir, paths, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ws.generate(spec); err != nil {
				b.Fatal(err)
			}
			forgetGenerated(ws)
		}
	})
}

// BenchmarkCLIVetGen1000 times the real command, `arbor vet && arbor gen`,
// on the 1,000-worker spec: the binary is built once (outside the timer),
// and each op runs it twice as a user would, with warm build caches.
//
//	go test -run '^$' -bench 'CLIVetGen1000' -benchtime 10x ./gen/
func BenchmarkCLIVetGen1000(b *testing.B) {
	dir := bigModule(b)
	arbor := filepath.Join(b.TempDir(), "arbor")
	build := exec.Command("go", "build", "-o", arbor, "github.com/arbor-go/arbor/cmd/arbor")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) {
		cmd := exec.Command(arbor, args...)
		cmd.Dir = dir
		cmd.Env = moduleEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("arbor %v: %v\n%s", args, err, out)
		}
	}
	run("gen") // the first gen writes the file; later ones find it up to date
	for b.Loop() {
		run("vet")
		run("gen")
	}
}

// flatSpec returns a spec of one tree whose n workers are all children of
// the root: the widest supervisor, built in chunks.
func flatSpec(n int) string {
	var b strings.Builder
	b.WriteString("package flat\n\ntrees: flat: children: {\n")
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "\tw%d: {run: \"(*Pool).Run\", ready: timeout: \"10s\"}\n", i)
		case 1:
			fmt.Fprintf(&b, "\tw%d: {run: \"Serve\", heartbeat: timeout: \"3s\", after: [\"w0\"]}\n", i)
		default:
			fmt.Fprintf(&b, "\tw%d: {run: \"Work\", restart: \"transient\", backoff: {initial: \"1s\", max: \"1m\"}}\n", i)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

const flatGo = `// Package flat is supervised by a generated tree of many workers.
package flat

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
)

// Pool reports readiness.
type Pool struct{}

// Run runs until cancelled.
func (p *Pool) Run(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// Work runs until cancelled.
func Work(ctx context.Context) error { <-ctx.Done(); return nil }

// Serve beats until cancelled.
func Serve(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

var _ = NewFlat(&Pool{}).W1()
`

// BenchmarkCompile times go build of a generated package at 1,000, 4,000
// and 10,000 workers, in two shapes: nested (the spec of TestAdversarial:
// supervisors of ten under the root) and flat (every worker a child of the
// root). Each op compiles the package afresh (a file of it changes; its
// dependencies stay cached). µs/child (wall) and cpu-µs/child (user and
// system time of the go command and the compiler it ran, which depends
// less on what else the machine does) show whether the time grows
// linearly; peak-MB is the largest resident size of those processes.
//
//	go test -run '^$' -bench Compile -benchtime 3x -timeout 30m ./gen/
func BenchmarkCompile(b *testing.B) {
	for _, shape := range []string{"nested", "flat"} {
		for _, n := range []int{1000, 4000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				files := map[string]string{"flat/spec.cue": flatSpec(n), "flat/flat.go": flatGo}
				pkg := "flat"
				if shape == "nested" {
					files = map[string]string{"big/spec.cue": bigSpec(n)}
					for name, src := range bigGo {
						files[name] = src
					}
					pkg = "big"
				}
				mod := writeModule(b, files)
				r, err := Generate(context.Background(), filepath.Join(mod, pkg), &Options{Env: moduleEnv()})
				if err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(r.Path, r.Content, 0o644); err != nil {
					b.Fatal(err)
				}
				goCmd(b, mod, "build", "./...") // the dependencies, once
				stamp := filepath.Join(mod, pkg, "stamp.go")
				var peak int64
				var cpu time.Duration
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					if err := os.WriteFile(stamp, fmt.Appendf(nil, "package %s\n\nconst stamp = %d\n", pkg, i), 0o644); err != nil {
						b.Fatal(err)
					}
					cmd := exec.Command("go", "build", "./"+pkg)
					cmd.Dir = mod
					cmd.Env = moduleEnv()
					b.StartTimer()
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("go build: %v\n%s", err, out)
					}
					peak = max(peak, maxRSS(cmd.ProcessState))
					cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/child")
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/float64(n), "cpu-µs/child")
				b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
				b.ReportMetric(float64(len(r.Content))/float64(n), "B-generated/child")
			})
		}
	}
}

// BenchmarkCheckAfterTypos measures Check on one flat supervisor of n
// workers, each of whose after lists misspells a sibling: every error
// looks for the nearest of the n names to suggest it.
//
//	go test -run '^$' -bench 'CheckAfterTypos' -benchtime 3x ./gen/
func BenchmarkCheckAfterTypos(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var src strings.Builder
			src.WriteString("package flat\n\ntrees: flat: children: {\n")
			for i := range n {
				fmt.Fprintf(&src, "\tchild%d: {run: \"Work\", after: [\"chlid%d\"]}\n", i, i)
			}
			src.WriteString("}\n")
			spec, err := schema.LoadFiles(b.TempDir(), map[string][]byte{"spec.cue": []byte(src.String())})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := Check(spec); err == nil || !strings.Contains(err.Error(), `(did you mean "child0"?)`) {
					b.Fatalf("Check = %v, want a suggestion", err)
				}
			}
		})
	}
}

// BenchmarkCheckAfterFlat measures the checks that need only the spec
// (Check) and Graph on one flat supervisor of n workers, each of which
// starts after the four siblings before it: the after lists of a wide
// supervisor, which must not cost n² lookups of a sibling by name.
//
//	go test -run '^$' -bench 'CheckAfterFlat' -benchtime 3x ./gen/
func BenchmarkCheckAfterFlat(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var src strings.Builder
			src.WriteString("package flat\n\ntrees: flat: children: {\n")
			for i := range n {
				var after []string
				for j := max(0, i-4); j < i; j++ {
					after = append(after, strconv.Quote(fmt.Sprintf("w%d", j)))
				}
				fmt.Fprintf(&src, "\tw%d: {run: \"Work\", after: [%s]}\n", i, strings.Join(after, ", "))
			}
			src.WriteString("}\n")
			spec, err := schema.LoadFiles(b.TempDir(), map[string][]byte{"spec.cue": []byte(src.String())})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := Check(spec); err != nil {
					b.Fatal(err)
				}
				if _, err := Graph(spec, Mermaid); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
