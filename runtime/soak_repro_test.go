package runtime_test

// What TestSoak (soak_test.go) found, reduced to small deterministic tests.

import (
	"context"
	"io"
	"log/slog"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// panickingHandler is a log handler whose Handle always panics.
type panickingHandler struct{ slog.Handler }

func (panickingHandler) Handle(context.Context, slog.Record) error { panic("log handler bug") }

// TestSoakReproPanickingLoggerStarvesObservers: a log handler that panics
// costs the observers nothing. Each consumer of an event is contained on its
// own, so every observer gets every event, numbered without a gap, and none
// is counted as dropped. (The logger's panic used to skip the observers of
// that event: they saw a gap that DroppedEvents did not explain.)
func TestSoakReproPanickingLoggerStarvesObservers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}}},
			runtime.WithLogger(slog.New(panickingHandler{slog.NewTextHandler(io.Discard, nil)})),
			runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assertEveryEvent(t, tr, rec)
	})
}

// TestSoakReproPanickingObserverStarvesTheNext: an observer that panics
// does not keep the observers given after it from an event.
func TestSoakReproPanickingObserverStarvesTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}}},
			runtime.WithObserver(func(runtime.Event) { panic("observer bug") }),
			runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assertEveryEvent(t, tr, rec)
	})
}

// assertEveryEvent checks that rec got every event of the ended tree tr,
// from 1 to its last, and that none was dropped.
func assertEveryEvent(t *testing.T, tr *runtime.Tree, rec *recorder) {
	t.Helper()
	var seqs []uint64
	for _, e := range rec.all() {
		seqs = append(seqs, e.Seq)
	}
	var want []uint64
	for s := uint64(1); s <= tr.LastEvent(); s++ {
		want = append(want, s)
	}
	assert.Equal(t, want, seqs, "starting, shutting down, stopped, each delivered")
	assert.Zero(t, tr.Snapshot().DroppedEvents)
}

// blockingIsError is an error whose Is method never returns: a user's Is
// that waits on a lock or loops.
type blockingIsError struct{ unblock <-chan struct{} }

func (blockingIsError) Error() string   { return "Is blocks" }
func (e blockingIsError) Is(error) bool { <-e.unblock; return false }

// TestSoakReproBlockingIsStallsSupervisor: an error whose Is method never
// returns stalls only the attempt that returned it, which is then
// abandoned like any attempt that does not return: Run still returns
// within the root's budget, and the attempt is listed in the report. (The
// supervisor used to call Is itself, to tell ErrDoNotRestart and a
// cancellation apart, and hung there: Run returned only when Is did.)
func TestSoakReproBlockingIsStallsSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		defer close(unblock)
		const budget = 100 * time.Millisecond
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: budget, Children: []runtime.Child{
			{Name: "a", Shutdown: 10 * time.Millisecond, Run: func(ctx context.Context, _ *runtime.Attempt) error {
				time.Sleep(time.Millisecond)
				return blockingIsError{unblock}
			}},
			{Name: "b", Run: nop},
		}})
		stop, _ := start(t, tr)
		time.Sleep(10 * time.Millisecond)
		began := time.Now()
		require.NoError(t, stop())
		assert.LessOrEqual(t, time.Since(began), budget+runtime.DeliveryMargin)
		report := tr.ShutdownReport()
		require.Len(t, report.Abandoned, 1, "a, stuck in its error's Is")
		assert.Equal(t, "t/a", report.Abandoned[0].Path)
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/b").State)
	})
}

// TestSoakReproObserverGoexitEndsDelivery: an observer that calls
// runtime.Goexit, as t.FailNow or a failed require does when an observer
// checks a test's events, ends only its own call. Delivery goes on for
// every observer with the next event. (It used to end the tree's delivery
// goroutine: no observer or logger got another event, and none was
// counted as dropped.)
func TestSoakReproObserverGoexitEndsDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var calls int
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}, {Name: "b", Run: nop}}},
			runtime.WithObserver(func(runtime.Event) {
				if calls++; calls == 1 {
					goruntime.Goexit()
				}
			}),
			runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		var seqs []uint64
		for _, e := range rec.all() {
			seqs = append(seqs, e.Seq)
		}
		require.NotEmpty(t, seqs, "the events after the Goexit")
		assert.Equal(t, tr.LastEvent(), seqs[len(seqs)-1], "delivery goes on to the last event")
		// The rest of the batch being delivered at the Goexit is dropped
		// (and counted): how many events that batch held depends on when
		// the delivery goroutine ran.
		dropped := int(tr.Snapshot().DroppedEvents)
		assert.Equal(t, len(seqs), int(tr.LastEvent())-1-dropped, "every event but the Goexit's and its batch's")
		assert.Equal(t, len(seqs)+1, calls, "the first observer too gets every event after its Goexit")
	})
}

// goexitIsError is an error whose Is method calls runtime.Goexit, as a
// test's require does in a helper that checks errors.
type goexitIsError struct{}

func (goexitIsError) Error() string { return "Is exits" }
func (goexitIsError) Is(error) bool { goruntime.Goexit(); return false }

// TestIsCallingGoexitIsAFailure: an error whose Is method calls
// runtime.Goexit is a failure of the attempt that returned it, which is
// restarted. The runtime calls Is on the attempt's goroutine as it reports
// the exit, and the Goexit ended the goroutine there: the exit was never
// reported, and the child showed running, for ever, with no goroutine.
func TestIsCallingGoexitIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "a", Run: func(ctx context.Context, _ *runtime.Attempt) error {
				if calls.Add(1) == 1 {
					return goexitIsError{}
				}
				<-ctx.Done()
				return nil
			}},
		}})
		stop, _ := start(t, tr)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		st := status(t, tr, "t/a")
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.EqualValues(t, 2, st.Generation, "restarted after its failure")
		assert.Equal(t, runtime.ExitError, st.LastExit)
		assert.EqualValues(t, 2, calls.Load())
		require.NoError(t, stop())
	})
}
