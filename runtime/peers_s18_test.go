package runtime_test

// Cases of OTP's supervisor_SUITE (the OTP 25+ suite, with the sup_stop
// and significant groups), of Elixir's dynamic_supervisor_test.exs and of
// suture v4's suture_test.go that peers_otp_test.go, peers_suture_test.go,
// peers_more_test.go and the rest did not cover yet. Each test names the
// case it translates; where Arbor differs on purpose, the test asserts
// Arbor's choice and says so.

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// exitKinds are the ways a Go run function can end where OTP has exit
// reasons normal, shutdown, {shutdown, test} and other: nil, ErrDoNotRestart
// (the nearest thing to a shutdown reason), a cancellation error of its own,
// an error and a panic.
var exitKinds = []struct {
	name string
	end  func() error
}{
	{"nil", func() error { return nil }},
	{"do-not-restart", func() error { return fmt.Errorf("bye: %w", runtime.ErrDoNotRestart) }},
	{"canceled", func() error { return context.Canceled }},
	{"error", func() error { return errBoom }},
	{"panic", func() error { panic("kaboom") }},
}

// sup_stop_race, under each strategy: children that end on their own, for
// every reason and restart type, while their supervisor is stopping (here
// while the last child, first in stop order, takes 1s to stop) are not
// restarted, nor are their groups, and the shutdown completes: Run returns
// nil once that child has returned, nothing is abandoned, and each child
// ran once.
func TestS18SupStopRace(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) { supStopRace(t, strategy) })
	}
}

func supStopRace(t *testing.T, strategy runtime.Strategy) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		var starts atomic.Int32
		children := []runtime.Child{{Name: "child-a", Run: nop, Restart: runtime.Temporary, Shutdown: time.Second}}
		for _, restart := range []runtime.Restart{runtime.Temporary, runtime.Transient, runtime.Permanent} {
			for _, ek := range exitKinds {
				children = append(children, runtime.Child{
					Name: fmt.Sprintf("%s-%s", restart, ek.name), Restart: restart, Shutdown: time.Second,
					Run: func(ctx context.Context, a *runtime.Attempt) error {
						starts.Add(1)
						select {
						case <-release: // ends on its own, whether already cancelled or not
						case <-ctx.Done():
							<-release
						}
						return ek.end()
					},
				})
			}
		}
		children = append(children, runtime.Child{Name: "child-z", Run: slowStop(time.Second), Restart: runtime.Temporary, Shutdown: 2 * time.Second})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 100, Window: time.Hour}, Children: children}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.EqualValues(t, 15, starts.Load())

		begin := time.Now()
		go func() {
			time.Sleep(200 * time.Millisecond) // child-z is stopping
			close(release)
		}()
		require.NoError(t, stop())
		assert.Equal(t, time.Second, time.Since(begin), "child-z's second; the others had already returned")
		assert.EqualValues(t, 15, starts.Load(), "nothing restarted while stopping")
		assert.Len(t, rec.of(runtime.EventStarting), 17, "each child once")
		assert.Empty(t, rec.of(runtime.EventRestartScheduled))
		assert.True(t, tr.ShutdownReport().Clean(), "%+v", tr.ShutdownReport())
		for _, c := range tr.Snapshot().Children {
			assert.Contains(t, []runtime.State{runtime.StateStopped, runtime.StateDone}, c.State, c.Path)
			assert.Equal(t, uint64(1), c.Generation, c.Path)
		}
	})
}

// sup_stop_non_shutdown_exit_dynamic, and Elixir's "terminates children
// with permanent restart and normal reason" and "with integer shutdown and
// abnormal reason": instances of every restart type that end, when their
// pool stops, with any value (nil, ErrDoNotRestart, an error, a panic) are
// removed and not restarted, and the shutdown is clean and immediate.
func TestS18SupStopNonShutdownExitDynamic(t *testing.T) {
	for _, restart := range []runtime.Restart{runtime.Temporary, runtime.Transient, runtime.Permanent} {
		t.Run(string(restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				tr := poolTree(t, runtime.Child{Restart: restart, Shutdown: 5 * time.Second}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				for _, ek := range exitKinds {
					_, err := p.Start(ek.name, func(ctx context.Context, a *runtime.Attempt) error {
						<-ctx.Done()
						return ek.end()
					})
					require.NoError(t, err)
				}
				synctest.Wait()
				begin := time.Now()
				require.NoError(t, stop())
				assert.Zero(t, time.Since(begin))
				assert.Equal(t, runtime.PoolCounts{Started: 5, Removed: 5}, p.Counts())
				assert.Len(t, rec.of(runtime.EventStarting), 6, "the pool and its five instances, once")
				assert.Empty(t, rec.of(runtime.EventRestartScheduled))
				assert.True(t, tr.ShutdownReport().Clean())
			})
		})
	}
}

// sup_stop_timeout, sup_stop_timeout_dynamic, and Elixir's "terminates
// children with expired integer shutdown" and "with mixed children": at
// shutdown a child that ignores cancellation is given its grace and no
// more, the others stop at once; there is no kill in Go, so it is
// abandoned and listed in the report, alone.
func TestS18SupStopTimeout(t *testing.T) {
	t.Run("static", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
				{Name: "child1", Run: nop, Shutdown: time.Second},
				{Name: "child2", Run: lingering(time.Hour, release), Shutdown: time.Second},
			}})
			stop, _ := start(t, tr)
			synctest.Wait()
			begin := time.Now()
			require.NoError(t, stop())
			assert.Equal(t, time.Second, time.Since(begin))
			rep := tr.ShutdownReport()
			require.Len(t, rep.Abandoned, 1)
			assert.Equal(t, "t/child2", rep.Abandoned[0].Path)
			assert.Equal(t, runtime.ExitCancelled, status(t, tr, "t/child1").LastExit)
		})
	})
	t.Run("dynamic", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			tr := poolTree(t, runtime.Child{Restart: runtime.Temporary, Shutdown: time.Millisecond})
			stop, _ := start(t, tr)
			synctest.Wait()
			p := tr.Pool("t/p")
			causes := make(chan error, 2)
			for _, name := range []string{"child1", "child3"} {
				_, err := p.Start(name, func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					causes <- context.Cause(ctx)
					return nil
				})
				require.NoError(t, err)
			}
			_, err := p.Start("child2", lingering(time.Hour, release))
			require.NoError(t, err)
			synctest.Wait()
			begin := time.Now()
			require.NoError(t, stop())
			assert.Equal(t, time.Millisecond, time.Since(begin))
			rep := tr.ShutdownReport()
			require.Len(t, rep.Abandoned, 1)
			assert.Equal(t, "t/p/child2", rep.Abandoned[0].Path)
			require.Len(t, causes, 2)
			assert.ErrorIs(t, <-causes, runtime.ErrStopped)
			assert.ErrorIs(t, <-causes, runtime.ErrStopped)
			assert.Equal(t, runtime.PoolCounts{Started: 3, Removed: 3, Abandoned: 1}, p.Counts())
		})
	})
}

// simple_one_for_one_escalation: an instance that fails at every restart
// makes the pool give up after exactly its intensity (4); the pool's other
// instance is stopped with it. The pool's supervisor, with intensity 0 here,
// gives up in turn: Run's error names the pool, and wraps the pool's own
// give-up naming the instance.
func TestS18SimpleOneForOneEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
			Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Backoff: noBackoff,
				RestartLimit: &runtime.RestartLimit{Max: 4, Window: time.Hour}}}})
		_, done := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		c1 := newPuppet()
		c1.failFrom, c1.failTo = 2, 1<<62
		_, err := p.Start("c1", c1.run)
		require.NoError(t, err)
		cause := make(chan error, 1)
		_, err = p.Start("c2", func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil
		})
		require.NoError(t, err)
		synctest.Wait()
		c1.end(errBoom)
		require.False(t, running(tr))
		err = <-done
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "t", gu.Supervisor)
		assert.Equal(t, "t/p", gu.Child)
		var inner *runtime.GiveUpError
		require.ErrorAs(t, gu.Err, &inner)
		assert.Equal(t, "t/p", inner.Supervisor)
		assert.Equal(t, "t/p/c1", inner.Child)
		assert.Equal(t, 4, inner.Max)
		assert.ErrorIs(t, err, errBoom)
		assert.EqualValues(t, 5, c1.starts.Load())
		assert.ErrorIs(t, <-cause, runtime.ErrStopped, "the other instance is stopped with its pool")
		assert.Equal(t, 0, p.Len())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// simple_one_for_one_restart_ignore, and Elixir's "child is restarted when
// trying again": a transient or permanent instance is restarted after each
// failure; a restart that fails at once is restarted again; one whose
// restart returns ErrDoNotRestart at once (OTP's ignore from start_link) is
// removed, and the pool stops cleanly.
func TestS18SimpleOneForOneRestartIgnore(t *testing.T) {
	for _, restart := range []runtime.Restart{runtime.Transient, runtime.Permanent} {
		t.Run(string(restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := poolTree(t, runtime.Child{Restart: restart, RestartLimit: &runtime.RestartLimit{Max: 10, Window: time.Hour}})
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				c := newPuppet()
				h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
					switch a.Generation() {
					case 2: // try_again: the first restart fails at once
						c.starts.Add(1)
						return errBoom
					case 4: // ignore
						c.starts.Add(1)
						return fmt.Errorf("ignore: %w", runtime.ErrDoNotRestart)
					}
					return c.run(ctx, a)
				})
				require.NoError(t, err)
				synctest.Wait()
				c.end(errBoom) // killed; the restart fails; the next one runs
				assert.Equal(t, uint64(3), h.Status().Generation)
				assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 1, Restarts: 2}, p.Counts())
				c.end(errBoom) // killed; the restart ignores
				assert.Equal(t, 0, p.Len())
				assert.Equal(t, runtime.StateDone, h.State())
				assert.Nil(t, tr.Handle(h.Path()), "which_children: gone")
				assert.Equal(t, runtime.PoolCounts{Started: 1, Restarts: 3, Removed: 1}, p.Counts())
				assert.EqualValues(t, 4, c.starts.Load())
				require.NoError(t, stop())
				assert.True(t, tr.ShutdownReport().Clean())
			})
		})
	}
}

// payload is a large start argument.
type payload struct{ data [1 << 16]byte }

// startWithPayload starts an instance whose run function holds a fresh
// payload, and returns a weak pointer to it; the run function fails at
// once when fail is set, or else runs until stopped.
func startWithPayload(t *testing.T, p *runtime.Pool, name string, fail bool) weak.Pointer[payload] {
	t.Helper()
	pl := &payload{}
	pl.data[0] = 1
	_, err := p.Start(name, func(ctx context.Context, a *runtime.Attempt) error {
		if pl.data[0] != 1 {
			panic("payload changed")
		}
		if fail {
			return errBoom
		}
		<-ctx.Done()
		return nil
	})
	require.NoError(t, err)
	return weak.Make(pl)
}

// gone reports whether the object behind wp has been collected.
func gone[T any](wp weak.Pointer[T]) bool {
	for range 3 {
		goruntime.GC()
	}
	return wp.Value() == nil
}

// simple_one_for_one_corruption (OTP-16804) and
// do_not_save_start_parameters_for_temporary_children: a pool keeps no
// instance's start argument (here captured by its run function) once the
// instance is removed, whether it ended for good on its own or was
// stopped; a live permanent instance's is kept, to restart it.
func TestS18RemovedInstanceNotRetained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "tmp", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary},
			{Name: "perm", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		tmp, perm := tr.Pool("t/tmp"), tr.Pool("t/perm")
		failed := startWithPayload(t, tmp, "a", true)
		synctest.Wait()
		stoppedTmp := startWithPayload(t, tmp, "b", false)
		kept := startWithPayload(t, perm, "c", false)
		stopped := startWithPayload(t, perm, "d", false)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/perm/d").StopAndWait(context.Background()))
		require.NoError(t, tr.Handle("t/tmp/b").StopAndWait(context.Background()))
		assert.Equal(t, 0, tmp.Len())
		assert.Equal(t, 1, perm.Len())
		assert.True(t, gone(failed), "a temporary instance that failed")
		assert.True(t, gone(stoppedTmp), "a temporary instance that was stopped")
		assert.True(t, gone(stopped), "a permanent instance that was stopped")
		assert.False(t, gone(kept), "a live permanent instance keeps its run function")
		require.NoError(t, stop())
	})
}

// significant_bystander, for each strategy: significant children stopped
// because a non-significant sibling failed did not end on their own, so
// the supervisor does not shut down; the group restarts as its strategy
// says (one_for_one: the failed child; one_for_all: all; rest_for_one: it
// and those after it). Afterwards a significant child that ends normally
// still shuts the supervisor down. (Arbor has only any_significant.)
func TestS18SignificantBystander(t *testing.T) {
	for _, tc := range []struct {
		strategy runtime.Strategy
		gens     []uint64 // child1, child2, child3 after child2 failed
	}{
		{runtime.OneForOne, []uint64{1, 2, 1}},
		{runtime.OneForAll, []uint64{2, 2, 2}},
		{runtime.RestForOne, []uint64{1, 2, 2}},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c1, c2, c3 := newPuppet(), newPuppet(), newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: tc.strategy, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 5, Window: time.Hour},
					Children: []runtime.Child{
						{Name: "child1", Run: c1.run, Restart: runtime.Transient, Significant: true},
						{Name: "child2", Run: c2.run, Restart: runtime.Transient},
						{Name: "child3", Run: c3.run, Restart: runtime.Transient, Significant: true},
					}})
				_, done := start(t, tr)
				synctest.Wait()
				c2.end(errBoom) // OTP kills it
				require.True(t, running(tr), "bystanders did not end on their own")
				got := []uint64{gen(t, tr, "t/child1"), gen(t, tr, "t/child2"), gen(t, tr, "t/child3")}
				assert.Equal(t, tc.gens, got)
				for _, p := range []string{"t/child1", "t/child2", "t/child3"} {
					assert.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
				}
				c3.end(nil)
				require.False(t, running(tr), "a significant child that ends normally shuts it down")
				require.NoError(t, <-done)
			})
		})
	}
}

// significant_escalation, its second half: a nested supervisor that is not
// significant, shut down by its significant child, ends cleanly: transient,
// it is not restarted and, under one_for_all, neither is its group; its
// parent runs on. Permanent, it is restarted, with its group, as a
// permanent child that exits normally is in OTP. (The first half is
// TestOTPSignificantEscalation.)
func TestS18SignificantEscalationStops(t *testing.T) {
	for _, tc := range []struct {
		restart runtime.Restart
		state   runtime.State
		gen     uint64 // of sup1 and other afterwards
	}{
		{runtime.Transient, runtime.StateDone, 1},
		{runtime.Permanent, runtime.StateRunning, 2},
	} {
		t.Run(string(tc.restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
					{Name: "sup1", Restart: tc.restart, Supervisor: &runtime.Spec{Children: []runtime.Child{
						{Name: "child1", Run: c.run, Restart: runtime.Transient, Significant: true},
					}}},
					{Name: "other", Run: nop},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c.end(nil)
				require.True(t, running(tr))
				st := status(t, tr, "t/sup1")
				assert.Equal(t, tc.state, st.State)
				assert.Equal(t, runtime.ExitSuccess, st.LastExit, "ended cleanly")
				assert.Equal(t, tc.gen, st.Generation)
				assert.Equal(t, tc.gen, gen(t, tr, "t/other"))
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/other").State)
				require.NoError(t, stop())
			})
		})
	}
}

// significant_transient, the whole sequence with three significant
// transient children: a stop order (terminate_child) shuts nothing down and
// leaves the siblings running; after a restart order, a failure (kill,
// abnormal) restarts the child alone; a normal end shuts the supervisor
// down, stopping the siblings.
func TestS18SignificantTransient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c1 := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 5, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "child1", Run: c1.run, Restart: runtime.Transient, Significant: true},
				{Name: "child2", Run: nop, Restart: runtime.Transient, Significant: true},
				{Name: "child3", Run: nop, Restart: runtime.Transient, Significant: true},
			}}, runtime.WithObserver(rec.observe))
		_, done := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/child1")
		require.NoError(t, h.StopAndWait(context.Background()))
		require.True(t, running(tr), "terminate_child: no auto shutdown")
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/child2").State)
		require.NoError(t, h.Restart())
		synctest.Wait()
		c1.end(fmt.Errorf("killed: %w", context.Canceled))
		c1.end(errBoom)
		require.True(t, running(tr), "failures restart the child")
		assert.Equal(t, uint64(4), h.Status().Generation)
		assert.Equal(t, uint64(1), gen(t, tr, "t/child2"))
		assert.Equal(t, uint64(1), gen(t, tr, "t/child3"))
		c1.end(nil)
		require.False(t, running(tr))
		require.NoError(t, <-done)
		assert.Equal(t, []string{"child3 stopped", "child2 stopped"}, rec.trace(runtime.EventStopped)[1:],
			"the siblings stop in reverse order (child1's stop order came first)")
	})
}

// child_unlink: a child that takes its whole grace to stop does not block
// its supervisor: while a stop order waits for it, a sibling's failure is
// handled at once, other orders go through, and the snapshot answers.
func TestS18ChildUnlink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		other := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "naughty-child", Run: lingering(time.Hour, release), Shutdown: 5 * time.Second},
			{Name: "other", Run: other.run},
			{Name: "third", Run: nop},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		stopped := make(chan error, 1)
		go func() { stopped <- tr.Handle("t/naughty-child").StopAndWait(context.Background()) }()
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/naughty-child").State)

		other.end(errBoom)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/other").State, "restarted at once")
		assert.Equal(t, uint64(2), gen(t, tr, "t/other"))
		require.NoError(t, tr.Handle("t/third").StopAndWait(context.Background()))
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/third").State)
		assert.Empty(t, stopped, "still within its grace")

		time.Sleep(5 * time.Second)
		require.NoError(t, <-stopped)
		assert.Equal(t, 1, status(t, tr, "t/naughty-child").Abandoned)
		require.NoError(t, stop())
	})
}

// The sup_start_ignore group (sup_start_ignore_child,
// sup_start_ignore_temporary_child, ..._start_child_simple,
// sup_start_ignore_permanent_child_start_child_simple): Go has no ignore
// from start_link; a run function that returns ErrDoNotRestart at once is
// the nearest thing. A declared child that does so stays listed, done
// (OTP keeps a permanent child's spec with pid undefined; unlike OTP,
// Arbor also keeps a temporary one, as declared children are fixed); an
// instance that does so is removed, whatever its restart type, and the
// pool goes on and stops cleanly.
func TestS18StartIgnore(t *testing.T) {
	ignore := func(ctx context.Context, a *runtime.Attempt) error {
		return fmt.Errorf("ignore: %w", runtime.ErrDoNotRestart)
	}
	for _, restart := range []runtime.Restart{runtime.Permanent, runtime.Temporary} {
		t.Run("static/"+string(restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
					{Name: "child1", Run: ignore, Restart: restart},
					{Name: "child2", Run: nop, Restart: restart},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				assert.Len(t, tr.Snapshot().Children, 2, restart)
				assert.Equal(t, runtime.StateDone, status(t, tr, "t/child1").State, restart)
				assert.Equal(t, uint64(1), gen(t, tr, "t/child1"), restart)
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/child2").State, restart)
				require.NoError(t, stop())
			})
		})
	}
	for _, restart := range []runtime.Restart{runtime.Temporary, runtime.Permanent} {
		t.Run("simple/"+string(restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := poolTree(t, runtime.Child{Restart: restart})
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				h1, err := p.Start("", ignore)
				require.NoError(t, err, "the start is accepted; the instance then ends")
				h2, err := p.Start("", nop)
				require.NoError(t, err)
				synctest.Wait()
				assert.Equal(t, runtime.StateDone, h1.State(), restart)
				assert.Nil(t, tr.Handle(h1.Path()), restart)
				assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 2, Removed: 1}, p.Counts(), restart)
				assert.Same(t, h2, tr.Handle(h2.Path()))
				require.NoError(t, stop(), "terminates without error")
				assert.True(t, tr.ShutdownReport().Clean())
			})
		})
	}
}

// Elixir's DynamicSupervisor "temporary child is not restarted regardless
// of reason", "transient child is restarted unless normal/shutdown" and
// "permanent child is restarted regardless of reason", as the pool's
// counts (count_children: workers and active are Len and Running). Go's
// shutdown reason is ErrDoNotRestart, which ends even a permanent instance:
// unlike Elixir, where a permanent child that exits with shutdown is
// restarted.
func TestS18DynamicRestartTypes(t *testing.T) {
	for _, tc := range []struct {
		restart runtime.Restart
		exit    error
		live    int
	}{
		{runtime.Temporary, nil, 0},
		{runtime.Temporary, fmt.Errorf("shutdown: %w", runtime.ErrDoNotRestart), 0},
		{runtime.Temporary, errBoom, 0},
		{runtime.Transient, nil, 0},
		{runtime.Transient, fmt.Errorf("shutdown: %w", runtime.ErrDoNotRestart), 0},
		{runtime.Transient, errBoom, 1},
		{runtime.Permanent, nil, 1},
		{runtime.Permanent, fmt.Errorf("shutdown: %w", runtime.ErrDoNotRestart), 0}, // Elixir: 1
		{runtime.Permanent, errBoom, 1},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.restart, tc.exit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := poolTree(t, runtime.Child{Restart: tc.restart})
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				c := newPuppet()
				_, err := p.Start("", c.run)
				require.NoError(t, err)
				synctest.Wait()
				c.end(tc.exit)
				assert.Equal(t, tc.live, p.Len())
				assert.Equal(t, tc.live, p.Counts().Running)
				assert.EqualValues(t, 1+tc.live, c.starts.Load())
				require.NoError(t, stop())
			})
		})
	}
}

// Elixir's DynamicSupervisor "with max_children" sets max_children to 0
// and every start_child fails. In Arbor a Max of 0 means no cap (a pool
// that takes nothing is no use), so the pool takes instances.
func TestS18DynamicMaxChildrenZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 0}})
		stop, _ := start(t, tr)
		synctest.Wait()
		for range 3 {
			_, err := tr.Pool("t/p").Start("", nop)
			require.NoError(t, err)
		}
		require.NoError(t, stop())
	})
}

// which_children_simple_one_for_one and child_adm_simple: a pool's
// snapshot lists its live instances (in no particular order, where OTP
// lists them in start order), a terminated instance is gone at once, and
// terminating it again is fine (Elixir answers {error, not_found}; Arbor's
// orders on a removed instance's handle are no-ops, and Restart says
// ErrRemoved).
func TestS18WhichChildrenSimple(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Restart: runtime.Temporary})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		instances := func() []string {
			var out []string
			for _, c := range tr.Snapshot().Children {
				if c.Instance {
					out = append(out, c.Path)
				}
			}
			return out
		}
		assert.Empty(t, instances())
		h1, err := p.Start("child1", nop)
		require.NoError(t, err)
		h2, err := p.Start("child2", nop)
		require.NoError(t, err)
		synctest.Wait()
		assert.ElementsMatch(t, []string{"t/p/child1", "t/p/child2"}, instances())

		require.NoError(t, h1.StopAndWait(context.Background()))
		assert.Equal(t, []string{"t/p/child2"}, instances())
		assert.Nil(t, tr.Handle("t/p/child1"))
		assert.Same(t, h2, tr.Handle("t/p/child2"))
		require.NoError(t, h1.StopAndWait(context.Background()), "terminating a terminated instance is fine")
		require.NoError(t, h1.Stop())
		assert.ErrorIs(t, h1.Restart(), runtime.ErrRemoved)
		assert.Equal(t, 1, p.Len())
		require.NoError(t, stop())
	})
}

// hanging_restart_loop, its restart_child while the child waits to be
// restarted (OTP answers {error, restarting}): Arbor starts it at once, as
// an order, and the pending backoff does not start it a second time.
func TestS18RestartChildWhileRestarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(2 * time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 8, Window: 10 * time.Second},
			Children:     []runtime.Child{{Name: "child1", Run: c.run}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/child1")
		c.end(errBoom)
		require.Equal(t, runtime.StateBackoff, h.State())
		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		assert.Equal(t, uint64(2), h.Status().Generation)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, uint64(2), h.Status().Generation, "the old backoff started nothing")
		assert.EqualValues(t, 2, c.starts.Load())
		require.NoError(t, stop())
	})
}

// tree, the dynamic children of supchild2: in a one_for_all root over two
// supervisors, the second holding a pool with instances, a worker failing
// at every restart makes the second give up; the root restarts both, and
// the restarted pool is empty (OTP: [] = which_children(NewSup2)), its old
// instances removed and cancelled, and it takes new ones.
func TestS18TreeDynamicChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c3 := newPuppet()
		c3.failFrom, c3.failTo = 2, 5
		limit4 := &runtime.RestartLimit{Max: 4, Window: time.Hour}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, RestartLimit: limit4,
			Children: []runtime.Child{
				{Name: "supchild1", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "child1", Run: nop}, {Name: "child2", Run: nop}}}},
				{Name: "supchild2", Supervisor: &runtime.Spec{RestartLimit: limit4, Backoff: noBackoff, Children: []runtime.Child{
					{Name: "dyn", Pool: &runtime.PoolSpec{}},
					{Name: "child3", Run: c3.run},
				}}},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/supchild2/dyn")
		causes := make(chan error, 2)
		var hs []*runtime.Handle
		for range 2 {
			h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil
			})
			require.NoError(t, err)
			hs = append(hs, h)
		}
		synctest.Wait()
		require.Equal(t, 2, p.Len())

		c3.end(errBoom) // and four failed restarts: supchild2 gives up
		require.True(t, running(tr))
		for _, path := range []string{"t/supchild1", "t/supchild2", "t/supchild1/child1", "t/supchild2/dyn"} {
			st := status(t, tr, path)
			assert.Equal(t, runtime.StateRunning, st.State, path)
			assert.Equal(t, uint64(2), st.Generation, path)
		}
		assert.Equal(t, 0, p.Len(), "the restarted pool is empty")
		require.Len(t, causes, 2)
		for range 2 {
			assert.ErrorIs(t, <-causes, runtime.ErrStopped)
		}
		for _, h := range hs {
			assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved)
			assert.Nil(t, tr.Handle(h.Path()))
		}
		h, err := p.Start("", nop)
		require.NoError(t, err, "the same Pool takes instances in the new run")
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		require.NoError(t, stop())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// DynamicSupervisor's terminate_child racing the child's own exit (and
// suture's Remove of a service that is returning): whichever the pool
// sees first, the instance ends up removed, once, StopAndWait returns, and
// nothing of it runs afterwards, for a temporary instance that returns nil
// as for a permanent one that fails (and would be restarted).
func TestS18TerminateRacesExit(t *testing.T) {
	for _, tc := range []struct {
		restart runtime.Restart
		exit    error
	}{{runtime.Temporary, nil}, {runtime.Permanent, errBoom}, {runtime.Transient, errBoom}} {
		t.Run(string(tc.restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := poolTree(t, runtime.Child{Restart: tc.restart, RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Hour}})
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				const n = 50
				var live atomic.Int32
				ends := make([]chan error, n)
				hs := make([]*runtime.Handle, n)
				for i := range n {
					ends[i] = make(chan error, 1) // the send never waits: the attempt may have been stopped first
					h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
						live.Add(1)
						defer live.Add(-1)
						select {
						case err := <-ends[i]:
							return err
						case <-ctx.Done():
							return nil
						}
					})
					require.NoError(t, err)
					hs[i] = h
				}
				synctest.Wait()
				errs := make(chan error, n)
				for i := range n {
					go func() { ends[i] <- tc.exit }()
					go func() { errs <- hs[i].StopAndWait(context.Background()) }()
				}
				for range n {
					require.NoError(t, <-errs)
				}
				synctest.Wait()
				assert.Zero(t, live.Load(), "nothing runs after StopAndWait")
				assert.Equal(t, 0, p.Len())
				c := p.Counts()
				assert.EqualValues(t, n, c.Removed)
				assert.EqualValues(t, n, c.Started)
				for _, h := range hs {
					assert.Equal(t, runtime.StateDone, h.State())
				}
				require.NoError(t, stop())
				assert.True(t, tr.ShutdownReport().Clean())
			})
		})
	}
}

// TestS18RemovedInstanceNotRetainedByTimers: simple_one_for_one_corruption
// again, through the supervisor's timers. An instance that became ready
// and was then stopped leaves its ready deadline (an hour away) in its
// pool's timer heap, under the deadline of an instance still starting;
// that stale entry must not keep the removed instance, and its start
// argument, for the hour. A pool where one instance hangs in its start
// would otherwise keep every instance started and stopped behind it.
func TestS18RemovedInstanceNotRetainedByTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Ready: &runtime.Ready{Timeout: time.Hour}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		_, err := p.Start("starting", nop) // never ready: its deadline is the earliest
		require.NoError(t, err)
		time.Sleep(time.Second)
		var ws []weak.Pointer[payload]
		for i := range 100 {
			name := fmt.Sprintf("i%d", i)
			ws = append(ws, startReadyWithPayload(t, p, name))
			synctest.Wait()
			require.NoError(t, tr.Handle("t/p/"+name).StopAndWait(context.Background()))
		}
		assert.Equal(t, 1, p.Len())
		for range 3 {
			goruntime.GC()
		}
		n := 0
		for _, w := range ws {
			if w.Value() != nil {
				n++
			}
		}
		assert.Less(t, n, 50, "removed instances kept by stale timers")
		require.NoError(t, stop())
	})
}

// startReadyWithPayload starts an instance that holds a fresh payload and
// reports ready at once, and returns a weak pointer to the payload.
func startReadyWithPayload(t *testing.T, p *runtime.Pool, name string) weak.Pointer[payload] {
	t.Helper()
	pl := &payload{}
	_, err := p.Start(name, func(ctx context.Context, a *runtime.Attempt) error {
		_ = pl.data[0]
		a.Ready()
		<-ctx.Done()
		return nil
	})
	require.NoError(t, err)
	return weak.Make(pl)
}

// sup_stop_race one level down: while the root stops its last child (which
// takes a second), its nested supervisor and pool are not stopping yet and
// still supervise, as in OTP: the workers and instances that end on their
// own are restarted, or end for good, as their types say. Then they stop
// in turn; Run returns nil after that second, the root restarted nothing,
// nothing runs any more and nothing was abandoned.
func TestS18SupStopRaceNested(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		var live atomic.Int32
		endOnRelease := func(end func() error) runtime.RunFunc {
			return func(ctx context.Context, a *runtime.Attempt) error {
				live.Add(1)
				defer live.Add(-1)
				if a.Generation() > 1 {
					<-ctx.Done()
					return nil
				}
				<-release
				return end()
			}
		}
		var workers []runtime.Child
		for _, ek := range exitKinds {
			workers = append(workers, runtime.Child{Name: ek.name, Run: endOnRelease(ek.end)})
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "n", Supervisor: &runtime.Spec{Backoff: noBackoff, Children: workers}},
				{Name: "p", Pool: &runtime.PoolSpec{}, Backoff: noBackoff},
				{Name: "z", Run: slowStop(time.Second)},
			}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		for _, ek := range exitKinds {
			_, err := tr.Pool("t/p").Start(ek.name, endOnRelease(ek.end))
			require.NoError(t, err)
		}
		synctest.Wait()
		begin := time.Now()
		go func() {
			time.Sleep(200 * time.Millisecond) // z is stopping
			close(release)
		}()
		require.NoError(t, stop())
		assert.Equal(t, time.Second, time.Since(begin))
		assert.Zero(t, live.Load(), "nothing runs after Run")
		assert.True(t, tr.ShutdownReport().Clean())
		assert.Empty(t, rec.of(runtime.EventGaveUp))
		restarted := map[string]bool{}
		for _, e := range rec.of(runtime.EventStarting) {
			if e.Restarts > 0 {
				restarted[e.Path] = true
			}
		}
		// Permanent children are restarted after nil, an error of their own,
		// an error and a panic; ErrDoNotRestart ends them.
		want := map[string]bool{}
		for _, sup := range []string{"t/n/", "t/p/"} {
			for _, name := range []string{"nil", "canceled", "error", "panic"} {
				want[sup+name] = true
			}
		}
		assert.Equal(t, want, restarted)
	})
}

// terminate_child racing a group restart that takes the pool down (OTP's
// one_for_all_other_child_fails_restart with dynamic children): orders
// given to instances while their pool is being stopped by a sibling's
// failure all return, nothing of the old run keeps running, and the pool
// starts again empty.
func TestS18TerminateRacesGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: time.Second},
			{Name: "w", Run: w.run},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var live atomic.Int32
		var hs []*runtime.Handle
		for i := range 20 {
			h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
				live.Add(1)
				defer live.Add(-1)
				<-ctx.Done()
				time.Sleep(time.Duration(i) * 10 * time.Millisecond)
				return nil
			})
			require.NoError(t, err)
			hs = append(hs, h)
		}
		synctest.Wait()
		errs := make(chan error, len(hs))
		go func() { w.exit <- errBoom }()
		for _, h := range hs {
			go func() { errs <- h.StopAndWait(context.Background()) }()
		}
		for range hs {
			require.NoError(t, <-errs)
		}
		synctest.Wait()
		assert.Zero(t, live.Load())
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State)
		assert.Equal(t, uint64(2), gen(t, tr, "t/w"))
		assert.Equal(t, 0, p.Len())
		_, err := p.Start("", nop)
		require.NoError(t, err)
		require.NoError(t, stop())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// The timer heap stays in order through sweeps: graces armed in a
// scrambled order, with stale ones (of attempts that returned within their
// grace) scattered among them when more are armed and the heap is swept,
// each end on time, and in order.
func TestS18TimerSweepKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		defer close(release)
		grace := map[string]time.Duration{}
		var children []runtime.Child
		add := func(name string, run runtime.RunFunc, d time.Duration) {
			grace["t/"+name] = d
			children = append(children, runtime.Child{Name: name, Run: run, Shutdown: d})
		}
		for i := range 150 {
			add(fmt.Sprintf("h%d", i), lingering(time.Hour, release), time.Duration((i*37)%150+1)*10*time.Millisecond)
			add(fmt.Sprintf("q%d", i), slowStop(time.Millisecond), time.Duration((i*53)%150+1)*10*time.Millisecond+5*time.Millisecond)
		}
		for i := range 250 {
			add(fmt.Sprintf("r%d", i), lingering(time.Hour, release), time.Duration((i*71)%250+1)*10*time.Millisecond+3*time.Millisecond)
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: children}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		stoppedAt := map[string]time.Time{}
		order := func(path string) {
			require.NoError(t, tr.Handle(path).Stop())
			stoppedAt[path] = time.Now()
		}
		for i := range 150 {
			order(fmt.Sprintf("t/h%d", i))
			order(fmt.Sprintf("t/q%d", i))
		}
		time.Sleep(2 * time.Millisecond) // the q's have returned: their entries are stale
		for i := range 250 {
			order(fmt.Sprintf("t/r%d", i)) // the heap reaches its sweep length
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		abandoned := rec.of(runtime.EventAbandoned)
		require.Len(t, abandoned, 400)
		for i, e := range abandoned {
			assert.Equal(t, grace[e.Path], e.Time.Sub(stoppedAt[e.Path]), e.Path)
			if i > 0 {
				assert.False(t, e.Time.Before(abandoned[i-1].Time), "in order: %s after %s", e.Path, abandoned[i-1].Path)
			}
		}
		assert.Len(t, rec.of(runtime.EventStopped), 150, "the q's returned within their grace")
		require.NoError(t, stop())
	})
}
