package runtime

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// attemptContext is an attempt's context: the Attempt itself, so that a
// start allocates no context and no cancel function. It behaves as
// context.WithCancelCause of the supervisor's base context (which is never
// cancelled): Done, Err and context.Cause say what a cancelCtx would, and
// contexts derived from it are cancelled with it, at once, through its
// AfterFunc method (the context package's hook for such contexts).
type attemptContext Attempt

// context returns the context a's run function gets.
func (a *Attempt) context() context.Context {
	if x := a.ext.Load(); x != nil && x.timed != nil {
		return x.timed
	}
	return (*attemptContext)(a)
}

// runInfo is what the attempts of one run of a supervisor share.
type runInfo struct {
	done      chan struct{}   // closed when the run ends
	base      context.Context // the values of their contexts; never cancelled
	stopCause atomic.Uint32   // the cause of the shutdown's stops, for chainStop
}

// parent is the context a's derives from: its run's base, or with the
// token of its lease.
func (a *Attempt) parent() context.Context {
	if x := a.ext.Load(); x != nil && x.parent != nil {
		return x.parent
	}
	return a.run.base
}

// attemptExt is what few attempts need, made when first needed: an attempt
// without a lease or a Timeout, whose run function derives no context and
// asks for no Logger, never has one.
type attemptExt struct {
	parent context.Context // a child with a lease: the base with its token

	// A child with a Timeout: the deadline context its run function gets,
	// its cancel function, and the unwatch of the deadline (see start).
	timed   context.Context
	release context.CancelFunc
	unwatch func() bool

	logger atomic.Pointer[slog.Logger] // Attempt.Logger's, made on first use

	funcs  map[uint64]func()
	nextFn uint64
	caused context.Context // a cancelled cancelCtx with the cause, for context.Cause
}

// extLocked returns a's attemptExt, made if it has none. a.mu is held.
func (a *Attempt) extLocked() *attemptExt {
	x := a.ext.Load()
	if x == nil {
		x = new(attemptExt)
		a.ext.Store(x)
	}
	return x
}

// cause is one of the errors a supervisor cancels an attempt with, in a
// byte: slots and attempts keep one.
type cause uint8

const (
	causeNone cause = iota
	causeStopped
	causeLeaseLost
	causeAttemptTimeout
	causeHeartbeatTimeout
	causeReadyTimeout
)

// causeFailure marks a slot's stop as the child's failure: a missed
// deadline.
const causeFailure cause = 0x80

var causeErrs = [...]error{nil, ErrStopped, ErrLeaseLost, ErrAttemptTimeout, ErrHeartbeatTimeout, ErrReadyTimeout}

// err is the error of c; nil for causeNone.
func (c cause) err() error { return causeErrs[c&^causeFailure] }

// cancel cancels a's context with c, once; later calls do nothing.
func (a *Attempt) cancel(c cause) {
	a.mu.Lock()
	if a.flags.Load()&flagCancelled != 0 {
		a.mu.Unlock()
		return
	}
	var funcs map[uint64]func()
	a.setFlag(uint32(c) << causeShift)
	if x := a.ext.Load(); x != nil {
		funcs, x.funcs = x.funcs, nil
	}
	a.setFlag(flagCancelled) // after the cause: Err then Cause sees it
	if a.ctxDone != nil {
		close(a.ctxDone)
	} else {
		a.ctxDone = closedChan
		a.setFlag(flagDoneMade)
	}
	a.mu.Unlock()
	for _, f := range funcs {
		f() // the context package's: a derived context's cancel
	}
}

// causeLocked is the cause a was cancelled with. a.mu is held.
func (a *Attempt) causeLocked() error {
	return cause(a.flags.Load() >> causeShift).err()
}

// cause returns context.Cause of a's context, once it is cancelled, without
// the cancelCtx that Value makes for it: a pool that abandons 100k
// instances asks for each one's.
func (a *Attempt) cause() error {
	if x := a.ext.Load(); x != nil && x.timed != nil {
		return context.Cause(x.timed)
	}
	if a.flags.Load()&flagCancelled == 0 {
		return nil
	}
	return cause(a.flags.Load() >> causeShift).err()
}

// Deadline reports no deadline: the base context has none.
func (c *attemptContext) Deadline() (time.Time, bool) { return (*Attempt)(c).parent().Deadline() }

// Done returns a channel closed when the attempt is cancelled.
func (c *attemptContext) Done() <-chan struct{} {
	a := (*Attempt)(c)
	if a.flags.Load()&flagDoneMade != 0 {
		return a.ctxDone
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctxDone == nil {
		a.ctxDone = make(chan struct{})
		a.setFlag(flagDoneMade)
	}
	return a.ctxDone
}

// Err returns context.Canceled once the attempt is cancelled, else nil.
func (c *attemptContext) Err() error {
	if (*Attempt)(c).flags.Load()&flagCancelled != 0 {
		return context.Canceled
	}
	return nil
}

// Value returns the base context's value for key. Once the attempt is
// cancelled, it asks a cancelled cancelCtx with the same cause and parent,
// which is how context.Cause finds the cause.
func (c *attemptContext) Value(key any) any {
	a := (*Attempt)(c)
	if a.flags.Load()&flagCancelled == 0 {
		return a.parent().Value(key)
	}
	a.mu.Lock()
	x := a.extLocked()
	if x.caused == nil {
		ctx, cancel := context.WithCancelCause(a.parent())
		cancel(a.causeLocked())
		x.caused = ctx
	}
	caused := x.caused
	a.mu.Unlock()
	return caused.Value(key)
}

// AfterFunc calls f when the attempt is cancelled, or at once (in its own
// goroutine) if it is already; stop unregisters f and reports whether it
// did so before f was called. The context package calls it for each
// context derived from the attempt's, with a short f that cancels that
// context, which it runs in the goroutine that cancels the attempt, as a
// cancelCtx does for its children.
func (c *attemptContext) AfterFunc(f func()) (stop func() bool) {
	a := (*Attempt)(c)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.flags.Load()&flagCancelled != 0 {
		go f()
		return func() bool { return false }
	}
	x := a.extLocked()
	if x.funcs == nil {
		x.funcs = make(map[uint64]func())
	}
	x.nextFn++
	id := x.nextFn
	x.funcs[id] = f
	return func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		x := a.ext.Load()
		if _, ok := x.funcs[id]; !ok {
			return false
		}
		delete(x.funcs, id)
		return true
	}
}

// String names the context as fmt prints it.
func (c *attemptContext) String() string {
	return "arbor attempt " + c.slot.path
}
