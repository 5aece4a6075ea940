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

// Round 27: OTP's supervisor_SUITE and suture v4's tests, translated where
// the earlier peers_* files leave off: orders while a supervisor stops,
// to singletons on standby, and from inside the tree.

// TestS27RestartUnderAStopNotYetSeen: OTP's restart_child while the
// supervisor is being terminated by its own parent. Once a parent has
// cancelled a nested supervisor or a pool (the snapshot shows it
// stopping), a restart of a child below it would be dropped, or stopped
// soon after, even if that supervisor, held up elsewhere, has not taken
// its cancellation yet: Restart refuses it with ErrNotRunning, as it does
// once that supervisor stops, and the child is not restarted.
func TestS27RestartUnderAStopNotYetSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "x", Run: nop},
				{Name: "y", Run: nop},
				{Name: "m", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "w", Run: nop}}}},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()

		arm, release := holdOnce(t, "t/n")
		arm()
		require.NoError(t, tr.Handle("t/n/y").Stop()) // n takes it, and is held there
		synctest.Wait()
		require.NoError(t, tr.Handle("t/n").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/n").State)
		err := tr.Handle("t/n/x").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n, the supervisor of t/n/x, is stopping")
		err = tr.Handle("t/n/m/w").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n is stopping, and t/n/m/w with it")
		assert.NoError(t, tr.Handle("t/n/x").Stop(), "a stop is taken, and changes nothing")
		release()
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, status(t, tr, "t/n").State)
		assert.Equal(t, uint64(1), status(t, tr, "t/n/x").Generation, "x was not restarted")
		assert.Equal(t, uint64(1), status(t, tr, "t/n/m/w").Generation, "w was not restarted")
		require.NoError(t, stop())
	})
}

// TestS27RestartOfAnInstanceUnderAStopNotYetSeen: the same for an instance
// of a pool its parent has cancelled.
func TestS27RestartOfAnInstanceUnderAStopNotYetSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h, err := tr.Pool("t/p").Start("a", nop)
		require.NoError(t, err)
		synctest.Wait()

		arm, release := holdOnce(t, "t/p")
		arm()
		_, err = tr.Pool("t/p").Start("b", nop) // the pool takes it, and is held there
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/p").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/p").State)
		err = h.Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/p, the supervisor of t/p/a, is stopping")
		release()
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, status(t, tr, "t/p").State)
		require.NoError(t, stop())
	})
}

// TestS27OrdersToSingletonsOnStandby: OTP's restart_child and
// terminate_child of a singleton running elsewhere. A restart of a child on
// standby, or of one waiting for it, keeps it so (one campaign, one start
// once the lease is free); a child below a nested supervisor on standby
// has no supervisor running; a singleton stopped by an order gives up its
// campaign, so that a lease freed meanwhile stays free, until Restart.
func TestS27OrdersToSingletonsOnStandby(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "l", Run: nop, Lease: &runtime.LeaseSpec{Name: "l"}},
			{Name: "c", Run: nop, After: []string{"l"}},
			{Name: "n", Lease: &runtime.LeaseSpec{Name: "n"}, Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop}}}},
		}}, runtime.WithLeaser(f), runtime.WithObserver(rec.observe))
		otherL, err := f.Acquire(context.Background(), "l", time.Second)
		require.NoError(t, err)
		otherN, err := f.Acquire(context.Background(), "n", time.Second)
		require.NoError(t, err)
		stop, _ := start(t, tr)
		synctest.Wait()
		require.True(t, isReady(tr))

		err = tr.Handle("t/n/x").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n, the supervisor of t/n/x")

		require.NoError(t, tr.Handle("t/l").Restart())
		require.NoError(t, tr.Handle("t/c").Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateStandby, status(t, tr, "t/l").State)
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/c").State)
		for _, c := range tr.Health().Children {
			assert.True(t, c.OK, "%s %s %s", c.Path, c.State, c.Reason)
		}
		require.NoError(t, otherL.Release(context.Background()))
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/l").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c").State)
		assert.Equal(t, []string{"l starting"}, only("l", rec.trace(runtime.EventStarting)))

		require.NoError(t, tr.Handle("t/n").Stop())
		synctest.Wait()
		require.NoError(t, otherN.Release(context.Background()))
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/n").State)
		assert.Zero(t, f.holder("n"), "a stopped singleton does not campaign")
		require.NoError(t, tr.Handle("t/n").Restart())
		synctest.Wait()
		assert.NotZero(t, f.holder("n"))
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n/x").State)
		require.NoError(t, stop())
	})
}

// TestS27OrdersFromInside: suture's services that stop their own
// supervisor. A child of a nested supervisor restarts that supervisor,
// then itself, then stops the supervisor with StopAndWait on its own
// context, which the stop cancels: orders from inside count against no
// limit (of 0 here), and the tree goes on with the supervisor stopped.
func TestS27OrdersFromInside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr *runtime.Tree
		got := make(chan error, 3)
		never := &runtime.RestartLimit{Max: 0, Window: time.Minute}
		tr = mustNew(t, runtime.Spec{Name: "t", RestartLimit: never, Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{RestartLimit: never, Children: []runtime.Child{
				{Name: "x", Run: func(ctx context.Context, a *runtime.Attempt) error {
					switch a.Generation() {
					case 1:
						got <- tr.Handle("t/n").Restart()
					case 2:
						got <- tr.Handle("t/n/x").Restart()
					case 3:
						got <- tr.Handle("t/n").StopAndWait(ctx)
					}
					<-ctx.Done()
					return nil
				}},
			}}},
		}})
		stop, done := start(t, tr)
		assert.NoError(t, <-got)
		assert.NoError(t, <-got)
		assert.ErrorIs(t, <-got, context.Canceled)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/n").State)
		assert.Equal(t, uint64(2), status(t, tr, "t/n").Generation)
		assert.Equal(t, uint64(3), status(t, tr, "t/n/x").Generation)
		select {
		case err := <-done:
			t.Fatalf("the tree ended: %v", err)
		default:
		}
		require.NoError(t, stop())
	})
}

// TestS27StartInAPoolItsParentStops: start_child of a dynamic supervisor
// its parent is terminating. Once the parent has cancelled the pool (the
// snapshot shows it stopping), Start refuses with ErrNotRunning, as it
// does once the pool stops, even if the pool, held up elsewhere, has not
// seen it yet: an instance accepted then would only start to be cancelled.
func TestS27StartInAPoolItsParentStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")

		arm, release := holdOnce(t, "t/p")
		arm()
		_, err := p.Start("a", nop) // the pool takes it, and is held there
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/p").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/p").State)
		_, err = p.Start("b", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: pool t/p")
		release()
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, status(t, tr, "t/p").State)
		assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1}, p.Counts(), "b was not started")
		require.NoError(t, stop())
	})
}
