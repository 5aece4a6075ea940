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

func TestHandleRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour),
			RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour}, // any failure would give up
			Children: []runtime.Child{
				{Name: "a", Run: lingering(time.Second, nil)},
				{Name: "once", Run: nop, Restart: runtime.Temporary},
			}})
		h := tr.Handle("t/a")
		err := h.Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning, "before Run")
		assert.EqualError(t, err, "arbor: supervisor is not running: t, the supervisor of t/a (the tree has not started: Run starts it)")
		stop, done := start(t, tr)
		synctest.Wait()

		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, h.State(), "the old attempt gets its grace")
		time.Sleep(time.Second)
		synctest.Wait()
		st := h.Status()
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.Equal(t, uint64(2), st.Generation)
		assert.Equal(t, 1, st.Restarts)
		select {
		case err := <-done:
			t.Fatalf("a restart by hand counted against the limit: %v", err)
		default:
		}

		// A temporary child that ended for good runs again when asked.
		once := tr.Handle("t/once")
		require.NoError(t, once.Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, once.State())
		require.NoError(t, once.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, once.State())
		assert.Equal(t, uint64(2), once.Status().Generation)

		require.NoError(t, stop())
		assert.ErrorIs(t, h.Restart(), runtime.ErrTreeEnded)
		// Its supervisor is not running either, as for an order before Run.
		for _, err := range []error{h.Restart(), h.Stop(), h.StopAndWait(context.Background())} {
			assert.ErrorIs(t, err, runtime.ErrTreeEnded)
			assert.ErrorIs(t, err, runtime.ErrNotRunning)
		}
	})
}

func TestHandleStopHoldsThePermanentChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "db", Run: nop},
			{Name: "api", Run: nop, After: []string{"db"}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		db := tr.Handle("t/db")
		require.NoError(t, db.Stop())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, db.State(), "not restarted, though permanent")
		assert.Equal(t, runtime.StateRunning, tr.Handle("t/api").State(), "after orders; it does not stop")
		assert.Equal(t, runtime.HealthDegraded, tr.Health().State)
		assert.Equal(t, []string{"db stopped"}, rec.trace(runtime.EventStopped))

		require.NoError(t, db.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, db.State())
		assert.Equal(t, runtime.HealthReady, tr.Health().State)
		require.NoError(t, stop())
	})
}

func TestHandleRestartWithinGroupRestartIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "a", Run: failing(fail)},
			{Name: "b", Run: nop},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		require.Equal(t, runtime.StateBackoff, tr.Handle("t/b").State())
		require.NoError(t, tr.Handle("t/b").Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateBackoff, tr.Handle("t/b").State(), "the group restart decides")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, uint64(2), tr.Handle("t/b").Status().Generation, "started once, not twice")
		require.NoError(t, stop())
	})
}

// TestRestartWhileStoppingIsRefused: a restart ordered while the tree, the
// child's supervisor or one above it stops would be dropped, or stopped
// soon after; Restart says so with ErrNotRunning instead of nil. A stop is
// taken (it changes nothing).
func TestRestartWhileStoppingIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Minute, Children: []runtime.Child{
			{Name: "a", Run: nop},
			{Name: "n", Supervisor: &runtime.Spec{Shutdown: time.Minute, Children: []runtime.Child{
				{Name: "x", Run: nop},
				{Name: "m", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "w", Run: nop}}}},
				{Name: "y", Run: lingering(5*time.Second, nil), Shutdown: 10 * time.Second},
			}}},
			{Name: "z", Run: lingering(5*time.Second, nil), Shutdown: 10 * time.Second},
		}})
		stop, done := start(t, tr)
		synctest.Wait()

		// n stops on an order: y lingers, and n with it.
		require.NoError(t, tr.Handle("t/n").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, tr.Handle("t/n").State())
		err := tr.Handle("t/n/x").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n, the supervisor of t/n/x, is stopping")
		assert.NoError(t, tr.Handle("t/n/x").Stop())
		require.Equal(t, runtime.StateRunning, tr.Handle("t/n/m").State(), "m stops after y")
		err = tr.Handle("t/n/m/w").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n is stopping, and t/n/m/w with it")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, tr.Handle("t/n").State())
		require.NoError(t, tr.Handle("t/n").Restart())
		synctest.Wait()
		require.NoError(t, tr.Handle("t/n/x").Restart(), "n runs again")

		// The tree stops: z lingers first, in reverse start order.
		go stop()
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, tr.Handle("t/z").State())
		for _, path := range []string{"t/a", "t/n", "t/n/x", "t/n/m/w", "t/z"} {
			assert.ErrorIs(t, tr.Handle(path).Restart(), runtime.ErrNotRunning, path)
			assert.NoError(t, tr.Handle(path).Stop(), path)
		}
		require.NoError(t, <-done)
		assert.ErrorIs(t, tr.Handle("t/a").Restart(), runtime.ErrTreeEnded)
	})
}

func TestHandleOnStoppedNestedSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Restart: runtime.Temporary, Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop}}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/n").Stop())
		synctest.Wait()
		err := tr.Handle("t/n/x").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n, the supervisor of t/n/x", "it names the child and its supervisor")
		require.NoError(t, stop())
	})
}

// TestStopDuringGroupRestartHolds: OTP's terminate_child cancels a pending
// restart; a child stopped during a group restart stays stopped.
func TestStopDuringGroupRestartHolds(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fail := make(chan struct{})
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: constBackoff(time.Second), Children: []runtime.Child{
					{Name: "a", Run: failing(fail)},
					{Name: "b", Run: nop},
					{Name: "c", Run: nop},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				close(fail)
				synctest.Wait()
				require.Equal(t, runtime.StateBackoff, tr.Handle("t/b").State())
				require.NoError(t, tr.Handle("t/b").Stop())
				synctest.Wait()
				time.Sleep(time.Minute)
				synctest.Wait()
				assert.Equal(t, runtime.StateStopped, tr.Handle("t/b").State(), "the group restart did not bring it back")
				assert.Equal(t, uint64(1), tr.Handle("t/b").Status().Generation)
				assert.Equal(t, runtime.StateRunning, tr.Handle("t/a").State())
				assert.Equal(t, runtime.StateRunning, tr.Handle("t/c").State())
				require.NoError(t, tr.Handle("t/b").Restart())
				synctest.Wait()
				assert.Equal(t, runtime.StateRunning, tr.Handle("t/b").State())
				require.NoError(t, stop())
			})
		})
	}
}

// TestRestartOrderWaitsForGroup: a child an operator is restarting when a
// sibling fails under one_for_all starts again only with the group, after
// every member has returned.
func TestRestartOrderWaitsForGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "x", Run: lingering(time.Second, nil)},
			{Name: "y", Run: failing(fail)},
			{Name: "z", Run: lingering(2*time.Second, nil)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/x").Restart())
		synctest.Wait()
		close(fail)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{
			"x starting", "y starting", "z starting",
			"y exited", "x stopped", "z stopped", // y at once, x at 1s, z at 2s
			"x starting", "y starting", "z starting",
		}, rec.trace(lifecycle...), "x waits for z")
		require.NoError(t, stop())
	})
}

// TestStopThenRestartDuringGroupRestart: a member of a group restart that
// an order stopped while it was being stopped, and another order restarts
// before it has returned, starts again once it has returned, as Restart
// does, and the group after it. The group's stop queue, which still held
// it, stopped that new attempt at once: it then stayed stopped, and the
// group started without it (TestModel, seed 1796201563025767948).
func TestStopThenRestartDuringGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(100 * time.Millisecond), Children: []runtime.Child{
			{Name: "x", Run: lingering(time.Second, nil)},
			{Name: "y", Run: failing(fail)},
			{Name: "z", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, tr.Handle("t/x").State())
		require.NoError(t, tr.Handle("t/x").Stop())
		synctest.Wait()
		require.NoError(t, tr.Handle("t/x").Restart())
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{
			"x starting", "y starting", "z starting",
			"y exited", "z stopped", "x stopped",
			"x starting", "y starting", "z starting",
		}, rec.trace(lifecycle...))
		for _, c := range []string{"t/x", "t/y", "t/z"} {
			st := tr.Handle(c).Status()
			assert.Equal(t, runtime.StateRunning, st.State, c)
			assert.Equal(t, uint64(2), st.Generation, c)
		}
		require.NoError(t, stop())
	})
}

// TestOrderDuringFaultStop: an order given while a child is being stopped
// for missing a deadline takes over: Restart starts it at once without
// counting a failure, Stop leaves it stopped.
func TestOrderDuringFaultStop(t *testing.T) {
	for _, restart := range []bool{true, false} {
		name := map[bool]string{true: "restart", false: "stop"}[restart]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour),
					RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour}, // a failure gives up
					Children: []runtime.Child{
						{Name: "a", Timeout: time.Second, Run: lingering(500*time.Millisecond, nil)},
					}})
				stop, done := start(t, tr)
				time.Sleep(1100 * time.Millisecond)
				synctest.Wait()
				h := tr.Handle("t/a")
				require.Equal(t, runtime.StateStopping, h.State(), "missed its deadline, lingering")
				if restart {
					require.NoError(t, h.Restart())
				} else {
					require.NoError(t, h.Stop())
				}
				time.Sleep(time.Second)
				synctest.Wait()
				select {
				case err := <-done:
					t.Fatalf("the order's stop counted as a failure: %v", err)
				default:
				}
				st := h.Status()
				if restart {
					assert.Equal(t, runtime.StateRunning, st.State)
					assert.Equal(t, uint64(2), st.Generation, "at once, not after the hour of backoff")
				} else {
					assert.Equal(t, runtime.StateStopped, st.State)
					assert.Equal(t, uint64(1), st.Generation)
				}
				require.NoError(t, stop())
			})
		})
	}
}

// TestRestartedSupervisorStartsEveryChild: a nested supervisor restarted
// after an operator stopped one of its children starts that child again,
// becomes ready, and lets its dependents start.
func TestRestartedSupervisorStartsEveryChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "g", Run: nop}, {Name: "h", Run: nop},
			}}},
			{Name: "d", Run: nop, After: []string{"n"}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/n/g").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, tr.Handle("t/n/g").State())
		require.NoError(t, tr.Handle("t/d").Stop())
		require.NoError(t, tr.Handle("t/n").Restart())
		require.NoError(t, tr.Handle("t/d").Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, tr.Handle("t/n/g").State(), "started from the spec")
		assert.Equal(t, runtime.StateRunning, tr.Handle("t/n").State(), "ready, not starting forever")
		assert.Equal(t, runtime.StateRunning, tr.Handle("t/d").State())
		assert.Equal(t, runtime.HealthReady, tr.Health().State)
		require.NoError(t, stop())
	})
}

// TestStopAndWait: the synchronous stop returns once the attempt has
// returned, or has been abandoned after its grace.
func TestStopAndWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "slow", Run: lingering(2*time.Second, nil)},
			{Name: "stuck", Run: lingering(time.Hour, release), Shutdown: time.Second},
			{Name: "quick", Run: nop},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		ctx := context.Background()

		begin := time.Now()
		require.NoError(t, tr.Handle("t/slow").StopAndWait(ctx))
		assert.Equal(t, 2*time.Second, time.Since(begin), "until it returned")
		assert.Equal(t, runtime.StateStopped, tr.Handle("t/slow").State())

		begin = time.Now()
		require.NoError(t, tr.Handle("t/stuck").StopAndWait(ctx))
		assert.Equal(t, time.Second, time.Since(begin), "until it was abandoned")
		assert.Len(t, tr.ShutdownReport().Abandoned, 1)

		require.NoError(t, tr.Handle("t/slow").StopAndWait(ctx), "already stopped: at once")

		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		require.NoError(t, tr.Handle("t/slow").Restart())
		synctest.Wait()
		assert.ErrorIs(t, tr.Handle("t/slow").StopAndWait(short), context.DeadlineExceeded)

		require.NoError(t, tr.Handle("t/quick").StopAndWait(ctx))
		assert.Equal(t, runtime.StateStopped, tr.Handle("t/quick").State())
		require.NoError(t, stop())
		assert.ErrorIs(t, tr.Handle("t/quick").StopAndWait(ctx), runtime.ErrTreeEnded)
		close(release)
	})
}

// TestStopAndWaitNilContext: StopAndWait with a nil context is refused
// with ErrNilContext before the order is given, as Run refuses one,
// rather than stopping the child and then panicking.
func TestStopAndWaitNilContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.ErrorIs(t, tr.Handle("t/a").StopAndWait(nil), runtime.ErrNilContext)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, tr.Handle("t/a").State(), "no order was given")
		require.NoError(t, stop())
	})
}

// A path that names no child gives a nil Handle or Pool: a typo must give
// an error at the order, not crash the program (OTP's terminate_child and
// restart_child answer {error, not_found}).
func TestNoSuchChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: nop},
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}}}}},
		}})
		start(t, tr)
		synctest.Wait()
		for _, typo := range []string{"t/n/typo", "t/n/p/i1", "t/a/b", "", "/", "t//a"} {
			h := tr.Handle(typo)
			require.Nil(t, h, typo)
			assert.ErrorIs(t, h.Stop(), runtime.ErrNoChild, typo)
			_, err := tr.Pool(typo).Start("", nop)
			assert.ErrorIs(t, err, runtime.ErrNoChild, typo)
		}
		h := tr.Handle("t/typo")
		require.Nil(t, h)
		assert.ErrorIs(t, h.Stop(), runtime.ErrNoChild)
		assert.ErrorIs(t, h.Restart(), runtime.ErrNoChild)
		assert.ErrorIs(t, h.Order(runtime.OrderStop, "test"), runtime.ErrNoChild)
		assert.ErrorIs(t, h.StopAndWait(context.Background()), runtime.ErrNoChild)
		assert.Equal(t, runtime.StateIdle, h.State())
		assert.Equal(t, runtime.ChildStatus{}, h.Status())
		assert.Empty(t, h.Path())

		p := tr.Pool("t/a") // a worker, not a pool
		require.Nil(t, p)
		_, err := p.Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrNoChild)
		assert.Zero(t, p.Len())
		assert.Equal(t, runtime.PoolCounts{}, p.Counts())
		assert.Empty(t, p.Path())
	})
}
