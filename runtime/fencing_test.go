package runtime_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestLateReportsAreFenced: an attempt abandoned during a group restart keeps
// running next to its successor. Its Ready, Beat and exit are dropped and
// counted; they neither change the successor nor cause a restart.
func TestLateReportsAreFenced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fail := make(chan struct{})
		release := make(chan struct{})
		old := make(chan *runtime.Attempt, 1)
		stubborn := func(ctx context.Context, a *runtime.Attempt) error {
			if a.Generation() == 1 {
				old <- a
				<-release // ignores cancellation
				a.Ready()
				a.Beat()
				a.Beat()
				return errBoom
			}
			a.Ready()
			<-ctx.Done()
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "a", Run: failing(fail)},
			{Name: "s", Run: stubborn, Shutdown: time.Second, Ready: &runtime.Ready{}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		oldAttempt := <-old
		close(fail)
		time.Sleep(time.Second) // s is abandoned; the group restarts
		synctest.Wait()
		assert.False(t, oldAttempt.Current())
		before := status(t, tr, "t/s")
		require.Equal(t, uint64(2), before.Generation)
		require.Equal(t, runtime.StateRunning, before.State)

		close(release)
		synctest.Wait()
		after := status(t, tr, "t/s")
		assert.Equal(t, uint64(2), after.Generation, "no restart")
		assert.Equal(t, runtime.StateRunning, after.State)
		assert.Equal(t, before.Restarts, after.Restarts)
		assert.EqualValues(t, 4, after.Fenced, "ready, two beats, exit")
		var signals []runtime.Signal
		for _, e := range rec.of(runtime.EventFenced) {
			assert.Equal(t, uint64(1), e.Generation)
			signals = append(signals, e.Signal)
		}
		assert.Equal(t, []runtime.Signal{runtime.SignalReady, runtime.SignalBeat, runtime.SignalExit}, signals, "repeated beats are counted, reported once")
		require.NoError(t, stop())
		require.Len(t, tr.ShutdownReport().Abandoned, 1)
	})
}

// TestSupervisorPanicIsNotSwallowed: a panic in Arbor's own code crashes the
// program, even inside a nested supervisor, which runs where a child's run
// function would.
func TestSupervisorPanicIsNotSwallowed(t *testing.T) {
	if os.Getenv("ARBOR_SUPERVISOR_PANIC") == "1" {
		runtime.SetTestHook(func(path string) {
			if path == "t/n" {
				panic("supervisor bug")
			}
		})
		tr, _ := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: func(ctx context.Context, _ *runtime.Attempt) error {
				return errBoom // gives the nested supervisor a message to handle
			}}}}},
		}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tr.Run(ctx)
		os.Exit(0) // not reached when the panic crashes the program
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSupervisorPanicIsNotSwallowed$")
	cmd.Env = append(os.Environ(), "ARBOR_SUPERVISOR_PANIC=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the program must crash:\n%s", out)
	assert.Contains(t, string(out), "panic: supervisor bug")
}
