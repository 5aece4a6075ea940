package runtime_test

// Session 25's translations: cases of OTP's supervisor_SUITE and of suture
// v4's tests that the earlier peers_*_test.go files (see the map in
// peers_s20_test.go) translate only at friendly values, or not in the
// state where Arbor's behaviour differs. Where Arbor differs on purpose,
// the test asserts Arbor's choice and says so.

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

// TestS25StreakForgottenWhenStopped: suture's TestFailures forgets old
// failures with time (FailureDecay), whatever ends the service next, and
// the Backoff's ResetAfter is Arbor's form of it: n resets once an attempt
// has stayed up (and ready) for ResetAfter. Under rest_for_one, c fails
// three times (delays 1s, 2s, 4s), then its fourth attempt stays up; then
// it is stopped by its group's restart for the failure of sib, before it,
// restarted by an order, or ends on its own while its group stops (ended
// as part of that restart, while slow, after it, takes its time). After up
// to exactly ResetAfter, its next attempt is attempt 1 and a failure of it
// waits Initial again; a millisecond less, and the streak goes on.
func TestS25StreakForgottenWhenStopped(t *testing.T) {
	for _, how := range []string{"group", "order", "member"} {
		for _, up := range []time.Duration{time.Minute, time.Minute - time.Millisecond} {
			t.Run(how+"/"+up.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					rec := &recorder{}
					c, sib := newPuppet(), newPuppet()
					c.failFrom, c.failTo = 1, 3
					var hang atomic.Bool
					release := make(chan struct{})
					slow := func(ctx context.Context, a *runtime.Attempt) error {
						<-ctx.Done()
						if hang.Load() {
							<-release // stops slowly, within its grace
						}
						return nil
					}
					tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne,
						Backoff:      &runtime.Backoff{Initial: time.Second, Max: time.Hour, Multiplier: 2, ResetAfter: time.Minute},
						RestartLimit: &runtime.RestartLimit{Max: 100, Window: time.Hour},
						Children: []runtime.Child{
							{Name: "sib", Run: sib.run},
							{Name: "c", Run: c.run},
							{Name: "slow", Run: slow, Shutdown: time.Hour},
						},
					}, runtime.WithObserver(rec.observe))
					stop, _ := start(t, tr)
					time.Sleep(time.Minute)
					synctest.Wait()
					require.Equal(t, uint64(4), gen(t, tr, "t/c"))
					var started4 time.Time
					for _, e := range rec.of(runtime.EventStarting) {
						if e.Path == "t/c" && e.Generation == 4 {
							started4 = e.Time
						}
					}
					assert.Equal(t, 4, status(t, tr, "t/c").Attempt, "1 plus three restarts after its own failures")
					time.Sleep(time.Until(started4.Add(up)))
					switch how {
					case "group":
						sib.end(errBoom)
					case "order":
						require.NoError(t, tr.Handle("t/c").Restart())
						synctest.Wait()
					case "member":
						hang.Store(true)
						sib.end(errBoom) // slow is stopping, c waits its turn
						c.end(errBoom)   // and ends on its own meanwhile
						close(release)
						synctest.Wait()
					}
					time.Sleep(10 * time.Second) // past the group's delay, well short of ResetAfter
					synctest.Wait()
					st := status(t, tr, "t/c")
					require.Equal(t, uint64(5), st.Generation)
					wantAttempt, wantDelay := 1, time.Second
					if up < time.Minute {
						wantAttempt, wantDelay = 4, 8*time.Second
					}
					assert.Equal(t, wantAttempt, st.Attempt)
					c.end(errBoom)
					ev := rec.of(runtime.EventRestartScheduled)
					last := ev[len(ev)-1]
					require.Equal(t, "t/c", last.Path)
					assert.Equal(t, wantAttempt, last.Attempt)
					assert.Equal(t, wantDelay, last.Delay)
					require.NoError(t, stop())
				})
			})
		}
	}
}
