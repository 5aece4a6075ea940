package runtime

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says which transition an Event reports.
type EventKind uint8

// The transitions of a child, and of a supervisor (GaveUp, ShuttingDown).
const (
	EventStarting         EventKind = iota + 1 // a new attempt is about to run
	EventStarted                               // the attempt's goroutine runs
	EventReady                                 // the attempt called Ready
	EventExited                                // the attempt returned on its own
	EventRestartScheduled                      // a restart waits for Delay
	EventRestarted                             // a restarted child runs again
	EventStopped                               // an attempt its supervisor stopped has returned
	EventAbandoned                             // an attempt ignored cancellation past its grace
	EventFenced                                // a report from an attempt that is no longer current was dropped
	EventGaveUp                                // a supervisor exceeded its restart limit
	EventShuttingDown                          // a supervisor began stopping its children
	EventWaiting                               // a child waits for its After list to be ready
)

var eventNames = [...]string{
	EventStarting:         "starting",
	EventStarted:          "started",
	EventReady:            "ready",
	EventExited:           "exited",
	EventRestartScheduled: "restart scheduled",
	EventRestarted:        "restarted",
	EventStopped:          "stopped",
	EventAbandoned:        "abandoned",
	EventFenced:           "fenced",
	EventGaveUp:           "gave up",
	EventShuttingDown:     "shutting down",
	EventWaiting:          "waiting",
}

// String returns the kind in words, such as "restart scheduled".
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// ExitKind classifies how an attempt ended.
type ExitKind uint8

// The classes of exit. Error, Panic and Timeout are failures.
const (
	ExitNone      ExitKind = iota // no attempt has ended yet
	ExitSuccess                   // returned nil without being asked to stop
	ExitError                     // returned an error
	ExitPanic                     // panicked
	ExitCancelled                 // returned after its supervisor stopped it
	ExitTimeout                   // ran past its timeout, readiness or heartbeat deadline
)

var exitNames = [...]string{"none", "success", "error", "panic", "cancelled", "timeout"}

// String returns the class in words, such as "panic".
func (k ExitKind) String() string {
	if int(k) < len(exitNames) {
		return exitNames[k]
	}
	return fmt.Sprintf("ExitKind(%d)", k)
}

// Failure reports whether the exit counts as a failure.
func (k ExitKind) Failure() bool { return k == ExitError || k == ExitPanic || k == ExitTimeout }

// Signal names what a fenced report was.
type Signal uint8

// The reports an attempt makes.
const (
	SignalExit Signal = iota + 1
	SignalReady
	SignalBeat
)

var signalNames = [...]string{SignalExit: "exit", SignalReady: "ready", SignalBeat: "beat"}

// String returns "exit", "ready" or "beat".
func (s Signal) String() string {
	if int(s) < len(signalNames) && signalNames[s] != "" {
		return signalNames[s]
	}
	return fmt.Sprintf("Signal(%d)", s)
}

// Event is one transition in a tree. Fields that do not apply to its Kind are
// zero.
type Event struct {
	Kind       EventKind
	Time       time.Time
	Path       string // the child, or the supervisor for GaveUp and ShuttingDown
	Generation uint64
	Attempt    int
	Exit       ExitKind      // Exited, Stopped
	Err        error         // the exit's error, the give-up error, or why a supervisor stops
	Delay      time.Duration // RestartScheduled; the grace waited for Abandoned
	Restarts   int           // Restarted
	Signal     Signal        // Fenced
	Waiting    []string      // Waiting: the siblings not yet ready
}

// String renders the event on one line, such as
// `shop/db exited gen=2 attempt=1 exit=error err="boom"`.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Path, e.Kind)
	if e.Generation != 0 {
		fmt.Fprintf(&b, " gen=%d attempt=%d", e.Generation, e.Attempt)
	}
	switch e.Kind {
	case EventExited, EventStopped:
		fmt.Fprintf(&b, " exit=%s", e.Exit)
	case EventRestartScheduled:
		fmt.Fprintf(&b, " delay=%v", e.Delay.Round(time.Millisecond))
	case EventRestarted:
		fmt.Fprintf(&b, " restarts=%d", e.Restarts)
	case EventAbandoned:
		fmt.Fprintf(&b, " after=%v", e.Delay)
	case EventFenced:
		fmt.Fprintf(&b, " signal=%s", e.Signal)
	case EventWaiting:
		fmt.Fprintf(&b, " for=%s", strings.Join(e.Waiting, ","))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " err=%q", errText(e.Err))
	}
	return b.String()
}

// DefaultEventBuffer is how many events wait for a slow observer before new
// ones are dropped.
const DefaultEventBuffer = 1024

// DeliveryMargin is how long past the root's shutdown budget Run waits for
// the observer and logger to take the events still queued. Run also stops
// waiting once they have taken none for this long: a blocked observer
// costs a stop no more than that. Events not delivered by then are counted
// in Snapshot.DroppedEvents.
const DeliveryMargin = 100 * time.Millisecond

// eventQueue hands events from supervisors to the observer's goroutine. Push
// never blocks: when the buffer is full the event is dropped and counted.
type eventQueue struct {
	mu      sync.Mutex
	buf     []Event // ring
	head, n int
	dropped uint64
	closed  bool // Run is returning: later events are not queued, nor counted
	cut     bool // Run returned: nothing more is delivered

	// inflight counts the events the loop has taken from buf but not yet
	// handed over; cutting swaps in -1, so that each is either delivered
	// or counted as dropped, exactly.
	inflight  atomic.Int64
	delivered atomic.Uint64

	wake    chan struct{}
	done    chan struct{}
	deliver func(Event)
}

func newEventQueue(size int, deliver func(Event)) *eventQueue {
	return &eventQueue{
		buf:     make([]Event, size),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		deliver: deliver,
	}
}

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return // a late report of an abandoned attempt, after Run
	}
	if q.n == len(q.buf) {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// loop delivers events until close is called and the buffer is empty, or
// delivery is cut off.
func (q *eventQueue) loop() {
	defer close(q.done)
	batch := make([]Event, 0, 64)
	for {
		q.mu.Lock()
		if q.cut {
			q.mu.Unlock()
			return
		}
		for q.n > 0 && len(batch) < cap(batch) {
			batch = append(batch, q.buf[q.head])
			q.buf[q.head] = Event{}
			q.head = (q.head + 1) % len(q.buf)
			q.n--
		}
		q.inflight.Store(int64(len(batch)))
		closed := q.closed && q.n == 0
		q.mu.Unlock()
		for i := range batch {
			if !q.take() {
				return
			}
			q.safeDeliver(batch[i])
			batch[i] = Event{}
		}
		if len(batch) > 0 {
			batch = batch[:0]
			continue
		}
		if closed {
			return
		}
		<-q.wake
	}
}

// take claims the next in-flight event for delivery, unless delivery was cut.
func (q *eventQueue) take() bool {
	for {
		v := q.inflight.Load()
		if v <= 0 {
			return false
		}
		if q.inflight.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// safeDeliver hands e over; a panic in the observer or logger is recovered,
// so that it cannot end the process from the runtime's goroutine.
func (q *eventQueue) safeDeliver(e Event) {
	defer func() {
		recover()
		q.delivered.Add(1)
	}()
	q.deliver(e)
}

// close stops accepting events and waits until the queued ones are
// delivered, the deadline passes, or a whole DeliveryMargin goes by without
// a delivery. What is left is counted as dropped.
func (q *eventQueue) close(deadline time.Time) {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	last := q.delivered.Load()
	for {
		wait := min(time.Until(deadline), DeliveryMargin)
		if wait <= 0 {
			break
		}
		timer := time.NewTimer(wait)
		select {
		case <-q.done:
			timer.Stop()
			return
		case <-timer.C:
		}
		d := q.delivered.Load()
		if d == last {
			break // the observer is stuck
		}
		last = d
	}
	q.mu.Lock()
	q.cut = true
	q.dropped += uint64(q.n)
	q.n = 0
	clear(q.buf)
	if n := q.inflight.Swap(-1); n > 0 {
		q.dropped += uint64(n)
	}
	q.mu.Unlock()
}
