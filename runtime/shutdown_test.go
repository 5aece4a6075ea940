package runtime_test

import (
	"context"
	"fmt"
	"log/slog"
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

// tracked records, for every attempt it runs, whether it is still running
// and whether its context was cancelled.
type tracked struct {
	mu      sync.Mutex
	running map[string]context.Context // "path#gen" of the attempts still running
}

func (tk *tracked) run(inner runtime.RunFunc) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		key := fmt.Sprintf("%s#%d", a.Path(), a.Generation())
		tk.mu.Lock()
		if tk.running == nil {
			tk.running = map[string]context.Context{}
		}
		tk.running[key] = ctx
		tk.mu.Unlock()
		defer func() {
			tk.mu.Lock()
			delete(tk.running, key)
			tk.mu.Unlock()
		}()
		return inner(ctx, a)
	}
}

// checkGuarantee asserts what Run promises when it returns: every attempt
// has returned, or it is cancelled and listed in the report.
func (tk *tracked) checkGuarantee(t *testing.T, tr *runtime.Tree) {
	t.Helper()
	listed := map[string]bool{}
	for _, a := range tr.ShutdownReport().Abandoned {
		listed[fmt.Sprintf("%s#%d", a.Path, a.Generation)] = true
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for key, ctx := range tk.running {
		assert.Error(t, ctx.Err(), "%s still runs with a live context after Run returned", key)
		assert.True(t, listed[key], "%s still runs after Run returned but is not in the report", key)
	}
}

// TestAbandonedNestedSupervisorTakesItsSubtree: when the root's budget runs
// out while a nested supervisor with a longer budget still stops its
// children, every descendant is cancelled at once and listed.
func TestAbandonedNestedSupervisorTakesItsSubtree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tk := &tracked{}
		slow := tk.run(lingering(800*time.Millisecond, nil))
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Second, Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Shutdown: 10 * time.Second, Children: []runtime.Child{
				{Name: "x", Run: slow}, {Name: "y", Run: slow}, {Name: "z", Run: slow},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, time.Second, time.Since(begin), "the root's budget bounds the whole tree")
		tk.checkGuarantee(t, tr)

		var paths []string
		waited := map[string]time.Duration{}
		for _, a := range tr.ShutdownReport().Abandoned {
			paths = append(paths, a.Path)
			waited[a.Path] = a.Waited
		}
		assert.ElementsMatch(t, []string{"t/n", "t/n/y", "t/n/x"}, paths, "z returned at 800ms; y was stopping, x not yet asked")
		assert.Equal(t, 200*time.Millisecond, waited["t/n/y"])
		assert.Equal(t, time.Duration(0), waited["t/n/x"])
		assert.ErrorIs(t, tr.Handle("t/n/x").Restart(), runtime.ErrTreeEnded, "no zombie supervisor takes orders")
		time.Sleep(time.Second)
		synctest.Wait()
		for _, a := range tr.ShutdownReport().Abandoned {
			assert.False(t, a.Returned.IsZero(), "%s returned since, and the report says when", a.Path)
		}
	})
}

// TestAbandonedNestedSupervisorRestarts: a nested supervisor abandoned by a
// parent that gave up runs again when that parent is restarted; its old
// run does not make the new one fail.
func TestAbandonedNestedSupervisorRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		var failed atomic.Bool
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "m", Supervisor: &runtime.Spec{Shutdown: time.Second,
					RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
					Children: []runtime.Child{
						{Name: "n", Supervisor: &runtime.Spec{Shutdown: 10 * time.Second, Children: []runtime.Child{
							{Name: "x", Run: lingering(800*time.Millisecond, nil)},
							{Name: "y", Run: lingering(800*time.Millisecond, nil)},
						}}},
						{Name: "f", Run: func(ctx context.Context, a *runtime.Attempt) error {
							if !failed.Load() {
								select {
								case <-fail:
									failed.Store(true)
									return errBoom
								case <-ctx.Done():
								}
							}
							<-ctx.Done()
							return nil
						}},
					}}},
			}}, runtime.WithObserver(rec.observe))
		stop, done := start(t, tr)
		synctest.Wait()
		close(fail) // m gives up, abandons n after its 1s budget, and is restarted
		time.Sleep(2 * time.Second)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("the tree gave up: %v", err)
		default:
		}
		n := status(t, tr, "t/m/n")
		assert.Equal(t, runtime.StateRunning, n.State)
		assert.Equal(t, uint64(2), n.Generation)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/m/n/x").State)
		assert.Equal(t, 1, status(t, tr, "t/m").Restarts, "restarted once, without failing again")
		require.NoError(t, stop())
		time.Sleep(time.Second) // the abandoned attempts end
	})
}

// TestSlowObserverDoesNotHoldRun: delivery after the budget is best effort
// and counted; Run returns within the budget plus DeliveryMargin.
func TestSlowObserverDoesNotHoldRun(t *testing.T) {
	children := make([]runtime.Child, 60)
	for i := range children {
		children[i] = runtime.Child{Name: fmt.Sprintf("c%d", i), Run: nop}
	}
	for _, tc := range []struct {
		name    string
		observe func(release <-chan struct{}) func(runtime.Event)
		logger  bool
	}{
		{name: "slow", observe: func(<-chan struct{}) func(runtime.Event) {
			return func(runtime.Event) { time.Sleep(5 * time.Millisecond) }
		}},
		{name: "blocked", observe: func(release <-chan struct{}) func(runtime.Event) {
			return func(runtime.Event) { <-release }
		}},
		{name: "blocked logger", logger: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				opt := runtime.WithLogger(slog.New(blockingHandler{release}))
				if !tc.logger {
					opt = runtime.WithObserver(tc.observe(release))
				}
				tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 100 * time.Millisecond, Children: children}, opt)
				stop, _ := start(t, tr)
				synctest.Wait()
				begin := time.Now()
				require.NoError(t, stop())
				assert.LessOrEqual(t, time.Since(begin), 100*time.Millisecond+runtime.DeliveryMargin)
				assert.NotZero(t, tr.Snapshot().DroppedEvents, "what was not delivered is counted")
				close(release)
				time.Sleep(time.Second) // the observer returns, and its goroutine ends
			})
		})
	}
}

type blockingHandler struct{ release <-chan struct{} }

func (h blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h blockingHandler) Handle(context.Context, slog.Record) error {
	<-h.release
	return nil
}
func (h blockingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h blockingHandler) WithGroup(string) slog.Handler      { return h }

// TestShutdownReportIsBounded: a child abandoned again and again, whose
// attempts return later, does not grow the report without end; one that
// still runs stays listed.
func TestShutdownReportIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stuck atomic.Bool
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1_000_000, Window: time.Second},
			Children: []runtime.Child{{
				Name: "flaky", Timeout: time.Second, Shutdown: 100 * time.Millisecond,
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					if stuck.Load() {
						<-release
					}
					time.Sleep(200 * time.Millisecond) // past its grace
					return nil
				},
			}}})
		stop, _ := start(t, tr)
		time.Sleep(1000 * 1100 * time.Millisecond) // a thousand abandoned attempts
		stuck.Store(true)
		time.Sleep(2 * time.Second) // one more, which does not return
		synctest.Wait()
		report := tr.ShutdownReport()
		assert.LessOrEqual(t, len(report.Abandoned), runtime.ReportHistory+1)
		assert.GreaterOrEqual(t, report.Forgotten, 899)
		assert.False(t, report.Clean())
		last := report.Abandoned[0]
		assert.True(t, last.Returned.IsZero(), "the attempt still running comes first")
		for _, a := range report.Abandoned[1:] {
			assert.False(t, a.Returned.IsZero())
			assert.Greater(t, a.Generation, uint64(899), "the latest are kept")
		}
		close(release)
		require.NoError(t, stop())
		time.Sleep(time.Second)
	})
}

// TestKilledSubtreeEventsStayInOrder: a nested supervisor killed with its
// abandoned parent while it restarts a child in a loop must not let an
// attempt's Starting or Ready event follow its Abandoned event, nor report
// the abandonment of an attempt whose start it never reported. The kill
// runs on another goroutine, so this takes real concurrency, not synctest.
func TestKilledSubtreeEventsStayInOrder(t *testing.T) {
	loop := &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}
	for i := 0; i < 150 && !t.Failed(); i++ {
		var mu sync.Mutex
		type key struct {
			path string
			gen  uint64
		}
		started, ended := map[key]bool{}, map[key]runtime.EventKind{}
		observe := func(e runtime.Event) {
			if e.Generation == 0 {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			k := key{e.Path, e.Generation}
			switch e.Kind {
			case runtime.EventStarting:
				started[k] = true
			case runtime.EventReady, runtime.EventExited, runtime.EventStopped, runtime.EventAbandoned:
				if !started[k] {
					t.Errorf("%s generation %d: %s before its start", e.Path, e.Generation, e.Kind)
				}
				if was, ok := ended[k]; ok {
					t.Errorf("%s generation %d: %s after %s", e.Path, e.Generation, e.Kind, was)
				}
				if e.Kind != runtime.EventReady {
					ended[k] = e.Kind
				}
			}
		}
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 2 * time.Millisecond, Children: []runtime.Child{
			{Name: "a", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "b", Supervisor: &runtime.Spec{Backoff: noBackoff, RestartLimit: loop, Children: []runtime.Child{
					{Name: "w", Backoff: noBackoff, Run: func(ctx context.Context, a *runtime.Attempt) error { return errBoom }},
				}}},
				{Name: "slow", Run: lingering(time.Hour, release)},
			}}},
		}}, runtime.WithObserver(observe), runtime.WithEventBuffer(1<<16))
		stop, _ := start(t, tr)
		time.Sleep(time.Millisecond)
		require.NoError(t, stop())
		close(release)
	}
}

// TestKilledSubtreeSettlesBeforeRunReturns: when a nested supervisor is
// abandoned with its parent, its children waiting for a restart or for
// their After list show as stopped by the time Run returns, not when the
// killed run gets round to it.
func TestKilledSubtreeSettlesBeforeRunReturns(t *testing.T) {
	for range 30 {
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 2 * time.Millisecond, Children: []runtime.Child{
			{Name: "a", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "b", Supervisor: &runtime.Spec{Children: []runtime.Child{
					{Name: "w", Backoff: constBackoff(time.Hour), Run: func(ctx context.Context, a *runtime.Attempt) error { return errBoom }},
					{Name: "v", After: []string{"w"}, Run: nop},
					{Name: "x", Run: lingering(time.Hour, release)},
				}}},
				{Name: "slow", Run: lingering(time.Hour, release)},
			}}},
		}})
		stop, _ := start(t, tr)
		time.Sleep(2 * time.Millisecond)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		for _, st := range tr.Snapshot().Children {
			switch st.State {
			case runtime.StateStopped, runtime.StateDone, runtime.StateIdle:
			default:
				t.Errorf("%s shows %s after Run", st.Path, st.State)
			}
		}
		close(release)
	}
}

// TestShutdownChainKeepsOrder: a worker stopped by a shutdown cancels the
// next worker in stop order as soon as it returns, without waiting for its
// supervisor (chainStop). The order must hold all the same, against a
// nested supervisor and a pool in the queue, in what the run functions see,
// in the events' order and in their times: no child is cancelled before
// the one after it in start order has returned and is reported stopped.
func TestShutdownChainKeepsOrder(t *testing.T) {
	for round := range 20 {
		var mu sync.Mutex
		var log []string // "cancel x" when x sees its context end, "return x" when it returns
		seen := map[string]time.Time{}
		worker := func(name string) runtime.Child {
			return runtime.Child{Name: name, Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				mu.Lock()
				log = append(log, "cancel "+a.Path())
				seen[a.Path()] = time.Now()
				mu.Unlock()
				if round%2 == 1 {
					time.Sleep(50 * time.Microsecond) // return later than the next could have been cancelled
				}
				mu.Lock()
				log = append(log, "return "+a.Path())
				mu.Unlock()
				return nil
			}}
		}
		var children []runtime.Child
		for i := range 10 {
			children = append(children, worker(fmt.Sprintf("w%d", i)))
		}
		sub := runtime.Child{Name: "sub", Supervisor: &runtime.Spec{Children: []runtime.Child{worker("x"), worker("y")}}}
		pool := runtime.Child{Name: "pool", Pool: &runtime.PoolSpec{}}
		children = slices.Insert(children, 7, sub)
		children = slices.Insert(children, 3, pool)
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: children}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		<-tr.Ready()
		for range 3 {
			_, err := tr.Pool("t/pool").Start("", func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				return nil
			})
			require.NoError(t, err)
		}
		require.NoError(t, stop())

		want := []string{"t/w9", "t/w8", "t/w7", "t/sub/y", "t/sub/x", "t/w6", "t/w5", "t/w4", "t/w3", "t/w2", "t/w1", "t/w0"}
		var wantLog []string
		for _, p := range want {
			wantLog = append(wantLog, "cancel "+p, "return "+p)
		}
		require.Equal(t, wantLog, log, "round %d: one at a time, in reverse start order", round)

		// Each child's Stopped event comes before anything of the next child
		// in stop order, and is dated no later than the next one's cancel.
		events := rec.all()
		stopped := map[string]int{}
		for i, e := range events {
			if e.Kind == runtime.EventStopped {
				stopped[e.Path] = i
			}
		}
		order := []string{"t/w9", "t/w8", "t/w7", "t/sub", "t/w6", "t/w5", "t/w4", "t/w3", "t/pool", "t/w2", "t/w1", "t/w0"}
		for k := 1; k < len(order); k++ {
			prev, next := order[k-1], order[k]
			pi, ok := stopped[prev]
			require.True(t, ok, "no Stopped event for %s", prev)
			for i, e := range events {
				if e.Path == next || strings.HasPrefix(e.Path, next+"/") {
					if e.Kind == runtime.EventStarting || e.Kind == runtime.EventReady {
						continue
					}
					require.Less(t, pi, i, "round %d: %s %s before %s stopped", round, e.Path, e.Kind, prev)
				}
			}
			if at, ok := seen[next]; ok {
				assert.False(t, events[pi].Time.After(at), "round %d: %s stopped at %v, after %s saw its cancel at %v",
					round, prev, events[pi].Time, next, at)
			}
		}
	}
}

// TestShutdownChainCause: a worker stopping for its own missed deadline
// when the shutdown reaches it passes the shutdown's cause on to the next
// one, not its own: that one has no deadline.
func TestShutdownChainCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		causes := make(chan error, 1)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil
			}},
			{Name: "late", Timeout: time.Second, Shutdown: 10 * time.Second, Run: lingering(3*time.Second, nil)},
			{Name: "c", Run: lingering(0, nil)},
		}})
		stop, _ := start(t, tr)
		time.Sleep(1500 * time.Millisecond) // late missed its deadline and lingers
		require.NoError(t, stop())
		assert.ErrorIs(t, <-causes, runtime.ErrStopped)
	})
}

// TestShutdownChainNoBlame: a worker cancelled by the chain is stopped by the
// shutdown, even if its supervisor takes longer to get to it than the
// worker's heartbeat or ready timeout: neither is its fault any more.
func TestShutdownChainNoBlame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := behind(t, "t", 100*time.Millisecond)
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "rd", Ready: &runtime.Ready{Timeout: 1080 * time.Millisecond}, Run: lingering(100*time.Millisecond, nil)},
			{Name: "hb", Heartbeat: &runtime.Heartbeat{Timeout: 20 * time.Millisecond}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				for ctx.Err() == nil {
					a.Beat()
					select {
					case <-ctx.Done():
					case <-time.After(5 * time.Millisecond):
					}
				}
				time.Sleep(50 * time.Millisecond) // cleaning up, no longer beating
				return nil
			}},
			{Name: "mid", Run: lingering(0, nil)},
			{Name: "last", Run: lingering(0, nil)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(time.Second)
		slow.Store(true)
		require.NoError(t, stop())
		assert.Equal(t, []string{"last stopped", "mid stopped", "hb stopped", "rd stopped"}, rec.trace(runtime.EventStopped, runtime.EventExited))
	})
}
