package runtime_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// The order of starts and stops is the supervisor's: it is read from the
// events it emits, since started goroutines run in any order.
var lifecycle = []runtime.EventKind{runtime.EventStarting, runtime.EventExited, runtime.EventStopped}

// failing runs until cancelled, except that its first attempt fails when
// fail is closed.
func failing(fail <-chan struct{}) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		if a.Generation() == 1 {
			select {
			case <-fail:
				return errBoom
			case <-ctx.Done():
			}
		}
		<-ctx.Done()
		return nil
	}
}

func TestStrategies(t *testing.T) {
	boot := []string{"a starting", "b starting", "c starting", "d starting"}
	tests := []struct {
		strategy runtime.Strategy
		restart  []string
	}{
		{runtime.OneForOne, []string{"b exited", "b starting"}},
		{runtime.OneForAll, []string{"b exited", "d stopped", "c stopped", "a stopped", "a starting", "b starting", "c starting", "d starting"}},
		{runtime.RestForOne, []string{"b exited", "d stopped", "c stopped", "b starting", "c starting", "d starting"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				fail := make(chan struct{})
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: tt.strategy, Backoff: constBackoff(time.Second), Children: []runtime.Child{
					{Name: "a", Run: nop}, {Name: "b", Run: failing(fail)}, {Name: "c", Run: nop}, {Name: "d", Run: nop},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				require.Equal(t, boot, rec.trace(lifecycle...))
				close(fail)
				synctest.Wait()
				time.Sleep(time.Second) // the backoff
				synctest.Wait()
				assert.Equal(t, append(boot, tt.restart...), rec.trace(lifecycle...))
				require.NoError(t, stop())
			})
		})
	}
}

// TestGroupRestartWaitsForOldAttempts: no new attempt starts while an old one
// in the restart set still runs, however long it takes within its grace.
func TestGroupRestartWaitsForOldAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail := make(chan struct{})
		slow := func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			time.Sleep(3 * time.Second) // draining
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "b", Run: failing(fail)},
			{Name: "slow", Run: slow, Shutdown: 10 * time.Second},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		assert.Equal(t, []string{"b starting", "slow starting", "b exited"}, rec.trace(lifecycle...), "b waits for slow")
		assert.Equal(t, runtime.StateStopping, status(t, tr, "t/slow").State)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"b starting", "slow starting", "b exited", "slow stopped", "b starting", "slow starting"}, rec.trace(lifecycle...))
		require.NoError(t, stop())
	})
}

// TestRestForOneUsesStartOrder: "the rest" are the children started after
// the failed one, which After can make differ from declaration order.
func TestRestForOneUsesStartOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "api", Run: nop, After: []string{"db"}},
			{Name: "db", Run: failing(fail)},
			{Name: "other", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.Equal(t, []string{"db starting", "api starting", "other starting"}, rec.trace(lifecycle...))
		close(fail)
		synctest.Wait()
		assert.Equal(t, []string{"db starting", "api starting", "other starting", "db exited", "other stopped", "api stopped", "db starting", "api starting", "other starting"}, rec.trace(lifecycle...))
		require.NoError(t, stop())
	})
}

// TestGroupRestartCountsOnce: a group restart is one restart of the
// supervisor, and siblings restarted with it keep their own attempt number.
func TestGroupRestartCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute},
			Children:     []runtime.Child{{Name: "a", Run: nop}, {Name: "b", Run: failing(fail)}, {Name: "c", Run: nop}},
		})
		stop, done := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("gave up after one group restart: %v", err)
		default:
		}
		for _, p := range []string{"t/a", "t/b", "t/c"} {
			st := status(t, tr, p)
			assert.Equal(t, 1, st.Restarts, p)
			assert.Equal(t, runtime.StateRunning, st.State, p)
		}
		assert.Equal(t, 1, status(t, tr, "t/a").Attempt, "a did not fail")
		assert.Equal(t, 2, status(t, tr, "t/b").Attempt)
		require.NoError(t, stop())
	})
}

// TestTemporarySiblingIsNotRestartedByGroup follows OTP: a temporary child
// stopped because a sibling failed is not restarted.
func TestTemporarySiblingIsNotRestartedByGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "a", Run: nop, Restart: runtime.Temporary},
			{Name: "b", Run: failing(fail)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		assert.Equal(t, []string{"a starting", "b starting", "b exited", "a stopped", "b starting"}, rec.trace(lifecycle...))
		assert.Equal(t, runtime.StateDone, status(t, tr, "t/a").State)
		require.NoError(t, stop())
	})
}

// TestSecondFailureJoinsGroupRestart: a rest_for_one failure of an earlier
// child while a later group restart is under way widens it; nothing starts
// twice.
func TestSecondFailureJoinsGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		failA, failB := make(chan struct{}), make(chan struct{})
		slowStop := func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			time.Sleep(time.Second)
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "a", Run: failing(failA)},
			{Name: "b", Run: failing(failB)},
			{Name: "c", Run: slowStop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		close(failB) // c starts stopping, for a second
		synctest.Wait()
		close(failA) // a joins: the group is now a, b, c
		synctest.Wait()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"a starting", "b starting", "c starting", "b exited", "a exited", "c stopped", "a starting", "b starting", "c starting"}, rec.trace(lifecycle...))
		require.NoError(t, stop())
	})
}

// TestStopOrderIsDeclared: OTP's order_of_children. However often and in
// whatever order children were restarted, the stop order is the reverse of
// the declared start order, so a dependency stops after its dependents.
func TestStopOrderIsDeclared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "db", Run: failing(fail)},
			{Name: "api", Run: nop, After: []string{"db"}},
			{Name: "cron", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail) // db restarts: it is now the latest started
		synctest.Wait()
		require.NoError(t, tr.Handle("t/cron").Restart())
		synctest.Wait()
		require.Equal(t, uint64(2), status(t, tr, "t/db").Generation)
		require.NoError(t, stop())
		assert.Equal(t, []string{"cron stopped", "api stopped", "db stopped"}, rec.trace(runtime.EventStopped)[1:],
			"after cron's restart order: reverse of db, api, cron")
	})
}

// TestSignificantMemberEndingInGroupRestart follows OTP: a significant child
// that ends on its own while a group restart stops its group ends as part
// of that restart (OTP's terminate consumes its exit). It does not shut its
// supervisor down; being transient, it starts again with the group.
func TestSignificantMemberEndingInGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail, finish := make(chan struct{}), make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "job", Restart: runtime.Transient, Significant: true, Run: func(ctx context.Context, a *runtime.Attempt) error {
				if a.Generation() == 1 {
					<-finish // ends with success, not asked to stop
					return nil
				}
				<-ctx.Done()
				return nil
			}},
			{Name: "slow", Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				time.Sleep(time.Second) // the group waits for it, job's stop is next
				return nil
			}},
			{Name: "bad", Run: failing(fail)},
		}}, runtime.WithObserver(rec.observe))
		stop, done := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait() // slow is stopping
		close(finish)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("the supervisor shut down: Run returned %v", err)
		default:
		}
		assert.Equal(t, []string{"job starting", "slow starting", "bad starting", "bad exited", "job exited", "slow stopped",
			"job starting", "slow starting", "bad starting"}, rec.trace(lifecycle...))
		require.NoError(t, stop())
	})
}
