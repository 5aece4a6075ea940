package runtime_test

// Session 25b's translations onto pools: OTP's dynamic supervisor
// (terminate_child by pid of a child that is gone, a name reused at once,
// count_children against which_children at every step) and suture's
// Remove/RemoveAndWait at unfriendly values: a pool of exactly one, a
// handle kept past its instance's removal and the reuse of its name, an
// instance that refuses its restart while an order restarts it, and
// StopAndWait while the supervisor is already stopping.

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// countsOf counts the instances of the pool at pool in a snapshot by
// state, as PoolCounts does (without the totals).
func countsOf(t *testing.T, tr *runtime.Tree, pool string) runtime.PoolCounts {
	t.Helper()
	var c runtime.PoolCounts
	for _, ch := range tr.Snapshot().Children {
		if !ch.Instance || len(ch.Path) <= len(pool) || ch.Path[:len(pool)+1] != pool+"/" {
			continue
		}
		switch ch.State {
		case runtime.StateStarting:
			c.Starting++
		case runtime.StateRunning:
			c.Running++
		case runtime.StateBackoff:
			c.Backoff++
		case runtime.StateStopping:
			c.Stopping++
		case runtime.StateStopped:
			c.Stopped++
		default:
			t.Errorf("instance %s listed in state %v", ch.Path, ch.State)
		}
	}
	return c
}

// sameStates checks that Counts, Len and the snapshot agree.
func sameStates(t *testing.T, tr *runtime.Tree, p *runtime.Pool, step string) runtime.PoolCounts {
	t.Helper()
	got := p.Counts()
	live := got
	live.Started, live.Restarts, live.Removed, live.Abandoned = 0, 0, 0, 0
	assert.Equal(t, countsOf(t, tr, p.Path()), live, "%s: Counts against Snapshot", step)
	n := live.Starting + live.Running + live.Backoff + live.Stopping + live.Stopped
	assert.Equal(t, p.Len(), n, "%s: Len against Counts", step)
	assert.EqualValues(t, got.Started-got.Removed, n, "%s: Started-Removed against Counts", step)
	return got
}

// suture's RemoveAndWait, then Add of the same name at once, in a pool of
// Max 1: the name and the room are free the instant StopAndWait returns;
// the old handle then names the removed instance, never the new one of
// its name: Stop and StopAndWait do nothing and return nil (stopped for
// good already), Restart gives ErrRemoved, State reads done, and the new
// instance is neither stopped nor restarted by them.
func TestS25bRemovedHandleAfterItsNameIsReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Shutdown: 3 * time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		old, err := p.Start("a", slowStop(time.Second))
		require.NoError(t, err)
		synctest.Wait()
		sameStates(t, tr, p, "a running")
		_, err = p.Start("b", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull, "exactly at Max")
		_, err = p.Start("a", nop)
		assert.ErrorIs(t, err, runtime.ErrNameTaken, "a name taken at Max")

		// Restart at Max needs no room.
		require.NoError(t, old.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, old.State())
		sameStates(t, tr, p, "a restarting")
		_, err = p.Start("b", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull, "an instance being restarted keeps its place")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, old.State())
		c := sameStates(t, tr, p, "a restarted")
		assert.EqualValues(t, 1, c.Restarts)

		t0 := time.Now()
		require.NoError(t, old.StopAndWait(context.Background()))
		assert.Equal(t, time.Second, time.Since(t0), "waits for the attempt's return")
		fresh := newPuppet()
		nh, err := p.Start("a", fresh.run)
		require.NoError(t, err, "name and room free the instant StopAndWait returned")
		synctest.Wait()
		sameStates(t, tr, p, "a again")
		assert.Same(t, nh, tr.Handle("t/p/a"), "the path names the new instance")

		assert.Equal(t, runtime.StateDone, old.State())
		assert.Equal(t, runtime.StateDone, old.Status().State)
		assert.Equal(t, "t/p/a", old.Path())
		require.NoError(t, old.Stop(), "stopped for good already")
		require.NoError(t, old.StopAndWait(context.Background()))
		err = old.Restart()
		assert.ErrorIs(t, err, runtime.ErrRemoved)
		assert.Contains(t, err.Error(), "t/p/a")
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, nh.State(), "the old handle's orders do not reach the new instance")
		assert.EqualValues(t, 1, fresh.starts.Load())
		c = sameStates(t, tr, p, "old handle used")
		assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 2, Restarts: 1, Removed: 1}, c)

		// The handle of an instance its pool's stop removed says the same.
		require.NoError(t, stop())
		assert.Equal(t, runtime.StateDone, nh.State())
		assert.ErrorIs(t, nh.Restart(), runtime.ErrNotRunning)
		for _, h := range []*runtime.Handle{old, nh} {
			assert.ErrorIs(t, h.Restart(), runtime.ErrTreeEnded)
			assert.ErrorIs(t, h.Stop(), runtime.ErrTreeEnded)
			assert.ErrorIs(t, h.StopAndWait(context.Background()), runtime.ErrTreeEnded)
		}
	})
}

// An instance that returns ErrDoNotRestart as an order restarts it: the
// order wins, as README says of Restart ("also for a child that ended for
// good"), for a pool's instance as for a declared child: it runs again,
// keeps its place and its name, and the restart counts in Restarts. Under
// Stop, the same return removes it.
func TestS25bDoNotRestartWhileRestartedByAnOrder(t *testing.T) {
	for _, tc := range []struct {
		inPool  bool
		restart runtime.Restart
	}{
		{true, runtime.Permanent}, {true, runtime.Transient}, {true, runtime.Temporary},
		{false, runtime.Permanent}, {false, runtime.Transient}, {false, runtime.Temporary},
	} {
		inPool := tc.inPool
		name := map[bool]string{true: "instance", false: "declared"}[inPool] + "/" + string(tc.restart)
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				starts := 0
				refuse := func(ctx context.Context, a *runtime.Attempt) error {
					starts++
					<-ctx.Done()
					time.Sleep(time.Second)
					return runtime.ErrDoNotRestart
				}
				var tr *runtime.Tree
				var h *runtime.Handle
				var p *runtime.Pool
				if inPool {
					tr = poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Restart: tc.restart, Shutdown: 3 * time.Second})
				} else {
					tr = mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
						{Name: "a", Run: refuse, Restart: tc.restart, Shutdown: 3 * time.Second}}})
				}
				stop, _ := start(t, tr)
				synctest.Wait()
				if inPool {
					p = tr.Pool("t/p")
					var err error
					h, err = p.Start("a", refuse)
					require.NoError(t, err)
				} else {
					h = tr.Handle("t/a")
				}
				synctest.Wait()
				require.NoError(t, h.Restart())
				synctest.Wait()
				time.Sleep(time.Second)
				synctest.Wait()
				assert.Equal(t, 2, starts, "the order restarts it whatever it returned")
				assert.Equal(t, runtime.StateRunning, h.State())
				assert.Equal(t, 1, status(t, tr, h.Path()).Restarts)
				if inPool {
					c := sameStates(t, tr, p, "restarted")
					assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 1, Restarts: 1}, c)
					assert.Same(t, h, tr.Handle("t/p/a"))
				}

				// Stop, then the same return: removed for good.
				require.NoError(t, h.StopAndWait(context.Background()))
				assert.Equal(t, 2, starts)
				if inPool {
					assert.Equal(t, runtime.StateDone, h.State())
					c := sameStates(t, tr, p, "stopped")
					assert.Equal(t, runtime.PoolCounts{Started: 1, Restarts: 1, Removed: 1}, c)
				} else {
					assert.Equal(t, runtime.StateStopped, h.State())
				}
				require.NoError(t, stop())
			})
		})
	}
}

// StopAndWait while the child's supervisor is already stopping: the order
// changes nothing (everything stops anyway), and StopAndWait waits for the
// child's turn in the stop order and its return, as README says: a is
// declared first, so it stops after b, which takes 2s.
func TestS25bStopAndWaitWhileItsSupervisorStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var aEnded time.Time
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "a", Run: func(ctx context.Context, _ *runtime.Attempt) error {
				<-ctx.Done()
				time.Sleep(time.Second)
				aEnded = time.Now()
				return nil
			}},
			{Name: "b", Run: slowStop(2 * time.Second), Shutdown: 3 * time.Second},
		}})
		stop, done := start(t, tr)
		synctest.Wait()
		t0 := time.Now()
		go func() { _ = stop() }()
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, tr.Handle("t/a").State(), "a waits for b")
		require.NoError(t, tr.Handle("t/a").StopAndWait(context.Background()))
		assert.Equal(t, 3*time.Second, time.Since(t0), "b's 2s, then a's 1s")
		assert.Equal(t, aEnded, time.Now())
		<-done
	})
}

// which_children and count_children of a pool at every step of an
// instance's life, at Max: starting (not ready), running, stopping on an
// order, in backoff after a failure, restarted by an order out of its
// backoff, removed; Counts, Len and the Snapshot agree each time.
func TestS25bPoolCountsAgreeWithSnapshotAtEveryStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 2}, Restart: runtime.Permanent,
			Ready: &runtime.Ready{Timeout: 5 * time.Second}, Backoff: constBackoff(time.Minute), Shutdown: 3 * time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		sameStates(t, tr, p, "empty")
		readyA := make(chan struct{})
		failA := make(chan struct{})
		ha, err := p.Start("a", func(ctx context.Context, a *runtime.Attempt) error {
			select {
			case <-readyA:
			case <-ctx.Done():
				return nil
			}
			a.Ready()
			select {
			case <-failA:
				return errBoom
			case <-ctx.Done():
				time.Sleep(time.Second)
				return nil
			}
		})
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Starting: 1, Started: 1}, sameStates(t, tr, p, "a starting"))
		close(readyA)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 1}, sameStates(t, tr, p, "a running"))
		hb, err := p.Start("b", slowStop(2*time.Second))
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Starting: 1, Running: 1, Started: 2}, sameStates(t, tr, p, "b starting"))
		require.NoError(t, hb.Stop())
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Running: 1, Stopping: 1, Started: 2}, sameStates(t, tr, p, "b stopping"))
		close(failA)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Backoff: 1, Stopping: 1, Started: 2, Restarts: 0}, sameStates(t, tr, p, "a in backoff"))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Backoff: 1, Started: 2, Removed: 1}, sameStates(t, tr, p, "b removed"))
		require.NoError(t, ha.Restart())
		synctest.Wait()
		// a's run is the same function: readyA is closed, so it is ready
		// at once; failA is closed, so it fails again into its backoff.
		c := sameStates(t, tr, p, "a restarted by order")
		assert.Equal(t, 1, c.Backoff)
		assert.EqualValues(t, 1, c.Restarts)
		require.NoError(t, ha.StopAndWait(context.Background()))
		assert.Equal(t, runtime.PoolCounts{Started: 2, Restarts: 1, Removed: 2}, sameStates(t, tr, p, "all removed"))
		require.NoError(t, stop())
		assert.Equal(t, 0, p.Len())
	})
}

// suture's Remove followed by a change of mind: Stop, then Restart before
// the instance has returned. Restart wins, as README says of a child
// stopped with Stop: the instance is not removed, keeps its handle and
// name, and runs again once its attempt has returned; Stop then Restart
// at Max takes no room either. The other way round, Stop after Restart
// removes it.
func TestS25bStopThenRestartBeforeItReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Restart: runtime.Temporary, Shutdown: 3 * time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		starts := 0
		h, err := p.Start("a", func(ctx context.Context, a *runtime.Attempt) error {
			starts++
			<-ctx.Done()
			time.Sleep(time.Second)
			return nil
		})
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, h.Stop())
		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, h.State())
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 2, starts)
		assert.Equal(t, runtime.StateRunning, h.State())
		assert.Same(t, h, tr.Handle("t/p/a"))
		assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 1, Restarts: 1}, sameStates(t, tr, p, "restarted"))

		require.NoError(t, h.Restart())
		require.NoError(t, h.Stop())
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 2, starts)
		assert.Equal(t, runtime.StateDone, h.State())
		assert.Equal(t, runtime.PoolCounts{Started: 1, Restarts: 1, Removed: 1}, sameStates(t, tr, p, "removed"))
		require.NoError(t, stop())
	})
}

// terminate_child of a pool as a whole (Handle.Stop of the pool): its
// instances are removed as they end, their handles answer Restart with
// ErrRemoved, Start fails with ErrNotRunning, and the pool's Restart
// brings it back empty, where the old names are free at Max.
func TestS25bPoolStoppedByAnOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 2}, Shutdown: 3 * time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		ha, err := p.Start("a", slowStop(time.Second))
		require.NoError(t, err)
		hb, err := p.Start("b", slowStop(2*time.Second))
		require.NoError(t, err)
		synctest.Wait()
		ph := tr.Handle("t/p")
		require.NoError(t, ph.Stop())
		synctest.Wait()
		_, err = p.Start("c", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.Equal(t, runtime.PoolCounts{Stopping: 2, Started: 2}, sameStates(t, tr, p, "stopping"))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Stopping: 1, Started: 2, Removed: 1}, sameStates(t, tr, p, "a ended"))
		assert.Equal(t, runtime.StateDone, ha.State())
		assert.ErrorIs(t, ha.Restart(), runtime.ErrRemoved)
		t1 := time.Now()
		require.NoError(t, hb.StopAndWait(context.Background()))
		assert.Equal(t, time.Second, time.Since(t1), "b's own 2s, one of them gone")
		assert.Equal(t, 0, p.Len(), "b removed when StopAndWait returns")
		assert.Equal(t, runtime.StateDone, hb.State())
		synctest.Wait() // the pool's run ends a moment after its last instance
		assert.Equal(t, runtime.StateStopped, ph.State())
		assert.ErrorIs(t, hb.Restart(), runtime.ErrRemoved)

		require.NoError(t, ph.Restart())
		synctest.Wait()
		na, err := p.Start("a", nop)
		require.NoError(t, err)
		_, err = p.Start("b", nop)
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, na.State())
		assert.Equal(t, runtime.StateDone, ha.State(), "the old handle stays the old instance's")
		assert.Equal(t, runtime.PoolCounts{Running: 2, Started: 4, Removed: 2}, sameStates(t, tr, p, "again"))
		require.NoError(t, stop())
	})
}

// shutdown of thousands of instances at once, at Max: Counts and the
// snapshot agree while they all stop, StopAndWait of one of them waits for
// its own return (not the others'), and every one is removed.
func TestS25bPoolShutdownOfThousandsCounts(t *testing.T) {
	const n = 3000
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: n}, Shutdown: 5 * time.Second})
		stop, done := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var hs []*runtime.Handle
		for i := range n {
			h, err := p.Start("", slowStop(time.Duration(1+i%3)*time.Second))
			require.NoError(t, err)
			hs = append(hs, h)
		}
		_, err := p.Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Running: n, Started: n}, sameStates(t, tr, p, "all running"))
		t0 := time.Now()
		go func() { _ = stop() }()
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Stopping: n, Started: n}, sameStates(t, tr, p, "all stopping"))
		require.NoError(t, hs[0].StopAndWait(context.Background()))
		assert.Equal(t, time.Second, time.Since(t0), "hs[0]'s own second")
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Stopping: 2 * n / 3, Started: n, Removed: n / 3}, sameStates(t, tr, p, "a third ended"))
		<-done
		assert.Equal(t, 3*time.Second, time.Since(t0))
		assert.Equal(t, runtime.PoolCounts{Started: n, Removed: n}, p.Counts())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// suture's RemoveAndWait called by the service on itself: with its own
// context, which the stop cancels, StopAndWait returns that context's
// error at once and the instance is removed once its run returns; with
// another context, it waits until the pool abandons the attempt after its
// grace, which counts in Abandoned, and then returns nil. Either way the
// name is free afterwards.
func TestS25bInstanceStopsItselfAndWaits(t *testing.T) {
	for _, own := range []bool{true, false} {
		t.Run(map[bool]string{true: "own", false: "background"}[own], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Shutdown: 2 * time.Second})
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				got := make(chan error, 1)
				took := make(chan time.Duration, 1)
				_, err := p.Start("a", func(ctx context.Context, a *runtime.Attempt) error {
					wait := context.Background()
					if own {
						wait = ctx
					}
					t0 := time.Now()
					err := tr.Handle("t/p/a").StopAndWait(wait)
					took <- time.Since(t0)
					got <- err
					return nil
				})
				require.NoError(t, err)
				synctest.Wait()
				err = <-got
				if own {
					assert.ErrorIs(t, err, context.Canceled)
					assert.Zero(t, <-took)
					assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1}, sameStates(t, tr, p, "removed"))
				} else {
					require.NoError(t, err)
					assert.Equal(t, 2*time.Second, <-took, "its grace, then abandoned")
					assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1, Abandoned: 1}, sameStates(t, tr, p, "abandoned"))
				}
				_, err = p.Start("a", nop)
				require.NoError(t, err)
				require.NoError(t, stop())
			})
		})
	}
}

// intensity 0 on a dynamic supervisor: the first restart of any instance
// fails the pool (README: "max: 0 gives up at the first failure"), whose
// parent restarts it empty; a temporary instance's failure, which is no
// restart, does not.
func TestS25bPoolLimitZero(t *testing.T) {
	for _, r := range []runtime.Restart{runtime.Permanent, runtime.Transient, runtime.Temporary} {
		t.Run(string(r), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				tr := poolTree(t, runtime.Child{Restart: r, RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Second}},
					runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				c := newPuppet()
				_, err := p.Start("a", c.run)
				require.NoError(t, err)
				_, err = p.Start("b", nop)
				require.NoError(t, err)
				synctest.Wait()
				c.end(errBoom)
				if r == runtime.Temporary {
					assert.Empty(t, rec.of(runtime.EventGaveUp))
					assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 2, Removed: 1}, sameStates(t, tr, p, "temporary"))
				} else {
					require.Len(t, rec.of(runtime.EventGaveUp), 1)
					assert.Equal(t, "t/p", rec.of(runtime.EventGaveUp)[0].Path)
					assert.Equal(t, 0, p.Len())
					assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State)
					_, err = p.Start("a", nop)
					require.NoError(t, err, "restarted empty")
				}
				require.NoError(t, stop())
			})
		})
	}
}

// A pool in a group restart: under rest_for_one, a pool declared after the
// failed sibling is restarted with it and comes back empty (its permanent
// instances, and their names, gone; their handles answer ErrRemoved), while
// a pool declared before it keeps its instances, untouched.
func TestS25bPoolsInARestForOneRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "before", Pool: &runtime.PoolSpec{Max: 1}},
			{Name: "w", Run: w.run},
			{Name: "after", Pool: &runtime.PoolSpec{Max: 1}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		pb, pa := tr.Pool("t/before"), tr.Pool("t/after")
		var bStarts, aStarts int
		hb, err := pb.Start("x", func(ctx context.Context, _ *runtime.Attempt) error { bStarts++; <-ctx.Done(); return nil })
		require.NoError(t, err)
		ha, err := pa.Start("x", func(ctx context.Context, _ *runtime.Attempt) error { aStarts++; <-ctx.Done(); return nil })
		require.NoError(t, err)
		synctest.Wait()
		w.end(errBoom)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/after").State)
		assert.Equal(t, 1, pb.Len())
		assert.Equal(t, 1, bStarts)
		assert.Equal(t, runtime.StateRunning, hb.State())
		assert.Equal(t, 0, pa.Len(), "restarted empty")
		assert.Equal(t, 1, aStarts, "its permanent instance is not started again")
		assert.Equal(t, runtime.StateDone, ha.State())
		assert.ErrorIs(t, ha.Restart(), runtime.ErrRemoved)
		assert.Nil(t, tr.Handle("t/after/x"))
		assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1}, sameStates(t, tr, pa, "after"))
		_, err = pa.Start("x", nop)
		require.NoError(t, err, "the name and the room are free")
		_, err = pb.Start("y", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull)
		require.NoError(t, stop())
	})
}

// The listener in front of a pool, as README's example has it: the tree
// stops the listener first, and while the listener finishes (its last
// accepted connections), the pool, whose turn comes after, still takes
// instances; they run, and are cancelled with the others at the pool's
// turn. Once the tree has ended, Start fails with ErrTreeEnded.
func TestS25bStartFromADependentDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr *runtime.Tree
		var during error
		var ran atomic.Int32
		inst := func(ctx context.Context, _ *runtime.Attempt) error { ran.Add(1); <-ctx.Done(); return nil }
		tr = mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{Max: 2}, Shutdown: time.Second},
			{Name: "l", After: []string{"p"}, Shutdown: 5 * time.Second, Run: func(ctx context.Context, _ *runtime.Attempt) error {
				<-ctx.Done()
				time.Sleep(time.Second)
				_, during = tr.Pool("t/p").Start("last", inst)
				return nil
			}},
		}})
		stop, done := start(t, tr)
		synctest.Wait()
		_, err := tr.Pool("t/p").Start("a", inst)
		require.NoError(t, err)
		require.NoError(t, stop())
		<-done
		require.NoError(t, during, "the pool still runs while its dependent stops")
		assert.EqualValues(t, 2, ran.Load(), "a, and the one the listener started")
		assert.Equal(t, runtime.PoolCounts{Started: 2, Removed: 2}, tr.Pool("t/p").Counts())
		assert.True(t, tr.ShutdownReport().Clean())
		_, err = tr.Pool("t/p").Start("", inst)
		assert.ErrorIs(t, err, runtime.ErrTreeEnded)
	})
}

// The name reused while the removed instance's abandoned attempt still
// runs: StopAndWait returns once the attempt is abandoned after its grace,
// the name is free, and a new instance of it starts; the old attempt's
// late Ready and failure are fenced to the old instance: the new one is
// neither restarted nor made ready by them, and the pool, whose limit of 0
// gives up at the first restart, does not count them.
func TestS25bNameReusedWhileTheOldAttemptRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Shutdown: time.Second,
			Ready:        &runtime.Ready{Timeout: time.Hour},
			RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		late := make(chan struct{})
		old, err := p.Start("a", func(ctx context.Context, a *runtime.Attempt) error {
			<-late // ignores its context
			a.Ready()
			return errBoom
		})
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, old.StopAndWait(context.Background()))
		assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1, Abandoned: 1}, sameStates(t, tr, p, "abandoned"))
		nh, err := p.Start("a", func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil })
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, runtime.StateStarting, nh.State())
		close(late)
		synctest.Wait()
		assert.Equal(t, runtime.StateStarting, nh.State(), "the old attempt's Ready is not the new one's")
		st := nh.Status()
		assert.Equal(t, 0, st.Restarts)
		assert.EqualValues(t, 1, st.Generation)
		assert.Empty(t, rec.of(runtime.EventGaveUp))
		assert.Equal(t, runtime.PoolCounts{Starting: 1, Started: 2, Removed: 1, Abandoned: 1}, sameStates(t, tr, p, "late exit"))
		assert.Equal(t, runtime.StateDone, old.State())
		require.NoError(t, stop())
	})
}

// An instance stopping for its own fault (it missed its ready timeout)
// when a Restart order arrives, and which then returns ErrDoNotRestart:
// the order takes over, so the fault neither counts (against a pool limit
// of 0, which gives up at the first restart) nor removes it, and the
// instance restarts at once with the same run function.
func TestS25bOrderTakesOverAFaultThatEndsForGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Shutdown: 2 * time.Second,
			Ready:        &runtime.Ready{Timeout: time.Second},
			RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var starts atomic.Int32
		h, err := p.Start("a", func(ctx context.Context, a *runtime.Attempt) error {
			if starts.Add(1) > 1 {
				a.Ready()
				<-ctx.Done()
				return nil
			}
			<-ctx.Done()
			time.Sleep(time.Second)
			return runtime.ErrDoNotRestart
		})
		require.NoError(t, err)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, h.State(), "stopping for its missed ready")
		require.NoError(t, h.Restart())
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 2, starts.Load())
		assert.Equal(t, runtime.StateRunning, h.State())
		assert.Empty(t, rec.of(runtime.EventGaveUp))
		assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 1, Restarts: 1}, sameStates(t, tr, p, "restarted"))
		require.NoError(t, stop())
	})
}

// Shutdown of thousands of instances whose grace (5s) is longer than what
// is left of the tree's budget (2s): they all stop at once, those that
// return within the budget are removed as they return, the others are
// abandoned when the budget is spent, each listed in the report (and the
// pool, a supervisor abandoned with its instances), and Run returns then
// with the pool empty.
func TestS25bPoolShutdownCutByTheBudget(t *testing.T) {
	const n = 3000
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Shutdown: 2 * time.Second, Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{Max: n}, Shutdown: 5 * time.Second},
		}})
		stop, done := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		release := make(chan struct{})
		for i := range n {
			run := slowStop(time.Second)
			if i%3 != 0 {
				run = func(ctx context.Context, _ *runtime.Attempt) error { <-release; return nil }
			}
			_, err := p.Start("", run)
			require.NoError(t, err)
		}
		synctest.Wait()
		t0 := time.Now()
		go func() { _ = stop() }()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Stopping: 2 * n / 3, Started: n, Removed: n / 3}, sameStates(t, tr, p, "a third returned"))
		<-done
		took := time.Since(t0)
		assert.GreaterOrEqual(t, took, 2*time.Second)
		assert.LessOrEqual(t, took, 2*time.Second+runtime.DeliveryMargin)
		assert.Equal(t, 0, p.Len())
		assert.Equal(t, runtime.PoolCounts{Started: n, Removed: n, Abandoned: 2 * n / 3}, p.Counts())
		rep := tr.ShutdownReport()
		paths := map[string]bool{}
		for _, a := range rep.Abandoned {
			paths[a.Path] = true
		}
		assert.Equal(t, 2*n/3+1, len(paths), "every abandoned instance, and the pool with them")
		assert.True(t, paths["t/p"] && paths["t/p/i2"] && !paths["t/p/i1"])
		assert.Zero(t, rep.Forgotten)
		close(release)
		synctest.Wait()
	})
}

// OTP's intensity across many children failing together: n instances that
// fail at the same instant are n restarts in the window. With a limit of
// n-1 the pool gives up (once) and comes back empty; with a limit of n it
// restarts all of them.
func TestS25bPoolInstancesFailingAtTheSameInstant(t *testing.T) {
	const n = 50
	for _, max := range []int{n - 1, n} {
		t.Run(map[bool]string{true: "over", false: "at"}[max < n], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: n},
					RestartLimit: &runtime.RestartLimit{Max: max, Window: time.Second}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				fail := make(chan struct{})
				for range n {
					_, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
						if a.Generation() > 1 {
							<-ctx.Done()
							return nil
						}
						select {
						case <-fail:
							return errBoom
						case <-ctx.Done():
							return nil
						}
					})
					require.NoError(t, err)
				}
				synctest.Wait()
				close(fail)
				synctest.Wait()
				if max < n {
					assert.Len(t, rec.of(runtime.EventGaveUp), 1)
					assert.Equal(t, 0, p.Len())
					assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State)
				} else {
					assert.Empty(t, rec.of(runtime.EventGaveUp))
					assert.Equal(t, runtime.PoolCounts{Running: n, Started: n, Restarts: n}, sameStates(t, tr, p, "all restarted"))
				}
				require.NoError(t, stop())
			})
		})
	}
}
