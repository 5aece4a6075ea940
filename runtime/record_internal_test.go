package runtime

import (
	"errors"
	"testing"
	"time"
)

// TestRecordKeepsEveryField: an event packed for the queue and unpacked for
// the observer is the event that was emitted, for every kind with the
// fields its documentation gives it.
func TestRecordKeepsEveryField(t *testing.T) {
	epoch := time.Now()
	at := epoch.Add(1500 * time.Millisecond)
	boom := errors.New("boom")
	for _, e := range []Event{
		{Kind: EventStarting, Time: at, Path: "t/a", Generation: 7, Attempt: 3, Restarts: 6},
		{Kind: EventReady, Time: at, Path: "t/a", Generation: 7, Attempt: 3},
		{Kind: EventExited, Time: at, Path: "t/a", Generation: 7, Attempt: 3, Exit: ExitPanic, Err: boom},
		{Kind: EventRestartScheduled, Time: at, Path: "t/a", Generation: 7, Attempt: 3, Delay: 250 * time.Millisecond},
		{Kind: EventStopped, Time: at, Path: "t/a", Generation: 7, Attempt: 3, Exit: ExitCancelled},
		{Kind: EventAbandoned, Time: at, Path: "t/a", Generation: 7, Attempt: 3, Delay: 5 * time.Second, Err: ErrStopped},
		{Kind: EventFenced, Time: at, Path: "t/a", Generation: 7, Attempt: 3, Signal: SignalBeat},
		{Kind: EventGaveUp, Time: at, Path: "t", Err: boom},
		{Kind: EventShuttingDown, Time: at, Path: "t"},
		{Kind: EventWaiting, Time: at, Path: "t/api", Waiting: []string{"db", "cache"}},
		{Kind: EventOrder, Time: at, Path: "t/a", Order: OrderRestart, From: "console 127.0.0.1:1234"},
		{Kind: EventOrder, Time: at, Path: "t/a", Order: OrderStop},
	} {
		var r record
		e.pack(&r, 42, epoch)
		got := r.event(epoch)
		if got.Seq != 42 {
			t.Errorf("%v: Seq %d, want 42", e, got.Seq)
		}
		if got.String() != e.String() || !got.Time.Equal(e.Time) || got.Err != e.Err || got.Restarts != e.Restarts || got.Delay != e.Delay ||
			got.Order != e.Order || got.From != e.From {
			t.Errorf("%v: got back %v (time %v, want %v)", e, got, got.Time, e.Time)
		}
	}
}
