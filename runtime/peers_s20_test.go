package runtime_test

// Cases of OTP's supervisor_SUITE (the OTP 27 suite), of Elixir's
// dynamic_supervisor_test.exs and of suture v4's suture_test.go that the
// other peers_*_test.go files did not cover yet, and the map of every case
// of those suites to the Arbor test that translates it. Where Arbor differs
// on purpose, the test asserts Arbor's choice and says so.
//
// supervisor_SUITE, case by case:
//
//	sup_start_normal                         TestS19SupStartNormal
//	sup_start_ignore_init                    n/a: no init callback; a Spec is data, checked by New
//	sup_start_ignore_child, ..._temporary_child, ..._start_child(_simple),
//	sup_start_ignore_permanent_child_start_child_simple
//	                                         TestS18StartIgnore
//	sup_start_error_return, sup_start_fail   n/a: no init callback (New's errors: TestNewRejectsInvalidSpecs)
//	sup_start_child_returns_error            n/a: declared children are fixed; no start_child of a spec
//	sup_start_restart_child_returns_error    TestS19RestartChildReturnsError
//	sup_start_child_returns_error_simple     TestPoolInstancesEndForGood, TestS20InstanceEndsAtItsFirstStart
//	sup_start_map, sup_start_map_simple      TestZeroValueDefaults (no get_childspec: the Spec is the caller's)
//	sup_start_map_faulty_specs, child_specs, child_specs_map, sup_flags
//	                                         TestNewRejectsInvalidSpecs, TestNewReportsEveryProblem
//	sup_stop_infinity                        TestOTPSupStopInfinity (bounded by the nested budget), TestS24GraceForever
//	sup_stop_timeout, sup_stop_timeout_dynamic
//	                                         TestS18SupStopTimeout, TestS20PoolShutdownKeepsStopsInProgress,
//	                                         TestS24BudgetKeepsTheStopOrder, TestS24StopOrderWhenBehind,
//	                                         TestS24ExitTakenAsTheParentGivesUp
//	sup_stop_brutal_kill, sup_stop_brutal_kill_dynamic
//	                                         TestS20SupStopBrutalKill, TestS24GraceOfANanosecond,
//	                                         TestS24BudgetOfANanosecond, TestS24NestedBudgetOfANanosecond
//	sup_stop_race                            TestS18SupStopRace, TestS18SupStopRaceNested, TestS22ExitsDuringShutdown
//	sup_stop_non_shutdown_exit_dynamic       TestS18SupStopNonShutdownExitDynamic
//	child_adm                                TestOTPChildAdm, TestS22OrdersInEveryState, TestS22NestedOrdersInEveryState,
//	                                         during a group restart: TestS23StopThenRestartDuringGroupRestart,
//	                                         TestS23StoppedMemberFailsInItsTurn, TestS23RestartOfATemporaryMember,
//	                                         TestS23RestartOfAStoppingChildWhileTheGroupWaits, TestOrdersRandom;
//	                                         while a parent stops it: TestS27RestartUnderAStopNotYetSeen,
//	                                         TestS27RestartOfAnInstanceUnderAStopNotYetSeen; of a singleton on
//	                                         standby: TestS27OrdersToSingletonsOnStandby
//	child_adm_simple                         TestS18WhichChildrenSimple, TestS22InstanceOrdersInEveryState
//	extra_return                             TestS19ExtraReturn
//	external_start_no_progress_log           n/a: every transition is an event, by design
//	permanent_normal, transient_normal, temporary_normal,
//	permanent_abnormal, transient_abnormal, temporary_abnormal,
//	permanent_shutdown, temporary_shutdown   TestS19RestartTypeMatrix
//	transient_shutdown                       TestOTPTransientShutdown
//	faulty_application_shutdown              TestRestartLimitGivesUp (Run's error wraps the child's)
//	temporary_bystander                      TestOTPTemporaryBystander, TestS25TemporaryInTheMiddle
//	multiple_restarts                        TestOTPMultipleRestarts, TestS22WindowSlides, TestS23SystemdStartLimit,
//	                                         TestS24WindowOfANanosecond, TestS24WindowForever, TestS24LimitCountsAtTheExit,
//	                                         TestS25GroupRestartCountsAtTheExit
//	one_for_one                              TestOTPOneForOne
//	one_for_one_escalation                   TestRestartLimitGivesUp, TestS22NestedGiveUpIsAFailureWhateverItsCause
//	one_for_all                              TestOTPOneForAll
//	one_for_all_escalation, rest_for_one_escalation
//	                                         TestMoreGroupEscalation
//	one_for_all_other_child_fails_restart    TestOTPOneForAllOtherChildFailsRestart, TestS22GroupRestartDuringStartUp
//	rest_for_one                             TestOTPRestForOne
//	rest_for_one_other_child_fails_restart   TestOTPRestForOneOtherChildFailsRestart, TestS22GroupRestartDuringStartUp
//	simple_one_for_one                       TestOTPSimpleOneForOne
//	simple_one_for_one_restart_ignore        TestS18SimpleOneForOneRestartIgnore
//	simple_one_for_one_shutdown              TestS20SimpleOneForOneShutdown
//	simple_one_for_one_extra                 TestOTPSimpleOneForOne (no extra info: Start returns a Handle)
//	simple_one_for_one_corruption            TestS18RemovedInstanceNotRetained(ByTimers)
//	simple_one_for_one_escalation            TestS18SimpleOneForOneEscalation
//	child_unlink                             TestS18ChildUnlink
//	tree                                     TestOTPTree, TestS18TreeDynamicChildren
//	nonsignificant_temporary, nonsignificant_transient
//	                                         TestOTPSignificant
//	significant_temporary                    TestOTPSignificant, TestS19SignificantMatrix, TestMoreSignificantStoppedByOrder,
//	                                         TestS20SignificantKilled, TestS22SignificantMissesItsDeadline
//	significant_transient                    TestS18SignificantTransient, TestS20SignificantKilled, TestS20SignificantRestartOrder,
//	                                         TestS22SignificantMissesItsDeadline
//	significant_simple                       TestNewRejectsInvalidSpecs ("significant pool")
//	significant_bystander                    TestS18SignificantBystander, TestS19TemporarySignificantBystander
//	significant_escalation                   TestOTPSignificantEscalation, TestS18SignificantEscalationStops,
//	                                         TestS22SignificantNestedGiveUp (differs: a give-up is a failure)
//	significant_upgrade_*                    n/a: no code change; a tree's Spec is fixed (only any_significant)
//	count_children                           TestOTPCountChildren
//	count_children_supervisor                n/a: instances are run functions, never supervisors
//	count_restarting_children                TestOTPCountRestartingChildren, TestS22WhichChildrenDuringAGroupRestart,
//	                                         TestS25HealthDuringAGroupRestart
//	get_callback_module                      n/a: no callback module
//	do_not_save_start_parameters_for_temporary_children
//	                                         TestS18RemovedInstanceNotRetained (declared children keep their Run: fixed)
//	do_not_save_child_specs_for_temporary_children
//	                                         TestS18StartIgnore, TestS19RestartTypeMatrix (a done temporary child stays listed),
//	                                         TestS22OnlyRestartsCount
//	simple_one_for_one_scale_many_temporary_children, scale_start_stop_many_children
//	                                         benchmarks (pool_bench_test.go), TestMorePoolShutdownOfMany
//	simple_global_supervisor                 n/a: no global names (its restarts: TestOTPTree)
//	hanging_restart_loop                     TestOTPHangingRestartLoop, TestS18RestartChildWhileRestarting
//	hanging_restart_loop_rest_for_one        TestOTPHangingRestartLoopRestForOne
//	hanging_restart_loop_simple              TestOTPHangingRestartLoopSimple
//	code_change, code_change_map, code_change_simple(_map)
//	                                         n/a: no hot code upgrade
//	order_of_children                        TestS20OrderOfChildren, TestStopOrderIsDeclared, TestChainOrderMixedTree,
//	                                         TestS24TreeStopOrderWhenBehind
//	format_log_1, format_log_2               n/a: Arbor logs through slog (TestEventString)
//	already_started_outside_supervisor       n/a: no registered names (a live instance name: TestPoolRefusals)
//	which_children                           TestOTPChildAdm, TestMoreSnapshotOrder
//	which_children_simple_one_for_one        TestS18WhichChildrenSimple
//
// Elixir's DynamicSupervisor tests (a pool is a DynamicSupervisor):
//
//	can be supervised directly; multiple supervisors ... identified
//	                                         TestS19SupStartNormal (names, registries: n/a)
//	use/2, init/1 defaults                   TestZeroValueDefaults (pool: {max 5, 10s}, no cap)
//	start_link with non-ok init, code_change n/a (invalid PoolSpec: TestNewRejectsInvalidSpecs)
//	start_child: old/new child spec          n/a: Start takes a run function, typed by arbor gen
//	supports extra arguments; restarting a child with extra_arguments
//	                                         TestPoolInstancesEndForGood (the same run function, so the same argument)
//	with invalid child spec                  TestPoolRefusals (an invalid name)
//	with different returns; with throw/error/exit
//	                                         TestS20InstanceEndsAtItsFirstStart
//	with max_children                        TestS18DynamicMaxChildrenZero (0: no cap)
//	start_child while the parent stops it    TestS27StartInAPoolItsParentStops
//	temporary/transient/permanent child ... regardless of reason
//	                                         TestS18DynamicRestartTypes
//	child is restarted with different values TestS18SimpleOneForOneRestartIgnore, TestOTPCountRestartingChildren
//	restarting on init/exit children counted in max_children
//	                                         TestMorePoolMaxCountsRestartingAndStopping
//	child is restarted when trying again     TestS18SimpleOneForOneRestartIgnore
//	child triggers maximum restarts (when trying again)
//	                                         TestOTPSimpleOneForOne, TestS18SimpleOneForOneEscalation
//	with valid shutdown, with invalid shutdown
//	                                         TestNewRejectsInvalidSpecs ("negative grace")
//	terminates children with brutal kill     TestS20SupStopBrutalKill
//	... with infinity shutdown (and abnormal reason), with integer shutdown (and abnormal reason),
//	... with permanent restart and normal reason
//	                                         TestMorePoolShutdownOfMany, TestS18SupStopNonShutdownExitDynamic
//	... with expired integer shutdown, with mixed children
//	                                         TestS18SupStopTimeout, TestS20SimpleOneForOneShutdown
//	terminate_child: brutal kill, integer shutdown
//	                                         TestS20SupStopBrutalKill, TestS18WhichChildrenSimple,
//	                                         TestS20PoolShutdownKeepsStopsInProgress (then the supervisor stops)
//	terminate_child: terminates restarting child
//	                                         TestOTPHangingRestartLoopSimple, TestS25HealthOfAStop
//
// suture v4's suture_test.go:
//
//	TestTheHappyCase, TestStoppingSupervisorStopsServices, TestAddAfterStopping
//	                                         TestSutureTheHappyCase
//	TestAddingToRunningSupervisor            TestPoolStartsInstances
//	TestFailures                             TestSutureFailures (a sliding window; past it Arbor gives up),
//	                                         TestS22BackoffForgetsOnlyReadyTime (the decay), TestS22PanicIsAFailureWhateverItsValue,
//	                                         TestS25StreakForgottenWhenStopped, TestS25PanicsWithOddValues
//	TestRunningAlreadyRunning                TestRunTwice
//	TestFullConstruction, TestCoverage, TestDefaultLogging, TestShim
//	                                         n/a: no such API
//	TestNestedSupervisors                    TestS20NestedEventsReachTheTree
//	TestStoppingStillWorksWithHungServices, TestRemovingHungService
//	                                         TestSutureRemovingHungService
//	TestRemoveService (ErrWrongSupervisor)   n/a: a Handle is bound to its child; a nil one: TestNoSuchChild
//	TestServiceReport                        TestS18SupStopTimeout, TestShutdownAbandonsAfterGrace
//	TestFailureToConstruct, TestNilSupervisorPanicsAsExpected, TestNilSupervisorAdd
//	                                         TestS20TreeNotFromNew (differs: a panic that names the method)
//	TestPassNoContextToSupervisor            TestRunNilContext (differs: Run(nil) returns ErrNilContext)
//	TestIssue11                              TestPoolStartFromAnywhere
//	TestRemoveAndWait, TestStopAfterRemoveAndWait
//	                                         TestSutureRemoveAndWaitWhileStopping, TestSutureStopAfterRemoveAndWait, TestStopAndWait
//	TestSupervisorManagementIssue35          TestSutureManagementIssue35
//	TestServiceAndTreeTermination            TestMoreSutureServiceAndTreeTermination
//	TestDoNotPropagate                       TestMoreSutureDoNotPropagate
//	TestFailingSupervisors                   TestMoreFailingNestedSupervisorBackoff
//	services that stop their own supervisor  TestS27OrdersFromInside
//	TestEverMultistarted                     TestSutureEverMultistarted
//	TestIssue77                              TestS19RestartTypeMatrix (own_cancel)
//	panics on the way out (v3's Stop)        TestS22PanicWhenStopped
//	ServeBackground's error channel          TestS20RunReturnsNilWhenItsContextEnds (differs: nil, not ctx.Err())

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// brutal is the nearest thing to OTP's brutal_kill: the shortest grace.
// Go cannot kill a goroutine, so an attempt that ignores its cancellation
// is abandoned after a nanosecond, while one that returns when cancelled
// is stopped as with any grace.
const brutal = time.Nanosecond

// sup_stop_brutal_kill, sup_stop_brutal_kill_dynamic, and Elixir's
// "terminates children with brutal kill", "terminates with mixed children"
// and terminate_child "terminates child with brutal kill".
func TestS20SupStopBrutalKill(t *testing.T) {
	t.Run("static", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			rec := &recorder{}
			tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
				{Name: "child1", Run: nop, Shutdown: time.Second},
				{Name: "child2", Run: lingering(time.Hour, release), Shutdown: brutal},
				{Name: "child3", Run: nop, Shutdown: brutal},
			}}, runtime.WithObserver(rec.observe))
			stop, _ := start(t, tr)
			synctest.Wait()
			begin := time.Now()
			require.NoError(t, stop())
			assert.Equal(t, brutal, time.Since(begin), "child2's grace, and nothing else to wait for")
			rep := tr.ShutdownReport()
			require.Len(t, rep.Abandoned, 1)
			assert.Equal(t, "t/child2", rep.Abandoned[0].Path)
			assert.Equal(t, []string{"child3 stopped", "child2 abandoned", "child1 stopped"},
				rec.trace(runtime.EventStopped, runtime.EventAbandoned), "one at a time, in reverse order")
			assert.Equal(t, runtime.ExitCancelled, status(t, tr, "t/child3").LastExit, "it returned: stopped, not killed")
		})
	})
	t.Run("dynamic", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			tr := poolTree(t, runtime.Child{Restart: runtime.Temporary, Shutdown: brutal})
			stop, _ := start(t, tr)
			synctest.Wait()
			p := tr.Pool("t/p")
			causes := make(chan error, 10)
			var want []string
			for i := range 10 {
				name := fmt.Sprintf("c%d", i)
				want = append(want, "t/p/"+name)
				_, err := p.Start(name, func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					causes <- context.Cause(ctx)
					<-release // ignores it
					return nil
				})
				require.NoError(t, err)
			}
			synctest.Wait()
			begin := time.Now()
			require.NoError(t, stop())
			assert.Equal(t, brutal, time.Since(begin), "all at once, within one grace")
			var got []string
			for _, a := range tr.ShutdownReport().Abandoned {
				got = append(got, a.Path)
			}
			assert.ElementsMatch(t, want, got)
			require.Len(t, causes, 10)
			for range 10 {
				assert.ErrorIs(t, <-causes, runtime.ErrStopped)
			}
			assert.Equal(t, runtime.PoolCounts{Started: 10, Removed: 10, Abandoned: 10}, p.Counts())
		})
	})
	t.Run("terminate_child", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			tr := poolTree(t, runtime.Child{Shutdown: brutal})
			stop, _ := start(t, tr)
			synctest.Wait()
			p := tr.Pool("t/p")
			h, err := p.Start("", lingering(time.Hour, release))
			require.NoError(t, err)
			synctest.Wait()
			begin := time.Now()
			require.NoError(t, h.StopAndWait(context.Background()))
			assert.Equal(t, brutal, time.Since(begin))
			require.NoError(t, h.StopAndWait(context.Background()), "Elixir answers {error, not_found}; Arbor's order is a no-op")
			assert.Equal(t, 0, p.Len(), "workers: 0, active: 0")
			assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1, Abandoned: 1}, p.Counts())
			require.NoError(t, stop())
		})
	})
}

// simple_one_for_one_shutdown: a pool's instances stop at once, each
// within the instances' grace (2s): two that take 1s have returned by then,
// one that would take 5s is abandoned at 2s, and the whole takes 2s, no
// more (OTP: between 1s and 5s, as it kills the last one).
func TestS20SimpleOneForOneShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		defer close(release)
		tr := poolTree(t, runtime.Child{Shutdown: 2 * time.Second}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		for name, d := range map[string]time.Duration{"a": time.Second, "b": time.Second, "c": 5 * time.Second} {
			_, err := p.Start(name, lingering(d, release))
			require.NoError(t, err)
		}
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 2*time.Second, time.Since(begin))
		stopped := rec.of(runtime.EventStopped)
		require.Len(t, stopped, 3, "a, b and the pool")
		for _, e := range stopped[:2] {
			assert.Contains(t, []string{"t/p/a", "t/p/b"}, e.Path)
			assert.Equal(t, time.Second, e.Time.Sub(begin), e.Path)
		}
		assert.Equal(t, "t/p", stopped[2].Path)
		rep := tr.ShutdownReport()
		require.Len(t, rep.Abandoned, 1)
		assert.Equal(t, "t/p/c", rep.Abandoned[0].Path)
		assert.Equal(t, runtime.PoolCounts{Started: 3, Removed: 3, Abandoned: 1}, p.Counts())
	})
}

// order_of_children: with ids that sort differently from their
// declaration (ch7, ch3, ch10, ch2, ch5), rest_for_one stops the children
// after the failed one in reverse start order and starts them again in
// start order; a shutdown then stops all in reverse start order.
func TestS20OrderOfChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		ch10 := newPuppet()
		ids := []string{"ch7", "ch3", "ch10", "ch2", "ch5"}
		var children []runtime.Child
		for _, id := range ids {
			run := nop
			if id == "ch10" {
				run = ch10.run
			}
			children = append(children, runtime.Child{Name: id, Run: run})
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Hour}, Children: children},
			runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		var want []string
		for _, id := range ids {
			want = append(want, id+" starting")
		}
		require.Equal(t, want, rec.trace(lifecycle...), "start order")

		ch10.end(errBoom)
		assert.Equal(t, []string{"ch10 exited", "ch5 stopped", "ch2 stopped", "ch10 starting", "ch2 starting", "ch5 starting"},
			rec.trace(lifecycle...)[5:])
		var paths []string
		for _, c := range tr.Snapshot().Children {
			paths = append(paths, c.Path)
		}
		assert.Equal(t, []string{"t/ch7", "t/ch3", "t/ch10", "t/ch2", "t/ch5"}, paths, "which_children: declaration order")

		require.NoError(t, stop())
		want = nil
		for _, id := range slices.Backward(ids) {
			want = append(want, id+" stopped")
		}
		assert.Equal(t, want, rec.trace(runtime.EventStopped)[2:], "shutdown: reverse start order")
	})
}

// sup_start_child_returns_error_simple, and Elixir's start_child "with
// different returns" and "with throw/error/exit": OTP's start_child fails
// when the child's start fails, and nothing is kept. An Arbor instance has
// no separate start: Start accepts it and it runs; its first attempt's end
// (an error, a panic, runtime.Goexit, a cancellation error of its own, nil,
// ErrDoNotRestart) is an end like any later one, restarted or removed as
// the pool's restart type says, and counted against the pool's limit. A
// panic is recovered with its stack.
func TestS20InstanceEndsAtItsFirstStart(t *testing.T) {
	ends := []struct {
		name     string
		abnormal bool
		end      func() error
	}{
		{"error", true, func() error { return errBoom }},
		{"panic", true, func() error { panic("oops") }},
		{"goexit", true, func() error { goruntime.Goexit(); return nil }},
		{"own_cancel", true, func() error { return context.Canceled }},
		{"normal", false, func() error { return nil }},
		{"ignore", false, func() error { return fmt.Errorf("ignore: %w", runtime.ErrDoNotRestart) }},
	}
	for _, restart := range []runtime.Restart{runtime.Permanent, runtime.Transient, runtime.Temporary} {
		for _, e := range ends {
			t.Run(fmt.Sprintf("%s/%s", restart, e.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					rec := &recorder{}
					tr := poolTree(t, runtime.Child{Restart: restart, RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour}},
						runtime.WithObserver(rec.observe))
					stop, _ := start(t, tr)
					synctest.Wait()
					p := tr.Pool("t/p")
					var runs atomic.Int32
					h, err := p.Start("c", func(ctx context.Context, a *runtime.Attempt) error {
						if runs.Add(1) == 1 {
							return e.end()
						}
						<-ctx.Done()
						return nil
					})
					require.NoError(t, err, "Start accepts it; its end comes afterwards")
					synctest.Wait()

					restarted := e.name != "ignore" && (restart == runtime.Permanent || restart == runtime.Transient && e.abnormal)
					exited := rec.of(runtime.EventExited)
					require.Len(t, exited, 1)
					assert.Equal(t, "t/p/c", exited[0].Path)
					if e.name == "panic" {
						var pe *runtime.PanicError
						require.ErrorAs(t, exited[0].Err, &pe)
						assert.NotEmpty(t, pe.Stack)
					}
					if restarted {
						assert.EqualValues(t, 2, runs.Load())
						assert.Equal(t, runtime.StateRunning, h.State())
						assert.Equal(t, runtime.PoolCounts{Running: 1, Started: 1, Restarts: 1}, p.Counts())
					} else {
						assert.EqualValues(t, 1, runs.Load())
						assert.Equal(t, runtime.StateDone, h.State())
						assert.Nil(t, tr.Handle("t/p/c"), "which_children: []")
						assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1}, p.Counts())
					}
					assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State, "within the pool's limit")
					require.NoError(t, stop())
					assert.True(t, tr.ShutdownReport().Clean())
				})
			})
		}
	}
}

// suture's TestNestedSupervisors: a nested supervisor's events go to the
// hook of the tree it was added to (suture copies the parent's EventHook
// into the child). In Arbor one tree has one event stream: the events of
// nested supervisors, their children and pool instances at any depth reach
// the tree's observers and its journal, in order, with full paths.
func TestS20NestedEventsReachTheTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "n1", Supervisor: &runtime.Spec{Backoff: noBackoff, Children: []runtime.Child{
				{Name: "n2", Supervisor: &runtime.Spec{Backoff: noBackoff, Children: []runtime.Child{
					{Name: "w", Run: w.run},
					{Name: "p", Pool: &runtime.PoolSpec{}},
				}}},
			}}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		_, err := tr.Pool("t/n1/n2/p").Start("i", nop)
		require.NoError(t, err)
		synctest.Wait()
		w.end(errBoom)
		require.NoError(t, stop())

		assert.Equal(t, []string{
			"n1 starting", "n1/n2 starting", "n1/n2/w starting", "n1/n2/p starting", "n1/n2/p/i starting",
			"n1/n2/w exited", "n1/n2/w starting",
			"n1/n2/p/i stopped", "n1/n2/p stopped", "n1/n2/w stopped", "n1/n2 stopped", "n1 stopped",
		}, rec.trace(lifecycle...))
		all := rec.all()
		journal, lost := tr.Journal(0)
		assert.Zero(t, lost)
		require.Len(t, journal, len(all), "the journal keeps the same stream")
		for i, e := range all {
			assert.Equal(t, uint64(i+1), e.Seq, "numbered in delivery order")
			assert.Equal(t, e.Seq, journal[i].Seq)
			assert.Equal(t, e.Path, journal[i].Path)
		}
	})
}

// suture's TestFailureToConstruct and TestNilSupervisorPanicsAsExpected:
// Serve on a nil or zero Supervisor panics, saying so. A Tree is made by
// New (the generated New<Tree> calls it); a nil or zero Tree is a caller's
// bug and every method panics on it, as a nil map or pointer does, rather
// than returning as if it had run (or, for Done, never closing): with a
// message that names the method and says where trees come from, not a bare
// nil dereference inside the runtime. A nil or zero Pool or Handle, which
// Tree.Pool and Tree.Handle return (nil) for a path that names nothing,
// answers with ErrNoChild instead (suture's TestNilSupervisorAdd panics).
func TestS20TreeNotFromNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   *runtime.Tree
	}{{"nil", nil}, {"zero", new(runtime.Tree)}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := tc.tr
			for method, call := range map[string]func(){
				"Run":            func() { _ = tr.Run(context.Background()) },
				"Name":           func() { _ = tr.Name() },
				"Snapshot":       func() { _ = tr.Snapshot() },
				"Health":         func() { _ = tr.Health() },
				"Handle":         func() { _ = tr.Handle("t/a") },
				"Pool":           func() { _ = tr.Pool("t/a") },
				"ShutdownReport": func() { _ = tr.ShutdownReport() },
				"Observe":        func() { _ = tr.Observe(func(runtime.Event) {}) },
				"Ready":          func() { _ = tr.Ready() },
				"Stopping":       func() { _ = tr.Stopping() },
				"Done":           func() { _ = tr.Done() },
				"Err":            func() { _ = tr.Err() },
				"Journal":        func() { _, _ = tr.Journal(0) },
				"JournalN":       func() { _, _ = tr.JournalN(0, 1) },
				"JournalWait":    func() { _ = tr.JournalWait(0) },
				"LastEvent":      func() { _ = tr.LastEvent() },
			} {
				want := "arbor: Tree." + method + " called on a " + tc.name + " *runtime.Tree: build trees with runtime.New or the generated New<Tree>"
				assert.PanicsWithValue(t, want, call, method)
			}
		})
	}
	for _, h := range []*runtime.Handle{nil, new(runtime.Handle)} {
		assert.ErrorIs(t, h.Stop(), runtime.ErrNoChild)
		assert.ErrorIs(t, h.Restart(), runtime.ErrNoChild)
		assert.ErrorIs(t, h.Order(runtime.OrderStop, "test"), runtime.ErrNoChild)
		assert.ErrorIs(t, h.StopAndWait(context.Background()), runtime.ErrNoChild)
		assert.Equal(t, runtime.StateIdle, h.State())
		assert.Equal(t, runtime.ChildStatus{}, h.Status())
		assert.Empty(t, h.Path())
	}
	for _, p := range []*runtime.Pool{nil, new(runtime.Pool)} {
		_, err := p.Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrNoChild)
		assert.Zero(t, p.Len())
		assert.Equal(t, runtime.PoolCounts{}, p.Counts())
		assert.Empty(t, p.Path())
	}
}

// suture's ServeBackground hands back Serve's error, ctx.Err() once the
// context is done. Arbor's Run returns nil for a shutdown its context
// asked for, whether cancelled, past its deadline or cancelled with a
// cause of the caller's: a clean stop, not a failure (DESIGN: "clean
// shutdown, returns nil"). The deadline of Run's context is not the
// attempts' (they have none of their own), and they are stopped with
// ErrStopped, not with the caller's cause.
func TestS20RunReturnsNilWhenItsContextEnds(t *testing.T) {
	errCaller := errors.New("caller's cause")
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, func())
	}{
		{"deadline", func() (context.Context, func()) { return context.WithTimeout(context.Background(), time.Minute) }},
		{"cause", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			go func() {
				time.Sleep(time.Minute)
				cancel(errCaller)
			}()
			return ctx, func() { cancel(nil) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				causes := make(chan error, 1)
				hadDeadline := make(chan bool, 1)
				tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
					{Name: "c", Run: func(ctx context.Context, _ *runtime.Attempt) error {
						_, ok := ctx.Deadline()
						hadDeadline <- ok
						<-ctx.Done()
						causes <- context.Cause(ctx)
						return ctx.Err()
					}},
				}})
				ctx, cancel := tc.ctx()
				defer cancel()
				begin := time.Now()
				require.NoError(t, tr.Run(ctx))
				assert.Equal(t, time.Minute, time.Since(begin))
				assert.False(t, <-hadDeadline, "the attempt has no deadline of its own")
				assert.ErrorIs(t, <-causes, runtime.ErrStopped)
				assert.NoError(t, tr.Err())
				assert.True(t, tr.ShutdownReport().Clean())
			})
		})
	}
}

// sup_stop_timeout_dynamic, with instances already being stopped when
// their pool begins to stop (Elixir's terminate_child, or a missed
// deadline, just before the supervisor terminates): the pool's shutdown
// leaves those stops as they are, as a supervisor does with a declared
// child. Each is abandoned one grace after its own cancellation, the
// report and the event say it waited that grace, the snapshot dates its
// stop from its cancellation, and one stopped for its own fault (a missed
// timeout) ends as a timeout, not as a shutdown's stop.
func TestS20PoolShutdownKeepsStopsInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{Timeout: time.Second, Shutdown: time.Second}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		p := tr.Pool("t/p")
		ordered, err := p.Start("ordered", lingering(time.Hour, release))
		require.NoError(t, err)
		late, err := p.Start("late", lingering(time.Hour, release))
		require.NoError(t, err)
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, ordered.Stop())
		time.Sleep(700 * time.Millisecond) // late missed its timeout at 1s
		synctest.Wait()
		done := make(chan error, 1)
		go func() { done <- stop() }()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, begin.Add(500*time.Millisecond), ordered.Status().Since, "stopping since the order")
		assert.Equal(t, begin.Add(time.Second), late.Status().Since, "stopping since its timeout")
		require.NoError(t, <-done)
		assert.Equal(t, 2*time.Second, time.Since(begin))

		abandoned := rec.of(runtime.EventAbandoned)
		require.Len(t, abandoned, 2)
		assert.Equal(t, "t/p/ordered", abandoned[0].Path)
		assert.Equal(t, "t/p/late", abandoned[1].Path)
		rep := tr.ShutdownReport()
		require.Len(t, rep.Abandoned, 2)
		for i, e := range abandoned {
			assert.Equal(t, time.Second, e.Delay, e.Path)
			assert.Equal(t, time.Second, rep.Abandoned[i].Waited, e.Path)
		}
		assert.Equal(t, begin.Add(1500*time.Millisecond), abandoned[0].Time)
		assert.ErrorIs(t, abandoned[1].Err, runtime.ErrAttemptTimeout)
		assert.Equal(t, runtime.ExitTimeout, late.Status().LastExit, "its own fault, as for a declared child")
		assert.Equal(t, runtime.ExitCancelled, ordered.Status().LastExit)
	})
}

// significant_temporary and significant_transient, their "killing" step:
// OTP kills the child with exit(Pid, kill). Go cannot kill; the nearest
// thing is the runtime cancelling an attempt that missed a deadline (its
// timeout, heartbeat or ready timeout), a failure of the child's own. A
// temporary significant child killed so is not restarted and shuts its
// supervisor down cleanly; a transient one is restarted (here after a
// long backoff) and shuts nothing down.
func TestS20SignificantKilled(t *testing.T) {
	hangs := func(ctx context.Context, _ *runtime.Attempt) error { <-ctx.Done(); return ctx.Err() }
	for _, kill := range []struct {
		name  string
		child runtime.Child
		cause error
	}{
		{"timeout", runtime.Child{Timeout: time.Second}, runtime.ErrAttemptTimeout},
		{"heartbeat", runtime.Child{Heartbeat: &runtime.Heartbeat{Timeout: time.Second}}, runtime.ErrHeartbeatTimeout},
		{"ready", runtime.Child{Ready: &runtime.Ready{Timeout: time.Second}}, runtime.ErrReadyTimeout},
	} {
		for _, restart := range []runtime.Restart{runtime.Temporary, runtime.Transient} {
			t.Run(fmt.Sprintf("%s/%s", restart, kill.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					rec := &recorder{}
					sig := kill.child
					sig.Name, sig.Run, sig.Restart, sig.Significant = "sig", hangs, restart, true
					tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour), Children: []runtime.Child{
						{Name: "other", Run: nop}, sig,
					}}, runtime.WithObserver(rec.observe))
					stop, done := start(t, tr)
					synctest.Wait()
					time.Sleep(2 * time.Second) // a stale heartbeat is found within 1.5 timeouts
					synctest.Wait()
					exited := rec.of(runtime.EventExited)
					require.Len(t, exited, 1)
					assert.Equal(t, "t/sig", exited[0].Path)
					assert.ErrorIs(t, exited[0].Err, kill.cause)
					if restart == runtime.Temporary {
						require.False(t, running(tr), "auto_shutdown")
						require.NoError(t, <-done, "a clean shutdown")
						assert.Equal(t, []string{"other stopped"}, rec.trace(runtime.EventStopped))
						return
					}
					require.True(t, running(tr), "restarted, not shut down: %v", tr.Err())
					assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/sig").State)
					assert.Equal(t, runtime.StateRunning, status(t, tr, "t/other").State)
					require.NoError(t, stop())
				})
			})
		}
	}
}

// restart_child of a running significant child: OTP answers {error,
// running}. Arbor's Restart stops the attempt and starts a new one; the
// attempt stopped by the order did not end on its own, so whatever it
// returns (nil, an error, ErrDoNotRestart) shuts nothing down, and the new
// attempt, ending on its own, does.
func TestS20SignificantRestartOrder(t *testing.T) {
	for _, ret := range []error{nil, errBoom, fmt.Errorf("done: %w", runtime.ErrDoNotRestart)} {
		for _, restart := range []runtime.Restart{runtime.Temporary, runtime.Transient} {
			t.Run(fmt.Sprintf("%s/%v", restart, ret), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := newPuppet()
					tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
						{Name: "other", Run: nop},
						{Name: "sig", Restart: restart, Significant: true, Run: func(ctx context.Context, a *runtime.Attempt) error {
							if a.Generation() == 1 {
								<-ctx.Done()
								return ret
							}
							return c.run(ctx, a)
						}},
					}})
					_, done := start(t, tr)
					synctest.Wait()
					h := tr.Handle("t/sig")
					require.NoError(t, h.Restart())
					synctest.Wait()
					require.True(t, running(tr), "stopped by an order: %v", tr.Err())
					assert.Equal(t, uint64(2), h.Status().Generation)
					assert.Equal(t, runtime.StateRunning, h.State())
					assert.Equal(t, uint64(1), gen(t, tr, "t/other"))
					c.end(nil)
					require.False(t, running(tr))
					require.NoError(t, <-done)
				})
			})
		}
	}
}
