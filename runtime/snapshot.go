package runtime

import (
	"fmt"
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
)

var stateNames = [...]string{"idle", "waiting", "starting", "running", "stopping", "backoff", "stopped", "done"}

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
	Supervisor bool // a nested supervisor
	State      State
	Since      time.Time // when State began
	Generation uint64    // of the current or last attempt; 0 before the first start
	Attempt    int       // the current or last attempt's number
	Restarts   int       // restarts over the tree's life
	Abandoned  int       // attempts abandoned over the tree's life
	Fenced     uint64    // reports dropped from attempts that were no longer current
	LastExit   ExitKind
	LastError  error
}

// Snapshot is the state of every child of a tree, depth first in
// declaration order, nested supervisors before their children.
type Snapshot struct {
	Tree          string
	Children      []ChildStatus
	DroppedEvents uint64 // events a slow observer lost
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

// Handle reads the state of one child. It is safe for concurrent use.
type Handle struct {
	s *slot
}

// Path is the child's path in the tree.
func (h *Handle) Path() string { return h.s.path }

// Status returns the child's current status.
func (h *Handle) Status() ChildStatus {
	h.s.sup.mu.Lock()
	defer h.s.sup.mu.Unlock()
	return h.s.statusLocked()
}

// State returns the child's current state.
func (h *Handle) State() State {
	h.s.sup.mu.Lock()
	defer h.s.sup.mu.Unlock()
	return h.s.st.state
}

// Restart stops the child's current attempt, if any, within its grace, and
// starts a new one at once: no backoff, and it does not count against the
// restart limit. It also starts a child that ended for good or was stopped
// with Stop. It returns once the supervisor has the order, before the
// restart, or ErrNotRunning when the child's supervisor is not running.
func (h *Handle) Restart() error { return h.order(msgRestart) }

// Stop stops the child's current attempt within its grace and keeps the
// child stopped, whatever its restart type, until Restart. Its dependents
// that have not started yet wait.
func (h *Handle) Stop() error { return h.order(msgStop) }

func (h *Handle) order(kind msgKind) error {
	sv := h.s.sup
	done := sv.runDone.Load()
	if done == nil || !sv.post(*done, message{kind: kind, slot: h.s}) {
		if sv.tree.state.Load() == treeEnded {
			return ErrTreeEnded
		}
		return ErrNotRunning
	}
	return nil
}

// AbandonedAttempt is an attempt that ignored cancellation past its grace.
// Its goroutine may still be running.
type AbandonedAttempt struct {
	Path       string
	Generation uint64
	Attempt    int
	Waited     time.Duration // how long the supervisor waited after cancelling it
	At         time.Time
}

// ShutdownReport lists what did not stop when asked.
type ShutdownReport struct {
	Abandoned []AbandonedAttempt
}

// Clean reports whether every attempt returned when asked.
func (r ShutdownReport) Clean() bool { return len(r.Abandoned) == 0 }
