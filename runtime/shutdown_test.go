package runtime_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// lingering ignores cancellation for d, or until release is closed.
func lingering(d time.Duration, release <-chan struct{}) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		<-ctx.Done()
		select {
		case <-time.After(d):
		case <-release:
		}
		return ctx.Err()
	}
}

func TestShutdownStopsInReverseOrderOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: lingering(time.Second, nil)},
			{Name: "b", Run: lingering(2*time.Second, nil)},
			{Name: "c", Run: lingering(3*time.Second, nil)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 6*time.Second, time.Since(begin), "one at a time: 3s + 2s + 1s")
		assert.Equal(t, []string{"c stopped", "b stopped", "a stopped"}, rec.trace(runtime.EventStopped))
		var at []time.Duration
		for _, e := range rec.of(runtime.EventStopped) {
			at = append(at, e.Time.Sub(begin))
			assert.Equal(t, runtime.ExitCancelled, e.Exit)
		}
		assert.Equal(t, []time.Duration{3 * time.Second, 5 * time.Second, 6 * time.Second}, at)
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

func TestShutdownAbandonsAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: nop},
			{Name: "stuck", Run: lingering(time.Hour, release), Shutdown: 2 * time.Second},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 2*time.Second, time.Since(begin), "waited the grace, not the hour")

		report := tr.ShutdownReport()
		require.Len(t, report.Abandoned, 1)
		ab := report.Abandoned[0]
		assert.Equal(t, "t/stuck", ab.Path)
		assert.Equal(t, uint64(1), ab.Generation)
		assert.Equal(t, 2*time.Second, ab.Waited)
		assert.Equal(t, []string{"stuck abandoned", "a stopped"}, rec.trace(runtime.EventAbandoned, runtime.EventStopped))

		st := status(t, tr, "t/stuck")
		assert.Equal(t, 1, st.Abandoned)
		assert.ErrorIs(t, st.LastError, runtime.ErrAbandoned)

		// Its late exit is fenced: counted, and it changes nothing.
		close(release)
		synctest.Wait()
		st = status(t, tr, "t/stuck")
		assert.EqualValues(t, 1, st.Fenced)
		assert.Equal(t, runtime.StateStopped, st.State)
	})
}

func TestShutdownBudgetBoundsTheWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 3 * time.Second, Children: []runtime.Child{
			{Name: "a", Run: lingering(time.Hour, release)},
			{Name: "b", Run: lingering(time.Hour, release)},
			{Name: "c", Run: lingering(2*time.Second, release)},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 3*time.Second, time.Since(begin), "c took 2s, b got the 1s left, a none")
		var paths []string
		for _, a := range tr.ShutdownReport().Abandoned {
			paths = append(paths, a.Path)
		}
		assert.Equal(t, []string{"t/b", "t/a"}, paths)
	})
}

// TestNestedShutdownBudget: a nested supervisor bounds its own stop; its
// abandoned children reach the tree's report.
func TestNestedShutdownBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Shutdown: time.Second, Children: []runtime.Child{
				{Name: "x", Run: lingering(time.Hour, release)},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, time.Second, time.Since(begin))
		report := tr.ShutdownReport()
		require.Len(t, report.Abandoned, 1)
		assert.Equal(t, "t/n/x", report.Abandoned[0].Path)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/n").State, "the supervisor itself returned")
	})
}

// TestRunReturnsOnlyWhenEverythingReturned: nothing started by the tree runs
// after Run returns, unless the report lists it.
func TestRunReturnsOnlyWhenEverythingReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		running := make(map[string]bool)
		var mu = make(chan struct{}, 1)
		track := func(name string, linger time.Duration) runtime.RunFunc {
			return func(ctx context.Context, a *runtime.Attempt) error {
				mu <- struct{}{}
				running[name] = true
				<-mu
				<-ctx.Done()
				time.Sleep(linger)
				mu <- struct{}{}
				running[name] = false
				<-mu
				return nil
			}
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: track("a", time.Second)},
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "x", Run: track("x", 2*time.Second)},
				{Name: "y", Run: track("y", 0)},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		mu <- struct{}{}
		defer func() { <-mu }()
		assert.Equal(t, map[string]bool{"a": false, "x": false, "y": false}, running)
	})
}
