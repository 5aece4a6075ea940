package runtime

import (
	"context"
	"testing"
	"time"
)

// TestAttemptContextForgetsDerived checks that a context derived from an
// attempt's and cancelled first is unregistered: an attempt that derives a
// context per request for days holds none of those it cancelled.
func TestAttemptContextForgetsDerived(t *testing.T) {
	a := &Attempt{slot: &slot{path: "t/w"}, run: &runInfo{base: context.Background()}}
	ctx := a.context()
	for range 1000 {
		_, cancel := context.WithCancel(ctx)
		cancel()
	}
	if n := len(a.ext.Load().funcs); n != 0 {
		t.Fatalf("%d derived contexts still registered after their cancel", n)
	}
	derived, cancel := context.WithCancel(ctx)
	defer cancel()
	a.cancel(causeLeaseLost)
	a.cancel(causeStopped) // the first cause stays
	<-derived.Done()
	if got := context.Cause(derived); got != ErrLeaseLost {
		t.Fatalf("derived context's cause %v, want %v", got, ErrLeaseLost)
	}
	if got := context.Cause(ctx); got != ErrLeaseLost {
		t.Fatalf("cause %v, want %v", got, ErrLeaseLost)
	}
}

// TestAttemptCauseIsContextCause: the cause an Abandoned event carries,
// read without the cancelCtx that context.Cause makes, is what the run
// function's context says, for every cause and for a context with a
// Timeout's deadline.
func TestAttemptCauseIsContextCause(t *testing.T) {
	for c := causeStopped; c <= causeReadyTimeout; c++ {
		a := &Attempt{slot: &slot{path: "t/w"}, run: &runInfo{base: context.Background()}}
		if got := a.cause(); got != nil {
			t.Fatalf("cause before cancel: %v", got)
		}
		a.cancel(c)
		if got, want := a.cause(), context.Cause(a.context()); got != want || got != c.err() {
			t.Errorf("cause %v, context.Cause %v, want %v", got, want, c.err())
		}
	}
	a := &Attempt{slot: &slot{path: "t/w"}, run: &runInfo{base: context.Background()}}
	timed, release := context.WithDeadlineCause(a.context(), time.Now().Add(-time.Second), ErrAttemptTimeout)
	defer release()
	a.ext.Load().timed = timed
	a.cancel(causeStopped)
	if got, want := a.cause(), context.Cause(a.context()); got != want || got != ErrAttemptTimeout {
		t.Errorf("timed: cause %v, context.Cause %v, want %v", got, want, ErrAttemptTimeout)
	}
}
