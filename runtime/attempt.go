package runtime

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// Attempt is one run of a worker: what its run function gets besides its
// context. Every call on an attempt that is no longer its child's current
// one is ignored and counted as fenced. A nil *Attempt, which a test may
// give a run function outside a tree, is never current: its methods do
// nothing and return zero values (and Logger slog.Default()). So is the
// zero Attempt, new(Attempt), which only a test makes.
type Attempt struct {
	slot *slot
	gen  uint64
	run  *runInfo // of the supervisor run that started it
	beat *beat    // the watchdog's record, for a child with a heartbeat; else nil

	mu      sync.Mutex                 // guards the context's state
	ctxDone chan struct{}              // its context's Done; flagDoneMade once set
	ext     atomic.Pointer[attemptExt] // set once, under mu, or before the attempt runs

	number int32
	flags  atomic.Uint32
}

// beat is what the watchdog keeps of an attempt whose child has a
// heartbeat. It is out of line so that other attempts do not carry it, and
// so that a scan touches only these.
type beat struct {
	a       *Attempt
	last    atomic.Int64 // the tree's clock at the last Beat
	staleAt int64        // the heartbeat timeout

	// Guarded by the watchdog's mutex.
	seen   int64 // last at the previous scan
	before int64 // when the clock moved past seen: the last beat was before; 0 if unknown
	index  int32 // position in the watchdog's list
	sent   bool  // the attempt was reported stale
}

// Attempt flags: each is set once.
const (
	flagReady           uint32 = 1 << iota // Ready was called while current
	flagReadyFenced                        // a fenced Ready was reported
	flagBeatFenced                         // a fenced Beat was reported
	flagAbandoned                          // listed in the shutdown report
	flagReturned                           // the run function returned
	flagCancelled                          // its context is cancelled
	flagDoneMade                           // ctxDone is set
	flagChain                              // stopped by a shutdown: its return stops the next child (chainStop)
	flagErrDoNotRestart                    // the returned error wraps ErrDoNotRestart
	flagErrCancelled                       // the returned error wraps context.Canceled or DeadlineExceeded
	flagTimedOut                           // its Timeout had passed when it returned

	causeShift = 24 // the cause of its cancellation is flags >> causeShift
)

// returned reports whether the run function has returned; its exit may
// still be on its way to the supervisor.
func (a *Attempt) returned() bool { return a.flags.Load()&flagReturned != 0 }

// setFlag sets f and reports whether this call set it.
func (a *Attempt) setFlag(f uint32) bool {
	for {
		old := a.flags.Load()
		if old&f != 0 {
			return false
		}
		if a.flags.CompareAndSwap(old, old|f) {
			return true
		}
	}
}

// Path is the child's path in the tree, such as "shop/ingest/fetch".
func (a *Attempt) Path() string {
	if a.detached() {
		return ""
	}
	return a.slot.path
}

// Name is the child's name, the last element of its path.
func (a *Attempt) Name() string {
	if a.detached() {
		return ""
	}
	return a.slot.name()
}

// Generation identifies this start of the child: each start gets the next one.
func (a *Attempt) Generation() uint64 {
	if a == nil {
		return 0
	}
	return a.gen
}

// Number is 1 plus the restarts that followed the child's own exits since
// its first start or, later, since an attempt last stayed up for its
// backoff's ResetAfter; a restart for a sibling's failure (one_for_all,
// rest_for_one) or by an order adds nothing. It is the n of the backoff
// formula for the next restart.
func (a *Attempt) Number() int {
	if a == nil {
		return 0
	}
	return int(a.number)
}

// Current reports whether this attempt is still its child's current one.
func (a *Attempt) Current() bool { return !a.detached() && a.current() }

// current is Current for an attempt of a tree. An abandoned attempt is
// never current: below an abandoned supervisor, the kill lists it at once,
// and its killed run detaches it only when it gets round to it, which may
// be after Run has returned.
func (a *Attempt) current() bool {
	return a.slot.cur.Load() == a && a.flags.Load()&flagAbandoned == 0
}

// detached reports whether a is no attempt of a tree: nil, or the zero
// Attempt.
func (a *Attempt) detached() bool { return a == nil || a.slot == nil }

// Ready reports that the child is ready: its dependents may start. Only the
// first call of a current attempt counts.
func (a *Attempt) Ready() {
	if a.detached() {
		return
	}
	if !a.current() {
		a.slot.fence(a, SignalReady, flagReadyFenced)
		return
	}
	if a.setFlag(flagReady) {
		a.slot.sup.post(a.run.done, message{kind: msgReady, slot: a.slot, gen: a.gen})
	}
}

// Beat tells the watchdog that the attempt is alive. It is an atomic store
// and does not allocate.
func (a *Attempt) Beat() {
	if a.detached() {
		return
	}
	if !a.current() {
		a.slot.fence(a, SignalBeat, flagBeatFenced)
		return
	}
	if b := a.beat; b != nil {
		b.last.Store(a.slot.sup.tree.clock.Load())
	}
}

// Logger returns the tree's logger with the child's path, generation and
// attempt number attached, under the keys of the runtime's own records
// (path, generation, attempt), so that one filter finds both.
func (a *Attempt) Logger() *slog.Logger {
	if a.detached() {
		return slog.Default()
	}
	if x := a.ext.Load(); x != nil {
		if l := x.logger.Load(); l != nil {
			return l
		}
	}
	base := a.slot.sup.tree.opts.logger
	if base == nil {
		base = slog.Default()
	}
	l := base.With(slog.String("path", a.slot.path), slog.Uint64("generation", a.gen), slog.Int("attempt", int(a.number)))
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.extLocked()
	if !x.logger.CompareAndSwap(nil, l) {
		return x.logger.Load() // another goroutine's, made meanwhile
	}
	return l
}
