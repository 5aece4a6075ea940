package runtime_test

import (
	"errors"
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
