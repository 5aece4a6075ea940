package runtime_test

// Session 25's translations: cases of OTP's supervisor_SUITE and of suture
// v4's tests that the earlier peers_*_test.go files (see the map in
// peers_s20_test.go) translate only at friendly values, or not in the
// state where Arbor's behaviour differs. Where Arbor differs on purpose,
// the test asserts Arbor's choice and says so.

import (
	"context"
	"fmt"
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
// restarted by an order, ends on its own while its group stops (ended as
// part of that restart, while slow, after it, takes its time), or ends for
// good (ErrDoNotRestart) and an order starts it again. After up to exactly
// ResetAfter, its next attempt is attempt 1 and a failure of it waits
// Initial again; a millisecond less, and the streak goes on.
func TestS25StreakForgottenWhenStopped(t *testing.T) {
	for _, how := range []string{"group", "order", "member", "ended"} {
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
					case "ended":
						c.end(fmt.Errorf("finished: %w", runtime.ErrDoNotRestart))
						require.Equal(t, runtime.StateDone, status(t, tr, "t/c").State)
						require.NoError(t, tr.Handle("t/c").Restart())
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

// multiple_restarts and one_for_all_escalation at the edge, with a group
// that takes its time to stop: the restart of a one_for_all or
// rest_for_one group counts at the exit that asks for it, not when the
// group starts again (its slow member stops for 4s, its backoff is 1s).
// With intensity 1 in 10s, a second failure exactly 10s after the first
// is one too many, a nanosecond later it is not, and neither is one
// exactly 10s after the group started again.
func TestS25GroupRestartCountsAtTheExit(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		for _, tc := range []struct {
			second time.Duration // after the first failure
			gives  bool
		}{
			{10 * time.Second, true},
			{10*time.Second + time.Nanosecond, false},
			{15 * time.Second, false},
		} {
			t.Run(string(strategy)+"/"+tc.second.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					rec := &recorder{}
					c := newPuppet()
					slow := func(ctx context.Context, _ *runtime.Attempt) error {
						<-ctx.Done()
						time.Sleep(4 * time.Second)
						return nil
					}
					tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: constBackoff(time.Second),
						RestartLimit: &runtime.RestartLimit{Max: 1, Window: 10 * time.Second},
						Children: []runtime.Child{
							{Name: "c", Run: c.run},
							{Name: "slow", Run: slow, Shutdown: time.Minute},
						}}, runtime.WithObserver(rec.observe))
					stop, done := start(t, tr)
					synctest.Wait()
					first := time.Now()
					c.end(errBoom)
					time.Sleep(5 * time.Second)
					synctest.Wait()
					require.Equal(t, uint64(2), gen(t, tr, "t/c"), "the group started again after 4s and 1s")
					require.Equal(t, uint64(2), gen(t, tr, "t/slow"))
					time.Sleep(tc.second - time.Since(first))
					c.end(errBoom)
					gave := rec.of(runtime.EventGaveUp)
					if !tc.gives {
						assert.Empty(t, gave)
						require.NoError(t, stop())
						return
					}
					require.Len(t, gave, 1)
					assert.Equal(t, first.Add(tc.second), gave[0].Time, "at the exit")
					err := <-done // once slow has stopped
					var gu *runtime.GiveUpError
					require.ErrorAs(t, err, &gu)
					assert.Equal(t, "t/c", gu.Child)
					assert.Equal(t, 1, gu.Max)
				})
			})
		}
	}
}

// rest_for_one (and one_for_all) with a temporary child in the middle:
// OTP's restart of the group terminates the temporary child and does not
// start it again (temporary_bystander puts it last; here it is between the
// child that fails and one that must come back). The child after it
// starts again; the temporary one stays done, listed with its one
// generation and the stop as its last exit, and the tree is ready, with
// every child ended for good or running. Its own failure afterwards is
// impossible (it is done); a failure of the last child restarts that one
// alone under rest_for_one, and all but the temporary one under
// one_for_all.
func TestS25TemporaryInTheMiddle(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.RestForOne, runtime.OneForAll} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c1, c2, c3 := newPuppet(), newPuppet(), newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
					Children: []runtime.Child{
						{Name: "c1", Run: c1.run},
						{Name: "c2", Run: c2.run, Restart: runtime.Temporary},
						{Name: "c3", Run: c3.run},
					}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c1.end(errBoom)
				st := status(t, tr, "t/c2")
				assert.Equal(t, runtime.StateDone, st.State)
				assert.Equal(t, uint64(1), st.Generation)
				assert.Equal(t, runtime.ExitCancelled, st.LastExit)
				for _, p := range []string{"t/c1", "t/c3"} {
					assert.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
					assert.Equal(t, uint64(2), gen(t, tr, p), p)
				}
				h := tr.Health()
				assert.Equal(t, runtime.HealthReady, h.State, h.Reason)

				c3.end(errBoom)
				assert.Equal(t, uint64(3), gen(t, tr, "t/c3"))
				want := uint64(2) // rest_for_one: c3 is the last
				if strategy == runtime.OneForAll {
					want = 3
				}
				assert.Equal(t, want, gen(t, tr, "t/c1"))
				assert.Equal(t, runtime.StateDone, status(t, tr, "t/c2").State)
				assert.Equal(t, uint64(1), gen(t, tr, "t/c2"))
				require.NoError(t, stop())
			})
		})
	}
}

// count_restarting_children and which_children during a group restart,
// as Health reports them (what probes, systemd's STATUS= and arbor ctl
// show): while a one_for_all or rest_for_one group waits out its delay,
// the child that failed is restarting after its failure, and the members
// its failure stopped are restarting with their group, not "after
// cancelled: <nil>"; a permanent child that returned nil is restarting
// after success, without a nil error. Once the group is back, the tree is
// ready again.
func TestS25HealthDuringAGroupRestart(t *testing.T) {
	for _, tc := range []struct {
		strategy runtime.Strategy
		failed   string
		reason   string // the tree's
	}{
		{runtime.OneForAll, "c3", "t/c1: restarting with its group"},
		{runtime.RestForOne, "c2", "t/c2: restarting after error: boom"},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := map[string]*puppet{"c1": newPuppet(), "c2": newPuppet(), "c3": newPuppet()}
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: tc.strategy, Backoff: constBackoff(time.Second),
					Children: []runtime.Child{{Name: "c1", Run: p["c1"].run}, {Name: "c2", Run: p["c2"].run}, {Name: "c3", Run: p["c3"].run}}})
				stop, _ := start(t, tr)
				synctest.Wait()
				p[tc.failed].end(errBoom)
				h := tr.Health()
				assert.Equal(t, runtime.HealthDegraded, h.State)
				assert.Equal(t, tc.reason, h.Reason)
				for _, c := range h.Children {
					switch {
					case c.Path == "t/"+tc.failed:
						assert.Equal(t, "restarting after error: boom", c.Reason, c.Path)
					case c.State == runtime.StateBackoff:
						assert.Equal(t, "restarting with its group", c.Reason, c.Path)
					default:
						assert.True(t, c.OK, c.Path)
					}
				}
				time.Sleep(time.Second)
				synctest.Wait()
				h = tr.Health()
				assert.Equal(t, runtime.HealthReady, h.State, h.Reason)

				p["c3"].end(nil) // permanent: restarted after its backoff
				h = tr.Health()
				assert.Equal(t, runtime.HealthDegraded, h.State)
				if tc.strategy == runtime.RestForOne {
					assert.Equal(t, "t/c3: restarting after success", h.Reason)
				} else {
					assert.Equal(t, "t/c1: restarting with its group", h.Reason)
					assert.Equal(t, "restarting after success", h.Children[2].Reason)
				}
				require.NoError(t, stop())
			})
		})
	}
}

// terminate_child of a dynamic child that failed once and was restarted
// (Elixir's "terminate_child terminates restarting child" a while later)
// as Health sees it while the instance takes its time to stop: stopping
// on an order is how a pool ends work, and its old failure is no reason
// for this stop, so the tree stays ready. An instance stopping for a
// heartbeat it missed is not well, and says so; an order that takes
// over that stop makes it well again. A declared child stopping on an
// order says it is stopping, not "stopping after" its old failure.
func TestS25HealthOfAStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		c.failFrom, c.failTo = 1, 1
		lingerC := func(ctx context.Context, a *runtime.Attempt) error {
			err := c.run(ctx, a)
			if ctx.Err() != nil {
				time.Sleep(10 * time.Second) // cleans up
			}
			return err
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "c", Run: lingerC, Shutdown: time.Minute},
			{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: time.Minute, Heartbeat: &runtime.Heartbeat{Timeout: time.Second}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		instance := func(beats bool) runtime.RunFunc {
			return func(ctx context.Context, a *runtime.Attempt) error {
				if a.Generation() == 1 && beats {
					return errBoom
				}
				for beats && ctx.Err() == nil {
					a.Beat()
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
				<-ctx.Done()
				time.Sleep(10 * time.Second) // cleans up
				return nil
			}
		}
		done, err := p.Start("done", instance(true))
		require.NoError(t, err)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, uint64(2), status(t, tr, "t/p/done").Generation)
		require.Equal(t, uint64(2), gen(t, tr, "t/c"))
		h := tr.Health()
		require.Equal(t, runtime.HealthReady, h.State, h.Reason)

		require.NoError(t, done.Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/p/done").State)
		h = tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)
		time.Sleep(time.Minute)
		synctest.Wait()

		stale, err := p.Start("stale", instance(false))
		require.NoError(t, err)
		time.Sleep(2 * time.Second) // past its heartbeat timeout and a half
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/p/stale").State)
		h = tr.Health()
		assert.Equal(t, runtime.HealthDegraded, h.State)
		assert.Equal(t, "t/p/stale: stopping after timeout: arbor: heartbeat missed", h.Reason)
		require.NoError(t, stale.Stop()) // takes over the stop
		synctest.Wait()
		h = tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)
		time.Sleep(time.Minute)
		synctest.Wait()

		require.NoError(t, tr.Handle("t/c").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/c").State)
		h = tr.Health()
		assert.Equal(t, runtime.HealthDegraded, h.State)
		assert.Equal(t, "t/c: stopping", h.Reason)
		require.NoError(t, stop())
	})
}

// badStringer's String method panics with a badStringer.
type badStringer struct{}

func (badStringer) String() string { panic(badStringer{}) }

// badError's Error method panics, also on a nil pointer.
type badError struct{}

func (*badError) Error() string { panic("no text") }

// suture's TestFailures with a service that panics, at odd values: nil
// (a *runtime.PanicNilError since Go 1.21, not a runtime.Goexit), a value
// whose String method panics with itself, an error whose Error method
// panics (also a nil one), a value that refers to itself. Each is a
// panic: the child is restarted after its backoff, its last exit is a
// panic wrapping ErrPanic, and the events and Health describe it without
// calling the value's methods out of a recover.
func TestS25PanicsWithOddValues(t *testing.T) {
	type self struct{ p *self }
	loop := &self{}
	loop.p = loop
	for name, v := range map[string]any{
		"nil":         nil,
		"badStringer": badStringer{},
		"badError":    &badError{},
		"nilBadError": (*badError)(nil),
		"selfRef":     loop,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
					{Name: "c", Run: func(ctx context.Context, a *runtime.Attempt) error {
						if a.Generation() == 1 {
							panic(v)
						}
						<-ctx.Done()
						return nil
					}},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				st := status(t, tr, "t/c")
				assert.Equal(t, runtime.ExitPanic, st.LastExit)
				assert.ErrorIs(t, st.LastError, runtime.ErrPanic)
				var pe *runtime.PanicError
				require.ErrorAs(t, st.LastError, &pe)
				assert.NotEmpty(t, pe.Stack)
				assert.Contains(t, tr.Health().Reason, "t/c: restarting after panic: panic: ")
				for _, e := range rec.all() {
					assert.NotEmpty(t, e.String())
				}
				time.Sleep(time.Second)
				synctest.Wait()
				assert.Equal(t, uint64(2), gen(t, tr, "t/c"))
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c").State)
				require.NoError(t, stop())
			})
		})
	}
}

// TestS25HeartbeatDuringShutdownKeepsTheOrder: a child that stops beating
// while the shutdown stops its dependent first is stopped in its turn, not
// before: its dependent may still use it, and the stops are reported in
// reverse start order. It was stopped at once for its missed heartbeat, a
// failure, while its dependent was still stopping.
func TestS25HeartbeatDuringShutdownKeepsTheOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var tr *runtime.Tree
		tr = mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Minute, Children: []runtime.Child{
			{Name: "db", Shutdown: 10 * time.Second, Heartbeat: &runtime.Heartbeat{Timeout: time.Second},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					for {
						select {
						case <-ctx.Done():
							return nil
						case <-tr.Stopping():
							<-ctx.Done() // busy with the shutdown: no more beats
							return nil
						case <-time.After(100 * time.Millisecond):
							a.Beat()
						}
					}
				}},
			{Name: "api", After: []string{"db"}, Shutdown: 10 * time.Second, Run: slowStop(5 * time.Second)}, // draining requests that use db
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(time.Second)
		synctest.Wait()
		require.NoError(t, stop())
		assert.Equal(t, []string{"api stopped", "db stopped"},
			rec.trace(runtime.EventStopped, runtime.EventExited, runtime.EventAbandoned))
	})
}

// TestS25ReadyTimeoutDuringShutdownKeepsTheOrder: the same for a child
// whose ready timeout runs out while the shutdown stops a sibling started
// after it: it is stopped in its turn, after that sibling.
func TestS25ReadyTimeoutDuringShutdownKeepsTheOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Minute, Children: []runtime.Child{
			{Name: "db", Ready: &runtime.Ready{Timeout: 2 * time.Second}, Shutdown: 10 * time.Second, Run: nop},
			{Name: "w", Shutdown: 10 * time.Second, Run: slowStop(5 * time.Second)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(time.Second)
		synctest.Wait()
		require.NoError(t, stop())
		assert.Equal(t, []string{"w stopped", "db stopped"},
			rec.trace(runtime.EventStopped, runtime.EventExited, runtime.EventAbandoned))
	})
}
