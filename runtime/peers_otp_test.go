package runtime_test

// Cases of Erlang/OTP's lib/stdlib/test/supervisor_SUITE.erl translated to
// Arbor, where Arbor means to behave as OTP does and no other test covers
// them. Each test names the case it translates. Where Arbor differs on
// purpose, the test asserts Arbor's behaviour and says so.

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// puppet is a child the test drives, like the suite's supervisor_1: each
// attempt runs until cancelled or until told how to end; from failFrom
// (a generation) to failTo, an attempt fails as soon as it starts.
type puppet struct {
	exit     chan error
	starts   atomic.Int32
	failFrom uint64
	failTo   uint64
}

func newPuppet() *puppet { return &puppet{exit: make(chan error)} }

func (p *puppet) run(ctx context.Context, a *runtime.Attempt) error {
	p.starts.Add(1)
	if g := a.Generation(); g >= p.failFrom && g <= p.failTo && p.failFrom > 0 {
		return errBoom
	}
	select {
	case err := <-p.exit:
		return err
	case <-ctx.Done():
		return nil
	}
}

// end makes the current attempt return err, and lets the supervisor act.
func (p *puppet) end(err error) {
	p.exit <- err
	synctest.Wait()
}

// running reports whether the tree's Run has not ended yet.
func running(tr *runtime.Tree) bool {
	select {
	case <-tr.Done():
		return false
	default:
		return true
	}
}

// gen returns the generation of the child at path.
func gen(t *testing.T, tr *runtime.Tree, path string) uint64 {
	t.Helper()
	return status(t, tr, path).Generation
}

// multiple_restarts: restarts spaced wider than the period never add up,
// with intensity 1 and period 1 s.
func TestOTPMultipleRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Second},
			Children:     []runtime.Child{{Name: "c1", Run: c1.run}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		for range 3 {
			time.Sleep(2100 * time.Millisecond)
			c1.end(errBoom)
		}
		require.True(t, running(tr), "the supervisor is alive")
		assert.EqualValues(t, 5, c1.starts.Load())
		require.NoError(t, tr.Handle("t/c1").StopAndWait(context.Background()))
		require.NoError(t, stop())
	})
}

// one_for_one: only the failed child restarts, and the restarts of all
// children count together: the third within the period, with intensity 2,
// ends the supervisor.
func TestOTPOneForOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1, c2 := newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour},
			Children:     []runtime.Child{{Name: "c1", Run: c1.run}, {Name: "c2", Run: c2.run}}})
		start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		assert.Equal(t, uint64(2), gen(t, tr, "t/c1"))
		assert.Equal(t, uint64(1), gen(t, tr, "t/c2"), "c2 untouched")
		c2.end(errBoom)
		require.True(t, running(tr), "two restarts: at the limit")
		c2.end(errBoom)
		require.False(t, running(tr), "three restarts: one over")
		err := tr.Err()
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "t/c2", gu.Child)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/c1").State, "giving up stops the others")
	})
}

// one_for_all: every child restarts with the failed one, and a group
// restart counts once against the intensity.
func TestOTPOneForAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c1, c2 := newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour},
			Children:     []runtime.Child{{Name: "c1", Run: c1.run}, {Name: "c2", Run: c2.run}},
		}, runtime.WithObserver(rec.observe))
		start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		assert.Equal(t, []string{"c1 starting", "c2 starting", "c1 exited", "c2 stopped", "c1 starting", "c2 starting"}, rec.trace(lifecycle...))
		assert.Equal(t, uint64(2), gen(t, tr, "t/c1"))
		assert.Equal(t, uint64(2), gen(t, tr, "t/c2"), "no old child still runs")
		c1.end(errBoom)
		require.True(t, running(tr))
		c2.end(errBoom)
		require.False(t, running(tr), "the third group restart is one over")
		assert.ErrorIs(t, tr.Err(), runtime.ErrRestartLimit)
	})
}

// rest_for_one: the failed child and those started after it restart; the
// ones before it are untouched.
func TestOTPRestForOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1, c2, c3 := newPuppet(), newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour},
			Children:     []runtime.Child{{Name: "c1", Run: c1.run}, {Name: "c2", Run: c2.run}, {Name: "c3", Run: c3.run}}})
		start(t, tr)
		synctest.Wait()
		c2.end(errBoom)
		assert.Equal(t, []uint64{1, 2, 2}, []uint64{gen(t, tr, "t/c1"), gen(t, tr, "t/c2"), gen(t, tr, "t/c3")})
		for _, p := range []string{"t/c1", "t/c2", "t/c3"} {
			assert.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
		}
		c3.end(errBoom)
		assert.Equal(t, []uint64{1, 2, 3}, []uint64{gen(t, tr, "t/c1"), gen(t, tr, "t/c2"), gen(t, tr, "t/c3")})
		require.True(t, running(tr))
		c2.end(errBoom)
		require.False(t, running(tr))
		assert.ErrorIs(t, tr.Err(), runtime.ErrRestartLimit)
	})
}

// one_for_all_other_child_fails_restart: a child that fails as the group
// restarts makes the group restart again, stopping the member that had
// already started.
func TestOTPOneForAllOtherChildFailsRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c1, c2 := newPuppet(), newPuppet()
		c2.failFrom, c2.failTo = 2, 2
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 3, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "c1", Run: c1.run},
				{Name: "c2", Run: c2.run, After: []string{"c1"}}, // starts after c1, as in OTP
			}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		assert.Equal(t, []string{
			"c1 starting", "c2 starting",
			"c1 exited", "c2 stopped", "c1 starting", "c2 starting",
			"c2 exited", "c1 stopped", "c1 starting", "c2 starting",
		}, rec.trace(lifecycle...))
		assert.Equal(t, uint64(3), gen(t, tr, "t/c1"))
		assert.Equal(t, uint64(3), gen(t, tr, "t/c2"))
		require.True(t, running(tr))
		require.NoError(t, stop())
	})
}

// rest_for_one_other_child_fails_restart: a child that fails as its group
// restarts restarts those after it, never those before.
func TestOTPRestForOneOtherChildFailsRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c1, c2 := newPuppet(), newPuppet()
		c2.failFrom, c2.failTo = 2, 2
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 3, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "c1", Run: c1.run},
				{Name: "c2", Run: c2.run, After: []string{"c1"}},
			}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		assert.Equal(t, []string{
			"c1 starting", "c2 starting",
			"c1 exited", "c2 stopped", "c1 starting", "c2 starting",
			"c2 exited", "c2 starting",
		}, rec.trace(lifecycle...))
		assert.Equal(t, uint64(2), gen(t, tr, "t/c1"), "not restarted by c2's failure")
		assert.Equal(t, uint64(3), gen(t, tr, "t/c2"))
		require.True(t, running(tr))
		require.NoError(t, stop())
	})
}

// temporary_bystander: a temporary child stopped by a sibling's restart
// (here a permanent child that exits normally) is not restarted, and the
// supervisor does not hit its limit trying.
func TestOTPTemporaryBystander(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c1 := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 2, Window: 300 * time.Second},
					Children: []runtime.Child{
						{Name: "c1", Run: c1.run, Shutdown: 100 * time.Millisecond},
						{Name: "c2", Run: nop, Restart: runtime.Temporary, Shutdown: 100 * time.Millisecond},
					}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c1.end(nil)
				time.Sleep(350 * time.Millisecond)
				synctest.Wait()
				require.True(t, running(tr))
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c1").State)
				assert.Equal(t, uint64(2), gen(t, tr, "t/c1"))
				assert.Equal(t, runtime.StateDone, status(t, tr, "t/c2").State)
				assert.Equal(t, uint64(1), gen(t, tr, "t/c2"))
				require.NoError(t, stop())
			})
		})
	}
}

// OTP's add_restart: with intensity N, the Nth restart within the period
// is allowed and the (N+1)th is not; a restart exactly one period old
// still counts (OTP keeps restarts with Now - Then =< Period); one older
// does not.
func TestOTPIntensityBoundary(t *testing.T) {
	tests := []struct {
		name  string
		at    []time.Duration // when c fails, from the start
		gives bool
	}{
		{"at the limit", []time.Duration{0, time.Second, 2 * time.Second}, false},
		{"one over", []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}, true},
		{"one period old still counts", []time.Duration{0, time.Second, 2 * time.Second, 10 * time.Second}, true},
		{"older than the period", []time.Duration{0, time.Second, 2 * time.Second, 10*time.Second + time.Millisecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 3, Window: 10 * time.Second},
					Children:     []runtime.Child{{Name: "c", Run: c.run}}})
				stop, _ := start(t, tr)
				synctest.Wait()
				begin := time.Now()
				for _, at := range tt.at {
					time.Sleep(at - time.Since(begin))
					c.end(errBoom)
				}
				assert.Equal(t, tt.gives, !running(tr))
				if tt.gives {
					assert.ErrorIs(t, tr.Err(), runtime.ErrRestartLimit)
				} else {
					require.NoError(t, stop())
				}
			})
		})
	}
}

// tree: in a one_for_all root over two one_for_one supervisors, a worker's
// failure restarts that worker alone; a nested supervisor that gives up
// makes the root restart both. Unlike OTP, a child an operator stopped
// (supchild3, terminated with terminate_child) stays stopped through the
// group restart, and a restarted supervisor starts all its declared
// children (OTP's dynamic children of supchild2 have no Arbor equivalent).
func TestOTPTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c3, c4 := newPuppet(), newPuppet()
		c3.failFrom, c3.failTo = 2, 5 // fails at once when restarted, four times
		limit4 := &runtime.RestartLimit{Max: 4, Window: time.Hour}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, RestartLimit: limit4,
			Children: []runtime.Child{
				{Name: "sup1", Supervisor: &runtime.Spec{RestartLimit: limit4, Backoff: noBackoff,
					Children: []runtime.Child{{Name: "c1", Run: nop}, {Name: "c2", Run: nop}}}},
				{Name: "sup2", Supervisor: &runtime.Spec{RestartLimit: limit4, Backoff: noBackoff,
					Children: []runtime.Child{{Name: "c3", Run: c3.run}, {Name: "c4", Run: c4.run}}}},
				{Name: "sup3", Restart: runtime.Transient, Supervisor: &runtime.Spec{
					Children: []runtime.Child{{Name: "c5", Run: nop}}}},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/sup3").StopAndWait(context.Background()))

		c4.end(errBoom)
		assert.Equal(t, uint64(2), gen(t, tr, "t/sup2/c4"))
		for _, p := range []string{"t/sup1", "t/sup2", "t/sup1/c1", "t/sup1/c2", "t/sup2/c3"} {
			assert.Equal(t, uint64(1), gen(t, tr, p), "only the process that died is restarted: %s", p)
		}

		c3.end(errBoom) // and four failed restarts: sup2 gives up
		require.True(t, running(tr), "the root restarts its children")
		for _, p := range []string{"t/sup1", "t/sup2", "t/sup1/c1", "t/sup1/c2"} {
			st := status(t, tr, p)
			assert.Equal(t, uint64(2), st.Generation, p)
			assert.Equal(t, runtime.StateRunning, st.State, p)
		}
		assert.Equal(t, uint64(6), gen(t, tr, "t/sup2/c3"))
		assert.Equal(t, uint64(3), gen(t, tr, "t/sup2/c4"))
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/sup3").State, "stopped by order: stays stopped")
		require.NoError(t, stop())
	})
}

// child_adm: terminate_child, restart_child and the counts. Terminating a
// stopped child again is fine; an unknown child has no handle. Unlike OTP,
// restart_child of a running child restarts it instead of answering
// {error, running}, and there is no delete_child: children are declared.
func TestOTPChildAdm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "c1", Run: nop}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/c1")
		assert.Nil(t, tr.Handle("t/hej"), "not_found")
		require.NoError(t, h.StopAndWait(context.Background()))
		assert.Equal(t, runtime.StateStopped, h.State())
		require.NoError(t, h.StopAndWait(context.Background()), "terminating a terminated child is ok")
		assert.Equal(t, runtime.StateStopped, h.State())
		assert.Len(t, tr.Snapshot().Children, 1, "the spec stays")

		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		assert.Equal(t, uint64(2), h.Status().Generation)
		require.NoError(t, h.Restart(), "Arbor: restarting a running child restarts it")
		synctest.Wait()
		assert.Equal(t, uint64(3), h.Status().Generation)
		require.NoError(t, stop())
	})
}

// simple_one_for_one: a failed instance restarts alone, and the restarts
// of all instances count together; one over the intensity fails the pool,
// which its supervisor restarts (empty).
func TestOTPSimpleOneForOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		c1, c2 := newPuppet(), newPuppet()
		h1, err := p.Start("", c1.run)
		require.NoError(t, err)
		h2, err := p.Start("", c2.run)
		require.NoError(t, err)
		synctest.Wait()

		c1.end(errBoom)
		assert.Equal(t, uint64(2), h1.Status().Generation)
		assert.Equal(t, uint64(1), h2.Status().Generation)
		assert.Equal(t, runtime.PoolCounts{Running: 2, Started: 2, Restarts: 1}, p.Counts())

		c2.end(errBoom)
		assert.Empty(t, rec.of(runtime.EventGaveUp), "two restarts: at the limit")
		c2.end(errBoom)
		gaveUp := rec.of(runtime.EventGaveUp)
		require.Len(t, gaveUp, 1, "three: one over")
		assert.Equal(t, "t/p", gaveUp[0].Path)
		assert.Equal(t, 0, p.Len())
		require.True(t, running(tr))
		require.NoError(t, stop())
	})
}

// count_children: a pool's counts follow its temporary instances as they
// start and as they end.
func TestOTPCountChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Restart: runtime.Temporary})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		release := make(chan struct{})
		child := func(ctx context.Context, a *runtime.Attempt) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}
		for range 1000 {
			_, err := p.Start("", child)
			require.NoError(t, err)
		}
		synctest.Wait()
		assert.Equal(t, 1000, p.Len())
		assert.Equal(t, runtime.PoolCounts{Running: 1000, Started: 1000}, p.Counts())
		for range 1000 {
			_, err := p.Start("", child)
			require.NoError(t, err)
		}
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Running: 2000, Started: 2000}, p.Counts())
		instances := 0
		for _, c := range tr.Snapshot().Children {
			if c.Instance {
				instances++
			}
		}
		assert.Equal(t, 2000, instances, "which_children")

		close(release)
		synctest.Wait()
		assert.Equal(t, 0, p.Len())
		assert.Equal(t, runtime.PoolCounts{Started: 2000, Removed: 2000}, p.Counts())
		require.NoError(t, stop())
	})
}

// count_restarting_children: an instance waiting to restart is counted
// apart from the running ones, and terminating instances removes them.
func TestOTPCountRestartingChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Backoff: constBackoff(2 * time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 20, Window: 10 * time.Second}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		ps := []*puppet{newPuppet(), newPuppet(), newPuppet()}
		var hs []*runtime.Handle
		for _, c := range ps {
			h, err := p.Start("", c.run)
			require.NoError(t, err)
			hs = append(hs, h)
		}
		synctest.Wait()
		assert.Equal(t, 3, p.Counts().Running)

		ps[0].end(errBoom)
		ps[1].end(errBoom)
		c := p.Counts()
		assert.Equal(t, 2, c.Backoff)
		assert.Equal(t, 1, c.Running)
		assert.Equal(t, 3, p.Len(), "restarting instances are live")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, 3, p.Counts().Running)

		for i, h := range hs {
			require.NoError(t, h.StopAndWait(context.Background()))
			assert.Equal(t, 2-i, p.Len())
		}
		require.NoError(t, stop())
	})
}

// hanging_restart_loop: a child in a restart loop can be terminated (it
// stays stopped), restarted by hand, and the supervisor shuts down at once
// while the loop goes on.
func TestOTPHangingRestartLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := newPuppet()
		c1.failFrom, c1.failTo = 2, 1<<62
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(2 * time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 8, Window: 10 * time.Second},
			Children:     []runtime.Child{{Name: "c1", Run: c1.run}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/c1")
		c1.end(errBoom)
		time.Sleep(3 * time.Second) // one failed restart: in backoff again
		synctest.Wait()
		require.Equal(t, runtime.StateBackoff, h.State())
		require.NoError(t, h.StopAndWait(context.Background()))
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, h.State(), "terminated: the loop is over")
		assert.EqualValues(t, 2, c1.starts.Load())

		require.NoError(t, h.Restart()) // fails at once: the loop again
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.True(t, running(tr))
		require.Equal(t, runtime.StateBackoff, h.State())
		begin := time.Now()
		require.NoError(t, stop())
		assert.Zero(t, time.Since(begin), "shutdown does not wait for the loop")
	})
}

// hanging_restart_loop_rest_for_one: a rest_for_one child in a restart
// loop can be terminated; those before it are untouched. Unlike OTP, where
// the child after it stays down (undefined), Arbor takes the terminated
// child out of the group restart and starts the rest of the group.
func TestOTPHangingRestartLoopRestForOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c2 := newPuppet()
		c2.failFrom, c2.failTo = 2, 1<<62
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: constBackoff(2 * time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 8, Window: 10 * time.Second},
			Children:     []runtime.Child{{Name: "c1", Run: nop}, {Name: "c2", Run: c2.run}, {Name: "c3", Run: nop}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c2.end(errBoom)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/c2").State)
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/c3").State, "waits with its group")
		assert.Equal(t, uint64(1), gen(t, tr, "t/c1"))

		require.NoError(t, tr.Handle("t/c2").StopAndWait(context.Background()))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/c2").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c3").State, "Arbor: the rest of the group starts")
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c1").State)
		require.True(t, running(tr))
		require.NoError(t, stop())
	})
}

// hanging_restart_loop_simple: an instance in a restart loop can be
// terminated, which removes it.
func TestOTPHangingRestartLoopSimple(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Backoff: constBackoff(2 * time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 8, Window: 10 * time.Second}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		c := newPuppet()
		c.failFrom, c.failTo = 2, 1<<62
		h, err := p.Start("", c.run)
		require.NoError(t, err)
		synctest.Wait()
		c.end(errBoom)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.Equal(t, runtime.PoolCounts{Backoff: 1, Started: 1, Restarts: 1}, p.Counts())
		require.NoError(t, h.StopAndWait(context.Background()))
		assert.Equal(t, 0, p.Len())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.EqualValues(t, 2, c.starts.Load())
		require.NoError(t, stop())
	})
}

// The significant group: nonsignificant_temporary, nonsignificant_transient,
// significant_temporary, significant_transient, significant_bystander.
// Arbor's significant is OTP's any_significant.
func TestOTPSignificant(t *testing.T) {
	tests := []struct {
		name        string
		restart     runtime.Restart
		significant bool
		exit        error
		ends        bool // the supervisor shuts down
	}{
		{"nonsignificant_temporary/normal", runtime.Temporary, false, nil, false},
		{"nonsignificant_temporary/abnormal", runtime.Temporary, false, errBoom, false},
		{"nonsignificant_transient/normal", runtime.Transient, false, nil, false},
		{"significant_temporary/normal", runtime.Temporary, true, nil, true},
		{"significant_temporary/abnormal", runtime.Temporary, true, errBoom, true},
		{"significant_transient/normal", runtime.Transient, true, nil, true},
		{"significant_transient/abnormal", runtime.Transient, true, errBoom, false}, // restarted
		{"significant_transient/do_not_restart", runtime.Transient, true, fmt.Errorf("gone: %w", runtime.ErrDoNotRestart), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
					{Name: "other", Run: nop},
					{Name: "c", Run: c.run, Restart: tt.restart, Significant: tt.significant},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c.end(tt.exit)
				assert.Equal(t, tt.ends, !running(tr))
				if tt.ends {
					require.NoError(t, tr.Err(), "a clean shutdown")
					assert.Equal(t, runtime.StateStopped, status(t, tr, "t/other").State)
				} else {
					require.NoError(t, stop())
				}
			})
		})
	}

	// significant_bystander: a significant child stopped by a sibling's
	// group restart did not end on its own: no shutdown.
	t.Run("significant_bystander", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c1 := newPuppet()
			tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
				{Name: "c1", Run: c1.run},
				{Name: "c2", Run: nop, Restart: runtime.Temporary, Significant: true},
			}})
			stop, _ := start(t, tr)
			synctest.Wait()
			c1.end(errBoom)
			require.True(t, running(tr))
			assert.Equal(t, runtime.StateDone, status(t, tr, "t/c2").State)
			assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c1").State)
			require.NoError(t, stop())
		})
	})
}

// significant_escalation: a nested supervisor that a significant child
// shut down ends, and, significant itself, shuts its parent down.
func TestOTPSignificantEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "other", Run: nop},
			{Name: "inner", Restart: runtime.Transient, Significant: true, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "c", Run: c.run, Restart: runtime.Temporary, Significant: true},
			}}},
		}})
		start(t, tr)
		synctest.Wait()
		c.end(errBoom)
		require.False(t, running(tr))
		require.NoError(t, tr.Err())
	})
}

// transient_shutdown, permanent_shutdown: Go has no exit reason shutdown.
// A transient child that returns nil ends for good (OTP's normal); one
// that returns a cancellation error of its own, its context not
// cancelled, failed, as in suture; ErrDoNotRestart ends it whatever its
// type.
func TestOTPTransientShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "c", Run: c.run, Restart: runtime.Transient},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c.end(context.Canceled)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c").State, "restarted")
		c.end(fmt.Errorf("shutdown: %w", runtime.ErrDoNotRestart))
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/c").State)
		require.NoError(t, tr.Handle("t/c").Restart())
		synctest.Wait()
		c.end(nil)
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/c").State)
		require.NoError(t, stop())
	})
}

// slowStop runs until cancelled, then takes d to return.
func slowStop(d time.Duration) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		<-ctx.Done()
		time.Sleep(d)
		return nil
	}
}

// sup_stop_infinity: a nested supervisor is given the time its children
// take to stop within their graces (OTP's shutdown infinity for
// supervisors); Arbor bounds it by the nested Spec.Shutdown budget instead
// (default 30s).
func TestOTPSupStopInfinity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "w", Run: slowStop(time.Second)},
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "a", Run: slowStop(8 * time.Second), Shutdown: 10 * time.Second},
				{Name: "b", Run: slowStop(8 * time.Second), Shutdown: 10 * time.Second},
			}}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 17*time.Second, time.Since(begin))
		assert.True(t, tr.ShutdownReport().Clean(), "%+v", tr.ShutdownReport())
		assert.Equal(t, []string{"n/b stopped", "n/a stopped", "n stopped", "w stopped"}, rec.trace(runtime.EventStopped))
	})
}

// Beyond the suite: the same areas, pushed further.

// TestRestForOneFailuresInARow: failures of earlier children while a
// rest_for_one restart is stopping its members, then while it waits out its
// delay, widen it into one restart.
func TestRestForOneFailuresInARow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c1, c2, c3 := newPuppet(), newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: constBackoff(time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 10, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "c1", Run: c1.run}, {Name: "c2", Run: c2.run}, {Name: "c3", Run: c3.run},
				{Name: "c4", Run: slowStop(2 * time.Second)},
			}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		c3.end(errBoom) // c4 stopping for 2s
		time.Sleep(500 * time.Millisecond)
		c2.end(errBoom)             // joins
		time.Sleep(2 * time.Second) // c4 stopped; backoff 1s running
		synctest.Wait()
		c1.end(errBoom) // joins during the wait
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{
			"c1 starting", "c2 starting", "c3 starting", "c4 starting",
			"c3 exited", "c2 exited", "c4 stopped", "c1 exited",
			"c1 starting", "c2 starting", "c3 starting", "c4 starting",
		}, rec.trace(lifecycle...), "one restart of the widest group, each member started once")
		for _, p := range []string{"t/c1", "t/c2", "t/c3", "t/c4"} {
			assert.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
		}
		assert.Equal(t, []uint64{2, 2, 2, 2}, []uint64{gen(t, tr, "t/c1"), gen(t, tr, "t/c2"), gen(t, tr, "t/c3"), gen(t, tr, "t/c4")})
		require.NoError(t, stop())
	})
}

// TestMemberFailsWhileGroupStops: a member that fails on its own while its
// group stops for another's failure is part of that one restart.
func TestMemberFailsWhileGroupStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c1, c2 := newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "c1", Run: c1.run}, {Name: "c2", Run: c2.run},
				{Name: "c3", Run: slowStop(2 * time.Second)},
			}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		c1.end(errBoom) // c3 stopping for 2s; c2 waits its turn
		c2.end(errBoom) // c2 fails on its own meanwhile
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{
			"c1 starting", "c2 starting", "c3 starting",
			"c1 exited", "c2 exited", "c3 stopped",
			"c1 starting", "c2 starting", "c3 starting",
		}, rec.trace(lifecycle...))
		assert.True(t, running(tr), "one group restart, counted once")
		for _, p := range []string{"t/c1", "t/c2", "t/c3"} {
			assert.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
		}
		require.NoError(t, stop())
	})
}

// TestShutdownDuringNestedGroupRestart: a nested one_for_all supervisor
// stopping its group when its parent shuts down stops in order, at once.
func TestShutdownDuringNestedGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c1 := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Strategy: runtime.OneForAll, Backoff: constBackoff(time.Hour), Children: []runtime.Child{
				{Name: "c1", Run: c1.run}, {Name: "c2", Run: slowStop(time.Second)},
			}}},
			{Name: "z", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		begin := time.Now()
		require.NoError(t, stop())
		trace := rec.trace(lifecycle...)
		require.Len(t, trace, 8)
		// z and n's children start on two goroutines: only the order on
		// each is given.
		assert.ElementsMatch(t, []string{"n starting", "z starting", "n/c1 starting", "n/c2 starting"}, trace[:4])
		assert.Equal(t, "n starting", trace[0])
		assert.Less(t, slices.Index(trace, "n/c1 starting"), slices.Index(trace, "n/c2 starting"))
		assert.Equal(t, []string{"n/c1 exited", "z stopped", "n/c2 stopped", "n stopped"}, trace[4:])
		assert.LessOrEqual(t, time.Since(begin), time.Second)
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// TestTemporaryFailureRestartsNoGroup: a temporary child that fails under
// one_for_all is not restarted, and neither is any sibling.
func TestTemporaryFailureRestartsNoGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "c1", Run: c1.run, Restart: runtime.Temporary}, {Name: "c2", Run: nop},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c1.end(errBoom)
		assert.Equal(t, uint64(1), gen(t, tr, "t/c2"))
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/c1").State)
		require.NoError(t, stop())
	})
}

// TestPoolInstanceFailsDuringShutdown: instances that fail as they are
// stopped at shutdown are not restarted and leave a clean report.
func TestPoolInstanceFailsDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Shutdown: time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		for range 5 {
			_, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				return errBoom
			})
			require.NoError(t, err)
		}
		synctest.Wait()
		require.NoError(t, stop())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// TestRestartNestedInBackoff: restarting a nested supervisor by hand while
// its child waits out a backoff starts the child at once, and the old
// backoff never fires in the new run.
func TestRestartNestedInBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Backoff: constBackoff(time.Hour), Children: []runtime.Child{{Name: "c", Run: c.run}}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c.end(errBoom)
		require.Equal(t, runtime.StateBackoff, status(t, tr, "t/n/c").State)
		require.NoError(t, tr.Handle("t/n").Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n/c").State)
		assert.Equal(t, uint64(2), gen(t, tr, "t/n/c"))
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		assert.Equal(t, uint64(2), gen(t, tr, "t/n/c"), "the old backoff does not fire in the new run")
		require.NoError(t, stop())
	})
}
