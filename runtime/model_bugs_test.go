package runtime_test

// Bugs TestModel found, each reduced to the smallest tree that shows it.

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestStopOfQueuedMemberSurvivesRegroup: Stop on a member of a group restart
// that still waits in the stop queue, behind a sibling slow to stop, takes it
// out of the group but must still stop it, even when a failure before it
// plans the group again. It used to drop out of the new plan's queue and run
// on, held, shown running, and StopAndWait never returned.
func TestStopOfQueuedMemberSurvivesRegroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		failX, failA := make(chan struct{}), make(chan struct{})
		slow := func(ctx context.Context, _ *runtime.Attempt) error {
			<-ctx.Done()
			time.Sleep(time.Second)
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "x", Run: failing(failX)},
			{Name: "a", Run: failing(failA)},
			{Name: "b", Run: nop},
			{Name: "c", Run: slow},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(failA) // a's group, b and c, stops: c first, for a second
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/c").State)
		require.Equal(t, runtime.StateRunning, status(t, tr, "t/b").State)
		waited := make(chan error, 1)
		go func() { waited <- tr.Handle("t/b").StopAndWait(context.Background()) }() // b leaves the group, to stop all the same
		synctest.Wait()
		close(failX) // x's group, everything: planned again while c stops
		synctest.Wait()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/b").State)
		select {
		case err := <-waited:
			assert.NoError(t, err)
		default:
			t.Error("StopAndWait has not returned")
			require.NoError(t, tr.Handle("t/b").Stop()) // so that it returns, and the test ends
			<-waited
		}
		for _, p := range []string{"t/x", "t/a", "t/c"} {
			assert.Equal(t, runtime.StateRunning, status(t, tr, p).State, p)
		}
		require.NoError(t, stop())
	})
}
