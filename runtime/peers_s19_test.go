package runtime_test

// Cases of OTP's supervisor_SUITE and of suture v4's suture_test.go that
// the other peers_*_test.go files do not cover yet, mostly the crossings of
// cases those files take one at a time: every restart type with every way
// of ending under every strategy, orders followed by failures, significant
// children over the limit. Each test names the case it translates; where
// Arbor differs on purpose, the test asserts Arbor's choice and says so.

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

// counted is a child that counts its starts and runs until cancelled.
func counted(n *atomic.Int32) runtime.RunFunc {
	return func(ctx context.Context, _ *runtime.Attempt) error {
		n.Add(1)
		<-ctx.Done()
		return nil
	}
}

// The normal_termination, shutdown_termination and abnormal_termination
// groups (permanent_normal, transient_normal, temporary_normal,
// permanent_abnormal, transient_abnormal, temporary_abnormal), each under
// one_for_one as in OTP and under one_for_all and rest_for_one (OTP's
// one_for_all and rest_for_one cases only use permanent children): the
// middle of three children ends on its own, and it, with the siblings its
// strategy names, is restarted exactly when its restart type asks for it.
// A missed timeout is abnormal, as is a cancellation error returned while
// the context was not cancelled (suture's Issue77); ErrDoNotRestart ends
// any child for good (OTP's shutdown reason ends only transient and
// temporary ones: a documented difference).
func TestS19RestartTypeMatrix(t *testing.T) {
	type exit struct {
		name     string
		abnormal bool
		dnr      bool
		end      func(ctx context.Context) error // nil: the attempt misses its timeout
	}
	exits := []exit{
		{"normal", false, false, func(context.Context) error { return nil }},
		{"abnormal", true, false, func(context.Context) error { return errBoom }},
		{"panic", true, false, func(context.Context) error { panic("kaboom") }},
		{"own_cancel", true, false, func(context.Context) error { return fmt.Errorf("wrapped: %w", context.Canceled) }},
		{"timeout", true, false, nil},
		{"do_not_restart", false, true, func(context.Context) error { return fmt.Errorf("done: %w", runtime.ErrDoNotRestart) }},
	}
	for _, strategy := range []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne} {
		for _, restart := range []runtime.Restart{runtime.Permanent, runtime.Transient, runtime.Temporary} {
			for _, ex := range exits {
				t.Run(fmt.Sprintf("%s/%s_%s", strategy, restart, ex.name), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						var aStarts, bStarts, cStarts atomic.Int32
						trigger := make(chan struct{})
						b := func(ctx context.Context, at *runtime.Attempt) error {
							bStarts.Add(1)
							if at.Generation() > 1 {
								<-ctx.Done()
								return nil
							}
							if ex.end == nil {
								<-ctx.Done() // past its timeout
								return ctx.Err()
							}
							select {
							case <-trigger:
								return ex.end(ctx)
							case <-ctx.Done():
								return nil
							}
						}
						tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff, Children: []runtime.Child{
							{Name: "a", Run: counted(&aStarts)},
							{Name: "b", Run: b, Restart: restart, Timeout: time.Hour},
							{Name: "c", Run: counted(&cStarts)},
						}})
						stop, _ := start(t, tr)
						synctest.Wait()
						require.EqualValues(t, 1, bStarts.Load())
						if ex.end == nil {
							time.Sleep(time.Hour)
						} else {
							close(trigger)
						}
						synctest.Wait()

						restarted := !ex.dnr && (ex.abnormal && restart != runtime.Temporary || !ex.abnormal && restart == runtime.Permanent)
						require.True(t, running(tr), "one restart is within the limit: %v", tr.Err())
						st := status(t, tr, "t/b")
						wantA, wantC := int32(1), int32(1)
						if restarted {
							assert.EqualValues(t, 2, bStarts.Load(), "b restarted")
							assert.Equal(t, runtime.StateRunning, st.State)
							assert.Equal(t, uint64(2), st.Generation)
							switch strategy {
							case runtime.OneForAll:
								wantA, wantC = 2, 2
							case runtime.RestForOne:
								wantC = 2
							}
						} else {
							assert.EqualValues(t, 1, bStarts.Load(), "b not restarted")
							assert.Equal(t, runtime.StateDone, st.State, "ended for good")
							assert.Equal(t, 0, st.Restarts)
						}
						assert.Equal(t, wantA, aStarts.Load(), "starts of a")
						assert.Equal(t, wantC, cStarts.Load(), "starts of c")
						assert.Equal(t, runtime.StateRunning, status(t, tr, "t/a").State)
						assert.Equal(t, runtime.StateRunning, status(t, tr, "t/c").State)
						require.NoError(t, stop())
						assert.True(t, tr.ShutdownReport().Clean())
					})
				})
			}
		}
	}
}

// sup_start_restart_child_returns_error: restart_child of a terminated
// child whose start fails. OTP answers the error and leaves the child
// terminated, counting nothing. Arbor's Restart is an order that only
// starts the attempt (OTP's start and run are one run function here): it
// succeeds, and the attempt's failure is then a failure like any other,
// restarted as its type says and counted against the limit. With max 0,
// a permanent child's failure ends the supervisor; a temporary child's
// ends the child alone.
func TestS19RestartChildReturnsError(t *testing.T) {
	for _, restart := range []runtime.Restart{runtime.Permanent, runtime.Temporary} {
		t.Run(string(restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fail atomic.Bool
				var starts atomic.Int32
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
					Children: []runtime.Child{
						{Name: "other", Run: nop},
						{Name: "c", Restart: restart, Run: func(ctx context.Context, _ *runtime.Attempt) error {
							starts.Add(1)
							if fail.Load() {
								return errBoom
							}
							<-ctx.Done()
							return nil
						}},
					}})
				stop, _ := start(t, tr)
				synctest.Wait()
				h := tr.Handle("t/c")
				require.NoError(t, h.StopAndWait(context.Background()))
				fail.Store(true)
				require.NoError(t, h.Restart(), "the order is taken; its attempt fails afterwards")
				synctest.Wait()
				assert.EqualValues(t, 2, starts.Load())
				if restart == runtime.Temporary {
					assert.True(t, running(tr))
					assert.Equal(t, runtime.StateDone, h.State())
					require.NoError(t, stop())
					return
				}
				require.False(t, running(tr), "the failure after the order counts")
				var gu *runtime.GiveUpError
				require.ErrorAs(t, tr.Err(), &gu)
				assert.Equal(t, "t/c", gu.Child)
				assert.ErrorIs(t, tr.Err(), errBoom)
				assert.Equal(t, runtime.StateStopped, status(t, tr, "t/other").State)
			})
		})
	}
}

// extra_return, its administration: terminating a terminated child again
// is fine; restart_child starts it again, under its restart type as
// before, so that a later abnormal exit restarts it automatically (OTP:
// "Check that it can be automatically restarted") and, for a transient
// child, a later normal exit ends it.
func TestS19ExtraReturn(t *testing.T) {
	for _, restart := range []runtime.Restart{runtime.Permanent, runtime.Transient} {
		t.Run(string(restart), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
					{Name: "c1", Run: c.run, Restart: restart},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				h := tr.Handle("t/c1")
				require.NoError(t, h.StopAndWait(context.Background()))
				require.NoError(t, h.StopAndWait(context.Background()))
				assert.Equal(t, runtime.StateStopped, h.State())
				require.NoError(t, h.Restart())
				synctest.Wait()
				require.Equal(t, runtime.StateRunning, h.State())
				require.Equal(t, uint64(2), h.Status().Generation)

				c.end(errBoom)
				assert.Equal(t, runtime.StateRunning, h.State(), "automatically restarted")
				assert.Equal(t, uint64(3), h.Status().Generation)
				assert.EqualValues(t, 3, c.starts.Load())

				c.end(nil)
				if restart == runtime.Transient {
					assert.Equal(t, runtime.StateDone, h.State())
					assert.EqualValues(t, 3, c.starts.Load())
				} else {
					assert.Equal(t, runtime.StateRunning, h.State())
					assert.EqualValues(t, 4, c.starts.Load())
				}
				require.NoError(t, stop())
			})
		})
	}
}

// The significant group meets the restart intensity: a significant
// transient child that keeps failing is restarted until the limit, and
// then its supervisor gives up with an error naming it, rather than
// shutting down cleanly (OTP exits with reached_max_restart_intensity, not
// shutdown). At the root, Run returns that error, not nil.
func TestS19SignificantOverLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "other", Run: nop},
				{Name: "sig", Restart: runtime.Transient, Significant: true, Run: func(context.Context, *runtime.Attempt) error {
					starts.Add(1)
					return errBoom
				}},
			}})
		err := tr.Run(context.Background())
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu, "a give-up, not a clean shutdown")
		assert.Equal(t, "t/sig", gu.Child)
		assert.ErrorIs(t, err, errBoom)
		assert.EqualValues(t, 3, starts.Load(), "the first start and two restarts")
	})
}

// Restart intensity is per supervisor (OTP: each supervisor has its own
// intensity and period): failures of a nested supervisor's children and
// of a pool's instances count against that supervisor or pool only. The
// parent, with max 0, never sees them while its children cope.
func TestS19IntensityIsPerSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inner atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "n", Supervisor: &runtime.Spec{Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 3, Window: time.Hour},
					Children: []runtime.Child{{Name: "w", Run: func(ctx context.Context, _ *runtime.Attempt) error {
						if inner.Add(1) <= 3 {
							return errBoom
						}
						<-ctx.Done()
						return nil
					}}},
				}},
				{Name: "p", Pool: &runtime.PoolSpec{}, Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 3, Window: time.Hour}},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.True(t, running(tr), "three restarts within n's limit: %v", tr.Err())
		assert.Equal(t, 3, status(t, tr, "t/n/w").Restarts)
		assert.Equal(t, uint64(1), status(t, tr, "t/n").Generation, "n itself never failed")

		var pooled atomic.Int32
		_, err := tr.Pool("t/p").Start("i", func(ctx context.Context, _ *runtime.Attempt) error {
			if pooled.Add(1) <= 3 {
				return errBoom
			}
			<-ctx.Done()
			return nil
		})
		require.NoError(t, err)
		synctest.Wait()
		assert.True(t, running(tr), "three restarts within p's limit: %v", tr.Err())
		assert.EqualValues(t, 4, pooled.Load())
		assert.Equal(t, uint64(1), status(t, tr, "t/p").Generation, "p itself never failed")
		require.NoError(t, stop())
	})
}

// sup_start_normal: a supervisor with nothing to run starts and stops
// cleanly. Arbor refuses a Spec without children (arbor gen would have
// nothing to generate), so the nearest thing is a tree whose only child is
// an empty pool (OTP's child_adm_simple: a simple_one_for_one supervisor
// with no child yet).
func TestS19SupStartNormal(t *testing.T) {
	_, err := runtime.New(runtime.Spec{Name: "t"})
	require.ErrorIs(t, err, runtime.ErrInvalidSpec)
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, 0, tr.Pool("t/p").Len())
		begin := time.Now()
		require.NoError(t, stop())
		assert.Zero(t, time.Since(begin), "nothing to wait for")
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// The significant group (significant_temporary, significant_transient)
// under every strategy and every way of ending, with OTP's
// any_significant: a significant child that ends on its own and is not
// restarted shuts its supervisor down cleanly, stopping the others in
// reverse start order; one that is restarted (a transient child's
// failure) takes its strategy's siblings with it and shuts nothing down.
func TestS19SignificantMatrix(t *testing.T) {
	exits := []struct {
		name     string
		abnormal bool
		end      func() error
	}{
		{"normal", false, func() error { return nil }},
		{"abnormal", true, func() error { return errBoom }},
		{"panic", true, func() error { panic("kaboom") }},
		{"do_not_restart", false, func() error { return fmt.Errorf("done: %w", runtime.ErrDoNotRestart) }},
	}
	for _, strategy := range []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne} {
		for _, restart := range []runtime.Restart{runtime.Transient, runtime.Temporary} {
			for _, ex := range exits {
				t.Run(fmt.Sprintf("%s/%s_%s", strategy, restart, ex.name), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						rec := &recorder{}
						var aStarts, cStarts atomic.Int32
						var bStarts atomic.Int32
						trigger := make(chan struct{})
						b := func(ctx context.Context, at *runtime.Attempt) error {
							bStarts.Add(1)
							select {
							case <-trigger:
								if at.Generation() == 1 {
									return ex.end()
								}
							case <-ctx.Done():
							}
							<-ctx.Done()
							return nil
						}
						tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff, Children: []runtime.Child{
							{Name: "a", Run: counted(&aStarts)},
							{Name: "b", Run: b, Restart: restart, Significant: true},
							{Name: "c", Run: counted(&cStarts)},
						}}, runtime.WithObserver(rec.observe))
						stop, _ := start(t, tr)
						synctest.Wait()
						close(trigger)
						synctest.Wait()

						restarted := ex.abnormal && restart == runtime.Transient
						if !restarted {
							require.False(t, running(tr), "a significant child that ended shuts the supervisor down")
							require.NoError(t, tr.Err(), "cleanly")
							assert.Equal(t, []string{"c stopped", "a stopped"}, rec.trace(runtime.EventStopped))
							assert.EqualValues(t, 1, aStarts.Load())
							assert.EqualValues(t, 1, cStarts.Load())
							assert.True(t, tr.ShutdownReport().Clean())
							return
						}
						require.True(t, running(tr), "restarted, not shut down: %v", tr.Err())
						assert.EqualValues(t, 2, bStarts.Load())
						wantA, wantC := int32(1), int32(1)
						switch strategy {
						case runtime.OneForAll:
							wantA, wantC = 2, 2
						case runtime.RestForOne:
							wantC = 2
						}
						assert.Equal(t, wantA, aStarts.Load())
						assert.Equal(t, wantC, cStarts.Load())
						require.NoError(t, stop())
					})
				})
			}
		}
	}
}

// A significant child that ends while its supervisor still starts the
// others: the supervisor shuts down and starts nothing more; a dependent
// waiting for the significant child never runs.
func TestS19SignificantEndsDuringStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var depStarts, laterStarts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sig", Restart: runtime.Temporary, Significant: true, Ready: &runtime.Ready{Timeout: time.Minute},
				Run: func(ctx context.Context, _ *runtime.Attempt) error {
					time.Sleep(time.Second)
					return nil // ends before it was ready
				}},
			{Name: "dep", Run: counted(&depStarts), After: []string{"sig"}},
			{Name: "later", Run: counted(&laterStarts)},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.EqualValues(t, 1, laterStarts.Load(), "not held back by sig")
		time.Sleep(time.Second)
		synctest.Wait()
		require.False(t, running(tr), "sig ended the tree")
		require.NoError(t, tr.Err())
		assert.EqualValues(t, 0, depStarts.Load(), "dep waited for sig and never ran")
		require.NoError(t, stop())
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// Ended children stay ended through a group restart (Arbor's documented
// difference from OTP, which starts a terminated transient child again
// with its group), and After follows: a dependency that ended for good
// after a success still counts as ready, so its dependent starts again
// with the group; one that ended after a failure holds its dependent
// waiting, before and after the group restart. (Both end before they are
// ready, so that only the way they ended can make them ready.) restart_child of the ended
// child starts it alone: no sibling restarts with it.
func TestS19EndedDependencyInGroupRestart(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var migStarts, badStarts atomic.Int32
				var apiStarts, jobStarts atomic.Int32
				w := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff, Children: []runtime.Child{
					{Name: "mig", Restart: runtime.Transient, Ready: &runtime.Ready{Timeout: time.Minute}, Run: func(ctx context.Context, a *runtime.Attempt) error {
						if migStarts.Add(1) > 1 {
							a.Ready()
							<-ctx.Done()
						}
						return nil
					}},
					{Name: "bad", Restart: runtime.Temporary, Ready: &runtime.Ready{Timeout: time.Minute}, Run: func(context.Context, *runtime.Attempt) error {
						badStarts.Add(1)
						return errBoom
					}},
					{Name: "w", Run: w.run},
					{Name: "api", Run: counted(&apiStarts), After: []string{"mig"}},
					{Name: "job", Run: counted(&jobStarts), After: []string{"bad"}},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				require.Equal(t, runtime.StateDone, status(t, tr, "t/mig").State)
				require.Equal(t, runtime.StateDone, status(t, tr, "t/bad").State)
				require.EqualValues(t, 1, apiStarts.Load(), "mig ended after a success: ready")
				require.Equal(t, runtime.StateWaiting, status(t, tr, "t/job").State, "bad ended after a failure")

				w.end(errBoom) // w's group: all, or w and those after it (api, job)
				assert.EqualValues(t, 1, migStarts.Load(), "mig stays done")
				assert.EqualValues(t, 1, badStarts.Load(), "bad stays done")
				assert.Equal(t, runtime.StateDone, status(t, tr, "t/mig").State)
				assert.EqualValues(t, 2, w.starts.Load())
				assert.EqualValues(t, 2, apiStarts.Load(), "api started again with its group")
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State)
				assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/job").State)
				assert.EqualValues(t, 0, jobStarts.Load())
				var reason string
				for _, c := range tr.Health().Children {
					if c.Path == "t/job" {
						reason = c.Reason
					}
				}
				assert.Contains(t, reason, "waiting for bad")

				gens := map[string]uint64{}
				for _, p := range []string{"t/w", "t/api"} {
					gens[p] = status(t, tr, p).Generation
				}
				require.NoError(t, tr.Handle("t/mig").Restart())
				synctest.Wait()
				assert.EqualValues(t, 2, migStarts.Load())
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/mig").State)
				for p, g := range gens {
					assert.Equal(t, g, status(t, tr, p).Generation, "%s untouched by the order", p)
				}
				require.NoError(t, stop())
			})
		})
	}
}

// suture's event hook (EventServicePanic, EventServiceTerminate with
// Restarting, EventBackoff, EventStopTimeout) over a one_for_all group
// restart, a give-up and a hung child at shutdown: every transition is a
// typed event, in order; a panic carries its stack, a scheduled restart
// its delay, a restart its count, a give-up names the child and the limit,
// and an abandoned attempt the grace it was given.
func TestS19EventHookOfAGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var bStarts atomic.Int32
		panicNow := make(chan struct{})
		release := make(chan struct{})
		defer close(release)
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(time.Second),
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "a", Run: lingering(time.Hour, release), Shutdown: 2 * time.Second},
				{Name: "b", Run: func(ctx context.Context, _ *runtime.Attempt) error {
					bStarts.Add(1)
					select {
					case <-panicNow:
						panic("kaboom")
					case <-ctx.Done():
						return nil
					}
				}},
			}}, runtime.WithObserver(rec.observe))
		_, done := start(t, tr)
		synctest.Wait()
		panicNow <- struct{}{}
		synctest.Wait()
		// a ignores cancellation: the group waits out its grace, abandons it,
		// then waits out the backoff.
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.EqualValues(t, 2, bStarts.Load())
		close(panicNow) // the second panic is one restart too many
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatal("the second failure did not end the tree")
		}
		var gu *runtime.GiveUpError
		require.ErrorAs(t, err, &gu)

		assert.Equal(t, []string{
			"a starting", "b starting",
			"b exited", "b restart scheduled", "a abandoned", // scheduled when decided
			"a starting", "b starting",
			"b exited", " gave up", "a abandoned",
		}, rec.trace(runtime.EventStarting, runtime.EventExited, runtime.EventRestartScheduled,
			runtime.EventAbandoned, runtime.EventGaveUp))
		byKind := func(k runtime.EventKind) []runtime.Event { return rec.of(k) }
		exited := byKind(runtime.EventExited)
		require.Len(t, exited, 2)
		assert.Equal(t, runtime.ExitPanic, exited[0].Exit)
		var pe *runtime.PanicError
		require.ErrorAs(t, exited[0].Err, &pe)
		assert.NotEmpty(t, pe.Stack, "with its stack")
		sched := byKind(runtime.EventRestartScheduled)
		require.Len(t, sched, 1)
		assert.Equal(t, time.Second, sched[0].Delay)
		starting := byKind(runtime.EventStarting)
		require.Len(t, starting, 4)
		assert.Equal(t, 1, starting[3].Restarts, "b's restart is counted")
		abandoned := byKind(runtime.EventAbandoned)
		require.Len(t, abandoned, 2)
		assert.Equal(t, 2*time.Second, abandoned[0].Delay, "the grace it was given")
		gave := byKind(runtime.EventGaveUp)
		require.Len(t, gave, 1)
		assert.Equal(t, "t", gave[0].Path)
		assert.ErrorAs(t, gave[0].Err, &gu)
		assert.Equal(t, "t/b", gu.Child)
		assert.Equal(t, 1, gu.Max)
		assert.Len(t, tr.ShutdownReport().Abandoned, 2)
	})
}

// significant_bystander with a temporary significant child (OTP's case
// uses transient ones): stopped by a sibling's group restart, it did not
// end on its own, so the supervisor does not shut down; temporary, it is
// not started again with the group (temporary_bystander), stays done, and
// the others run on. Whatever it returns as it is stopped (nil, an
// error, ErrDoNotRestart), the stop decides.
func TestS19TemporarySignificantBystander(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		for _, ex := range exitKinds {
			t.Run(fmt.Sprintf("%s/%s", strategy, ex.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var sigStarts, xStarts atomic.Int32
					w := newPuppet()
					tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff, Children: []runtime.Child{
						{Name: "w", Run: w.run},
						{Name: "sig", Restart: runtime.Temporary, Significant: true, Run: func(ctx context.Context, _ *runtime.Attempt) error {
							sigStarts.Add(1)
							<-ctx.Done()
							return ex.end()
						}},
						{Name: "x", Run: counted(&xStarts)},
					}})
					stop, _ := start(t, tr)
					synctest.Wait()
					w.end(errBoom)
					require.True(t, running(tr), "sig was stopped, it did not end on its own: %v", tr.Err())
					assert.EqualValues(t, 1, sigStarts.Load(), "temporary: not started again")
					assert.Equal(t, runtime.StateDone, status(t, tr, "t/sig").State)
					assert.EqualValues(t, 2, w.starts.Load())
					assert.EqualValues(t, 2, xStarts.Load())
					assert.Equal(t, runtime.StateRunning, status(t, tr, "t/x").State)
					require.NoError(t, stop())
				})
			})
		}
	}
}
