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

// sup_stop_race: children that end on their own, for every reason and
// restart type, while their supervisor is stopping (here while the last
// child, first in stop order, takes 1s to stop) are not restarted, and the
// shutdown completes: Run returns nil once that child has returned,
// nothing is abandoned, and each child ran once.
func TestS18SupStopRace(t *testing.T) {
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
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
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
		running := startWithPayload(t, tmp, "b", false)
		kept := startWithPayload(t, perm, "c", false)
		stopped := startWithPayload(t, perm, "d", false)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/perm/d").StopAndWait(context.Background()))
		require.NoError(t, tr.Handle("t/tmp/b").StopAndWait(context.Background()))
		assert.Equal(t, 0, tmp.Len())
		assert.Equal(t, 1, perm.Len())
		assert.True(t, gone(failed), "a temporary instance that failed")
		assert.True(t, gone(running), "a temporary instance that was stopped")
		assert.True(t, gone(stopped), "a permanent instance that was stopped")
		assert.False(t, gone(kept), "a live permanent instance keeps its run function")
		require.NoError(t, stop())
	})
}
