package runtime_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// These tests pin down what a supervisor's single wait must keep: its
// context, its timer (backoffs, group restart delays, the shutdown budget),
// the watchdog and kills each wake it, once, at the right time.

// starts counts the starts of each child.
type starts struct{ n [8]atomic.Int32 }

// run is failing(fail), counted as child i.
func (c *starts) run(i int, fail <-chan struct{}) runtime.RunFunc {
	f := failing(fail)
	return func(ctx context.Context, a *runtime.Attempt) error {
		c.n[i].Add(1)
		return f(ctx, a)
	}
}

// TestGroupRestartDelayWithOrders: while a one_for_all restart waits for
// its delay, a Stop takes a member out of the group, a Restart of a member
// leaves it to the group, and StopAndWait returns at once; the group starts
// when the delay is over, not before, and without the stopped members.
func TestGroupRestartDelayWithOrders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c starts
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(10 * time.Second),
			Children: []runtime.Child{
				{Name: "a", Run: c.run(0, fail)}, {Name: "b", Run: c.run(1, nil)},
				{Name: "c", Run: c.run(2, nil)}, {Name: "d", Run: c.run(3, nil)},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		for _, p := range []string{"t/a", "t/b", "t/c", "t/d"} {
			assert.Equal(t, runtime.StateBackoff, status(t, tr, p).State, p)
		}
		time.Sleep(3 * time.Second)
		require.NoError(t, tr.Handle("t/b").Stop())
		require.NoError(t, tr.Handle("t/c").Restart())
		require.NoError(t, tr.Handle("t/d").StopAndWait(context.Background()))
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/b").State)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/d").State)
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/c").State, "c restarts with its group")
		for i := range 4 {
			assert.EqualValues(t, 1, c.n[i].Load(), "no start during the delay")
		}

		time.Sleep(7*time.Second - time.Millisecond)
		synctest.Wait()
		for i := range 4 {
			assert.EqualValues(t, 1, c.n[i].Load(), "no start before the delay is over")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Equal(t, []int32{2, 1, 2, 1}, []int32{c.n[0].Load(), c.n[1].Load(), c.n[2].Load(), c.n[3].Load()})
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/a").State)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/b").State)
		require.NoError(t, stop())
	})
}

// TestRestForOneDelayRestartsOnNewFailure: a child before the group that
// fails while the group waits for its delay joins the group, whose delay
// starts again; the first delay's end starts nothing.
func TestRestForOneDelayRestartsOnNewFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c starts
		failA, failB := make(chan struct{}), make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: constBackoff(10 * time.Second),
			Children: []runtime.Child{
				{Name: "a", Run: c.run(0, failA)}, {Name: "b", Run: c.run(1, failB)}, {Name: "c", Run: c.run(2, nil)},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(failB)
		synctest.Wait()
		time.Sleep(5 * time.Second)
		close(failA)
		synctest.Wait()
		for _, p := range []string{"t/a", "t/b", "t/c"} {
			assert.Equal(t, runtime.StateBackoff, status(t, tr, p).State, p)
		}
		time.Sleep(10*time.Second - time.Millisecond) // past the first delay's end
		synctest.Wait()
		assert.Equal(t, []int32{1, 1, 1}, []int32{c.n[0].Load(), c.n[1].Load(), c.n[2].Load()})
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Equal(t, []int32{2, 2, 2}, []int32{c.n[0].Load(), c.n[1].Load(), c.n[2].Load()})
		require.NoError(t, stop())
	})
}

// TestShutdownDuringGroupDelay: a tree stopped while a group restart waits
// stops at once, and the delay's end starts nothing.
func TestShutdownDuringGroupDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c starts
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(time.Hour),
			Children: []runtime.Child{{Name: "a", Run: c.run(0, fail)}, {Name: "b", Run: c.run(1, nil)}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		began := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, began, time.Now(), "nothing left to wait for")
		assert.Equal(t, []int32{1, 1}, []int32{c.n[0].Load(), c.n[1].Load()})
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// TestNestedSupervisorRestartedOften: a nested supervisor restarted again
// and again by order runs each time until the next order: the alarm of its
// previous attempt's context, raised late, must not stop the new run.
func TestNestedSupervisorRestartedOften(t *testing.T) {
	rec := &recorder{}
	var c starts
	tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "s", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "w", Run: c.run(0, nil)}}}},
	}}, runtime.WithObserver(rec.observe))
	stop, _ := start(t, tr)
	<-tr.Ready()
	const n = 200
	h := tr.Handle("t/s")
	for i := range n {
		require.NoError(t, h.Restart())
		deadline := time.Now().Add(10 * time.Second)
		for int(c.n[0].Load()) < i+2 || status(t, tr, "t/s/w").State != runtime.StateRunning {
			require.True(t, time.Now().Before(deadline), "restart %d: w not running again", i)
			time.Sleep(50 * time.Microsecond)
		}
	}
	time.Sleep(10 * time.Millisecond) // for a late spurious stop
	require.NoError(t, stop())
	assert.EqualValues(t, n+1, c.n[0].Load(), "w starts once per run of s")
	shut := 0
	for _, e := range rec.of(runtime.EventShuttingDown) {
		if e.Path == "t/s" {
			shut++
		}
	}
	assert.Equal(t, n+1, shut, "s shuts down once per order, and once with the tree")
}

// TestBudgetAbandonsNestedAndPool: the root's budget, spent, abandons a
// nested supervisor and a pool whose own budgets and graces are longer;
// Run returns when it is spent, with every stuck attempt in the report.
func TestBudgetAbandonsNestedAndPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			time.Sleep(1000 * time.Hour)
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 2 * time.Second, Children: []runtime.Child{
			{Name: "s", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "w", Run: stuck, Shutdown: time.Hour}}}},
			{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: time.Hour},
		}})
		stop, _ := start(t, tr)
		<-tr.Ready()
		for range 3 {
			_, err := tr.Pool("t/p").Start("", stuck)
			require.NoError(t, err)
		}
		synctest.Wait()
		began := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 2*time.Second, time.Since(began))
		rep := tr.ShutdownReport()
		assert.Len(t, rep.Abandoned, 6, "%+v", rep) // the three instances, w, and their supervisors
		time.Sleep(1000 * time.Hour)                // for the stuck attempts to return
	})
}

// TestHugeBudgetAndReadyTimeout: a budget and a ready timeout of almost
// for ever neither fire at once nor hold back what is due before them.
func TestHugeBudgetAndReadyTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c starts
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: math.MaxInt64, Children: []runtime.Child{
			{Name: "r", Ready: &runtime.Ready{Timeout: math.MaxInt64}, Run: c.run(0, nil)},
			{Name: "b", Backoff: constBackoff(time.Hour), Run: func(ctx context.Context, a *runtime.Attempt) error {
				select { // b's backoffs fire meanwhile
				case <-time.After(time.Hour):
					return errBoom
				case <-ctx.Done():
					return nil
				}
			}},
			{Name: "s", Supervisor: &runtime.Spec{Shutdown: math.MaxInt64, Children: []runtime.Child{
				{Name: "w", Shutdown: time.Second, Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					time.Sleep(time.Hour)
					return nil
				}}}}},
		}})
		stop, _ := start(t, tr)
		time.Sleep(time.Hour)
		require.NoError(t, tr.Handle("t/r").Restart()) // armed once the tree's clock has moved on
		time.Sleep(1000 * time.Hour)
		synctest.Wait()
		assert.Equal(t, runtime.StateStarting, status(t, tr, "t/r").State)
		assert.EqualValues(t, 2, c.n[0].Load())
		assert.Greater(t, status(t, tr, "t/b").Restarts, 400)
		began := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, time.Second, time.Since(began), "w is abandoned after its grace")
		assert.Len(t, tr.ShutdownReport().Abandoned, 1)
		time.Sleep(time.Hour) // for w to return
	})
}

// TestStaleDuringExitFlood: an attempt that stops beating is stopped while
// its siblings flood their supervisor with exits: the watchdog's alarm is
// looked at between messages, not after the inbox is empty.
func TestStaleDuringExitFlood(t *testing.T) {
	rec := &recorder{}
	children := []runtime.Child{{Name: "h", Heartbeat: &runtime.Heartbeat{Timeout: 20 * time.Millisecond},
		Run: func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return ctx.Err() }}}
	for i := range 100 {
		children = append(children, runtime.Child{Name: "c" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Run: func(ctx context.Context, a *runtime.Attempt) error { return errBoom }})
	}
	tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
		RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}, Children: children},
		runtime.WithObserver(func(e runtime.Event) {
			if e.Path == "t/h" {
				rec.observe(e)
			}
		}))
	stop, _ := start(t, tr)
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.of(runtime.EventExited)) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, stop())
	exits := rec.of(runtime.EventExited)
	require.NotEmpty(t, exits, "h never stopped while its siblings crashed")
	assert.ErrorIs(t, exits[0].Err, runtime.ErrHeartbeatTimeout)
}
