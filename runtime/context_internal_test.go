package runtime

import (
	"context"
	"testing"
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
