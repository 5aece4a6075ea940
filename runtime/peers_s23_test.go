package runtime_test

// Session 23's translations: cases of OTP's supervisor_SUITE, Elixir's
// DynamicSupervisor tests and suture v4's tests in states the earlier
// peers_*_test.go files leave out, and the systemd and Kubernetes
// behaviours the README says Arbor follows where OTP is silent.

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

// TestS23KubernetesCrashLoop: the kubelet's crash-loop backoff (10s
// doubling to 300s, forgotten after 10 minutes of running) written as a
// Backoff: each delay as Kubernetes waits it, capped, and the streak
// forgotten once an attempt stayed up (and ready) for ResetAfter.
func TestS23KubernetesCrashLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var upFor atomic.Int64 // how long the next attempt stays up before failing
		tr := mustNew(t, runtime.Spec{Name: "t",
			Backoff:      &runtime.Backoff{Initial: 10 * time.Second, Max: 300 * time.Second, Multiplier: 2, ResetAfter: 10 * time.Minute},
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Hour},
			Children: []runtime.Child{{Name: "c", Run: func(ctx context.Context, a *runtime.Attempt) error {
				select {
				case <-time.After(time.Duration(upFor.Load())):
					return errBoom
				case <-ctx.Done():
					return nil
				}
			}}},
		}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		delays := func() []time.Duration {
			var out []time.Duration
			for _, e := range rec.of(runtime.EventRestartScheduled) {
				out = append(out, e.Delay)
			}
			return out
		}
		s := time.Second
		// attempts fail at once, at 0, 10, 30, 70, 150, 310 and 610s
		time.Sleep(910*s - time.Millisecond)
		synctest.Wait()
		assert.Equal(t, []time.Duration{10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 300 * s, 300 * s}, delays())
		assert.Equal(t, 7, status(t, tr, "t/c").Attempt)
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/c").State)
		// the 8th attempt starts at 910s and stays up 10 minutes: forgotten
		upFor.Store(int64(10 * time.Minute))
		time.Sleep(time.Millisecond)
		synctest.Wait()
		require.Equal(t, uint64(8), gen(t, tr, "t/c"))
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		d := delays()
		require.Len(t, d, 8)
		assert.Equal(t, 10*s, d[7], "up for 10 minutes: the streak is forgotten")
		// a moment less than 10 minutes up: not forgotten
		upFor.Store(int64(10*time.Minute - time.Millisecond))
		time.Sleep(10*s + 10*time.Minute)
		synctest.Wait()
		d = delays()
		require.Len(t, d, 9)
		assert.Equal(t, 20*s, d[8])
		assert.Equal(t, 2, status(t, tr, "t/c").Attempt)
		require.NoError(t, stop())
	})
}

// TestS23NestedChildLimit: a nested supervisor with a RestartLimit of its
// own as a child (OTP's intensity is the supervisor's alone; Arbor adds a
// child's): its give-ups count against that limit, and the parent gives
// up naming the child's limit, while a sibling's failures do not count.
func TestS23NestedChildLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := newPuppet()
		w.failFrom, w.failTo = 1, 1000
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 100, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "other", Run: nop},
				{Name: "sub", RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour}, Supervisor: &runtime.Spec{
					Backoff: noBackoff, RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
					Children: []runtime.Child{{Name: "w", Run: w.run}}}},
			}}, runtime.WithObserver(rec.observe))
		_, done := start(t, tr)
		synctest.Wait()
		var err error
		select {
		case err = <-done:
		default:
			t.Fatal("still running")
		}
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)
		assert.Equal(t, "t", gu.Supervisor)
		assert.Equal(t, "t/sub", gu.Child)
		assert.True(t, gu.ChildLimit)
		assert.Equal(t, 2, gu.Max)
		assert.EqualValues(t, 3, status(t, tr, "t/sub").Generation, "two restarts allowed, the third failure gives up")
		assert.EqualValues(t, 2*3, w.starts.Load(), "each run of sub: a start and one restart of w")
		assert.Len(t, rec.of(runtime.EventGaveUp), 4)
	})
}

// TestS23RestartedSupervisorForgetsOrders: OTP restarts a supervisor from
// its child specs, so a child terminate_child stopped below it runs again
// when the supervisor is restarted; Arbor's README says the same ("a
// restarted supervisor starts every child from its spec"), by an order
// or by a failure.
func TestS23RestartedSupervisorForgetsOrders(t *testing.T) {
	for _, how := range []string{"order", "failure"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := newPuppet(), newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
					{Name: "sub", Supervisor: &runtime.Spec{Backoff: noBackoff, RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
						Children: []runtime.Child{{Name: "a", Run: a.run}, {Name: "b", Run: b.run}}}},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				require.NoError(t, tr.Handle("t/sub/a").StopAndWait(context.Background()))
				assert.Equal(t, runtime.StateStopped, status(t, tr, "t/sub/a").State)
				if how == "order" {
					require.NoError(t, tr.Handle("t/sub").Restart())
					synctest.Wait()
				} else {
					b.end(errBoom) // sub gives up at once, and is restarted
				}
				assert.EqualValues(t, 2, gen(t, tr, "t/sub"))
				st := status(t, tr, "t/sub/a")
				assert.Equal(t, runtime.StateRunning, st.State, "runs again")
				assert.EqualValues(t, 2, st.Generation)
				assert.EqualValues(t, 2, a.starts.Load())
				require.NoError(t, stop())
			})
		})
	}
}

// TestS23SignificantChain: OTP's auto_shutdown through levels: a
// significant child ends its supervisor cleanly; that supervisor, itself
// transient and significant in its parent, ends the parent cleanly in
// turn, and the root's Run returns nil. A permanent sibling at each level
// is stopped, in reverse order, not restarted.
func TestS23SignificantChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		job := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "x", Run: nop},
			{Name: "sub", Restart: runtime.Transient, Significant: true, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "y", Run: nop},
				{Name: "job", Restart: runtime.Transient, Significant: true, Run: job.run},
				{Name: "z", Run: nop},
			}}},
			{Name: "after", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		_, done := start(t, tr)
		synctest.Wait()
		job.end(nil)
		select {
		case err := <-done:
			require.NoError(t, err)
		default:
			t.Fatal("the tree still runs")
		}
		assert.Equal(t, []string{
			"sub/job exited", "sub shutting down", "sub/z stopped", "sub/y stopped",
			"sub exited", " shutting down", "after stopped", "x stopped",
		}, rec.trace(runtime.EventExited, runtime.EventStopped, runtime.EventShuttingDown))
		assert.Empty(t, rec.of(runtime.EventRestartScheduled))
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/sub").State)
	})
}

// TestS23WatchdogDuringGroupStop: systemd's WatchdogSec in a one_for_all
// group: a member whose heartbeat goes stale while it waits its turn to be
// stopped (a slower sibling stops first) is cancelled then, as one whose
// watchdog fired, and ends as part of the group restart: it counts
// nothing against the limit (OTP's terminate takes any exit of a member),
// and the group starts again once all have stopped.
func TestS23WatchdogDuringGroupStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		quiet := make(chan struct{})
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "b", Heartbeat: &runtime.Heartbeat{Timeout: time.Second}, Run: func(ctx context.Context, a *runtime.Attempt) error {
					tick := time.NewTicker(100 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-ctx.Done():
							return nil
						case <-tick.C:
							select {
							case <-quiet:
								if a.Generation() == 1 {
									continue // stops beating once c failed
								}
							default:
							}
							a.Beat()
						}
					}
				}},
				{Name: "a", Shutdown: time.Minute, Run: slowStop(5 * time.Second)},
				{Name: "c", Run: c.run},
			}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		close(quiet)
		c.end(errBoom)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.True(t, running(tr))
		for _, p := range []string{"t/a", "t/b", "t/c"} {
			st := status(t, tr, p)
			assert.EqualValues(t, 2, st.Generation, p)
			assert.Equal(t, runtime.StateRunning, st.State, p)
		}
		assert.Len(t, rec.of(runtime.EventRestartScheduled), 1, "the group restart alone")
		var bExit []runtime.ExitKind
		for _, e := range rec.of(runtime.EventExited) {
			if e.Path == "t/b" {
				bExit = append(bExit, e.Exit)
				assert.ErrorIs(t, e.Err, runtime.ErrHeartbeatTimeout)
			}
		}
		assert.Equal(t, []runtime.ExitKind{runtime.ExitTimeout}, bExit, "b's watchdog fired while a stopped")
		require.NoError(t, stop())
	})
}

// TestS23WatchdogHungAttempt: systemd aborts a service whose watchdog
// fired and kills it when it does not stop; Go cannot kill, so the stale
// attempt that ignores its cancellation is abandoned after its grace and
// the child restarts: one restart, counted once, at the abandonment. What
// the abandoned attempt does afterwards (beats, readiness, its late
// exit) is fenced and changes nothing, and it is in the shutdown report.
func TestS23WatchdogHungAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children: []runtime.Child{{Name: "w", Shutdown: 2 * time.Second, Ready: &runtime.Ready{},
				Heartbeat: &runtime.Heartbeat{Timeout: time.Second},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					a.Ready()
					if a.Generation() == 1 {
						<-release // neither beats nor stops
						a.Beat()
						a.Ready()
						return errBoom
					}
					for {
						select {
						case <-ctx.Done():
							return nil
						case <-time.After(100 * time.Millisecond):
							a.Beat()
						}
					}
				}}},
		}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(time.Minute)
		synctest.Wait()
		st := status(t, tr, "t/w")
		assert.EqualValues(t, 2, st.Generation)
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.Equal(t, 1, st.Abandoned)
		require.Len(t, rec.of(runtime.EventAbandoned), 1)
		assert.ErrorIs(t, rec.of(runtime.EventAbandoned)[0].Err, runtime.ErrHeartbeatTimeout)
		require.Len(t, rec.of(runtime.EventRestartScheduled), 1)
		close(release)
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		st = status(t, tr, "t/w")
		assert.EqualValues(t, 2, st.Generation, "the late exit restarts nothing")
		assert.EqualValues(t, 3, st.Fenced, "beat, ready and exit of the abandoned attempt")
		assert.True(t, running(tr), "nothing more counted against the limit of 1")
		require.NoError(t, stop())
		rep := tr.ShutdownReport()
		require.Len(t, rep.Abandoned, 1)
		assert.False(t, rep.Abandoned[0].Returned.IsZero())
	})
}

// TestS23SystemdStartLimit: systemd's Restart=on-failure with
// RestartSec=100ms under the default start limit (StartLimitBurst=5 in
// StartLimitIntervalSec=10s) written as Arbor's default limit, {5, 10s},
// with a constant 100ms backoff. systemd counts starts, the first one
// included, and refuses the sixth within the interval; Arbor counts
// restarts, as OTP counts intensity: the first start is free, five
// restarts are allowed, and the sixth failure within 10s gives up. Run
// returns the give-up, which runtime/exit turns into exit status 1 for
// the service manager to act on.
func TestS23SystemdStartLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(100 * time.Millisecond), Children: []runtime.Child{
			{Name: "svc", Restart: runtime.Transient, Run: func(ctx context.Context, a *runtime.Attempt) error {
				starts.Add(1)
				return errBoom
			}},
		}})
		begin := time.Now()
		err := tr.Run(context.Background())
		assert.ErrorIs(t, err, runtime.ErrRestartLimit)
		assert.ErrorIs(t, err, errBoom)
		assert.EqualValues(t, 6, starts.Load(), "the first start and five restarts; systemd would start five times")
		assert.Equal(t, 500*time.Millisecond, time.Since(begin), "five delays of 100ms")

		// Failures spread wider than the interval never add up, in both.
		starts.Store(0)
		tr = mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(2100 * time.Millisecond), Children: []runtime.Child{
			{Name: "svc", Restart: runtime.Transient, Significant: true, Run: func(ctx context.Context, a *runtime.Attempt) error {
				if starts.Add(1) > 50 {
					return nil // a success: transient, done
				}
				return errBoom
			}},
		}})
		require.NoError(t, tr.Run(context.Background()), "never more than 5 restarts in any 10s; a significant child's success ends the tree")
		assert.EqualValues(t, 51, starts.Load())
	})
}

// TestS23StopThenRestartDuringGroupRestart: child_adm's terminate_child
// then restart_child, given to a child while a one_for_all restart is
// under way. OTP handles orders between the steps of a restart, so the
// child restarts with its group; Handle.Restart says the same: during a
// group restart, the child starts with the group, once every member has
// stopped, and the group's stops go one at a time in reverse start order.
// Before, a member stopped and restarted while it waited its turn was
// stopped at once, out of turn, started before the group had stopped,
// then stopped again in its turn and left stopped; and a child stopped
// before the group restart began started on its own once it returned.
func TestS23StopThenRestartDuringGroupRestart(t *testing.T) {
	cases := []struct {
		name    string
		restart runtime.Restart
		early   bool // Stop a before c fails: it is not in the group
		want    []string
	}{
		{"queued", runtime.Permanent, false, []string{
			"c exited", "b stopped", "a stopped", // b for 2s, then a in its turn
			"a starting", "b starting", "c starting",
		}},
		{"queued temporary", runtime.Temporary, false, []string{
			"c exited", "b stopped", "a stopped",
			"a starting", "b starting", "c starting", // restarted by the order, even if temporary
		}},
		{"stopping", runtime.Permanent, true, []string{
			"c exited", "b stopped", "a stopped", // b for 2s, a for 3s since the Stop
			"a starting", "b starting", "c starting",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
					{Name: "a", Restart: tc.restart, Run: slowStop(3 * time.Second)},
					{Name: "b", Run: slowStop(2 * time.Second)},
					{Name: "c", Run: c.run},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				h := tr.Handle("t/a")
				if tc.early {
					require.NoError(t, h.Stop())
					synctest.Wait()
				}
				c.end(errBoom) // the group stops: b first, for 2s
				if !tc.early {
					require.NoError(t, h.Stop()) // a waits its turn
					synctest.Wait()
				}
				time.Sleep(500 * time.Millisecond)
				require.NoError(t, h.Restart())
				synctest.Wait()
				time.Sleep(10 * time.Second)
				synctest.Wait()
				got := rec.trace(runtime.EventStarting, runtime.EventExited, runtime.EventStopped)
				require.Greater(t, len(got), 3)
				assert.Equal(t, tc.want, got[3:])
				for _, p := range []string{"t/a", "t/b", "t/c"} {
					st := status(t, tr, p)
					assert.EqualValues(t, 2, st.Generation, p)
					assert.Equal(t, runtime.StateRunning, st.State, p)
				}
				require.NoError(t, stop())
			})
		})
	}
}

// TestS23StoppedMemberFailsInItsTurn: an operator's Stop neither counts
// against the restart limit nor lets the child come back (README, "Operator
// orders"), and a child's exit after its Stop was taken is a stop. A
// member of a one_for_all restart that Stop took out of the group while it
// waited its turn to be stopped, and that fails before its turn comes, is
// stopped, not failed: nothing counts, no restart is scheduled for it, and
// the group goes on. Before, its failure counted (here, over a limit of
// one) and planned the group's restart again.
func TestS23StoppedMemberFailsInItsTurn(t *testing.T) {
	for _, end := range []string{"error", "panic", "success"} {
		t.Run(end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				a, c := newPuppet(), newPuppet()
				run := a.run
				if end == "panic" {
					run = func(ctx context.Context, at *runtime.Attempt) error {
						if err := a.run(ctx, at); err != nil {
							panic(err)
						}
						return nil
					}
				}
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
					Children: []runtime.Child{
						{Name: "a", Restart: runtime.Transient, Run: run},
						{Name: "b", Run: slowStop(2 * time.Second)},
						{Name: "c", Run: c.run},
					}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				c.end(errBoom) // the group stops: b first, for 2s; a waits its turn
				require.NoError(t, tr.Handle("t/a").Stop())
				synctest.Wait()
				if end == "success" {
					a.end(nil)
				} else {
					a.end(errBoom)
				}
				time.Sleep(10 * time.Second)
				synctest.Wait()
				require.True(t, running(tr), "the stopped child's exit counted: %v", tr.Err())
				assert.Len(t, rec.of(runtime.EventRestartScheduled), 1, "c's alone")
				st := status(t, tr, "t/a")
				assert.Equal(t, runtime.StateStopped, st.State, "held by the order")
				assert.EqualValues(t, 1, st.Generation)
				for _, p := range []string{"t/b", "t/c"} {
					st := status(t, tr, p)
					assert.EqualValues(t, 2, st.Generation, p)
					assert.Equal(t, runtime.StateRunning, st.State, p)
				}
				require.NoError(t, tr.Handle("t/a").Restart())
				synctest.Wait()
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/a").State)
				require.NoError(t, stop())
			})
		})
	}
}

// TestS23RestartOfATemporaryMember: restart_child of a temporary child
// during a one_for_all restart. The group does not restart a temporary
// member (as OTP), but Handle.Restart starts any child, one that ended for
// good too, and during a group restart it starts with the group: the order
// is not lost, whether the member is still running, being stopped or
// already stopped when it comes. Before, a temporary member given Restart
// ended done with the group's restart.
func TestS23RestartOfATemporaryMember(t *testing.T) {
	for _, when := range []string{"queued", "stopping", "stopped"} {
		t.Run(when, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(time.Minute), Children: []runtime.Child{
					{Name: "a", Restart: runtime.Temporary, Run: slowStop(time.Second)},
					{Name: "b", Run: slowStop(2 * time.Second)},
					{Name: "c", Run: c.run},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c.end(errBoom) // b stops for 2s, then a for 1s; then a minute's delay
				switch when {
				case "stopping":
					time.Sleep(2500 * time.Millisecond)
				case "stopped":
					time.Sleep(10 * time.Second)
				}
				synctest.Wait()
				require.NoError(t, tr.Handle("t/a").Restart())
				synctest.Wait()
				time.Sleep(2 * time.Minute)
				synctest.Wait()
				for _, p := range []string{"t/a", "t/b", "t/c"} {
					st := status(t, tr, p)
					assert.EqualValues(t, 2, st.Generation, p)
					assert.Equal(t, runtime.StateRunning, st.State, p)
				}
				require.NoError(t, stop())
			})
		})
	}
	// Without the order, the temporary member is done, as in OTP.
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "a", Restart: runtime.Temporary, Run: slowStop(time.Second)},
			{Name: "c", Run: c.run},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		c.end(errBoom)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/a").State)
		assert.EqualValues(t, 2, gen(t, tr, "t/c"))
		require.NoError(t, stop())
	})
}

// TestS23RestartOfAStoppingChildWhileTheGroupWaits: restart_child of a
// child still stopping after terminate_child, while a group restart that
// does not include it (an order holds it) waits out its delay. The child
// joins the group, and the group waits for it to stop: one attempt per
// slot, always. Before the fix, the group's delay ran out while the child
// still stopped and started a second attempt beside it, whose first
// attempt's exit was then fenced: the supervisor counted it live forever
// and its shutdown never ended.
func TestS23RestartOfAStoppingChildWhileTheGroupWaits(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: constBackoff(2 * time.Second), Children: []runtime.Child{
					{Name: "a", Run: slowStop(3 * time.Second)},
					{Name: "c", Run: c.run},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				h := tr.Handle("t/a")
				require.NoError(t, h.Stop()) // a stops for 3s
				synctest.Wait()
				c.end(errBoom) // the group, c alone, waits 2s
				time.Sleep(500 * time.Millisecond)
				require.NoError(t, h.Restart())
				synctest.Wait()
				time.Sleep(2 * time.Second) // the group's first delay is over; a still stops
				synctest.Wait()
				assert.EqualValues(t, 1, gen(t, tr, "t/a"), "no second attempt beside the first")
				time.Sleep(10 * time.Second)
				synctest.Wait()
				assert.Equal(t, []string{
					"a starting", "c starting", "a order", "c exited", "a order", "a stopped", "a starting", "c starting",
				}, rec.trace(runtime.EventStarting, runtime.EventExited, runtime.EventStopped, runtime.EventOrder))
				for _, p := range []string{"t/a", "t/c"} {
					st := status(t, tr, p)
					assert.EqualValues(t, 2, st.Generation, p)
					assert.Equal(t, runtime.StateRunning, st.State, p)
					assert.Zero(t, st.Fenced, p)
				}
				require.NoError(t, stop())
			})
		})
	}
}
