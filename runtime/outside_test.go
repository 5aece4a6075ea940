package runtime_test

// Shutdown's chained stop (chainStop) tried from outside, in the manner of
// OTP's supervisor_SUITE and suture's tests: stop order over mixed trees,
// tight budgets, late returns, crashes and orders during the chain.

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
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
// supervisor is. Its grace runs from when the supervisor asks for its stop,
// not from the previous child's return; and an attempt that has returned is
// left to its queued exit. Either keeps it; without either, it is abandoned.
func TestChainedGraceNotAbandonedWhenReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := behind(t, "t", 100*time.Millisecond)
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

// stopLog records what workers' run functions see in a shutdown.
type stopLog struct {
	mu  sync.Mutex
	log []string
	at  map[string]time.Time // when each saw its cancel
}

func (l *stopLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.log)
}

// worker waits for cancellation, then lingers d before it returns.
func (l *stopLog) worker(name string, d time.Duration, after ...string) runtime.Child {
	return runtime.Child{Name: name, After: after, Run: func(ctx context.Context, a *runtime.Attempt) error {
		<-ctx.Done()
		l.mu.Lock()
		l.log = append(l.log, "cancel "+a.Path())
		l.at[a.Path()] = time.Now()
		l.mu.Unlock()
		if d > 0 {
			time.Sleep(d)
		}
		l.mu.Lock()
		l.log = append(l.log, "return "+a.Path())
		l.mu.Unlock()
		return nil
	}}
}

// TestChainOrderMixedTree: OTP's order_of_children over a tree that mixes
// workers, two levels of nested supervisors, a pool and After edges that
// make the start order differ from the declaration order. Workers are
// stopped one at a time, each only after the one before it in stop order
// has returned, and each Stopped event is dated no later than the next
// worker's cancel.
func TestChainOrderMixedTree(t *testing.T) {
	for round := range 10 {
		synctest.Test(t, func(t *testing.T) {
			l := &stopLog{at: map[string]time.Time{}}
			d := time.Duration(round%3) * time.Millisecond
			inner := &runtime.Spec{Children: []runtime.Child{
				l.worker("y2", d, "y1"), l.worker("y1", 0), l.worker("y3", d),
			}}
			mid := &runtime.Spec{Children: []runtime.Child{
				l.worker("x2", d, "inner"),
				{Name: "inner", Supervisor: inner},
				l.worker("x1", 0),
			}}
			rec := &recorder{}
			tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
				l.worker("web", d, "db", "mid"),
				l.worker("db", 0, "cache"),
				{Name: "pool", Pool: &runtime.PoolSpec{}, After: []string{"cache"}},
				{Name: "mid", Supervisor: mid},
				l.worker("cache", d),
				l.worker("tail", 0),
			}}, runtime.WithObserver(rec.observe))
			stop, _ := start(t, tr)
			<-tr.Ready()
			for range 3 {
				_, err := tr.Pool("t/pool").Start("", func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					return nil
				})
				require.NoError(t, err)
			}
			synctest.Wait()
			require.NoError(t, stop())

			// The reverse of each supervisor's start order (Kahn's, earliest
			// declared first): t: mid cache db web pool tail; mid: inner x2
			// x1; inner: y1 y2 y3. Not the order of the Starting events: web
			// starts last, once mid is ready.
			order := []string{"t/tail", "t/web", "t/db", "t/cache",
				"t/mid/x1", "t/mid/x2", "t/mid/inner/y3", "t/mid/inner/y2", "t/mid/inner/y1"}
			var want []string
			for _, p := range order {
				want = append(want, "cancel "+p, "return "+p)
			}
			require.Equal(t, want, l.log, "round %d", round)

			stopped := map[string]runtime.Event{}
			idx := map[string]int{}
			for i, e := range rec.all() {
				if e.Kind == runtime.EventStopped {
					stopped[e.Path], idx[e.Path] = e, i
				}
				require.NotEqual(t, runtime.EventAbandoned, e.Kind, "round %d: %s abandoned", round, e.Path)
			}
			for k := 1; k < len(order); k++ {
				prev, next := order[k-1], order[k]
				assert.Less(t, idx[prev], idx[next], "round %d: %s reported before %s", round, next, prev)
				assert.False(t, stopped[prev].Time.After(l.at[next]), "round %d: %s stopped at %v after %s saw its cancel at %v",
					round, prev, stopped[prev].Time, next, l.at[next])
			}
			assert.True(t, tr.ShutdownReport().Clean())
		})
	}
}

// TestChainCausesTimeoutAndHeartbeat: a worker with an attempt Timeout and
// one with a heartbeat, reached by the chain, see ErrStopped as their
// context's cause, not a deadline or a missed beat, and are reported
// stopped.
func TestChainCausesTimeoutAndHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		causes := map[string]error{}
		var mu sync.Mutex
		seen := func(ctx context.Context, a *runtime.Attempt) {
			mu.Lock()
			causes[a.Name()] = context.Cause(ctx)
			mu.Unlock()
		}
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "hb", Heartbeat: &runtime.Heartbeat{Timeout: 40 * time.Millisecond}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				for ctx.Err() == nil {
					a.Beat()
					select {
					case <-ctx.Done():
					case <-time.After(10 * time.Millisecond):
					}
				}
				seen(ctx, a)
				time.Sleep(200 * time.Millisecond) // no longer beating, well past its timeout
				return ctx.Err()
			}},
			{Name: "to", Timeout: 200 * time.Millisecond, Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				seen(ctx, a)
				time.Sleep(150 * time.Millisecond) // past its deadline
				return ctx.Err()
			}},
			{Name: "last", Run: lingering(0, nil)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(100 * time.Millisecond)
		require.NoError(t, stop())
		assert.ErrorIs(t, causes["hb"], runtime.ErrStopped)
		assert.ErrorIs(t, causes["to"], runtime.ErrStopped)
		assert.Equal(t, []string{"last stopped", "to stopped", "hb stopped"},
			rec.trace(runtime.EventStopped, runtime.EventExited, runtime.EventAbandoned))
		assert.Equal(t, runtime.ExitCancelled, status(t, tr, "t/to").LastExit)
		assert.Equal(t, runtime.ExitCancelled, status(t, tr, "t/hb").LastExit)
	})
}

// TestChainLateReturnAfterNestedRestart: a worker abandoned in the middle
// of its nested supervisor's chain returns late, after an operator
// restarted that supervisor: it cancels nothing of the new run.
func TestChainLateReturnAfterNestedRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var cancelled atomic.Int32 // cancels seen by attempts of the second run
		run := func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			if a.Generation() > 1 && !a.Current() {
				return nil
			}
			if a.Generation() > 1 {
				cancelled.Add(1)
			}
			return nil
		}
		stubborn := func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			if a.Generation() == 1 {
				<-release // ignores its cancel, past its grace
			}
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "w0", Run: run},
				{Name: "w1", Run: run},
				{Name: "late", Shutdown: 10 * time.Millisecond, Run: stubborn},
				{Name: "w3", Run: run},
			}}},
		}})
		stop, _ := start(t, tr)
		<-tr.Ready()
		require.NoError(t, tr.Handle("t/n").Restart())
		synctest.Wait()
		time.Sleep(20 * time.Millisecond) // late is abandoned, n runs again
		synctest.Wait()
		for _, p := range []string{"t/n/w0", "t/n/w1", "t/n/late", "t/n/w3"} {
			require.Equal(t, uint64(2), status(t, tr, p).Generation, p)
			require.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
		}
		close(release) // the abandoned attempt returns now
		synctest.Wait()
		assert.Zero(t, cancelled.Load(), "an attempt of the new run was cancelled")
		for _, p := range []string{"t/n/w0", "t/n/w1", "t/n/late", "t/n/w3"} {
			assert.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
		}
		r := tr.ShutdownReport()
		require.Len(t, r.Abandoned, 1)
		assert.Equal(t, "t/n/late", r.Abandoned[0].Path)
		assert.False(t, r.Abandoned[0].Returned.IsZero())
		require.NoError(t, stop())
	})
}

// TestChainCrashBeforeTurn: a worker that fails on its own during the
// shutdown, before the chain reaches it, neither restarts nor lets the
// next one be cancelled before the one stopping now has returned.
func TestChainCrashBeforeTurn(t *testing.T) {
	for _, crashAt := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			l := &stopLog{at: map[string]time.Time{}}
			crash := make(chan struct{})
			rec := &recorder{}
			tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
				l.worker("a", 0),
				{Name: "b", Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-crash
					return errBoom
				}},
				l.worker("c", 20*time.Millisecond),
			}}, runtime.WithObserver(rec.observe))
			stop, _ := start(t, tr)
			synctest.Wait()
			go func() {
				time.Sleep(crashAt)
				close(crash)
			}()
			require.NoError(t, stop())
			assert.Equal(t, []string{"cancel t/c", "return t/c", "cancel t/a", "return t/a"}, l.log, "b crashed at %v", crashAt)
			assert.Len(t, rec.of(runtime.EventStarting), 3, "nothing restarts in a shutdown")
		})
	}
}

// TestChainOrdersDuringShutdown: Stop, Restart and StopAndWait given to
// children while the chain runs change nothing of its order, and
// StopAndWait returns once its child has stopped.
func TestChainOrdersDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &stopLog{at: map[string]time.Time{}}
		var children []runtime.Child
		for _, n := range []string{"w0", "w1", "w2", "w3", "w4"} {
			children = append(children, l.worker(n, 10*time.Millisecond))
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: children})
		stop, done := start(t, tr)
		synctest.Wait()
		go stop()
		time.Sleep(5 * time.Millisecond) // w4 is stopping
		errs := make(chan error, 3)
		go func() { errs <- tr.Handle("t/w1").StopAndWait(context.Background()) }()
		for _, err := range []error{tr.Handle("t/w2").Restart(), tr.Handle("t/w0").Stop()} {
			if err != nil {
				assert.ErrorIs(t, err, runtime.ErrNotRunning)
			}
		}
		require.NoError(t, <-errs)
		assert.Contains(t, l.get(), "return t/w1", "StopAndWait returned before its child stopped")
		require.NoError(t, <-done)
		var want []string
		for _, n := range []string{"w4", "w3", "w2", "w1", "w0"} {
			want = append(want, "cancel t/"+n, "return t/"+n)
		}
		assert.Equal(t, want, l.log)
	})
}

// TestChainDuringGroupRestart: a shutdown that begins while a one_for_all
// or rest_for_one restart is stopping its group keeps the stop order: no
// child is cancelled before the one after it has returned, and nothing
// starts again.
func TestChainDuringGroupRestart(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		synctest.Test(t, func(t *testing.T) {
			l := &stopLog{at: map[string]time.Time{}}
			fail := make(chan struct{})
			rec := &recorder{}
			b := l.worker("b", 30*time.Millisecond)
			b.Run = func(run runtime.RunFunc) runtime.RunFunc {
				return func(ctx context.Context, a *runtime.Attempt) error {
					select {
					case <-fail:
						return errBoom
					case <-ctx.Done():
						return run(ctx, a)
					}
				}
			}(b.Run)
			tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff, Children: []runtime.Child{
				l.worker("a", 10*time.Millisecond),
				b,
				l.worker("c", 30*time.Millisecond),
				l.worker("d", 30*time.Millisecond),
			}}, runtime.WithObserver(rec.observe))
			stop, _ := start(t, tr)
			synctest.Wait()
			close(fail)
			time.Sleep(10 * time.Millisecond) // d is stopping for the group
			require.NoError(t, stop())
			assert.Equal(t, []string{"cancel t/d", "return t/d", "cancel t/c", "return t/c", "cancel t/a", "return t/a"}, l.get(), "%s", strategy)
			assert.Len(t, rec.of(runtime.EventStarting), 4, "%s: nothing starts again", strategy)
			assert.True(t, tr.ShutdownReport().Clean())
		})
	}
}

// TestChainTightBudgetNested: a root budget of 10ms runs out while the
// chain runs over a nested tree of lingering workers. When Run returns,
// every attempt has returned or is in the shutdown report, and before the
// budget no worker was cancelled before the one after it in stop order
// returned.
func TestChainTightBudgetNested(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &stopLog{at: map[string]time.Time{}}
		release := make(chan struct{})
		defer func() { close(release); time.Sleep(10 * time.Millisecond) }() // the abandoned return
		// The paths of the run functions that have not returned.
		var running sync.Map
		wrap := func(c runtime.Child) runtime.Child {
			run := c.Run
			c.Run = func(ctx context.Context, a *runtime.Attempt) error {
				running.Store(a.Path(), struct{}{})
				defer running.Delete(a.Path())
				return run(ctx, a)
			}
			return c
		}
		w := func(name string, d time.Duration) runtime.Child { return wrap(l.worker(name, d)) }
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 10 * time.Millisecond, Children: []runtime.Child{
			w("a", 3*time.Millisecond),
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				w("x", 2*time.Millisecond),
				{Name: "m", Supervisor: &runtime.Spec{Children: []runtime.Child{
					wrap(runtime.Child{Name: "p", Run: func(ctx context.Context, a *runtime.Attempt) error {
						<-ctx.Done()
						l.mu.Lock()
						l.log = append(l.log, "cancel "+a.Path())
						l.mu.Unlock()
						<-release // ignores its cancel
						return nil
					}}),
					w("q", 2*time.Millisecond),
				}}},
				w("y", 2*time.Millisecond),
			}}},
			w("b", 2*time.Millisecond),
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		began := time.Now()
		require.NoError(t, stop())
		assert.LessOrEqual(t, time.Since(began), 10*time.Millisecond)
		report := tr.ShutdownReport()
		listed := map[string]bool{}
		for _, r := range report.Abandoned {
			listed[r.Path] = true
		}
		running.Range(func(k, _ any) bool {
			assert.True(t, listed[k.(string)], "%s runs, unlisted, after Run returned", k)
			return true
		})
		assert.True(t, listed["t/n/m/p"], "p ignores its cancel: %+v", report)
		// Before the budget: b, y, q in turn, each after the last returned,
		// then p, which holds the rest back until the budget.
		l.mu.Lock()
		log, at := slices.Clone(l.log), maps.Clone(l.at)
		l.mu.Unlock()
		require.GreaterOrEqual(t, len(log), 7)
		assert.Equal(t, []string{"cancel t/b", "return t/b", "cancel t/n/y", "return t/n/y", "cancel t/n/m/q", "return t/n/m/q", "cancel t/n/m/p"}, log[:7])
		for _, e := range log[7:] {
			if strings.HasPrefix(e, "cancel ") {
				p := strings.TrimPrefix(e, "cancel ")
				assert.False(t, at[p].Before(began.Add(10*time.Millisecond)), "%s cancelled before the budget, while p lingered", p)
			}
		}
	})
}
