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

// specErrors renders Validate's errors as "path field: message" lines.
func specErrors(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *runtime.SpecError
		require.True(t, errors.As(e, &se), "%v", e)
		got = append(got, se.Path+" "+se.Field+": "+se.Msg)
	}
	return got
}

// TestValidateSameAtEverySize: a flat tree's problems are reported alike,
// in the same order, whether it is small enough for its names to go into a
// map or large enough for them to be compared by their hashes, just below,
// at and above the size where that changes, with and without After lists.
func TestValidateSameAtEverySize(t *testing.T) {
	problems := func() []runtime.Child {
		return []runtime.Child{
			{Name: "a", Run: nop}, {Name: "b", Run: nop}, {Name: "a", Run: nop},
			{Name: "Bad", Run: nop}, {Name: "", Run: nop}, {Name: "Bad", Run: nop}, {Name: "", Run: nop},
			{Name: "a", Run: nop, Restart: "sometimes"},
			{Name: "s", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "x", Run: nop}, {Name: "x", Run: nop}, {Name: "l", Run: nop, Lease: &runtime.LeaseSpec{Name: "one"}},
			}}},
			{Name: "p", Pool: &runtime.PoolSpec{}, Lease: &runtime.LeaseSpec{Name: "one"}},
			{Name: "s", Run: nop},
		}
	}
	for _, after := range []bool{false, true} {
		small := problems()
		if after {
			small[1].After = []string{"a", "nobody"}
		}
		want := specErrors(t, runtime.Validate(runtime.Spec{Name: "t", Children: small}))
		require.Len(t, want, 10+btoi(after), "%q", want) // "nobody" is unknown
		for _, n := range []int{1023, 1024, 1025, 4096} {
			children := problems()
			if after {
				children[1].After = []string{"a", "nobody"}
			}
			for i := len(children); i < n; i++ {
				children = append(children, runtime.Child{Name: "w" + strconv.Itoa(i), Run: nop})
			}
			got := specErrors(t, runtime.Validate(runtime.Spec{Name: "t", Children: children}))
			assert.Equal(t, want, got, "after %v, %d children", after, n)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLargeTreeLeaseNeedsLeaser: a lease below a large flat tree, in a
// nested supervisor or on a pool, still needs a Leaser, and New names the
// first child with one.
func TestLargeTreeLeaseNeedsLeaser(t *testing.T) {
	for _, c := range []struct {
		child runtime.Child
		path  string
	}{
		{runtime.Child{Name: "s", Supervisor: &runtime.Spec{Children: []runtime.Child{
			{Name: "x", Run: nop}, {Name: "l", Run: nop, Lease: &runtime.LeaseSpec{}}}}}, "t/s/l"},
		{runtime.Child{Name: "p", Pool: &runtime.PoolSpec{}, Lease: &runtime.LeaseSpec{}}, "t/p"},
	} {
		for _, n := range []int{10, 1024, 3000} {
			children := make([]runtime.Child, 0, n)
			for i := range n - 1 {
				children = append(children, runtime.Child{Name: "w" + strconv.Itoa(i), Run: nop})
			}
			children = append(children, c.child)
			_, err := runtime.New(runtime.Spec{Name: "t", Children: children})
			var se *runtime.SpecError
			require.ErrorAs(t, err, &se, "%d children", n)
			assert.Equal(t, c.path, se.Path)
			assert.Equal(t, "Lease", se.Field)
		}
	}
}

// TestSpecThatContainsItself: a Spec reachable from its own children, as
// a careless builder of specs may make one, is an error naming the child
// that closes the loop, not a walk that never ends (it used to take every
// byte of memory). A Spec shared by two children is no loop, and is fine.
func TestSpecThatContainsItself(t *testing.T) {
	root := &runtime.Spec{Name: "t"}
	sub := &runtime.Spec{}
	sub.Children = []runtime.Child{{Name: "x", Run: nop}, {Name: "up", Supervisor: root}}
	root.Children = []runtime.Child{{Name: "a", Supervisor: sub}, {Name: "self", Supervisor: root}}
	_, err := runtime.New(*root)
	require.Error(t, err)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *runtime.SpecError
		require.True(t, errors.As(e, &se))
		got = append(got, se.Path+": "+se.Field)
	}
	assert.ElementsMatch(t, []string{"t/a/up: Supervisor", "t/self: Supervisor"}, got)
	require.ErrorIs(t, err, runtime.ErrInvalidSpec)

	loop := &runtime.Spec{}
	loop.Children = []runtime.Child{{Name: "again", Supervisor: loop}}
	require.ErrorIs(t, runtime.Validate(runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "l", Supervisor: loop}}}),
		runtime.ErrInvalidSpec)

	shared := &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop}}}
	_, err = runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "a", Supervisor: shared}, {Name: "b", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "c", Supervisor: shared}}}},
	}})
	require.NoError(t, err)

	// Children that share an array with their supervisor's, but are not
	// the same list, are no loop either.
	all := []runtime.Child{{Name: "x", Run: nop}, {Name: "n"}}
	all[1].Supervisor = &runtime.Spec{Children: all[:1]}
	_, err = runtime.New(runtime.Spec{Name: "t", Children: all})
	require.NoError(t, err)
}
