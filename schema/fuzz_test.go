package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzLoad feeds arbitrary CUE source to the in-memory loader: it must
// never panic, and must return either a spec or a non-empty ErrorList.
//
//	go test -fuzz FuzzLoad -fuzztime 1m ./schema/
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.cue")
	for _, s := range seeds {
		src, err := os.ReadFile(s)
		if err == nil {
			f.Add(string(src))
		}
	}
	f.Add("package p\ntrees: t: children: w: run: \"W\"\n")
	f.Add("package p\ntrees: t: children: w: {run: \"W\", after: [1, \"x\"], ready: {}}\n")
	f.Add("package p\ntrees: t: children: w: {children: {}, run: _|_}\n")
	f.Add("package p\ntrees: t: children: [string]: run: \"W\"\n")
	f.Add("package p\ntrees: t: children: w: run: \"W\" @tag(x)\n")
	f.Add("package p\nimport \"example.com/x\"\ntrees: t: children: w: run: x.y\n")
	f.Add("package p\ntrees: {t: children: w: restartLimit: max: 1e400}\n")
	f.Add("package p\ntrees: t: backoff: jitter: 1/0\n")
	f.Add("package p\na: b: a\ntrees: t: a\n")
	f.Add("package p\n#X: {#X}\ntrees: t: #X\n")
	f.Add("package p\ntrees: t: children: w: {run: \"W\", pool: max: 2, significant: true}\n")
	f.Add("package p\ntrees: t: children: w: {run: \"W\", pool: *{max: 1} | {max: -1}}\n")
	f.Fuzz(func(t *testing.T, src string) {
		dir := filepath.Join(t.TempDir(), "spec")
		spec, err := LoadFiles(dir, map[string][]byte{"spec.cue": []byte(src)})
		if err != nil {
			var list ErrorList
			require.True(t, errors.As(err, &list), "not an ErrorList: %T %v", err, err)
			require.NotEmpty(t, list)
			for _, e := range list {
				require.NotEmpty(t, e.Msg)
				require.NotContains(t, e.Msg, "internal error", "CUE panicked:\n%s", src)
				require.NotContains(t, e.Pos.Filename, schemaFile)
			}
			require.Nil(t, spec)
			return
		}
		// A spec the fast path accepted is one the schema accepts, alike.
		full, err := loadSpec(dir, map[string][]byte{"spec.cue": []byte(src)}, false)
		require.NoError(t, err, "the fast path accepted a spec the schema rejects:\n%s", src)
		require.Equal(t, dump(full), dump(spec), "the fast path decodes differently:\n%s", src)
		require.NotEmpty(t, spec.Trees)
		for _, tree := range spec.Trees {
			tree.Walk(func(n *Node) bool {
				require.True(t, n.Pos.IsValid(), "%s has no position", n)
				require.Regexp(t, nameRE, n.Name)
				if n.IsSupervisor() {
					require.NotNil(t, n.RestartLimit)
					require.NotNil(t, n.Backoff)
				} else {
					require.NotEmpty(t, n.RunPos.Filename)
				}
				if n.IsPool() {
					require.NotNil(t, n.RestartLimit, "a pool has its own limit")
					require.False(t, n.Significant)
					require.GreaterOrEqual(t, n.Pool.Max, 0)
				}
				return true
			})
		}
	})
}

// genSpec returns a spec with n workers under one tree, in nested
// supervisors of 10, with after lists, templates and overrides.
func genSpec(n int) string {
	var b strings.Builder
	b.WriteString("package big\n\n#Service: {restart: \"permanent\", ready: timeout: \"10s\", ...}\n\n")
	b.WriteString("trees: big: {\n\tstrategy: \"one_for_one\"\n\tchildren: {\n")
	for g := 0; g < n/10; g++ {
		fmt.Fprintf(&b, "\t\t\"group-%d\": {\n\t\t\tstrategy: \"rest_for_one\"\n\t\t\tchildren: {\n", g)
		for i := 0; i < 10; i++ {
			name := fmt.Sprintf("w%d", i)
			switch {
			case i == 0:
				fmt.Fprintf(&b, "\t\t\t\t%s: #Service & {run: \"(*Pool).Run\"}\n", name)
			case i%3 == 0:
				fmt.Fprintf(&b, "\t\t\t\t%s: {run: \"Work\", after: [\"w%d\"], backoff: {initial: \"1s\"}, timeout: \"1m\"}\n", name, i-1)
			default:
				fmt.Fprintf(&b, "\t\t\t\t%s: {run: \"Work\", after: [\"w0\"], heartbeat: timeout: \"3s\"}\n", name)
			}
		}
		b.WriteString("\t\t\t}\n\t\t}\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func TestLoad1000(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.cue"), []byte(genSpec(1000)), 0o644))
	spec, err := Load(dir)
	require.NoError(t, err)
	workers := 0
	spec.Trees[0].Walk(func(n *Node) bool {
		if !n.IsSupervisor() {
			workers++
		}
		return true
	})
	require.Equal(t, 1000, workers)
	require.Equal(t, "group-0", spec.Trees[0].Children[0].Name)
	require.Equal(t, "group-99", spec.Trees[0].Children[99].Name)
}

func BenchmarkLoad1000(b *testing.B) {
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "big.cue"), []byte(genSpec(1000)), 0o644))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
