package runtime_test

// Deadlines from the point of view of an attempt that met them: what it did
// before a deadline passed decides its exit, however late its supervisor
// gets to the deadline.

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestDeadlineAfterReturnIsNoFault: a transient child returns nil 50ms into
// its 100ms deadline (a ready timeout, a heartbeat of 20ms it kept until
// then, an attempt timeout) while its supervisor is held up elsewhere, until
// the deadline has passed. It completed in time: it is done, not stopped
// for a missed deadline and restarted as a failure.
func TestDeadlineAfterReturnIsNoFault(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*runtime.Child)
	}{
		{"ready", func(c *runtime.Child) { c.Ready = &runtime.Ready{Timeout: 100 * time.Millisecond} }},
		{"heartbeat", func(c *runtime.Child) { c.Heartbeat = &runtime.Heartbeat{Timeout: 20 * time.Millisecond} }},
		{"timeout", func(c *runtime.Child) { c.Timeout = 100 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				arm, release := holdOnce(t, "t")
				c := runtime.Child{Name: "c", Restart: runtime.Transient, Backoff: constBackoff(time.Hour),
					Run: func(ctx context.Context, a *runtime.Attempt) error {
						for range 10 {
							a.Beat()
							time.Sleep(5 * time.Millisecond)
						}
						return nil // 50ms in: its work is done
					}}
				tc.set(&c)
				rec := &recorder{}
				tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
					c, {Name: "other", Run: nop},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				arm()
				require.NoError(t, tr.Handle("t/other").Restart())
				time.Sleep(150 * time.Millisecond) // c returns at 50ms; its deadline passes at 100ms
				release()
				synctest.Wait()
				st := status(t, tr, "t/c")
				assert.Equal(t, runtime.StateDone, st.State, "c returned nil in time: %+v", st)
				assert.Equal(t, runtime.ExitSuccess, st.LastExit)
				assert.NoError(t, st.LastError)
				assert.Empty(t, rec.of(runtime.EventRestartScheduled))
				require.NoError(t, stop())
			})
		})
	}
}

// TestGroupStopAfterReturnKeepsTheExit: in a one_for_all group, b fails
// and a, the first of the group to stop, ends on its own 10ms later, while
// their supervisor is held up elsewhere; it then takes b's failure first.
// a ended before it was asked to stop: its exit is its own, as for a
// member whose exit comes while the group stops its siblings (see
// TestSignificantMemberEndingInGroupRestart). A success is an exit, not a
// stop, and a starts again with the group; ErrDoNotRestart ends it for good.
// Asked to stop all the same, its exit was taken as that stop.
func TestGroupStopAfterReturnKeepsTheExit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		state runtime.State
		exit  runtime.ExitKind
		trace []string
	}{
		{"success", nil, runtime.StateRunning, runtime.ExitSuccess,
			[]string{"a starting", "b exited", "a exited", "b starting", "a starting"}},
		{"do not restart", runtime.ErrDoNotRestart, runtime.StateDone, runtime.ExitError,
			[]string{"a starting", "b exited", "a exited", "b starting"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				arm, release := holdOnce(t, "t")
				rec := &recorder{}
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
					{Name: "b", Run: func(ctx context.Context, a *runtime.Attempt) error {
						if a.Generation() == 1 {
							time.Sleep(40 * time.Millisecond)
							return errBoom
						}
						<-ctx.Done()
						return nil
					}},
					{Name: "other", Run: nop},
					{Name: "a", Restart: runtime.Transient, Run: func(ctx context.Context, a *runtime.Attempt) error {
						if a.Generation() == 1 {
							time.Sleep(50 * time.Millisecond)
							return tc.err // on its own
						}
						<-ctx.Done()
						return nil
					}},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				arm()
				require.NoError(t, tr.Handle("t/other").Restart())
				time.Sleep(100 * time.Millisecond) // b fails at 40ms, a ends at 50ms
				release()
				synctest.Wait()
				var trace []string
				for _, line := range rec.trace(runtime.EventStarting, runtime.EventExited, runtime.EventStopped) {
					if !strings.HasPrefix(line, "other ") {
						trace = append(trace, line)
					}
				}
				assert.Equal(t, append([]string{"b starting"}, tc.trace...), trace)
				st := status(t, tr, "t/a")
				assert.Equal(t, tc.state, st.State)
				if tc.state == runtime.StateDone {
					assert.Equal(t, tc.exit, st.LastExit)
				}
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/b").State)
				require.NoError(t, stop())
			})
		})
	}
}

// TestPoolShutdownAfterReturnKeepsTheExit: an instance that failed on its
// own just before its pool began to stop, while the pool was busy, keeps
// its exit: it is reported as exited with its error, not as stopped by the
// shutdown, as a static child's is (TestGroupStopAfterReturnKeepsTheExit).
func TestPoolShutdownAfterReturnKeepsTheExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arm, release := holdOnce(t, "t/p")
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}},
		}}, runtime.WithObserver(rec.observe))
		stop, done := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		_, err := p.Start("x", func(ctx context.Context, a *runtime.Attempt) error {
			time.Sleep(50 * time.Millisecond)
			return errBoom // on its own
		})
		require.NoError(t, err)
		y, err := p.Start("y", nop)
		require.NoError(t, err)
		synctest.Wait()
		arm()
		require.NoError(t, y.Restart())
		time.Sleep(60 * time.Millisecond) // x has failed, its exit is queued
		go stop()
		synctest.Wait()
		release()
		require.NoError(t, <-done)
		var x []runtime.Event
		for _, e := range rec.all() {
			if e.Path == "t/p/x" && (e.Kind == runtime.EventExited || e.Kind == runtime.EventStopped) {
				x = append(x, e)
			}
		}
		require.Len(t, x, 1)
		assert.Equal(t, runtime.EventExited, x[0].Kind)
		assert.Equal(t, runtime.ExitError, x[0].Exit)
		assert.ErrorIs(t, x[0].Err, errBoom)
	})
}
