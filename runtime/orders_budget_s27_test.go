package runtime_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestOrdersUnderATightBudget: orders and pool starts in a nested tree
// whose root's budget runs out while a nested supervisor still waits for a
// lingering child. Restarts are refused from the moment the tree stops; a
// pool whose turn has not come still takes instances, and each one is
// cancelled and either returns or is listed once the budget is spent; once
// Run has returned, everything says the tree has ended.
func TestOrdersUnderATightBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 200 * time.Millisecond, Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Shutdown: 10 * time.Second, Children: []runtime.Child{
				{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: 5 * time.Second},
				{Name: "x", Run: nop},
				{Name: "y", Run: lingering(time.Hour, release), Shutdown: 10 * time.Second},
			}}},
		}})
		stop, done := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/n/p")
		_, err := p.Start("a", lingering(time.Hour, release))
		require.NoError(t, err)

		go stop()
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, tr.Handle("t/n/y").State())
		for _, path := range []string{"t/n", "t/n/x", "t/n/y", "t/n/p", "t/n/p/a"} {
			assert.ErrorIs(t, tr.Handle(path).Restart(), runtime.ErrNotRunning, path)
		}
		h, err := p.Start("b", lingering(time.Hour, release))
		require.NoError(t, err, "p's turn has not come")

		start := time.Now()
		require.NoError(t, <-done)
		assert.Equal(t, 200*time.Millisecond, time.Since(start).Round(time.Millisecond), "the root's budget")
		report := tr.ShutdownReport()
		listed := map[string]bool{}
		for _, e := range report.Abandoned {
			listed[e.Path] = true
		}
		for _, path := range []string{"t/n/y", "t/n/p/a", "t/n/p/b"} {
			assert.True(t, listed[path], "%s is listed: %v", path, report)
		}
		_, err = p.Start("c", nop)
		assert.True(t, errors.Is(err, runtime.ErrTreeEnded), "%v", err)
		assert.ErrorIs(t, h.Restart(), runtime.ErrTreeEnded)
		assert.ErrorIs(t, tr.Handle("t/n/x").Restart(), runtime.ErrTreeEnded)
		close(release) // the abandoned attempts return
		synctest.Wait()
	})
}
