package runtime_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// delays runs a child that fails n times, at once or after up, and returns
// the delays its restarts were scheduled with.
func delays(t *testing.T, b *runtime.Backoff, n int, up func(gen uint64) time.Duration) []time.Duration {
	t.Helper()
	var out []time.Duration
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: b,
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
			Children: []runtime.Child{{Name: "a", Run: func(ctx context.Context, a *runtime.Attempt) error {
				if int(starts.Add(1)) > n {
					<-ctx.Done()
					return nil
				}
				if up != nil {
					time.Sleep(up(a.Generation()))
				}
				return errBoom
			}}}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		for int(starts.Load()) <= n {
			time.Sleep(time.Second)
		}
		require.NoError(t, stop())
		for _, e := range rec.of(runtime.EventRestartScheduled) {
			out = append(out, e.Delay)
		}
	})
	return out
}

func TestBackoffGrowsToMax(t *testing.T) {
	ms := time.Millisecond
	got := delays(t, &runtime.Backoff{Initial: 100 * ms, Max: time.Second, Multiplier: 2, ResetAfter: time.Hour}, 6, nil)
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, got)
}

func TestBackoffJitterIsRandomAndBounded(t *testing.T) {
	b := &runtime.Backoff{Initial: time.Second, Max: time.Second, Jitter: 0.5, ResetAfter: time.Hour}
	got := delays(t, b, 30, nil)
	require.Len(t, got, 30)
	distinct := map[time.Duration]bool{}
	var below, above bool
	for _, d := range got {
		assert.GreaterOrEqual(t, d, 500*time.Millisecond)
		assert.LessOrEqual(t, d, 1500*time.Millisecond)
		distinct[d] = true
		below = below || d < time.Second
		above = above || d > time.Second
	}
	assert.Greater(t, len(distinct), 25, "a real random source spreads the delays")
	assert.True(t, below && above, "jitter spreads both ways")

	again := delays(t, b, 30, nil)
	assert.NotEqual(t, got, again, "not a fixed seed")
}

func TestBackoffResetsAfterStablePeriod(t *testing.T) {
	ms := time.Millisecond
	b := &runtime.Backoff{Initial: 100 * ms, Max: 10 * time.Second, Multiplier: 2, ResetAfter: time.Minute}
	got := delays(t, b, 5, func(gen uint64) time.Duration {
		if gen == 3 {
			return 2 * time.Minute // stays up past ResetAfter, then fails
		}
		return 0
	})
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 100 * ms, 200 * ms, 400 * ms}, got)
}

func TestDefaultBackoff(t *testing.T) {
	got := delays(t, nil, 3, nil)
	require.Len(t, got, 3)
	for i, base := range []time.Duration{100, 200, 400} {
		base *= time.Millisecond
		assert.InDelta(t, float64(base), float64(got[i]), 0.2*float64(base)+1, "restart %d", i+1)
	}
}

func TestShutdownDoesNotWaitForBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour), Children: []runtime.Child{
			{Name: "a", Run: alwaysFail(&starts)},
		}})
		stop, _ := start(t, tr)
		time.Sleep(time.Second)
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/a").State)
		begin := time.Now()
		require.NoError(t, stop())
		assert.Zero(t, time.Since(begin))
		assert.EqualValues(t, 1, starts.Load())
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/a").State)
	})
}

func TestChildBackoffOverride(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour), Children: []runtime.Child{
			{Name: "a", Run: alwaysFail(&starts), Backoff: constBackoff(time.Second), Restart: runtime.Transient,
				RestartLimit: &runtime.RestartLimit{Max: 100, Window: time.Second}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(1500 * time.Millisecond)
		require.NoError(t, stop())
		assert.EqualValues(t, 2, starts.Load())
		assert.Equal(t, time.Second, rec.of(runtime.EventRestartScheduled)[0].Delay)
	})
}

// TestHugeBackoffDoesNotOverflow: a Max near the longest Duration, spread
// by jitter, must not wrap to a negative delay and restart at once.
func TestHugeBackoffDoesNotOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t",
			Backoff: &runtime.Backoff{Initial: math.MaxInt64 / 2, Max: math.MaxInt64, Multiplier: 4, Jitter: 1},
			Children: []runtime.Child{{Name: "a", Run: func(ctx context.Context, a *runtime.Attempt) error {
				starts.Add(1)
				return errBoom
			}}}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		for range 20 {
			time.Sleep(time.Hour)
			synctest.Wait()
		}
		assert.EqualValues(t, 1, starts.Load(), "the restart waits, at most for ever")
		for _, e := range rec.of(runtime.EventRestartScheduled) {
			assert.GreaterOrEqual(t, e.Delay, time.Duration(0))
		}
		require.NoError(t, stop())
	})
	for n := 1; n < 100; n++ {
		for range 20 {
			d := runtime.Delay(&runtime.Backoff{Initial: time.Hour, Max: math.MaxInt64, Multiplier: 10, Jitter: 1}, n)
			require.GreaterOrEqual(t, d, time.Duration(0), "restart %d", n)
		}
	}
}

// TestHugeDelaysKeepOtherTimers: a delay of almost for ever, set once the
// tree's clock has moved on (a backoff, a grace), must not wrap into the
// past: it would sort before every other timer of its supervisor and hold
// them back, or be found due as soon as another fires.
func TestHugeDelaysKeepOtherTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var aStarts, bStarts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t",
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
			Shutdown:     math.MaxInt64,
			Children: []runtime.Child{{Name: "a",
				Backoff: &runtime.Backoff{Initial: math.MaxInt64, Max: math.MaxInt64},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					aStarts.Add(1)
					time.Sleep(time.Second)
					return errBoom
				}}, {Name: "b",
				Backoff: &runtime.Backoff{Initial: time.Second, Max: time.Second},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					bStarts.Add(1)
					time.Sleep(2 * time.Second)
					return errBoom
				}}, {Name: "slow", Shutdown: math.MaxInt64,
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					time.Sleep(10 * time.Second) // within its grace of for ever
					return nil
				}}}})
		stop, _ := start(t, tr)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.EqualValues(t, 1, aStarts.Load(), "a's backoff is for ever")
		assert.InDelta(t, 1200, bStarts.Load(), 2, "b restarts every 3s, whatever a waits for")

		require.NoError(t, tr.Handle("t/slow").Stop())
		time.Sleep(5 * time.Second) // b's backoffs fire meanwhile
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, status(t, tr, "t/slow").State, "slow has its whole grace")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/slow").State)
		assert.Empty(t, tr.ShutdownReport().Abandoned)
		require.NoError(t, stop())
	})
}
