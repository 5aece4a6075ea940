package runtime

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors, for errors.Is.
var (
	// ErrDoNotRestart, wrapped in a run function's error, ends the child for
	// good whatever its restart type (a panic with it is a failure like any
	// other panic). Returned by an attempt its supervisor was stopping (an
	// order, a group restart, shutdown), it is a stop like any other, except
	// after a missed deadline.
	ErrDoNotRestart = errors.New("arbor: do not restart")
	// ErrRestartLimit is wrapped by a GiveUpError: a supervisor saw more
	// restarts than its limit allows.
	ErrRestartLimit = errors.New("arbor: restart limit exceeded")
	// ErrPanic is wrapped by a PanicError.
	ErrPanic = errors.New("arbor: panic")
	// ErrAttemptTimeout is the cause of an attempt that ran past its timeout.
	ErrAttemptTimeout = errors.New("arbor: attempt timed out")
	// ErrReadyTimeout is the cause of an attempt that did not call Ready in time.
	ErrReadyTimeout = errors.New("arbor: not ready in time")
	// ErrHeartbeatTimeout is the cause of an attempt that stopped calling Beat.
	ErrHeartbeatTimeout = errors.New("arbor: heartbeat missed")
	// ErrStopped is the cancellation cause of an attempt its supervisor stops:
	// for shutdown, or to restart it with a failed sibling.
	ErrStopped = errors.New("arbor: stopped by supervisor")
	// ErrLeaseLost is the cancellation cause of an attempt whose lease was
	// lost (and of the attempts below a nested supervisor whose lease was):
	// another process may hold it now. It is not a failure: the child
	// stands by for the lease again.
	ErrLeaseLost = errors.New("arbor: lease lost")
	// ErrAbandoned describes an attempt that ignored cancellation past its
	// grace and was detached from its slot.
	ErrAbandoned = errors.New("arbor: abandoned")
	// ErrInvalidSpec is wrapped by every SpecError.
	ErrInvalidSpec = errors.New("arbor: invalid spec")
	// ErrNilContext is returned by Run and Handle.StopAndWait given a nil
	// context, before they do anything: the tree can still be run with a
	// real one.
	ErrNilContext = errors.New("arbor: nil context")
	// ErrAlreadyRunning is returned by Run while the tree runs.
	ErrAlreadyRunning = errors.New("arbor: tree is already running")
	// ErrTreeEnded is returned by Run, and by controls, once the tree has
	// ended. The error of a control (Handle's orders, Pool.Start) also
	// matches ErrNotRunning: no supervisor of an ended tree runs.
	ErrTreeEnded = errors.New("arbor: tree has ended")
	// ErrNoChild is returned by the controls of a nil (or zero) Handle or Pool, which
	// Tree.Handle and Tree.Pool return for a path that names none.
	ErrNoChild = errors.New("arbor: no such child")
	// ErrNotRunning is returned by a Handle's controls when the child's
	// supervisor is not running: the tree has not started, or a nested
	// supervisor is being restarted.
	ErrNotRunning = errors.New("arbor: supervisor is not running")
	// ErrPoolFull is returned by Pool.Start when the pool has its Max of
	// live instances.
	ErrPoolFull = errors.New("arbor: pool is full")
	// ErrNameTaken is returned by Pool.Start when a live instance has the
	// name asked for.
	ErrNameTaken = errors.New("arbor: instance name is taken")
	// ErrRemoved is returned by Handle.Restart for a pool instance that
	// was removed from its pool: it ended for good, or was stopped.
	ErrRemoved = errors.New("arbor: instance was removed from its pool")
)

// errEnded is what controls return once the tree has ended: ErrTreeEnded,
// which says why, and ErrNotRunning, which is what a caller that only knows
// the errors of a tree that has not started, or of a pool, tests for.
var errEnded error = endedError{}

type endedError struct{}

func (endedError) Error() string { return ErrTreeEnded.Error() }

// Unwrap returns ErrTreeEnded and ErrNotRunning.
func (endedError) Unwrap() []error { return []error{ErrTreeEnded, ErrNotRunning} }

// SpecError reports one invalid field of a Spec.
type SpecError struct {
	Path  string // the supervisor or child, such as "shop/db"
	Field string // such as "Backoff.Jitter"
	Msg   string
}

// Error returns "arbor: invalid spec: path: field: message", without the
// path or the field when it is empty (the root of a tree with no name).
func (e *SpecError) Error() string {
	s := "arbor: invalid spec: "
	for _, part := range [...]string{e.Path, e.Field} {
		if part != "" {
			s += part + ": "
		}
	}
	return s + e.Msg
}

// Unwrap returns ErrInvalidSpec.
func (e *SpecError) Unwrap() error { return ErrInvalidSpec }

// PanicError is the failure of an attempt whose run function panicked.
type PanicError struct {
	Value any
	Stack []byte // the panicking goroutine's stack
}

// Error returns "panic: " and the panic value.
func (e *PanicError) Error() string { return "panic: " + valueText(e.Value) }

// Unwrap returns ErrPanic and, when the panic value is an error, that error.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrPanic, err}
	}
	return []error{ErrPanic}
}

// ChildError is a child's failure with the context it happened in.
type ChildError struct {
	Path       string
	Generation uint64
	Attempt    int
	Exit       ExitKind
	Err        error
}

// Error names the child, its generation and attempt, the exit and the error.
func (e *ChildError) Error() string {
	text := errText(e.Err)
	if e.Err == nil && e.Exit == ExitSuccess {
		// A permanent child's return counts as a restart: "success: <nil>"
		// as a last failure leaves the reader to guess why.
		text = "returned nil, and a permanent child is restarted whenever it returns"
	}
	if kind := e.Exit.String() + ": "; !strings.HasPrefix(text, kind) { // a PanicError says "panic: " itself
		text = kind + text
	}
	return fmt.Sprintf("%s (generation %d, attempt %d): %s", e.Path, e.Generation, e.Attempt, text)
}

// Unwrap returns the child's error.
func (e *ChildError) Unwrap() error { return e.Err }

// GiveUpError is how a supervisor fails when restarts exceed its limit. Child
// names the child whose failure crossed the limit, and Err is that failure.
// Max and Window are the limit crossed: the supervisor's, or with
// ChildLimit the child's own RestartLimit.
type GiveUpError struct {
	Supervisor string
	Child      string
	Max        int
	Window     time.Duration
	Err        error
	ChildLimit bool
}

// Error names the supervisor, the limit crossed and the last failure.
func (e *GiveUpError) Error() string {
	if e.ChildLimit {
		return fmt.Sprintf("arbor: %s gave up: %s exceeded its own restart limit (%d in %v); last failure: %s", e.Supervisor, e.Child, e.Max, e.Window, errText(e.Err))
	}
	return fmt.Sprintf("arbor: %s gave up: restart limit (%d in %v) exceeded; last failure: %s", e.Supervisor, e.Max, e.Window, errText(e.Err))
}

// Unwrap returns ErrRestartLimit and the last failure.
func (e *GiveUpError) Unwrap() []error { return []error{ErrRestartLimit, e.Err} }

// stopError is what an attempt stopped by its supervisor for a fault
// returned, after the supervisor's reason: errors.Join's shape, with the
// user's error rendered safely.
type stopError struct {
	cause, returned error
}

func (e *stopError) Error() string   { return errText(e.cause) + "\n" + errText(e.returned) }
func (e *stopError) Unwrap() []error { return []error{e.cause, e.returned} }
