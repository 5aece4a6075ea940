package gen

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The benchmarks in this file time what a user waits for: `arbor vet` and
// `arbor gen` on specs of 1,000, 4,000 and 10,000 workers (bigSpec), warm
// (nothing changed since the last run) and right after an edit of a Go file
// of the spec's package, which once made the go command compile the old
// arbor_gen.go again. Each op is one vet and one gen.
//
//	go test -run '^$' -bench 'VetGenSizes' -benchtime 3x ./gen/
//	go test -run '^$' -bench 'CLIVetGenSizes' -benchtime 3x ./gen/

var sizes = []int{1000, 4000, 10000}
var _ = sizes

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
func editGo(b *testing.B, dir string, i int) {
	f, err := os.OpenFile(filepath.Join(dir, "big.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(f, "\n// edit %d\n", i)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkVetGenSizes(b *testing.B) {
	for _, n := range sizes {
		dir := sizedModule(b, n)
		opts := &Options{Env: moduleEnv()}
		ctx := context.Background()
		for _, edit := range []bool{false, true} {
			name := fmt.Sprintf("%d/warm", n)
			if edit {
				name = fmt.Sprintf("%d/after-go-edit", n)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if edit {
						i++
						editGo(b, dir, i)
					}
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
			})
		}
	}
}

func BenchmarkCLIVetGenSizes(b *testing.B) {
	arbor := filepath.Join(b.TempDir(), "arbor")
	build := exec.Command("go", "build", "-o", arbor, "github.com/arbor-go/arbor/cmd/arbor")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, n := range sizes {
		dir := sizedModule(b, n)
		run := func(b *testing.B, args ...string) {
			cmd := exec.Command(arbor, args...)
			cmd.Dir = dir
			cmd.Env = moduleEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("arbor %v: %v\n%s", args, err, out)
			}
		}
		for _, edit := range []bool{false, true} {
			name := fmt.Sprintf("%d/warm", n)
			if edit {
				name = fmt.Sprintf("%d/after-go-edit", n)
			}
			b.Run(name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					if edit {
						i++
						editGo(b, dir, i)
					}
					run(b, "vet")
					run(b, "gen")
				}
			})
		}
	}
}
