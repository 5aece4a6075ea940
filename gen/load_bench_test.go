package gen

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-go/arbor/schema"
)

// The benchmarks in this file time what a user waits for, `arbor vet` and
// `arbor gen`, on specs of 1,000, 4,000 and 10,000 workers (bigSpec): warm
// (nothing changed since the last run), and right after an edit of a Go
// file of the spec's package, which once made the go command compile the
// old arbor_gen.go again. Besides wall time they report cpu-ms/op, the
// process's CPU time, which other work on the machine disturbs less.
//
//	go test -run '^$' -bench 'CLIVetGenSizes|GenerateSizes' -benchtime 3x ./gen/

var sizes = []int{1000, 4000, 10000}

// sizedModule writes the module of bigSpec(n), generates its arbor_gen.go
// once, and returns the spec's directory.
func sizedModule(b *testing.B, n int) string {
	b.Helper()
	files := map[string]string{"big/spec.cue": bigSpec(n)}
	for name, src := range bigGo {
		files[name] = src
	}
	mod := writeModuleAt(b, b.TempDir(), files)
	goCmd(b, mod, "list", "./...")
	dir := filepath.Join(mod, "big")
	r, err := Generate(context.Background(), dir, &Options{Env: moduleEnv()})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(r.Path, r.Content, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// editGo changes a Go file of the spec's package, as a user does between
// two runs of go generate.
func editGo(b *testing.B, dir string) {
	f, err := os.OpenFile(filepath.Join(dir, "big.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(f, "\n// edit %d\n", time.Now().UnixNano())
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// cpuTime returns the CPU time this process and its finished children
// have used.
func cpuTime() time.Duration {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}

// loop runs op b.N times and reports its CPU time per op.
func loop(b *testing.B, op func()) {
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkGenerateSizes splits one Generate into its phases: loading the
// CUE spec, loading the Go code (two go list runs, export data, the spec's
// package type-checked from source) with the old arbor_gen.go on disk,
// the same with the types.Info that Options.Lint needs, the static checks
// of Options.Lint, and the rest (checks, resolution, emission and the type
// check of the output); and times the whole, warm and after a Go edit,
// without and with Options.Lint.
func BenchmarkGenerateSizes(b *testing.B) {
	ctx := context.Background()
	opts := &Options{Env: moduleEnv()}
	for _, n := range sizes {
		dir := sizedModule(b, n)
		spec, err := schema.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		paths := runPackages(spec)
		b.Run(fmt.Sprintf("%d/spec", n), func(b *testing.B) {
			loop(b, func() {
				if _, err := schema.Load(dir); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("%d/go", n), func(b *testing.B) {
			loop(b, func() {
				if _, err := loadGo(ctx, dir, paths, opts); err != nil {
					b.Fatal(err)
				}
			})
		})
		// What arbor vet adds: types.Info for the spec's package, and the
		// static checks of the run functions (the source check of the
		// other package that run fields name included).
		lintOpts := &Options{Env: moduleEnv(), Lint: true}
		b.Run(fmt.Sprintf("%d/go-lint", n), func(b *testing.B) {
			loop(b, func() {
				if _, err := loadGo(ctx, dir, paths, lintOpts); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("%d/lint", n), func(b *testing.B) {
			ws, err := loadGo(ctx, dir, paths, lintOpts)
			if err != nil {
				b.Fatal(err)
			}
			var errs schema.ErrorList
			targets := map[*schema.Node]*target{}
			spec.Trees[0].Walk(func(n *schema.Node) bool {
				if !n.IsSupervisor() {
					targets[n] = ws.resolve(n, &errs)
				}
				return true
			})
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			loop(b, func() {
				if found := ws.lintRuns(spec, targets); len(found) > 0 {
					b.Fatal(found)
				}
			})
		})
		b.Run(fmt.Sprintf("%d/rest", n), func(b *testing.B) {
			ws, err := loadGo(ctx, dir, paths, opts)
			if err != nil {
				b.Fatal(err)
			}
			loop(b, func() {
				if _, err := ws.generate(spec); err != nil {
					b.Fatal(err)
				}
				forgetGenerated(ws)
			})
		})
		for _, edit := range []bool{false, true} {
			for _, o := range []*Options{opts, lintOpts} {
				name := fmt.Sprintf("%d/all/%s", n, map[bool]string{false: "warm", true: "after-go-edit"}[edit])
				if o.Lint {
					name += "/lint"
				}
				b.Run(name, func(b *testing.B) {
					loop(b, func() {
						if edit {
							editGo(b, dir)
						}
						if _, err := Generate(ctx, dir, o); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		}
	}
}

// BenchmarkCLIVetGenSizes times the real commands, built once outside the
// timer: `arbor vet`, then `arbor gen`, warm and after a Go edit.
func BenchmarkCLIVetGenSizes(b *testing.B) {
	arbor := filepath.Join(b.TempDir(), "arbor")
	build := exec.Command("go", "build", "-o", arbor, "github.com/arbor-go/arbor/cmd/arbor")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, n := range sizes {
		dir := sizedModule(b, n)
		run := func(b *testing.B, cmd string) {
			c := exec.Command(arbor, cmd)
			c.Dir = dir
			c.Env = moduleEnv()
			if out, err := c.CombinedOutput(); err != nil {
				b.Fatalf("arbor %s: %v\n%s", cmd, err, out)
			}
		}
		for _, cmd := range []string{"vet", "gen"} {
			for _, edit := range []bool{false, true} {
				b.Run(fmt.Sprintf("%d/%s/%s", n, cmd, map[bool]string{false: "warm", true: "after-go-edit"}[edit]), func(b *testing.B) {
					loop(b, func() {
						if edit {
							editGo(b, dir)
						}
						run(b, cmd)
					})
				})
			}
		}
	}
}
