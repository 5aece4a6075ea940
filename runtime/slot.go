package runtime

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// slot holds one child: its spec, its current attempt and its history.
type slot struct {
	sup *supervisor
	// spec is a copy of the child's Child without Name, Run and After, with
	// the defaults applied (see policies), shared by alike siblings.
	spec *Child
	fn   RunFunc // the Run of the child's Child
	path string
	rare *rare // what few children have; nil if none

	cur    atomic.Pointer[Attempt]
	fenced atomic.Uint64

	// Owned by the supervisor's goroutine.
	rank       int32 // position in the supervisor's start order; set by build
	streak     int32 // restarts since the child last stayed up for ResetAfter
	readyAt    int64 // tree clock when the current attempt became ready
	stopCause  cause // why the supervisor cancelled the current attempt; causeFailure if a missed deadline
	ready      bool  // the current attempt is ready
	pending    bool  // wants to start once its After list is ready
	member     bool  // part of the group restart in progress
	completed  bool  // ended for good after a success
	counted    bool  // counted towards the supervisor's first readiness
	held       bool  // stopped by Handle.Stop until Handle.Restart
	restartNow bool  // Handle.Restart asked for a new attempt once this one stops
	// timerSeq counts arms and disarms of its timer (see timers). 32 bits
	// suffice: a stale entry would have to outlive 2^32 disarms of its
	// slot, which take billions of restarts, each arming a timer of its own
	// (then the heap would hold billions of entries) or a short one.
	timerSeq uint32

	// With st, guarded by sup.mu.
	state    State
	lastExit ExitKind
	fault    cause // while stopping: the deadline the attempt missed, if that is why

	// Owned by the supervisor's goroutine, not guarded by mu: here, it
	// fills what would be padding (see TestLayout).
	parked bool // waits only for siblings that stand by for their lease, or are parked: see park

	st status // guarded by sup.mu
}

// stopAsked reports whether the current attempt is being stopped on
// purpose: its supervisor asked, or a shutdown's chainStop did before the
// supervisor got to it. A fault noticed then (a missed deadline, a lost
// lease) is not the child's: it is stopping anyway.
func (s *slot) stopAsked() bool {
	if s.stopCause != causeNone {
		return true
	}
	a := s.cur.Load()
	return a != nil && a.flags.Load()&flagChain != 0
}

// failStop reports whether the supervisor stops the current attempt for
// the child's own failure: a missed deadline.
func (s *slot) failStop() bool { return s.stopCause&causeFailure != 0 }

// sub is the supervisor a nested supervisor's or a pool's slot runs; nil
// for a worker.
func (s *slot) sub() *supervisor {
	if s.rare == nil {
		return nil
	}
	return s.rare.sub
}

// orNew returns r, or a new rare if r is nil.
func orNew(r *rare) *rare {
	if r == nil {
		return &rare{}
	}
	return r
}

func (s *slot) deps() []*slot {
	if s.rare == nil {
		return nil
	}
	return s.rare.deps
}

func (s *slot) dependents() []*slot {
	if s.rare == nil {
		return nil
	}
	return s.rare.dependents
}

// rare holds what few children have, out of line.
type rare struct {
	sub        *supervisor // a nested supervisor or a pool: what it runs
	limit      *childLimit // the child's own restart limit, if any
	lease      *leaseState // the child's lease, if any
	deps       []*slot     // the After list
	dependents []*slot     // siblings whose After list names this one, in start order
}

// ownLimit returns the child's own restart limit, or nil.
func (s *slot) ownLimit() *childLimit {
	if s.rare == nil {
		return nil
	}
	return s.rare.limit
}

// lease returns the child's lease, or nil.
func (s *slot) lease() *leaseState {
	if s.rare == nil {
		return nil
	}
	return s.rare.lease
}

// childLimit is a child's own restart limit and its window.
type childLimit struct {
	RestartLimit
	window restartWindow
}

// status is what snapshots read.
type status struct {
	since     int64  // tree clock when state began
	gen       uint64 // of the current or last attempt; written by the supervisor's goroutine only
	lastErr   error
	attempt   int32
	abandoned int32
}

// restarts is the number of restarts: every start but the first.
func (st *status) restarts() int { return int(max(st.gen, 1) - 1) }

func (s *slot) statusLocked() ChildStatus {
	var after []string
	if deps := s.deps(); len(deps) > 0 {
		after = make([]string, len(deps))
		for i, d := range deps {
			after[i] = d.name()
		}
	}
	c := ChildStatus{
		After:      after,
		Path:       s.path,
		Supervisor: s.sub() != nil,
		Pool:       s.sub() != nil && s.sub().pool != nil,
		Instance:   s.sup.pool != nil,
		State:      s.state,
		Since:      s.sup.tree.epoch.Add(time.Duration(s.st.since)),
		Generation: s.st.gen,
		Attempt:    int(s.st.attempt),
		Restarts:   s.st.restarts(),
		Abandoned:  int(s.st.abandoned),
		Fenced:     s.fenced.Load(),
		LastExit:   s.lastExit,
		LastError:  s.st.lastErr,
	}
	if s.state == StateStopping && s.fault != causeNone {
		c.fault = s.fault.err()
	}
	if ls := s.lease(); ls != nil {
		c.Lease, c.Token, c.LeaseError = ls.name, ls.token, ls.err
	}
	return c
}

// setState records a new state for snapshots. A killed run may finish the
// message it was handling, but its decisions no longer show: killTree set
// what the snapshot says, and endKilled settles the rest.
func (s *slot) setState(st State, now time.Time) {
	s.sup.mu.Lock()
	was := s.state
	if !s.sup.killed {
		s.state = st
		s.st.since = s.sup.tree.since(now)
	}
	s.sup.mu.Unlock()
	s.sup.moved(s, was, st)
}

// setStopping records that the current attempt is being stopped, for
// snapshots: fault is the deadline it missed (causeNone for a stop it did
// not bring on itself), so that Health tells the two apart.
func (s *slot) setStopping(now time.Time, fault cause) {
	if sub := s.sub(); sub != nil {
		// For handles and Pool.Start, before its run, perhaps held up
		// elsewhere, sees that it was cancelled.
		sub.closing.Store(true)
	}
	s.sup.mu.Lock()
	if !s.sup.killed {
		s.state = StateStopping
		s.st.since = s.sup.tree.since(now)
		s.fault = fault
	}
	s.sup.mu.Unlock()
}

// orderTakesOver records that an order took over the stop of the current
// attempt for a missed deadline: the attempt now stops on the order, and
// its stop still began when it was cancelled.
func (s *slot) orderTakesOver() {
	s.sup.mu.Lock()
	s.fault = causeNone
	s.sup.mu.Unlock()
}

// name is the child's name, the last element of its path.
func (s *slot) name() string { return s.path[len(s.sup.path)+1:] }

// getState reads the state under the lock: a killing ancestor may write it.
func (s *slot) getState() State {
	s.sup.mu.Lock()
	defer s.sup.mu.Unlock()
	return s.state
}

// stopIfPending shows a child that was waiting to start as stopped.
func (s *slot) stopIfPending(now time.Time) {
	s.sup.mu.Lock()
	was := s.state
	if was == StateBackoff || was == StateWaiting || was == StateIdle || was == StateStandby {
		s.state, s.st.since = StateStopped, s.sup.tree.since(now)
	}
	s.sup.mu.Unlock()
	s.sup.moved(s, was, StateStopped)
}

// needsReady reports whether the child says itself when it is ready.
func (s *slot) needsReady() bool { return s.spec.Ready != nil || s.sub() != nil }

// isReady reports whether the child satisfies the After lists naming it.
func (s *slot) isReady() bool {
	return s.completed || (s.cur.Load() != nil && s.ready && s.stopCause == causeNone)
}

// run is the attempt's goroutine.
func (s *slot) run(a *Attempt) {
	var err error
	returned := false
	defer func() {
		if !returned {
			if s.sub() != nil {
				return // a panic in a supervisor is a bug in Arbor: let it crash
			}
			if v := recover(); v != nil {
				err = &PanicError{Value: v, Stack: debug.Stack()}
			} else {
				err = errGoexit
			}
		}
		// The error's Is methods are user code, which may never return:
		// they run here, on the attempt's goroutine, and an attempt stuck
		// in them is abandoned like one that does not return; one that
		// calls runtime.Goexit in them still reports its exit. A nested
		// supervisor's error is its own, whatever the failure it wraps:
		// it never asks not to be restarted.
		if s.sub() == nil {
			classified := false
			defer func() {
				if !classified {
					s.reportExit(a, err)
				}
			}()
			a.classify(err)
			classified = true
		}
		s.reportExit(a, err)
	}()
	if b := a.beat; b != nil {
		b.last.Store(s.sup.tree.clock.Load()) // the heartbeat timeout counts from now
	}
	if s.sub() != nil {
		err = s.sub().run(a.context(), a)
	} else {
		err = s.fn(a.context(), a)
	}
	returned = true
}

// reportExit tells the supervisor that attempt a returned err, from its
// goroutine, after which it runs no user code.
func (s *slot) reportExit(a *Attempt, err error) {
	if s.spec.Timeout > 0 && context.Cause(a.context()) == ErrAttemptTimeout {
		// Decided now, not when the supervisor takes the exit: an
		// attempt that returned in time did not time out, however late
		// its supervisor reads its context.
		a.setFlag(flagTimedOut)
	}
	a.setFlag(flagReturned)
	if a.flags.Load()&flagAbandoned != 0 {
		s.sup.tree.abandonedReturned(a)
	}
	m := message{kind: msgExit, slot: s, gen: a.gen, err: err}
	chain := a.flags.Load()&(flagChain|flagAbandoned) == flagChain
	if chain {
		m.at = s.sup.tree.since(time.Now()) // before the next child's stop, as its supervisor will see it
	}
	if !s.sup.post(a.run.done, m) {
		s.fenced.Add(1) // a late exit after its supervisor ended
	}
	if chain {
		s.sup.chainStop(a) // after the exit, which its supervisor must see first
	}
}

var errGoexit = errors.New("arbor: run function called runtime.Goexit")

// fence counts a report from an attempt that is no longer current. Only the
// first of each kind becomes an event, so a zombie cannot flood observers.
func (s *slot) fence(a *Attempt, sig Signal, reported uint32) {
	s.fenced.Add(1)
	if a.setFlag(reported) {
		s.sup.tree.emit(&Event{Kind: EventFenced, Path: s.path, Generation: a.gen, Attempt: int(a.number), Signal: sig})
	}
}

// nextDelay advances the restart streak and returns the delay before the
// next attempt. The attempt that has just ended has been detached, which
// reset the streak if it stayed up long enough (forget).
func (s *slot) nextDelay() time.Duration {
	s.streak++
	return delay(s.spec.Backoff, int(s.streak))
}

// forget resets the restart streak if the attempt that ends now stayed up
// (and ready) for ResetAfter, however it ends: failed, stopped by its
// group's restart or an order, or ended for good. A child long well does
// not carry the streak of its old failures into its next attempt (after a
// group restart, an order, or a Restart of a child that ended).
func (s *slot) forget(now int64) {
	if s.ready && time.Duration(now-s.readyAt) >= s.spec.Backoff.ResetAfter {
		s.streak = 0
	}
}

// delay is min(Max, Initial·Multiplier^(n-1)) spread by ±Jitter, and
// never beyond the longest Duration: a conversion past it would wrap to a
// negative delay and restart at once.
func delay(b *Backoff, n int) time.Duration {
	if b.Initial <= 0 {
		return 0
	}
	m := b.Multiplier
	if m == 0 {
		m = 1
	}
	d := float64(b.Initial) * math.Pow(m, float64(n-1))
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rand.Float64()-1)
	}
	switch {
	case d >= math.MaxInt64: // float64(MaxInt64) rounds up to 2^63
		return math.MaxInt64
	case d > 0:
		return time.Duration(d)
	}
	return 0
}

// outcome turns what an attempt returned into its exit class and the error
// to record.
func (s *slot) outcome(a *Attempt, err error) (ExitKind, error) {
	if _, ok := err.(*PanicError); ok {
		return ExitPanic, err
	}
	if s.stopCause != causeNone {
		if s.failStop() {
			return ExitTimeout, because(s.stopCause.err(), a, err)
		}
		return ExitCancelled, err
	}
	if a.flags.Load()&flagTimedOut != 0 {
		return ExitTimeout, because(ErrAttemptTimeout, a, err)
	}
	if err == nil {
		return ExitSuccess, nil
	}
	return ExitError, err
}

// because puts the supervisor's reason first, keeping what attempt a
// returned when it says more than that it was cancelled.
func because(cause error, a *Attempt, returned error) error {
	if returned == nil || a.flags.Load()&flagErrCancelled != 0 {
		return cause
	}
	return &stopError{cause: cause, returned: returned}
}

// classify records, on the attempt's goroutine, what the supervisor needs
// to know of the error it returned, so that the supervisor never calls the
// error's methods. A panic is a failure whatever its value: one that
// wraps ErrDoNotRestart does not end the child for good.
func (a *Attempt) classify(err error) {
	if _, panicked := err.(*PanicError); err == nil || panicked {
		return
	}
	if errIs(err, ErrDoNotRestart) {
		a.setFlag(flagErrDoNotRestart)
	}
	if errIs(err, context.Canceled) || errIs(err, context.DeadlineExceeded) {
		a.setFlag(flagErrCancelled)
	}
}

// doNotRestart reports whether the exit of a, which outcome classified as
// kind, ends the child for good: its error wraps ErrDoNotRestart, and is
// not replaced by the supervisor's reason for a missed deadline.
func doNotRestart(a *Attempt, kind ExitKind) bool {
	f := a.flags.Load()
	return f&flagErrDoNotRestart != 0 && !(kind == ExitTimeout && f&flagErrCancelled != 0)
}

// restarts reports whether the child's restart type asks for another
// attempt; dnr, whether the exit asked for none (doNotRestart).
func (s *slot) restarts(kind ExitKind, dnr bool) bool {
	if dnr {
		return false
	}
	switch s.spec.Restart {
	case Temporary:
		return false
	case Transient:
		return kind.Failure()
	}
	return true
}

// restartWindow is the times of the restarts within a restart limit's
// window, oldest first, from head on. Those that leave the window move
// head; the array is compacted only once head is half of it, so that a
// restart costs the same with a Max of 5 or of a million, and a steady
// rate allocates nothing.
type restartWindow struct {
	times []time.Time
	head  int
}

// exceeded records a restart at now in w and reports whether it makes
// more than l.Max within l.Window. A restart exactly l.Window old still
// counts, as in OTP (Now - Then =< Period).
func (w *restartWindow) exceeded(l RestartLimit, now time.Time) bool {
	cut := now.Add(-l.Window)
	for w.head < len(w.times) && w.times[w.head].Before(cut) {
		w.head++
	}
	if w.head == len(w.times) {
		w.times, w.head = w.times[:0], 0
	}
	if len(w.times)-w.head >= l.Max {
		return true
	}
	if len(w.times) == cap(w.times) && 2*w.head >= len(w.times) {
		w.times = w.times[:copy(w.times, w.times[w.head:])]
		w.head = 0
	}
	w.times = append(w.times, now)
	return false
}
