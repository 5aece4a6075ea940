package runtime_test

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

// crashing fails n times, then runs until cancelled.
func crashing(n int32) runtime.RunFunc {
	var calls atomic.Int32
	return func(ctx context.Context, _ *runtime.Attempt) error {
		if calls.Add(1) <= n {
			return errBoom
		}
		<-ctx.Done()
		return nil
	}
}

func seqs(evs []runtime.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// TestJournalKeepsTheLatest: the journal holds the latest n events, numbered
// as the observer sees them, and says how many a late reader missed.
func TestJournalKeepsTheLatest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "a", Run: crashing(3)},
		}}, runtime.WithJournal(4), runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// starting, then (exited, restart scheduled, starting) three times.
		require.EqualValues(t, 10, tr.LastEvent())
		assert.EqualValues(t, 10, tr.Snapshot().LastEvent)
		require.NoError(t, stop())

		all := rec.all()
		require.Len(t, all, 12, "and shutting down, stopped")
		for i, e := range all {
			assert.EqualValues(t, i+1, e.Seq, "observers get events in their order, numbered from 1")
		}
		got, missed := tr.Journal(0)
		assert.EqualValues(t, 8, missed)
		assert.Equal(t, []uint64{9, 10, 11, 12}, seqs(got))
		assert.Equal(t, all[8:], got, "the same events as the observer's")

		got, missed = tr.Journal(10)
		assert.Zero(t, missed)
		assert.Equal(t, []uint64{11, 12}, seqs(got))
		got, missed = tr.Journal(12)
		assert.Empty(t, got)
		assert.Zero(t, missed)
		got, missed = tr.Journal(99)
		assert.Empty(t, got, "a number from another life of the program")
		assert.Zero(t, missed)

		// Page by page: the oldest n, then on from the last one.
		got, missed = tr.JournalN(0, 3)
		assert.EqualValues(t, 8, missed)
		assert.Equal(t, []uint64{9, 10, 11}, seqs(got))
		got, missed = tr.JournalN(11, 3)
		assert.Zero(t, missed)
		assert.Equal(t, []uint64{12}, seqs(got))
		got, _ = tr.JournalN(8, 0)
		assert.Equal(t, []uint64{9, 10, 11, 12}, seqs(got), "0: no limit")
		got, _ = tr.JournalN(8, -1)
		assert.Equal(t, []uint64{9, 10, 11, 12}, seqs(got))
	})
}

// TestJournalWithoutObserver: the journal is on by default and needs no
// observer; WithJournal(0) without an observer makes no events at all.
func TestJournalWithoutObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: crashing(0)}}}
		tr := mustNew(t, spec)
		stop, _ := start(t, tr)
		synctest.Wait()
		got, missed := tr.Journal(0)
		assert.Zero(t, missed)
		require.Len(t, got, 1)
		assert.Equal(t, "t/a starting gen=1 attempt=1", got[0].String())
		require.NoError(t, stop())

		off := mustNew(t, spec, runtime.WithJournal(0))
		stop, _ = start(t, off)
		synctest.Wait()
		require.NoError(t, stop())
		got, missed = off.Journal(0)
		assert.Empty(t, got)
		assert.Zero(t, missed)
		assert.Zero(t, off.LastEvent())
	})
}

// TestJournalWithoutKeeping: with an observer but no journal, events are
// numbered and a reader learns that it missed all of them.
func TestJournalWithoutKeeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: crashing(0)}}},
			runtime.WithJournal(0), runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assert.Equal(t, []uint64{1, 2, 3}, seqs(rec.all()))
		got, missed := tr.Journal(1)
		assert.Empty(t, got)
		assert.EqualValues(t, 2, missed)
	})
}

// TestJournalWait: a reader waits for the next event without polling.
func TestJournalWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "a", Run: failing(fail)},
		}})
		first := tr.JournalWait(0)
		stop, _ := start(t, tr)
		synctest.Wait()
		requireClosed(t, first, "the first event")
		last := tr.LastEvent()
		requireClosed(t, tr.JournalWait(last-1), "an event above last-1 exists")
		next := tr.JournalWait(last)
		again := tr.JournalWait(last)
		synctest.Wait()
		requireOpen(t, next, "nothing happened")
		close(fail)
		synctest.Wait()
		requireClosed(t, next, "the exit")
		requireClosed(t, again, "every waiter is woken")
		got, _ := tr.Journal(last)
		assert.Equal(t, runtime.EventExited, got[0].Kind)
		// An after from another run of the program, beyond every event:
		// woken by the next one, as its doc says, with nothing to read.
		last = tr.LastEvent()
		ahead := tr.JournalWait(last + 100)
		synctest.Wait()
		requireOpen(t, ahead, "nothing happened")
		time.Sleep(time.Second) // the restart
		synctest.Wait()
		requireClosed(t, ahead, "the next event wakes a reader ahead")
		got, missed := tr.Journal(last + 100)
		assert.Empty(t, got)
		assert.Zero(t, missed)
		require.NoError(t, stop())
	})
}

// TestJournalKeepsWhatASlowObserverLoses: drops concern delivery only; the
// observer sees a gap in the numbers where it lost events.
func TestJournalKeepsWhatASlowObserverLoses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
			Children:     []runtime.Child{{Name: "a", Run: crashing(20)}}},
			runtime.WithEventBuffer(4),
			runtime.WithObserver(func(e runtime.Event) {
				<-unblock
				rec.observe(e)
			}))
		stop, _ := start(t, tr)
		synctest.Wait()
		got, missed := tr.Journal(0)
		assert.Zero(t, missed)
		assert.Len(t, got, 61, "every start, exit and scheduled restart")
		close(unblock)
		synctest.Wait() // the observer takes what was kept, so the stop's events follow a gap
		require.NoError(t, stop())
		seen := seqs(rec.all())
		dropped := tr.Snapshot().DroppedEvents
		require.NotZero(t, dropped)
		assert.EqualValues(t, 63, uint64(len(seen))+dropped)
		gaps := 0
		for i := 1; i < len(seen); i++ {
			require.Greater(t, seen[i], seen[i-1], "in order")
			if seen[i] != seen[i-1]+1 {
				gaps++
			}
		}
		assert.NotZero(t, gaps)
	})
}

// TestOrdersAreEvents: every order is an event, emitted when the supervisor
// takes it and before what it causes, naming who gave it.
func TestOrdersAreEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: crashing(0)}}},
			runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/a")
		require.NoError(t, h.Order(runtime.OrderRestart, "console 127.0.0.1:4242"))
		synctest.Wait()
		require.NoError(t, h.Stop())
		synctest.Wait()
		assert.Error(t, h.Order(runtime.Order(9), "x"))
		require.NoError(t, stop())
		assert.Equal(t, []string{
			"a starting",
			"a order", "a stopped", "a starting",
			"a order", "a stopped",
			" shutting down",
		}, rec.trace())
		orders := rec.of(runtime.EventOrder)
		assert.Equal(t, `t/a order restart from="console 127.0.0.1:4242"`, orders[0].String())
		assert.Equal(t, runtime.OrderStop, orders[1].Order)
		assert.Empty(t, orders[1].From)
		got, _ := tr.Journal(0)
		assert.Equal(t, "console 127.0.0.1:4242", got[1].From, "the journal keeps who gave it")
	})
}

// TestObserve: adapters attach to a built tree before Run; every observer
// gets every event.
func TestObserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first, second := &recorder{}, &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: crashing(1)}}},
			runtime.WithJournal(0), runtime.WithObserver(first.observe))
		require.NoError(t, tr.Observe(second.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.ErrorIs(t, tr.Observe(func(runtime.Event) {}), runtime.ErrAlreadyRunning)
		require.NoError(t, stop())
		assert.ErrorIs(t, tr.Observe(func(runtime.Event) {}), runtime.ErrTreeEnded)
		assert.NotEmpty(t, first.all())
		assert.Equal(t, first.all(), second.all())

		// A tree built without journal or observer makes events once observed.
		third := &recorder{}
		tr = mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: crashing(0)}}}, runtime.WithJournal(0))
		require.NoError(t, tr.Observe(third.observe))
		stop, _ = start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assert.Equal(t, []string{"a starting", " shutting down", "a stopped"}, third.trace())
	})
}

func TestSnapshotAfter(t *testing.T) {
	tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "db", Run: crashing(0)},
		{Name: "cache", Run: crashing(0)},
		{Name: "api", Run: crashing(0), After: []string{"db", "cache"}},
	}})
	snap := tr.Snapshot()
	assert.Nil(t, snap.Children[0].After)
	assert.Equal(t, []string{"db", "cache"}, snap.Children[2].After)
	snap.Children[2].After[0] = "x"
	assert.Equal(t, []string{"db", "cache"}, status(t, tr, "t/api").After, "a copy")
}

func requireClosed(t *testing.T, ch <-chan struct{}, why string) {
	t.Helper()
	select {
	case <-ch:
	default:
		t.Fatalf("channel open; want closed: %s", why)
	}
}

func requireOpen(t *testing.T, ch <-chan struct{}, why string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("channel closed; want open: %s", why)
	default:
	}
}
