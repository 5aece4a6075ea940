package runtime

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// State is where a child is in its life.
type State uint8

// The states of a child.
const (
	StateIdle     State = iota // not started yet
	StateWaiting               // waiting for the siblings in its After list
	StateStarting              // running, not ready yet
	StateRunning               // running and ready
	StateStopping              // cancelled, waiting for the attempt to return
	StateBackoff               // waiting for its restart delay
	StateStopped               // stopped by its supervisor, to be restarted or not
	StateDone                  // ended for good: it will not be restarted
	StateStandby               // waiting to acquire its lease, which another process may hold
)

var stateNames = [...]string{"idle", "waiting", "starting", "running", "stopping", "backoff", "stopped", "done", "standby"}

// String returns the state in words, such as "backoff".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// ChildStatus is one child as a Snapshot sees it.
type ChildStatus struct {
	Path       string
	Supervisor bool // a nested supervisor or a pool
	Pool       bool // a pool: its live instances (see Pool.Len) follow it
	Instance   bool // an instance of a pool
	State      State
	Since      time.Time // when State began
	Generation uint64    // of the current or last attempt; 0 before the first start
	Attempt    int       // the current or last attempt's number
	Restarts   int       // restarts over the tree's life, automatic or by Handle.Restart
	After      []string  // the names of the siblings it starts after
	Abandoned  int       // attempts abandoned over the tree's life
	Fenced     uint64    // reports dropped from attempts that were no longer current
	LastExit   ExitKind
	LastError  error
	Lease      string // the lease's name, for a child with one
	Token      uint64 // the fencing token of the lease held; 0 when none is
	// LeaseError is the last error acquiring the lease, while the child
	// stands by after it.
	LeaseError error

	fault error // while stopping: the deadline the attempt missed, if that is why (for Health)
}

// Snapshot is the state of every child of a tree, depth first in
// declaration order, nested supervisors before their children, and a pool's
// live instances, in no particular order, after the pool: those Pool.Len
// counts, in the states PoolCounts counts (stopped too: one that has just
// returned, a moment before its restart or removal), each pool's read at
// one moment, so that they agree with its Counts at that moment.
type Snapshot struct {
	Tree          string
	Children      []ChildStatus
	DroppedEvents uint64 // events a slow observer lost
	LastEvent     uint64 // the Seq of the latest event when the snapshot began
}

// Child returns the status of the child at path.
func (s Snapshot) Child(path string) (ChildStatus, bool) {
	for _, c := range s.Children {
		if c.Path == path {
			return c, true
		}
	}
	return ChildStatus{}, false
}

// Handle reads the state of one child. It is safe for concurrent use. A
// nil Handle, which Tree.Handle returns for a path that names no child,
// reads as the zero value and its orders return ErrNoChild; so does a
// zero Handle, such as new(Handle), which names no child either.
type Handle struct {
	s *slot
}

// Path is the child's path in the tree.
func (h *Handle) Path() string {
	if h == nil || h.s == nil {
		return ""
	}
	return h.s.path
}

// Status returns the child's current status.
func (h *Handle) Status() ChildStatus {
	if h == nil || h.s == nil {
		return ChildStatus{}
	}
	h.s.sup.mu.Lock()
	defer h.s.sup.mu.Unlock()
	return h.s.statusLocked()
}

// State returns the child's current state.
func (h *Handle) State() State {
	if h == nil || h.s == nil {
		return StateIdle
	}
	h.s.sup.mu.Lock()
	defer h.s.sup.mu.Unlock()
	return h.s.state
}

// Restart stops the child's current attempt, if any, within its grace, and
// starts a new one at once: no backoff, and it does not count against the
// restart limit. It also starts a child that ended for good or was stopped
// with Stop. During a one_for_all or rest_for_one restart, the child
// starts with the group instead, once every member has stopped. Restart
// returns once the supervisor has the order, before the restart; an error
// wrapping ErrNotRunning when the child's supervisor is not running or is
// stopping, or the tree is stopping (the order would change nothing), and
// ErrTreeEnded (which matches ErrNotRunning too) once the tree has ended.
// A pool instance restarts with the same run function; one that was
// removed from its pool gives an error wrapping ErrRemoved (one removed
// after the order was given, before its pool took it, is not restarted).
// Both errors name the child's path.
func (h *Handle) Restart() error {
	return h.Order(OrderRestart, "")
}

// Stop stops the child's current attempt within its grace and keeps the
// child stopped, whatever its restart type, until Restart: a pending
// backoff or group restart does not bring it back. Its dependents that have
// not started yet wait. Stop returns once the supervisor has the order; see
// StopAndWait to wait for the attempt to end. A child that ended for good
// stays done. A pool instance is removed from its pool once stopped (OTP's
// terminate_child); Stop of one already removed returns nil, and gives no
// order, even if a later instance has its name.
func (h *Handle) Stop() error {
	return h.Order(OrderStop, "")
}

// Order gives the child order o, as Restart or Stop do, on behalf of from,
// such as "console 127.0.0.1:51234": the EventOrder that every order emits,
// when the child's supervisor takes it, names from, so that the events say
// who restarted or stopped what.
func (h *Handle) Order(o Order, from string) error {
	if h == nil || h.s == nil {
		return ErrNoChild
	}
	if h.s.sup.tree.state.Load() == treeEnded {
		return errEnded // first: the pool's last run removed every instance
	}
	var kind msgKind
	switch o {
	case OrderRestart:
		if h.s.removed() {
			return fmt.Errorf("%w: %s", ErrRemoved, h.s.path)
		}
		kind = msgRestart
		if sv := h.s.sup; sv.runDone.Load() != nil {
			if p := sv.stoppingFrom(); p != "" {
				// Its supervisor would drop it, or stop it soon after:
				// everything under a stopping supervisor stops.
				if p != sv.path {
					return fmt.Errorf("%w: %s is stopping, and %s with it", ErrNotRunning, p, h.s.path)
				}
				return fmt.Errorf("%w: %s, the supervisor of %s, is stopping", ErrNotRunning, p, h.s.path)
			}
		}
	case OrderStop:
		if h.s.removed() {
			return nil // stopped for good already
		}
		kind = msgStop
	default:
		return fmt.Errorf("arbor: unknown order %v", o)
	}
	_, err := h.order(kind, from, nil)
	return err
}

// StopAndWait is Stop, then waits until the child's attempt has returned or
// been abandoned after its grace (OTP's terminate_child). While the
// child's supervisor is already stopping, the order changes nothing, and
// StopAndWait waits for the child's turn in the stop order and the end of
// its attempt, then returns nil. It returns ctx.Err() if ctx ends first;
// the child stays stopped all the same. A nil
// ctx gives ErrNilContext, and no order. A run function that stops itself,
// or a supervisor above it, this way should pass its own context, which the
// stop cancels: with another, it waits for the end of its own attempt, which
// comes only once it has been abandoned after its grace.
func (h *Handle) StopAndWait(ctx context.Context) error {
	if h == nil || h.s == nil {
		return ErrNoChild
	}
	if ctx == nil {
		return ErrNilContext
	}
	if h.s.sup.tree.state.Load() == treeEnded {
		return errEnded
	}
	if h.s.removed() {
		return nil
	}
	reply := make(chan struct{})
	done, err := h.order(msgStop, "", reply)
	if err != nil {
		return err
	}
	select {
	case <-reply:
		return nil
	case <-done:
		return nil // the supervisor's run ended, and every attempt of it with it
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stoppingFrom returns the path of sv, or of the supervisor above it
// nearest to it, that is stopping, or "" if none is. A nested supervisor
// or pool is stopping from when its parent cancels it, as the snapshot
// shows, even if its own run, held up elsewhere, has not seen it yet.
func (sv *supervisor) stoppingFrom() string {
	if sv.closing.Load() {
		return sv.path
	}
	for p := sv.path; ; {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
		if s := sv.tree.staticSlot(p); s != nil && s.sub() != nil && s.sub().closing.Load() {
			return p
		}
	}
	if closed(sv.tree.stopping) {
		return sv.tree.root.path
	}
	return ""
}

// order posts an order to the child's supervisor and returns the done
// channel of the run that took it.
func (h *Handle) order(kind msgKind, from string, reply chan struct{}) (<-chan struct{}, error) {
	sv := h.s.sup
	if sv.tree.state.Load() == treeEnded {
		return nil, errEnded
	}
	done := sv.runDone.Load()
	if done == nil || !sv.post(*done, message{kind: kind, slot: h.s, reply: reply, from: from}) {
		if sv.tree.state.Load() == treeEnded {
			return nil, errEnded
		}
		return nil, fmt.Errorf("%w: %s, the supervisor of %s%s", ErrNotRunning, sv.path, h.s.path, sv.tree.notStarted())
	}
	return *done, nil
}
