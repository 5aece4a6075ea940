package runtime_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

func nop(ctx context.Context, _ *runtime.Attempt) error { <-ctx.Done(); return nil }

func TestNewRejectsInvalidSpecs(t *testing.T) {
	worker := func(name string) runtime.Child { return runtime.Child{Name: name, Run: nop} }
	tests := []struct {
		name  string
		spec  runtime.Spec
		path  string
		field string
		msg   string
	}{
		{"tree without name", runtime.Spec{Children: []runtime.Child{worker("a")}}, "", "Name", "a tree needs a name"},
		{"bad tree name", runtime.Spec{Name: "Shop", Children: []runtime.Child{worker("a")}}, "Shop", "Name", `invalid name "Shop"`},
		{"no children", runtime.Spec{Name: "t"}, "t", "Children", "at least one child"},
		{"empty child name", runtime.Spec{Name: "t", Children: []runtime.Child{worker("")}}, "t/[0]", "Name", "empty name"},
		{"bad child name", runtime.Spec{Name: "t", Children: []runtime.Child{worker("9lives")}}, "t/9lives", "Name", "invalid name"},
		{"duplicate name", runtime.Spec{Name: "t", Children: []runtime.Child{worker("a"), worker("a")}}, "t/a", "Name", `duplicate name "a"`},
		{"nil run", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a"}}}, "t/a", "Run", "nil"},
		{"Func of nil", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: runtime.Func(nil)}}}, "t/a", "Run", "nil"},
		{"run and supervisor", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, Supervisor: &runtime.Spec{Children: []runtime.Child{worker("b")}}}}}, "t/a", "Supervisor", "not both"},
		{"unknown strategy", runtime.Spec{Name: "t", Strategy: "one_for_some", Children: []runtime.Child{worker("a")}}, "t", "Strategy", `unknown strategy "one_for_some"`},
		{"unknown restart", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, Restart: "sometimes"}}}, "t/a", "Restart", `unknown restart type "sometimes"`},
		{"negative shutdown", runtime.Spec{Name: "t", Shutdown: -time.Second, Children: []runtime.Child{worker("a")}}, "t", "Shutdown", "negative duration"},
		{"negative grace", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, Shutdown: -1}}}, "t/a", "Shutdown", "negative duration"},
		{"negative timeout", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, Timeout: -1}}}, "t/a", "Timeout", "negative duration"},
		{"zero window", runtime.Spec{Name: "t", RestartLimit: &runtime.RestartLimit{Max: 1}, Children: []runtime.Child{worker("a")}}, "t", "RestartLimit.Window", "must be positive"},
		{"negative max", runtime.Spec{Name: "t", RestartLimit: &runtime.RestartLimit{Max: -1, Window: time.Second}, Children: []runtime.Child{worker("a")}}, "t", "RestartLimit.Max", "negative max"},
		{"jitter above one", runtime.Spec{Name: "t", Backoff: &runtime.Backoff{Jitter: 1.5}, Children: []runtime.Child{worker("a")}}, "t", "Backoff.Jitter", "outside 0 to 1"},
		{"negative jitter", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, Backoff: &runtime.Backoff{Jitter: -0.1}}}}, "t/a", "Backoff.Jitter", "outside 0 to 1"},
		{"backoff max below initial", runtime.Spec{Name: "t", Backoff: &runtime.Backoff{Initial: time.Second, Max: time.Millisecond}, Children: []runtime.Child{worker("a")}}, "t", "Backoff.Max", "less than Initial"},
		{"multiplier below one", runtime.Spec{Name: "t", Backoff: &runtime.Backoff{Multiplier: 0.5}, Children: []runtime.Child{worker("a")}}, "t", "Backoff.Multiplier", "at least 1"},
		{"short heartbeat", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, Heartbeat: &runtime.Heartbeat{Timeout: time.Millisecond}}}}, "t/a", "Heartbeat.Timeout", "shorter than the minimum"},
		{"significant permanent", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, Significant: true}}}, "t/a", "Significant", "transient or temporary"},
		{"after unknown", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, After: []string{"b"}}}}, "t/a", "After", `unknown sibling "b"`},
		{"after self", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop, After: []string{"a"}}}}, "t/a", "After", "itself"},
		{"after cycle", runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: nop, After: []string{"c"}}, {Name: "b", Run: nop, After: []string{"a"}}, {Name: "c", Run: nop, After: []string{"b"}},
		}}, "t/a", "After", "dependency cycle: a -> c -> b -> a"},
		{"grace on supervisor", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "n", Shutdown: time.Second, Supervisor: &runtime.Spec{Children: []runtime.Child{worker("b")}}}}}, "t/n", "Shutdown", "workers only"},
		{"nested error path", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "b"}}}}}}, "t/n/b", "Run", "nil"},
		{"pool with run", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Run: nop}}}, "t/p", "Run", "set on a pool"},
		{"pool with supervisor", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Supervisor: &runtime.Spec{Children: []runtime.Child{worker("b")}}}}}, "t/p", "Supervisor", "set on a pool"},
		{"pool negative max", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{Max: -1}}}}, "t/p", "Pool.Max", "negative max"},
		{"significant pool", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary, Significant: true}}}, "t/p", "Significant", "never ends by itself"},
		{"pool short heartbeat", runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Heartbeat: &runtime.Heartbeat{Timeout: time.Millisecond}}}}, "t/p", "Heartbeat.Timeout", "shorter than the minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := runtime.New(tt.spec)
			require.Error(t, err)
			assert.Nil(t, tr)
			assert.ErrorIs(t, err, runtime.ErrInvalidSpec)
			var se *runtime.SpecError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.path, se.Path)
			assert.Equal(t, tt.field, se.Field)
			assert.Contains(t, se.Msg, tt.msg)
			assert.Contains(t, err.Error(), tt.path)
			verr := runtime.Validate(tt.spec)
			require.Error(t, verr, "Validate accepts what New rejects")
			assert.Equal(t, err.Error(), verr.Error(), "Validate is what New checks")
		})
	}
}

// The zero Spec, the first thing a careless caller tries, is told what it
// lacks, without an empty path in front ("invalid spec: : Name").
func TestNewZeroSpec(t *testing.T) {
	_, err := runtime.New(runtime.Spec{})
	require.ErrorIs(t, err, runtime.ErrInvalidSpec)
	assert.Equal(t, "arbor: invalid spec: Name: a tree needs a name\n"+
		"arbor: invalid spec: Children: a supervisor needs at least one child", err.Error())
}

func TestValidateAcceptsWhatNewBuilds(t *testing.T) {
	spec := runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "a", Run: nop},
		{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "b", Run: nop, After: nil}}}},
	}}
	require.NoError(t, runtime.Validate(spec))
	_, err := runtime.New(spec)
	require.NoError(t, err)
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := runtime.New(runtime.Spec{Name: "t", Strategy: "x", Children: []runtime.Child{
		{Name: "a"}, {Name: "b", Run: nop, Backoff: &runtime.Backoff{Jitter: 2}},
	}})
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, 3, "one line per problem:\n%v", err)
}

func TestZeroValueDefaults(t *testing.T) {
	// A zero Spec with children is valid: every unset field takes its default.
	_, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "a", Run: nop},
		{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "b", Run: nop}}}},
	}})
	require.NoError(t, err)
	// A non-nil zero Backoff means no delay and is valid too.
	_, err = runtime.New(runtime.Spec{Name: "t", Backoff: &runtime.Backoff{}, Children: []runtime.Child{{Name: "a", Run: nop}}})
	require.NoError(t, err)
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.ErrorIs(t, tr.Run(context.Background()), runtime.ErrAlreadyRunning)
		require.NoError(t, stop())
		assert.ErrorIs(t, tr.Run(context.Background()), runtime.ErrTreeEnded)
	})
}

// Run(nil) is the caller's mistake: it must leave the tree as it was, with
// no goroutine started for the observer, so that Run with a real context
// still works.
func TestRunNilContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events atomic.Int64
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}}},
			runtime.WithObserver(func(runtime.Event) { events.Add(1) }))
		assert.ErrorIs(t, tr.Run(nil), runtime.ErrNilContext)
		assert.Equal(t, runtime.HealthStarting, tr.Health().State)
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assert.Positive(t, events.Load())
	})
}

func TestRunWithCancelledContextStartsNothing(t *testing.T) {
	started := false
	tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: func(ctx context.Context, _ *runtime.Attempt) error {
		started = true
		return nil
	}}}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, tr.Run(ctx))
	assert.False(t, started)
}

func TestSpecIsCopied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		children := []runtime.Child{{Name: "a", Run: nop}}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: children})
		children[0].Name = "changed"
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/a").State)
		require.NoError(t, stop())
	})
}

func TestSpecErrorUnwrap(t *testing.T) {
	var err error = &runtime.SpecError{Path: "t/a", Field: "Run", Msg: "nil"}
	assert.True(t, errors.Is(err, runtime.ErrInvalidSpec))
	assert.Equal(t, "arbor: invalid spec: t/a: Run: nil", err.Error())
}

// TestNewCopiesTheSpec: a caller changing its Spec after New changes
// nothing in the running tree, and cannot bypass validation.
func TestNewCopiesTheSpec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ready := &runtime.Ready{Timeout: time.Second}
		hb := &runtime.Heartbeat{Timeout: time.Second}
		limit := &runtime.RestartLimit{Max: 5, Window: time.Minute}
		sub := &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop}}}
		spec := runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "beats", Heartbeat: hb, Run: func(ctx context.Context, a *runtime.Attempt) error {
				for {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(100 * time.Millisecond):
						a.Beat()
					}
				}
			}},
			{Name: "slow", Ready: ready, RestartLimit: limit, Run: warm(500 * time.Millisecond)},
			{Name: "n", Supervisor: sub},
		}}
		tr := mustNew(t, spec)
		hb.Timeout = time.Millisecond // would be stale at once
		ready.Timeout = time.Millisecond
		limit.Max = -1
		sub.Children[0].Name = "Not A Name"
		spec.Children[0].Name = "renamed"
		stop, _ := start(t, tr)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, uint64(1), status(t, tr, "t/beats").Generation, "its own heartbeat timeout")
		assert.Equal(t, uint64(1), status(t, tr, "t/slow").Generation, "its own ready timeout")
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n/x").State)
		require.NoError(t, stop())
	})
}

// TestNilOptionIgnored: a nil Option, such as one a caller's helper
// returns for "nothing to add", is skipped rather than called.
func TestNilOptionIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var none runtime.Option
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}}}, none, runtime.WithJournal(4), nil)
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/a").State)
		require.NoError(t, stop())
	})
}

// TestCycleReportedWithOtherProblems: a dependency cycle is reported even
// when the spec has other problems elsewhere, as every problem is.
func TestCycleReportedWithOtherProblems(t *testing.T) {
	err := runtime.Validate(runtime.Spec{Name: "t", Strategy: "x", Children: []runtime.Child{
		{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "bad"}}}},
		{Name: "a", Run: nop, After: []string{"b"}}, {Name: "b", Run: nop, After: []string{"a"}},
	}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t/n/bad: Run: nil")
	assert.Contains(t, err.Error(), "t/a: After: dependency cycle: a -> b -> a")

	// Also in the same supervisor as an unknown or self reference, as arbor
	// gen reports it.
	err = runtime.Validate(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "a", Run: nop, After: []string{"b", "x", "a"}}, {Name: "b", Run: nop, After: []string{"a"}},
	}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `t/a: After: unknown sibling "x"`)
	assert.Contains(t, err.Error(), "t/a: After: names the child itself")
	assert.Contains(t, err.Error(), "t/a: After: dependency cycle: a -> b -> a")
}
