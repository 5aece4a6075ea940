package gen

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/arbor-go/arbor/schema"
)

// bigModule writes the module of TestAdversarial's 1,000-worker spec and
// returns the spec's directory.
func bigModule(b *testing.B) string {
	b.Helper()
	return writeBigModule(b, b.TempDir())
}

func writeBigModule(tb testing.TB, dir string) string {
	tb.Helper()
	files := map[string]string{"big/spec.cue": bigSpec(1000)}
	for name, src := range bigGo {
		files[name] = src
	}
	mod := writeModuleAt(tb, dir, files)
	goCmd(tb, mod, "list", "./...") // fill in go.sum and warm the go command's caches
	return filepath.Join(mod, "big")
}

// TestWriteBigModule writes the module of the 1,000-worker benchmarks to
// $ARBOR_BIG_MODULE, to time the CLI by hand, for example with hyperfine:
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
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("spec in %s", writeBigModule(t, dir))
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
