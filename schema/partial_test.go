package schema

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadPartial: with spec errors, LoadPartial returns the errors Load
// does and what could be decoded, each node an error concerns marked
// Broken, with what is below it when the error may have changed that.
func TestLoadPartial(t *testing.T) {
	src := `package p

trees: t: {
	strategy: "one_for_some"
	children: {
		a: {run: "A", after: ["zz"]}
		b: {run: "B", restart: "always"}
		sub: {shutdown: "soon", children: {c: {run: "C"}}}
		other: {strategy: "bogus", children: {d: {run: "D"}}}
	}
}
trees: u: children: e: {run: "E"}
`
	dir := t.TempDir()
	files := map[string][]byte{"spec.cue": []byte(src)}
	_, want := LoadFiles(dir, files)
	require.Error(t, want)
	spec, err := LoadPartial(dir, files)
	require.NotNil(t, spec)
	assert.Equal(t, want.Error(), err.Error(), "the same errors as LoadFiles")

	var broken []string
	for _, tree := range spec.Trees {
		tree.Walk(func(n *Node) bool {
			if n.Broken {
				broken = append(broken, n.String())
			}
			return true
		})
	}
	slices.Sort(broken)
	// t's strategy concerns t alone; sub's budget, which its children's
	// checks read, sub and c; other's strategy, other alone.
	assert.Equal(t, []string{"t", "t/b", "t/other", "t/sub", "t/sub/c"}, broken)

	// An error that concerns no node: no partial spec.
	files = map[string][]byte{"spec.cue": []byte(strings.Replace(src, "package p", "package p\nx: {", 1))}
	spec, err = LoadPartial(dir, files)
	require.Error(t, err)
	assert.Nil(t, spec)
}
