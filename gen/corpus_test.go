package gen_test

import (
	"bytes"
	"context"
	"fmt"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/packages"

	"github.com/arbor-go/arbor/gen"
	"github.com/arbor-go/arbor/gen/lint"
)

// TestVetCorpus runs the static checks as arbor vet does, from a CUE spec,
// on gen/lint's corpus of realistic run functions, with what the corpus's
// own runtime.Spec asks of each child: the spec's way and the Analyzer's
// way must agree, and find nothing. One more child asks for heartbeats of
// a server that never beats: its finding shows that the checks ran.
func TestVetCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus module")
	}
	dir := lintModule(t)
	pkgs, err := packages.Load(&packages.Config{Mode: packages.LoadSyntax, Dir: dir}, "./corpus")
	require.NoError(t, err)
	require.Len(t, pkgs, 1)
	p := pkgs[0]
	require.Empty(t, p.Errors)

	var spec strings.Builder
	spec.WriteString("package vetcorpus\n\ntrees: corpus: children: {\n")
	children := 0
	named := map[string]bool{}
	for _, tg := range lint.Targets(&lint.Package{Fset: p.Fset, Files: p.Syntax, Types: p.Types, Info: p.TypesInfo}) {
		if !tg.Spec.IsValid() || tg.Func == nil || tg.Func.Type().(*types.Signature).Params().Len() > 2 {
			continue // not a child, or not a form a spec can name
		}
		name := tg.Child
		if named[name] {
			name = fmt.Sprintf("%s-%d", name, children) // from another runtime.Spec of the corpus
		}
		named[name] = true
		fmt.Fprintf(&spec, "\t%q: {run: %q", name, runRef(tg.Func))
		if tg.Ready {
			spec.WriteString(`, ready: timeout: "5s"`)
		}
		if tg.Heartbeat {
			spec.WriteString(`, heartbeat: timeout: "3s"`)
		}
		if tg.Timeout {
			spec.WriteString(`, timeout: "1m"`)
		}
		if tg.OneShot {
			spec.WriteString(`, restart: "transient"`)
		}
		if tg.Grace > 0 {
			fmt.Fprintf(&spec, ", shutdown: %q", tg.Grace.String())
		}
		spec.WriteString("}\n")
		children++
	}
	spec.WriteString("\tcontrol: {run: \"lintdata/corpus.Admin\", heartbeat: timeout: \"3s\"}\n}\n")
	require.GreaterOrEqual(t, children, 45, "the children of the corpus that a spec can name")
	specDir := filepath.Join(dir, "vetcorpus")
	require.NoError(t, os.Mkdir(specDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(specDir, "spec.cue"), []byte(spec.String()), 0o644))

	r, err := gen.Generate(context.Background(), specDir, &gen.Options{Lint: true})
	require.NoError(t, err, "spec:\n%s", spec.String())
	got := r.Findings.Relative(dir).Error()
	assert.Regexp(t, `^vetcorpus/spec.cue:\d+:\d+: corpus/control: the child has heartbeat, but Admin never calls a.Beat\(\).* \(beat\) \(at corpus/servers.go:\d+:\d+\)$`, got,
		"one finding, on the control child; anything else is a false positive")
}

// BenchmarkVetCorpus times Generate without and with Options.Lint on a
// spec of one child whose run function is in gen/lint's corpus, another
// package of the module: what the checks add, the corpus type-checked
// from source (1,400 lines, importing net/http and errgroup) included.
//
//	go test -run '^$' -bench VetCorpus -count 5 ./gen/
func BenchmarkVetCorpus(b *testing.B) {
	dir := lintModule(b)
	specDir := filepath.Join(dir, "vetcorpus")
	require.NoError(b, os.Mkdir(specDir, 0o755))
	spec := "package vetcorpus\n\ntrees: corpus: children: api: {run: \"(*lintdata/corpus.API).Run\", ready: timeout: \"5s\"}\n"
	require.NoError(b, os.WriteFile(filepath.Join(specDir, "spec.cue"), []byte(spec), 0o644))
	for _, lint := range []bool{false, true} {
		b.Run(map[bool]string{false: "gen", true: "lint"}[lint], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gen.Generate(context.Background(), specDir, &gen.Options{Lint: lint}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// lintModule copies gen/lint's test data module, whose replace directive
// points at this repository, to a temporary directory.
func lintModule(t testing.TB) string {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("lint", "testdata"))))
	mod := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(mod)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mod, bytes.Replace(b, []byte("=> ../../.."), []byte("=> "+root), 1), 0o644))
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOSUMDB", "off")
	return dir
}

// runRef names a function as a spec's run field does, with its package.
func runRef(fn *types.Func) string {
	recv := fn.Type().(*types.Signature).Recv()
	if recv == nil {
		return fn.Pkg().Path() + "." + fn.Name()
	}
	star, t := "", recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		star, t = "*", p.Elem()
	}
	return "(" + star + fn.Pkg().Path() + "." + types.Unalias(t).(*types.Named).Obj().Name() + ")." + fn.Name()
}
