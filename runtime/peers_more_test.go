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

var _ = errors.New
