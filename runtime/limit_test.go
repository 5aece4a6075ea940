package runtime_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

func alwaysFail(starts *atomic.Int32) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		starts.Add(1)
		return errBoom
	}
}

func TestRestartLimitGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var starts atomic.Int32
		var stopped atomic.Bool
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: 10 * time.Second},
			Children: []runtime.Child{
				{Name: "bystander", Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					stopped.Store(true)
					return nil
				}},
				{Name: "bad", Run: alwaysFail(&starts)},
			}}, runtime.WithObserver(rec.observe))
		begin := time.Now()
		err := tr.Run(context.Background())
		assert.Equal(t, 2*time.Second, time.Since(begin), "third failure at t=2s is the third restart within 10s")
		assert.EqualValues(t, 3, starts.Load())
		assert.True(t, stopped.Load(), "giving up stops every child")

		require.Error(t, err)
		assert.ErrorIs(t, err, runtime.ErrRestartLimit)
		assert.ErrorIs(t, err, errBoom, "wraps the last failure")
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "t", gu.Supervisor)
		assert.Equal(t, "t/bad", gu.Child)
		var ce *runtime.ChildError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, uint64(3), ce.Generation)
		assert.Equal(t, "arbor: t gave up: restart limit (2 in 10s) exceeded; last failure: t/bad (generation 3, attempt 3): error: boom", err.Error())

		gaveUp := rec.of(runtime.EventGaveUp)
		require.Len(t, gaveUp, 1)
		assert.Equal(t, "t", gaveUp[0].Path)
	})
}

// TestRestartWindowSlides: restarts spaced wider than window/max never add up
// to more than max within any window, however many there are.
func TestRestartWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(6 * time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: 10 * time.Second},
			Children:     []runtime.Child{{Name: "bad", Run: alwaysFail(&starts)}},
		})
		stop, done := start(t, tr)
		time.Sleep(time.Minute + time.Second)
		select {
		case err := <-done:
			t.Fatalf("gave up: %v", err)
		default:
		}
		assert.EqualValues(t, 11, starts.Load())
		require.NoError(t, stop())
	})
}

func TestChildRestartLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "ok", Run: nop},
			{Name: "bad", Run: alwaysFail(&starts), RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute}},
		}})
		err := tr.Run(context.Background())
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "t/bad", gu.Child)
		assert.Equal(t, 1, gu.Max)
		assert.True(t, gu.ChildLimit)
		assert.EqualValues(t, 2, starts.Load())
		// The limit named is the child's, and the message says so.
		assert.Equal(t, "arbor: t gave up: t/bad exceeded its own restart limit (1 in 1m0s); last failure: t/bad (generation 2, attempt 2): error: boom", err.Error())
	})
}

// TestGiveUpAfterSuccess: a permanent child that keeps returning nil (a
// server started in a goroutine, say) is restarted each time, and the
// give-up says why, not "last failure: ... success: <nil>".
func TestGiveUpAfterSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute},
			Children: []runtime.Child{{Name: "quick", Run: runtime.Func(func(context.Context) error { return nil })}}})
		err := tr.Run(context.Background())
		require.ErrorIs(t, err, runtime.ErrRestartLimit)
		assert.Equal(t, "arbor: t gave up: restart limit (1 in 1m0s) exceeded; last failure: t/quick (generation 2, attempt 2): success: returned nil, and a permanent child is restarted whenever it returns", err.Error())
	})
}

// TestNestedEscalation: an inner supervisor with limit 1 whose child always
// fails, under a root with limit 2, starts that child exactly 6 times.
func TestNestedEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "root", RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Minute},
			Children: []runtime.Child{{Name: "inner", Supervisor: &runtime.Spec{
				RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute},
				Children:     []runtime.Child{{Name: "child", Run: alwaysFail(&starts)}},
			}}}})
		err := tr.Run(context.Background())
		assert.EqualValues(t, 6, starts.Load())

		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "root", gu.Supervisor)
		assert.Equal(t, "root/inner", gu.Child)
		var inner *runtime.GiveUpError
		require.ErrorAs(t, gu.Err, &inner)
		assert.Equal(t, "root/inner/child", inner.Child)
		assert.ErrorIs(t, err, errBoom)
		assert.Contains(t, err.Error(), "root/inner/child")
		assert.Equal(t, 2, status(t, tr, "root/inner").Restarts)
		assert.Equal(t, 5, status(t, tr, "root/inner/child").Restarts)
	})
}

// TestTransientNestedSupervisorIsRestarted: unlike OTP, where a supervisor
// that gave up exits with reason shutdown and a transient parent entry does
// not restart it, giving up is a failure here.
func TestTransientNestedSupervisorIsRestarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "root", RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute},
			Children: []runtime.Child{{Name: "inner", Restart: runtime.Transient, Supervisor: &runtime.Spec{
				RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Minute},
				Children:     []runtime.Child{{Name: "child", Run: alwaysFail(&starts)}},
			}}}})
		err := tr.Run(context.Background())
		assert.ErrorIs(t, err, runtime.ErrRestartLimit)
		assert.EqualValues(t, 2, starts.Load())
	})
}

func TestNestedSupervisorShutsDownItsChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: nop},
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop}, {Name: "y", Run: nop}}}},
			{Name: "b", Run: nop, After: []string{"n"}}, // n is ready once x and y are
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assert.Equal(t, []string{
			"a starting", "n starting", "n/x starting", "n/y starting", "b starting",
			"b stopped", "n/y stopped", "n/x stopped", "n stopped", "a stopped",
		}, rec.trace(lifecycle...))
	})
}

func TestGiveUpErrorUnwrap(t *testing.T) {
	err := &runtime.GiveUpError{Supervisor: "t", Child: "t/a", Max: 1, Window: time.Second, Err: errBoom}
	assert.True(t, errors.Is(err, runtime.ErrRestartLimit))
	assert.True(t, errors.Is(err, errBoom))
}

// TestLimitEventsAreDatedAtTheDecision: a restart and a give-up are dated
// when the supervisor decided them, at the exit that caused them, not when
// the event was built: an observer that checks the limit against the
// events' times must count what the supervisor counted.
func TestLimitEventsAreDatedAtTheDecision(t *testing.T) {
	for name, strategy := range map[string]runtime.Strategy{"one_for_one": runtime.OneForOne, "one_for_all": runtime.OneForAll} {
		t.Run(name, func(t *testing.T) {
			var rec recorder
			var starts atomic.Int32
			tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
				RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Minute},
				Children: []runtime.Child{
					{Name: "bad", Run: func(ctx context.Context, a *runtime.Attempt) error {
						starts.Add(1)
						time.Sleep(time.Millisecond) // each exit at its own time
						return errBoom
					}},
				}}, runtime.WithObserver(rec.observe))
			require.ErrorIs(t, tr.Run(context.Background()), runtime.ErrRestartLimit)
			var exits []time.Time
			var decisions []runtime.Event
			for _, e := range rec.all() {
				switch e.Kind {
				case runtime.EventExited:
					exits = append(exits, e.Time)
				case runtime.EventRestartScheduled, runtime.EventGaveUp:
					decisions = append(decisions, e)
				}
			}
			require.Len(t, exits, 3)
			require.Len(t, decisions, 3)
			for i, e := range decisions {
				assert.Equal(t, exits[i], e.Time, "%s after exit %d", e.Kind, i+1)
			}
		})
	}
}
