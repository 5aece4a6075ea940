package runtime_test

// Shutdown's chained stop (chainStop) tried from outside, in the manner of
// OTP's supervisor_SUITE and suture's tests: stop order over mixed trees,
// tight budgets, late returns, crashes and orders during the chain.

import (
	_ "context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestChainedGraceNotAbandonedWhenReturned: a worker cancelled by the chain
// that returns at once is never abandoned, however far behind its
// supervisor is: the grace dates from the chain's cancel, and a timer the
// supervisor handles before the worker's queued exit must not call it late.
func TestChainedGraceNotAbandonedWhenReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var slow atomic.Bool
		runtime.SetTestHook(func(path string) {
			if path == "t" && slow.Load() {
				time.Sleep(100 * time.Millisecond) // a supervisor far behind its children
			}
		})
		defer runtime.SetTestHook(nil)
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "b", Shutdown: 50 * time.Millisecond, Run: lingering(time.Millisecond, nil)},
			{Name: "a", Shutdown: 80 * time.Millisecond, Run: lingering(10*time.Millisecond, nil)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		slow.Store(true)
		require.NoError(t, stop())
		assert.Equal(t, []string{"a stopped", "b stopped"}, rec.trace(runtime.EventStopped, runtime.EventAbandoned))
		assert.True(t, tr.ShutdownReport().Clean(), "b returned 1ms after its cancel: %+v", tr.ShutdownReport())
	})
}

// TestChainedBudgetSparesReturned: when the shutdown budget runs out while
// the supervisor is far behind the chain, the workers that the chain
// stopped and that returned at once are not listed as abandoned: they
// stopped when asked, and their exits are queued.
func TestChainedBudgetSparesReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var slow, stalled atomic.Bool
		runtime.SetTestHook(func(path string) {
			if path == "t" && slow.Load() && stalled.CompareAndSwap(false, true) {
				time.Sleep(100 * time.Millisecond) // one stall, past the budget, at the first exit
			}
		})
		defer runtime.SetTestHook(nil)
		rec := &recorder{}
		var children []runtime.Child
		for _, name := range []string{"w0", "w1", "w2", "w3"} {
			children = append(children, runtime.Child{Name: name, Run: lingering(time.Millisecond, nil)})
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 50 * time.Millisecond, Children: children},
			runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		slow.Store(true)
		require.NoError(t, stop())
		assert.Equal(t, []string{"w3 stopped", "w2 stopped", "w1 stopped", "w0 stopped"},
			rec.trace(runtime.EventStopped, runtime.EventAbandoned))
		assert.True(t, tr.ShutdownReport().Clean(), "every worker returned at once: %+v", tr.ShutdownReport())
	})
}
