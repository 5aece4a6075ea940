package runtime_test

// More cases of Erlang/OTP's supervisor_SUITE, of Elixir's
// DynamicSupervisor tests (OTP's simple_one_for_one against pools) and of
// suture v4's suture_test.go, translated to Arbor by an outside review:
// those that peers_otp_test.go, peers_suture_test.go and the rest do not
// cover. Each test names the case it comes from.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// one_for_all_escalation, rest_for_one_escalation: a child that fails at
// every restart of its group makes the supervisor give up after exactly
// its intensity of group restarts; the give-up names that child, stops
// every child, and Run returns it.
func TestMoreGroupEscalation(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c0, c1, c2 := newPuppet(), newPuppet(), newPuppet()
				c2.failFrom, c2.failTo = 2, 1<<62
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 4, Window: time.Hour},
					Children: []runtime.Child{
						{Name: "c0", Run: c0.run}, {Name: "c1", Run: c1.run}, {Name: "c2", Run: c2.run},
					}})
				_, done := start(t, tr)
				synctest.Wait()
				c1.end(errBoom) // the first group restart; then c2 fails four times
				require.False(t, running(tr))
				err := <-done
				var gu *runtime.GiveUpError
				require.ErrorAs(t, err, &gu)
				assert.Equal(t, "t", gu.Supervisor)
				assert.Equal(t, "t/c2", gu.Child)
				assert.Equal(t, 4, gu.Max)
				assert.ErrorIs(t, err, errBoom)
				var ce *runtime.ChildError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, uint64(5), ce.Generation, "the fifth start of c2 failed")
				assert.EqualValues(t, 5, c2.starts.Load(), "four restarts, and the fifth failure gives up")
				if strategy == runtime.OneForAll {
					assert.EqualValues(t, 5, c0.starts.Load())
					assert.EqualValues(t, 5, c1.starts.Load())
				} else {
					assert.EqualValues(t, 1, c0.starts.Load(), "before the failed child: untouched")
					assert.EqualValues(t, 2, c1.starts.Load(), "before c2: restarted by its own failure only")
				}
				for _, p := range []string{"t/c0", "t/c1", "t/c2"} {
					assert.Equal(t, runtime.StateStopped, status(t, tr, p).State, p)
				}
				assert.True(t, tr.ShutdownReport().Clean())
			})
		})
	}
}

// OTP's intensity 0: no restart at all is allowed; the first failure ends
// the supervisor, whatever its strategy, and a normal exit of a permanent
// child (permanent_normal) is a restart too.
func TestMoreIntensityZero(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne} {
		for _, exit := range []error{errBoom, nil} {
			t.Run(fmt.Sprintf("%s/%v", strategy, exit), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c1 := newPuppet()
					tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
						RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
						Children:     []runtime.Child{{Name: "c1", Run: c1.run}, {Name: "c2", Run: nop}}})
					start(t, tr)
					synctest.Wait()
					c1.end(exit)
					require.False(t, running(tr))
					assert.ErrorIs(t, tr.Err(), runtime.ErrRestartLimit)
					assert.EqualValues(t, 1, c1.starts.Load())
				})
			})
		}
	}
}

// A nested supervisor's give-up is one failure of its slot: with the
// parent's intensity 1, the first give-up restarts it (and, rest_for_one,
// the siblings after it) with a fresh window of its own, and the second
// ends the parent, whose error still names the nested child and its limit.
func TestMoreNestedGiveUpCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "before", Run: nop},
				{Name: "n", Supervisor: &runtime.Spec{Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour},
					Children:     []runtime.Child{{Name: "c", Run: c.run}}}},
				{Name: "after", Run: nop},
			}})
		_, done := start(t, tr)
		synctest.Wait()
		for range 3 { // the third is one over n's limit
			c.end(errBoom)
		}
		require.True(t, running(tr))
		assert.Equal(t, uint64(2), gen(t, tr, "t/n"))
		assert.Equal(t, uint64(2), gen(t, tr, "t/after"), "restarted with n")
		assert.Equal(t, uint64(1), gen(t, tr, "t/before"))
		assert.Equal(t, uint64(4), gen(t, tr, "t/n/c"))
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n/c").State)

		c.end(errBoom)
		c.end(errBoom)
		require.True(t, running(tr), "a restarted supervisor counts its restarts afresh")
		c.end(errBoom)
		require.False(t, running(tr))
		err := <-done
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "t", gu.Supervisor)
		assert.Equal(t, "t/n", gu.Child)
		var inner *runtime.GiveUpError
		require.ErrorAs(t, gu.Err, &inner)
		assert.Equal(t, "t/n", inner.Supervisor)
		assert.Equal(t, "t/n/c", inner.Child)
		assert.ErrorIs(t, err, errBoom)
	})
}

// OTP restarts, with its group, a transient child that had ended normally
// (its pid undefined, it stays in the child list). Arbor leaves a child
// that ended for good done through a group restart, as it leaves one an
// operator stopped.
func TestMoreDoneChildStaysDoneThroughGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1, c2 := newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "c1", Run: c1.run}, {Name: "c2", Run: c2.run, Restart: runtime.Transient},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c2.end(nil)
		require.Equal(t, runtime.StateDone, status(t, tr, "t/c2").State)
		c1.end(errBoom)
		assert.Equal(t, uint64(2), gen(t, tr, "t/c1"))
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/c2").State, "Arbor: not restarted with the group")
		assert.EqualValues(t, 1, c2.starts.Load())
		require.NoError(t, tr.Handle("t/c2").Restart(), "an order starts it again")
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c2").State)
		assert.EqualValues(t, 2, c2.starts.Load())
		require.NoError(t, stop())
	})
}

// ErrDoNotRestart returned by a member that its group restart stopped is a
// stop like any other: the group restart decides, and it comes back with
// the group. Returned on its own, it ends the member for good.
func TestMoreDoNotRestartAnsweringAGroupStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := newPuppet()
		c2 := func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			return fmt.Errorf("told to stop: %w", runtime.ErrDoNotRestart)
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "c1", Run: c1.run}, {Name: "c2", Run: c2},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c2").State, "restarted with its group")
		assert.Equal(t, uint64(2), gen(t, tr, "t/c2"))
		require.NoError(t, stop())
	})
}

// terminate_child of a significant child is not the child ending on its
// own: OTP's auto_shutdown does not follow it. Restarted by hand and then
// ending, it does end its supervisor.
func TestMoreSignificantStoppedByOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "other", Run: nop},
			{Name: "c", Run: c.run, Restart: runtime.Temporary, Significant: true},
		}})
		_, done := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/c")
		require.NoError(t, h.StopAndWait(context.Background()))
		require.True(t, running(tr), "stopped by order: no auto shutdown")
		require.NoError(t, h.Restart())
		synctest.Wait()
		require.Equal(t, runtime.StateRunning, h.State())
		c.end(nil)
		require.False(t, running(tr))
		require.NoError(t, <-done)
	})
}

// A child that traps exits (ignores cancellation) in a group restart is
// abandoned after its grace, and only then does the group start again:
// its successor runs beside it, its late return is fenced and restarts
// nothing, and the restart counted once.
func TestMoreHangingMemberOfGroupRestart(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				release := make(chan struct{})
				var hung atomic.Int32
				trap := func(ctx context.Context, a *runtime.Attempt) error {
					if a.Generation() == 1 {
						hung.Add(1)
						defer hung.Add(-1)
						<-release
						return errBoom
					}
					<-ctx.Done()
					return nil
				}
				c1 := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
					Children: []runtime.Child{
						{Name: "c1", Run: c1.run},
						{Name: "trap", Run: trap, Shutdown: 3 * time.Second},
					}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				begin := time.Now()
				c1.end(errBoom)
				assert.Equal(t, runtime.StateStopping, status(t, tr, "t/trap").State)
				assert.Equal(t, uint64(1), gen(t, tr, "t/c1"), "the group waits for every member")
				time.Sleep(3 * time.Second)
				synctest.Wait()
				assert.Equal(t, 3*time.Second, time.Since(begin))
				assert.Equal(t, uint64(2), gen(t, tr, "t/c1"))
				assert.Equal(t, uint64(2), gen(t, tr, "t/trap"))
				assert.EqualValues(t, 1, hung.Load(), "the abandoned attempt still runs")
				abandoned := rec.of(runtime.EventAbandoned)
				require.Len(t, abandoned, 1)
				assert.Equal(t, "t/trap", abandoned[0].Path)
				assert.Equal(t, 3*time.Second, abandoned[0].Delay)

				close(release) // its late failure
				synctest.Wait()
				st := status(t, tr, "t/trap")
				assert.Equal(t, runtime.StateRunning, st.State)
				assert.Equal(t, uint64(2), st.Generation)
				assert.Equal(t, uint64(1), st.Fenced)
				require.True(t, running(tr), "the late failure is not counted")
				require.NoError(t, stop())
				rep := tr.ShutdownReport()
				require.Len(t, rep.Abandoned, 1)
				assert.False(t, rep.Abandoned[0].Returned.IsZero(), "returned since")
			})
		})
	}
}

// A member that does not become ready in time as its group restarts fails
// again, which restarts the group again, counted against the limit.
func TestMoreReadyTimeoutInGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := newPuppet()
		slowReady := func(ctx context.Context, a *runtime.Attempt) error {
			if a.Generation() == 1 {
				a.Ready()
			}
			<-ctx.Done()
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 3, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "c1", Run: c1.run},
				{Name: "r", Run: slowReady, Ready: &runtime.Ready{Timeout: time.Second}},
				{Name: "dep", Run: nop, After: []string{"r"}},
			}})
		_, done := start(t, tr)
		synctest.Wait()
		require.Equal(t, runtime.StateRunning, status(t, tr, "t/dep").State)
		c1.end(errBoom)
		assert.Equal(t, runtime.StateStarting, status(t, tr, "t/r").State)
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/dep").State, "waits for r again")
		time.Sleep(2500 * time.Millisecond) // two more group restarts, each after r missed its second
		synctest.Wait()
		require.True(t, running(tr))
		assert.Equal(t, uint64(4), gen(t, tr, "t/r"))
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		require.False(t, running(tr), "the fourth group restart is one over")
		err := <-done
		assert.ErrorIs(t, err, runtime.ErrReadyTimeout)
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "t/r", gu.Child)
		assert.Equal(t, uint64(1), gen(t, tr, "t/dep"), "never started again")
	})
}

// suture's TestFailingSupervisors: a nested supervisor fails and its
// parent waits out a backoff; meanwhile nothing below it runs, and once the
// backoff is over its children start again, from their first attempt's
// state (a child that was itself in a backoff starts at once).
func TestMoreFailingNestedSupervisorBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, other := newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(10 * time.Second), Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Backoff: constBackoff(time.Hour),
				RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
				Children:     []runtime.Child{{Name: "c", Run: c.run}, {Name: "other", Run: other.run}}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c.end(errBoom) // c waits an hour
		require.Equal(t, runtime.StateBackoff, status(t, tr, "t/n/c").State)
		other.end(errBoom) // one over n's limit: n fails
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/n").State)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/n/c").State)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/n/other").State)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n/c").State, "no leftover hour of backoff")
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n/other").State)
		assert.Equal(t, 1, status(t, tr, "t/n/c").Attempt, "a fresh streak")
		require.NoError(t, stop())
	})
}

// DynamicSupervisor, start_child while the supervisor restarts: a pool
// that gave up takes no instance while its supervisor waits out the
// backoff, then starts empty; the handles of its old instances say they
// were removed, stopping them is a no-op, and no old instance is listed.
func TestMorePoolStartWhileRestarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(5 * time.Second), Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}, Backoff: noBackoff, RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		c := newPuppet()
		h, err := p.Start("a", c.run)
		require.NoError(t, err)
		hb, err := p.Start("b", nop)
		require.NoError(t, err)
		synctest.Wait()
		c.end(errBoom) // one over the pool's limit
		require.Equal(t, runtime.StateBackoff, status(t, tr, "t/p").State)
		_, err = p.Start("c", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning, "restarting")
		assert.Equal(t, 0, p.Len())
		err = h.Restart()
		assert.ErrorIs(t, err, runtime.ErrRemoved)
		assert.EqualError(t, err, "arbor: instance was removed from its pool: t/p/a")
		assert.NoError(t, hb.Stop())
		assert.NoError(t, hb.StopAndWait(context.Background()))
		assert.Equal(t, runtime.StateDone, hb.State())

		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State)
		h2, err := p.Start("a", c.run)
		require.NoError(t, err, "the name is free in the new run")
		synctest.Wait()
		assert.Equal(t, uint64(1), h2.Status().Generation)
		assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved, "the old handle does not reach the new instance")
		require.NoError(t, h.Stop())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h2.State(), "the old handle's Stop did not stop the new a")
		for _, st := range tr.Snapshot().Children {
			assert.NotEqual(t, "t/p/b", st.Path)
		}
		assert.Same(t, h2, tr.Handle("t/p/a"))
		require.NoError(t, stop())
	})
}

// DynamicSupervisor's max_children counts every live instance: one
// waiting for a restart and one still stopping within its grace hold their
// place; once the stopping one has returned, there is room again.
func TestMorePoolMaxCountsRestartingAndStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 2}, Backoff: constBackoff(time.Hour), Shutdown: 10 * time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		c := newPuppet()
		_, err := p.Start("failing", c.run)
		require.NoError(t, err)
		slow, err := p.Start("slow", slowStop(2*time.Second))
		require.NoError(t, err)
		synctest.Wait()
		c.end(errBoom)
		require.NoError(t, slow.Stop())
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Backoff: 1, Stopping: 1, Started: 2, Restarts: 0}, p.Counts())
		_, err = p.Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, p.Len())
		_, err = p.Start("", nop)
		require.NoError(t, err, "room once the stopping instance returned")
		require.NoError(t, stop())
	})
}

// A pool in a one_for_all group: a sibling's failure stops the pool with
// its instances (each cancelled with ErrStopped, all at once) and starts
// it again empty; the instances' handles are removed.
func TestMorePoolInGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: time.Second},
			{Name: "w", Run: w.run},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		causes := make(chan error, 10)
		var hs []*runtime.Handle
		for range 10 {
			h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				time.Sleep(500 * time.Millisecond)
				causes <- context.Cause(ctx)
				return nil
			})
			require.NoError(t, err)
			hs = append(hs, h)
		}
		synctest.Wait()
		w.end(errBoom)
		time.Sleep(499 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, status(t, tr, "t/p").State)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Len(t, causes, 10, "instances stopped at once")
		for range len(causes) {
			assert.ErrorIs(t, <-causes, runtime.ErrStopped)
		}
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State)
		assert.Equal(t, uint64(2), gen(t, tr, "t/p"))
		assert.Equal(t, uint64(2), gen(t, tr, "t/w"))
		assert.Equal(t, 0, p.Len())
		for _, h := range hs {
			assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved)
		}
		require.NoError(t, stop())
	})
}

// start_child from inside a child as its supervisor stops: an instance
// that starts another as it is cancelled is told the pool is not running,
// and nothing it asked for runs after Run returns.
func TestMorePoolStartFromStoppingInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Restart: runtime.Temporary})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		errs := make(chan error, 20)
		var ran atomic.Int32
		for range 20 {
			_, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				_, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
					ran.Add(1)
					<-ctx.Done()
					return nil
				})
				errs <- err
				return nil
			})
			require.NoError(t, err)
		}
		synctest.Wait()
		require.NoError(t, stop())
		require.Len(t, errs, 20)
		for range 20 {
			err := <-errs
			assert.True(t, errors.Is(err, runtime.ErrNotRunning) || errors.Is(err, runtime.ErrTreeEnded), "got %v", err)
		}
		assert.Zero(t, ran.Load())
		assert.Equal(t, 0, p.Len())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// DynamicSupervisor's shutdown of many children: ten thousand instances
// stop at once within one grace, every goroutine has returned when Run
// returns, and the totals add up.
func TestMorePoolShutdownOfMany(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Shutdown: time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var live atomic.Int32
		for range 10000 {
			_, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
				live.Add(1)
				defer live.Add(-1)
				<-ctx.Done()
				time.Sleep(100 * time.Millisecond)
				return nil
			})
			require.NoError(t, err)
		}
		synctest.Wait()
		require.EqualValues(t, 10000, live.Load())
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 100*time.Millisecond, time.Since(begin))
		assert.Zero(t, live.Load())
		assert.Equal(t, runtime.PoolCounts{Started: 10000, Removed: 10000}, p.Counts())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// terminate_child of a hung instance (suture's RemoveAndWait of a hung
// service): StopAndWait returns after the grace, the instance is removed
// and its place free, though its goroutine still runs (counted as
// abandoned and listed in the report).
func TestMorePoolStopHungInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Shutdown: time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		h, err := p.Start("hung", lingering(time.Hour, release))
		require.NoError(t, err)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, h.StopAndWait(context.Background()))
		assert.Equal(t, time.Second, time.Since(begin))
		assert.Equal(t, 0, p.Len())
		assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1, Abandoned: 1}, p.Counts())
		rep := tr.ShutdownReport()
		require.Len(t, rep.Abandoned, 1)
		assert.Equal(t, "t/p/hung", rep.Abandoned[0].Path)
		h2, err := p.Start("hung", nop)
		require.NoError(t, err, "its name and place are free")
		synctest.Wait()
		close(release)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h2.State(), "the old attempt's late exit is not the new instance's")
		assert.Equal(t, uint64(1), h2.Status().Generation)
		require.NoError(t, stop())
	})
}

// restart_child of a child that traps exits (suture's Restart of a hung
// service): the order stops it within its grace, abandons it, and only
// then starts the new attempt, without counting a restart.
func TestMoreRestartOrderOfHungChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var starts atomic.Int32
		hung := func(ctx context.Context, a *runtime.Attempt) error {
			starts.Add(1)
			if a.Generation() == 1 {
				<-release
				return nil
			}
			<-ctx.Done()
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
			Children: []runtime.Child{{Name: "c", Run: hung, Shutdown: 2 * time.Second}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/c")
		require.NoError(t, h.Restart())
		time.Sleep(2*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, h.State())
		assert.EqualValues(t, 1, starts.Load(), "not before the grace is over")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		assert.Equal(t, uint64(2), h.Status().Generation)
		assert.Equal(t, 1, h.Status().Abandoned)
		close(release)
		synctest.Wait()
		require.True(t, running(tr), "an order is not a restart: intensity 0 is not exceeded")
		require.NoError(t, stop())
	})
}

// permanent_normal under one_for_all: a permanent child that returns nil
// restarts its whole group, and that counts against the intensity.
func TestMorePermanentNormalRestartsGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children:     []runtime.Child{{Name: "c1", Run: c1.run}, {Name: "c2", Run: nop}}})
		start(t, tr)
		synctest.Wait()
		c1.end(nil)
		assert.Equal(t, uint64(2), gen(t, tr, "t/c2"))
		require.True(t, running(tr))
		c1.end(nil)
		require.False(t, running(tr))
		var gu *runtime.GiveUpError
		require.ErrorAs(t, tr.Err(), &gu)
		var ce *runtime.ChildError
		require.ErrorAs(t, gu.Err, &ce)
		assert.Equal(t, runtime.ExitSuccess, ce.Exit)
	})
}

// which_children: the snapshot lists children depth first in declaration
// order (not start order), each supervisor before its children and a
// pool's instances after the pool.
func TestMoreSnapshotOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "api", Run: nop, After: []string{"db", "n"}},
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "y", Run: nop, After: []string{"x"}},
				{Name: "x", Run: nop},
				{Name: "p", Pool: &runtime.PoolSpec{}},
			}}},
			{Name: "db", Run: nop},
		}})
		stop, _ := start(t, tr)
		<-tr.Ready()
		_, err := tr.Pool("t/n/p").Start("i", nop)
		require.NoError(t, err)
		synctest.Wait()
		var paths []string
		for _, c := range tr.Snapshot().Children {
			paths = append(paths, c.Path)
		}
		assert.Equal(t, []string{"t/api", "t/n", "t/n/y", "t/n/x", "t/n/p", "t/n/p/i", "t/db"}, paths)
		require.NoError(t, stop())
	})
}

// suture's TestServiceAndTreeTermination: a service that returns
// ErrDoNotRestart is not restarted and the others go on; one that ends
// the tree (ErrTerminateSupervisorTree) is, in Arbor, a significant child
// ending for good below significant supervisors: every service stops and
// Run returns nil.
func TestMoreSutureServiceAndTreeTermination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s1, s2, s3 := newPuppet(), newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "s2", Restart: runtime.Transient, Significant: true, Supervisor: &runtime.Spec{Backoff: noBackoff, Children: []runtime.Child{
				{Name: "service1", Run: s1.run, Restart: runtime.Transient, Significant: true},
				{Name: "service2", Run: s2.run},
				{Name: "service3", Run: s3.run},
			}}},
		}})
		_, done := start(t, tr)
		synctest.Wait()
		s3.end(fmt.Errorf("finished: %w", runtime.ErrDoNotRestart))
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/s2/service3").State)
		assert.EqualValues(t, 1, s3.starts.Load())
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/s2/service2").State)
		require.True(t, running(tr))

		s1.end(fmt.Errorf("terminate the tree: %w", runtime.ErrDoNotRestart))
		require.NoError(t, <-done)
		for _, p := range []string{"t/s2/service1", "t/s2/service2"} {
			st := status(t, tr, p)
			assert.Contains(t, []runtime.State{runtime.StateStopped, runtime.StateDone}, st.State, p)
		}
		assert.EqualValues(t, 1, s1.starts.Load())
		assert.EqualValues(t, 1, s2.starts.Load())
	})
}

// suture's TestDoNotPropagate: a subtree whose termination must not end
// its parent is, in Arbor, a nested supervisor that is not significant:
// a significant child ends it cleanly, and, temporary, it stays done while
// its siblings run on.
func TestMoreSutureDoNotPropagate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keep, term := newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "child", Restart: runtime.Temporary, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "term", Run: term.run, Restart: runtime.Temporary, Significant: true},
			}}},
			{Name: "keep", Run: keep.run},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		term.end(fmt.Errorf("terminate: %w", runtime.ErrDoNotRestart))
		require.True(t, running(tr), "the parent runs on")
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/child").State)
		assert.Equal(t, runtime.ExitSuccess, status(t, tr, "t/child").LastExit, "ended cleanly, not failed")
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/keep").State)
		assert.EqualValues(t, 1, keep.starts.Load())
		assert.Equal(t, runtime.HealthReady, tr.Health().State, "a subtree that ended for good is well")
		require.NoError(t, stop())
	})
}

// The intensity boundary through a nested supervisor: each give-up of a
// nested supervisor (intensity 0) is one restart of the one_for_all
// parent, counted when the parent sees it; with the parent's intensity 1
// in 10s, a second give-up exactly 10s after the first is one too many,
// and one a nanosecond later is not.
func TestMoreNestedIntensityBoundary(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		gives bool
	}{
		{10 * time.Second, true},
		{10*time.Second + time.Nanosecond, false},
	} {
		t.Run(tc.after.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 1, Window: 10 * time.Second},
					Children: []runtime.Child{
						{Name: "n", Supervisor: &runtime.Spec{RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
							Children: []runtime.Child{{Name: "c", Run: c.run}}}},
						{Name: "w", Run: nop},
					}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c.end(errBoom)
				require.True(t, running(tr))
				assert.Equal(t, uint64(2), gen(t, tr, "t/w"), "restarted with n")
				time.Sleep(tc.after)
				c.end(errBoom)
				assert.Equal(t, tc.gives, !running(tr))
				if tc.gives {
					assert.ErrorIs(t, tr.Err(), runtime.ErrRestartLimit)
				} else {
					assert.Equal(t, uint64(3), gen(t, tr, "t/w"))
					require.NoError(t, stop())
				}
			})
		})
	}
}

// Restart types under a group restart (OTP's restart_multiple_children):
// transient and permanent members stopped by the group start again with
// it, whatever they returned when stopped; a temporary member does not.
func TestMoreRestartTypesOfMembers(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c1 := newPuppet()
				returns := func(err error) runtime.RunFunc {
					return func(ctx context.Context, a *runtime.Attempt) error {
						<-ctx.Done()
						return err
					}
				}
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
					Children: []runtime.Child{
						{Name: "c1", Run: c1.run},
						{Name: "tr-nil", Run: returns(nil), Restart: runtime.Transient},
						{Name: "tr-err", Run: returns(errBoom), Restart: runtime.Transient},
						{Name: "tmp", Run: returns(nil), Restart: runtime.Temporary},
						{Name: "perm", Run: returns(context.Canceled)},
					}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c1.end(errBoom)
				for _, p := range []string{"t/c1", "t/tr-nil", "t/tr-err", "t/perm"} {
					st := status(t, tr, p)
					assert.Equal(t, runtime.StateRunning, st.State, p)
					assert.Equal(t, uint64(2), st.Generation, p)
				}
				assert.Equal(t, runtime.StateDone, status(t, tr, "t/tmp").State)
				require.True(t, running(tr), "one group restart, whatever the members returned when stopped")
				require.NoError(t, stop())
			})
		})
	}
}
