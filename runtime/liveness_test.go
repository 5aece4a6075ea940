package runtime_test

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// warm becomes ready after d.
func warm(d time.Duration) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		select {
		case <-time.After(d):
			a.Ready()
		case <-ctx.Done():
			return nil
		}
		<-ctx.Done()
		return nil
	}
}

func TestAfterWaitsForReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "api", Run: nop, After: []string{"db"}},
			{Name: "db", Run: warm(2 * time.Second), Ready: &runtime.Ready{Timeout: 5 * time.Second}},
			{Name: "cron", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State)
		assert.Equal(t, runtime.StateStarting, status(t, tr, "t/db").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/cron").State, "not held back by an unrelated sibling")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State)
		require.NoError(t, stop())

		assert.Equal(t, []string{
			"db starting", "api waiting", "cron starting", "db ready", "api starting",
			"cron stopped", "api stopped", "db stopped",
		}, rec.trace(runtime.EventStarting, runtime.EventReady, runtime.EventWaiting, runtime.EventStopped),
			"api starts after db is ready and stops before it; stop order is the reverse of the declared start order db, api, cron")
		api := rec.of(runtime.EventStarting)[2]
		assert.Equal(t, "t/api", api.Path)
		ready := rec.of(runtime.EventReady)[0]
		assert.False(t, api.Time.Before(ready.Time))
		assert.Equal(t, []string{"db"}, rec.of(runtime.EventWaiting)[0].Waiting)
	})
}

// TestAfterGatesRestarts: a dependent restarting while its dependency is
// down waits for it again.
func TestAfterGatesRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var apiStarts atomic.Int32
		failAPI := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "db", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				if a.Generation() == 1 {
					a.Ready()
					<-failAPI
					return errBoom // db goes down at the same moment as api
				}
				time.Sleep(3 * time.Second) // a slow second warm-up
				a.Ready()
				<-ctx.Done()
				return nil
			}},
			{Name: "api", After: []string{"db"}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				apiStarts.Add(1)
				select {
				case <-failAPI:
					time.Sleep(time.Millisecond)
					return errBoom
				case <-ctx.Done():
					return nil
				}
			}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(failAPI)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.EqualValues(t, 1, apiStarts.Load(), "api waits for db's new attempt to be ready")
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.EqualValues(t, 2, apiStarts.Load())
		require.NoError(t, stop())
	})
}

// TestAfterDoesNotRestart: after orders; restarting dependents is the
// strategy's job.
func TestAfterDoesNotRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "db", Run: failing(fail)},
			{Name: "api", Run: nop, After: []string{"db"}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		assert.Equal(t, 1, status(t, tr, "t/db").Restarts)
		assert.Equal(t, 0, status(t, tr, "t/api").Restarts)
		require.NoError(t, stop())
	})
}

// TestCompletedDependencySatisfiesAfter: a one-shot dependency that finished
// successfully lets its dependents start, as systemd does for oneshot units.
func TestCompletedDependencySatisfiesAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "migrate", Restart: runtime.Transient, Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				time.Sleep(time.Second)
				return nil // done without calling Ready
			}},
			{Name: "api", Run: nop, After: []string{"migrate"}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/migrate").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State)
		require.NoError(t, stop())
	})
}

func TestReadyTimeoutIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "db", Ready: &runtime.Ready{Timeout: 2 * time.Second}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				if starts.Add(1) > 1 {
					a.Ready()
				}
				<-ctx.Done()
				return ctx.Err()
			}},
			{Name: "api", Run: nop, After: []string{"db"}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		exits := rec.of(runtime.EventExited)
		require.Len(t, exits, 1)
		assert.Equal(t, runtime.ExitTimeout, exits[0].Exit)
		assert.ErrorIs(t, exits[0].Err, runtime.ErrReadyTimeout)
		assert.Equal(t, 2*time.Second, exits[0].Time.Sub(rec.all()[0].Time))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/db").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State)
		require.NoError(t, stop())
	})
}

func TestReadyIsIdempotentAndFenced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "db", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				a.Ready()
				a.Ready()
				a.Ready()
				<-ctx.Done()
				return nil
			}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assert.Len(t, rec.of(runtime.EventReady), 1)
		assert.Zero(t, status(t, tr, "t/db").Fenced)
	})
}

func TestStaleHeartbeatIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "w", Heartbeat: &runtime.Heartbeat{Timeout: time.Second}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				beats := 5
				if a.Generation() > 1 {
					beats = 1 << 30
				}
				for i := 0; i < beats; i++ {
					select {
					case <-time.After(500 * time.Millisecond):
						a.Beat()
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				<-ctx.Done() // hangs without beating
				return ctx.Err()
			}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		exits := rec.of(runtime.EventExited)
		require.Len(t, exits, 1, "beating every 500ms keeps a 1s heartbeat alive")
		assert.Equal(t, runtime.ExitTimeout, exits[0].Exit)
		assert.ErrorIs(t, exits[0].Err, runtime.ErrHeartbeatTimeout, "the event says why")
		last := rec.all()[0].Time.Add(2500 * time.Millisecond) // the fifth beat
		stale := exits[0].Time.Sub(last)
		assert.GreaterOrEqual(t, stale, time.Second, "never before the timeout")
		assert.LessOrEqual(t, stale, 1500*time.Millisecond, "within the timeout and two watchdog ticks")
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/w").State)
		assert.Equal(t, 1, status(t, tr, "t/w").Restarts)
		require.NoError(t, stop())
	})
}

func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		deadlines := make(chan time.Duration, 10)
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Minute), Children: []runtime.Child{
			{Name: "job", Timeout: 3 * time.Second, Restart: runtime.Transient, Run: func(ctx context.Context, a *runtime.Attempt) error {
				d, ok := ctx.Deadline()
				require.True(t, ok, "the context carries the deadline")
				deadlines <- time.Until(d)
				<-ctx.Done()
				return ctx.Err()
			}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Equal(t, 3*time.Second, <-deadlines)
		exits := rec.of(runtime.EventExited)
		require.Len(t, exits, 1)
		assert.Equal(t, runtime.ExitTimeout, exits[0].Exit)
		assert.ErrorIs(t, exits[0].Err, runtime.ErrAttemptTimeout)
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/job").State, "a timeout is a failure: transient restarts")
		require.NoError(t, stop())
	})
}

// TestAttemptTimeoutIgnoredIsAbandoned: an attempt that ignores its deadline
// gets its grace, is abandoned, and its child restarts.
func TestAttemptTimeoutIgnoredIsAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "job", Timeout: time.Second, Shutdown: 2 * time.Second, Run: func(ctx context.Context, a *runtime.Attempt) error {
				if starts.Add(1) == 1 {
					<-release
				}
				<-ctx.Done()
				return nil
			}},
		}})
		stop, _ := start(t, tr)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.EqualValues(t, 2, starts.Load())
		require.Len(t, tr.ShutdownReport().Abandoned, 1)
		assert.Equal(t, 2*time.Second, tr.ShutdownReport().Abandoned[0].Waited)
		require.NoError(t, stop())
	})
}

func TestSignificantChildEndsTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "db", Run: nop},
			{Name: "migrate", Restart: runtime.Temporary, Significant: true, After: []string{"db"}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				time.Sleep(time.Second)
				return nil
			}},
			{Name: "api", Run: nop, After: []string{"migrate"}},
		}}, runtime.WithObserver(rec.observe))
		err := tr.Run(context.Background())
		require.NoError(t, err, "a significant end is a clean shutdown")
		assert.Equal(t, []string{"migrate exited", "api stopped", "db stopped"}, rec.trace(runtime.EventExited, runtime.EventStopped))
	})
}

// TestSignificantInNestedSupervisor: a nested supervisor whose significant
// child ends shuts down cleanly; as a transient child, it is then done.
func TestSignificantInNestedSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "api", Run: nop},
			{Name: "setup", Restart: runtime.Transient, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "helper", Run: nop},
				{Name: "migrate", Restart: runtime.Transient, Significant: true, Run: func(ctx context.Context, a *runtime.Attempt) error {
					return nil
				}},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/setup").State)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/setup/helper").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State)
		require.NoError(t, stop())
	})
}

// TestFencingUnderStress: an old attempt that keeps reporting after its
// successor started changes nothing, however hard it tries.
func TestFencingUnderStress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "trigger", Run: failing(fail)},
			{Name: "zombie", Shutdown: time.Second, Ready: &runtime.Ready{}, Heartbeat: &runtime.Heartbeat{Timeout: time.Hour},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					a.Ready()
					if a.Generation() > 1 {
						<-ctx.Done()
						return nil
					}
					<-release // ignores cancellation: abandoned
					for range 1000 {
						a.Ready()
						a.Beat()
					}
					return errBoom
				}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		time.Sleep(time.Second)
		synctest.Wait()
		before := status(t, tr, "t/zombie")
		require.Equal(t, uint64(2), before.Generation)
		close(release)
		synctest.Wait()
		after := status(t, tr, "t/zombie")
		assert.Equal(t, before.Generation, after.Generation)
		assert.Equal(t, before.Restarts, after.Restarts)
		assert.Equal(t, runtime.StateRunning, after.State)
		assert.EqualValues(t, 2001, after.Fenced)
		require.NoError(t, stop())
	})
}

// TestLateExitRestartsOnce: a late exit of an attempt already replaced does
// not cause a second restart.
func TestLateExitRestartsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "w", Heartbeat: &runtime.Heartbeat{Timeout: time.Second}, Shutdown: time.Second, Run: func(ctx context.Context, a *runtime.Attempt) error {
				if starts.Add(1) == 1 {
					<-release // hangs: stale, then abandoned after its grace
					return errBoom
				}
				for {
					select {
					case <-time.After(100 * time.Millisecond):
						a.Beat()
					case <-ctx.Done():
						return nil
					}
				}
			}},
		}})
		stop, _ := start(t, tr)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.EqualValues(t, 2, starts.Load())
		close(release)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.EqualValues(t, 2, starts.Load(), "exactly one restart, not two")
		assert.Equal(t, 1, status(t, tr, "t/w").Restarts)
		assert.EqualValues(t, 1, status(t, tr, "t/w").Fenced)
		require.NoError(t, stop())
	})
}

// TestAttemptTimeoutReadsAsDeadline: every timed-out attempt sees
// context.DeadlineExceeded with ErrAttemptTimeout as the cause, never a
// cancellation that raced the deadline.
func TestAttemptTimeoutReadsAsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct{ err, cause error }
		results := make(chan seen, 300)
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
			Children: []runtime.Child{{Name: "job", Timeout: time.Second, Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				results <- seen{ctx.Err(), context.Cause(ctx)}
				return ctx.Err()
			}}}})
		stop, _ := start(t, tr)
		time.Sleep(200*time.Second + time.Millisecond)
		require.NoError(t, stop())
		close(results)
		n := 0
		for r := range results {
			if n++; n > 200 {
				break // the last was stopped by the shutdown
			}
			require.ErrorIs(t, r.err, context.DeadlineExceeded, "attempt %d", n)
			require.ErrorIs(t, r.cause, runtime.ErrAttemptTimeout, "attempt %d", n)
		}
		assert.Equal(t, 201, n)
	})
}

// TestHeartbeatNeverStaleEarly: a child that beats on time is never taken
// for stale, even while a flood of exits keeps its supervisor's inbox full
// and another child's stale notice waits to get in.
func TestHeartbeatNeverStaleEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := behind(t, "", time.Millisecond)
		rec := &recorder{}
		children := []runtime.Child{
			{Name: "beater", Heartbeat: &runtime.Heartbeat{Timeout: 20 * time.Millisecond}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				for {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(time.Millisecond):
						a.Beat()
					}
				}
			}},
			{Name: "dead", Heartbeat: &runtime.Heartbeat{Timeout: 20 * time.Millisecond}, Run: nop},
		}
		for i := range 200 { // far more than an inbox holds
			children = append(children, runtime.Child{Name: fmt.Sprintf("flap%d", i), Run: func(context.Context, *runtime.Attempt) error { return errBoom }})
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: math.MaxInt32, Window: time.Nanosecond},
			Children:     children}, runtime.WithObserver(rec.observe), runtime.WithEventBuffer(1<<20))
		slow.Store(true)
		stop, _ := start(t, tr)
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, stop()) // still slow: with no backoff, the flood would never let time pass
		for _, e := range rec.of(runtime.EventExited) {
			if e.Path == "t/beater" {
				t.Fatalf("beater taken for stale: %v", e)
			}
		}
		assert.Equal(t, uint64(1), status(t, tr, "t/beater").Generation)
		if !assert.Greater(t, status(t, tr, "t/dead").Generation, uint64(1), "the dead one was found") {
			t.Logf("dead: %+v", status(t, tr, "t/dead"))
			for _, e := range rec.all() {
				if e.Path == "t/dead" || e.Path == "t" {
					t.Logf("%v", e)
				}
			}
		}
	})
}

// TestAfterNameTwice: a name given twice in After is the same dependency.
// arbor gen refuses such a spec now, but code generated before it did
// still builds against this runtime: New must not make it a program that
// panics at start.
func TestAfterNameTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "api", Run: nop, After: []string{"db", "db"}},
			{Name: "db", Run: warm(2 * time.Second), Ready: &runtime.Ready{Timeout: 5 * time.Second}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State)
		require.NoError(t, tr.Handle("t/db").Restart())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State, "after orders; it does not restart")
		require.NoError(t, stop())
		assert.Equal(t, []string{
			"db starting", "api waiting", "db ready", "api starting",
			"db stopped", "db starting", "db ready",
			"api stopped", "db stopped",
		}, rec.trace(runtime.EventStarting, runtime.EventReady, runtime.EventWaiting, runtime.EventStopped))
	})
}
