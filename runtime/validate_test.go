package runtime_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestDuplicateNamesEachReported: every child after the first of a name is
// reported, pointing at the first; an invalid name is reported as invalid,
// not also as a duplicate.
func TestDuplicateNamesEachReported(t *testing.T) {
	worker := func(name string) runtime.Child { return runtime.Child{Name: name, Run: nop} }
	_, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		worker("a"), worker("b"), worker("a"), worker("Bad"), worker("a"), worker("Bad"),
	}})
	require.Error(t, err)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *runtime.SpecError
		require.True(t, errors.As(e, &se))
		got = append(got, se.Path+": "+se.Msg)
	}
	assert.ElementsMatch(t, []string{
		`t/Bad: invalid name "Bad" (want [a-z][a-z0-9_-]*)`,
		`t/Bad: invalid name "Bad" (want [a-z][a-z0-9_-]*)`,
		`t/a: duplicate name "a" (also child 0)`,
		`t/a: duplicate name "a" (also child 0)`,
	}, got)
}

// TestDuplicateNamesInLargeTree: a tree large enough for the names to be
// compared by their hashes finds its duplicates as a small one does, and a
// tree without one is accepted.
func TestDuplicateNamesInLargeTree(t *testing.T) {
	children := make([]runtime.Child, 5000)
	for i := range children {
		children[i] = runtime.Child{Name: "w" + strconv.Itoa(i), Run: nop}
	}
	_, err := runtime.New(runtime.Spec{Name: "t", Children: children})
	require.NoError(t, err)

	children[4321].Name = "w17"
	children[4999].Name = ""
	err = runtime.Validate(runtime.Spec{Name: "t", Children: children})
	require.Error(t, err)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *runtime.SpecError
		require.True(t, errors.As(e, &se))
		got = append(got, se.Path+": "+se.Msg)
	}
	assert.ElementsMatch(t, []string{`t/w17: duplicate name "w17" (also child 17)`, `t/[4999]: empty name`}, got)
}
