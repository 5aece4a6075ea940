package runtime

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says which transition an Event reports.
type EventKind uint8

// The transitions of a child, and of a supervisor (GaveUp, ShuttingDown).
const (
	EventStarting         EventKind = iota + 1 // a new attempt runs: the first, or a restart (Restarts > 0)
	EventReady                                 // the attempt of a child with Ready called it, or a nested supervisor or pool is ready (a worker without Ready has none)
	EventExited                                // the attempt returned on its own
	EventRestartScheduled                      // a restart waits for Delay
	EventStopped                               // an attempt its supervisor stopped has returned
	EventAbandoned                             // an attempt ignored cancellation past its grace
	EventFenced                                // a report from an attempt that is no longer current was dropped
	EventGaveUp                                // a supervisor exceeded its restart limit
	EventShuttingDown                          // a supervisor began stopping its children
	EventWaiting                               // a child waits for its After list to be ready
	EventOrder                                 // an operator ordered the child to restart or stop (Handle)
	EventStandby                               // a child waits for its lease; with Err, Acquire failed and is tried again after Delay
	EventLeaseAcquired                         // the child's lease was acquired, with Token
	EventLeaseLost                             // the child's lease was lost: its attempt, if any, is stopped
	EventLeaseReleased                         // the child's lease was given back; Err if Release failed
)

var eventNames = [...]string{
	EventStarting:         "starting",
	EventReady:            "ready",
	EventExited:           "exited",
	EventRestartScheduled: "restart scheduled",
	EventStopped:          "stopped",
	EventAbandoned:        "abandoned",
	EventFenced:           "fenced",
	EventGaveUp:           "gave up",
	EventShuttingDown:     "shutting down",
	EventWaiting:          "waiting",
	EventOrder:            "order",
	EventStandby:          "standby",
	EventLeaseAcquired:    "lease acquired",
	EventLeaseLost:        "lease lost",
	EventLeaseReleased:    "lease released",
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

// Order is an operator's order to a child, given through its Handle.
type Order uint8

// The orders.
const (
	OrderRestart Order = iota + 1 // Handle.Restart
	OrderStop                     // Handle.Stop, Handle.StopAndWait
)

var orderNames = [...]string{OrderRestart: "restart", OrderStop: "stop"}

// String returns "restart" or "stop".
func (o Order) String() string {
	if int(o) < len(orderNames) && orderNames[o] != "" {
		return orderNames[o]
	}
	return fmt.Sprintf("Order(%d)", o)
}

// Event is one transition in a tree. Fields that do not apply to its Kind are
// zero.
type Event struct {
	// Seq numbers the tree's events from 1, in the order observers get
	// them. A gap means the observer lost events (see WithEventBuffer);
	// Tree.Journal reads the latest ones by number.
	Seq        uint64
	Kind       EventKind
	Time       time.Time // when decided: a restart or a give-up at the exit that caused it, as the limit counts it
	Path       string    // the child, or the supervisor for GaveUp and ShuttingDown
	Generation uint64
	Attempt    int
	Exit       ExitKind      // Exited, Stopped
	Err        error         // the exit's error, the give-up error, or why a supervisor stops
	Delay      time.Duration // RestartScheduled; the grace waited for Abandoned
	Restarts   int           // Starting: the child's restarts so far, 0 at its first start
	Signal     Signal        // Fenced
	Waiting    []string      // Waiting: the siblings not yet ready
	Order      Order         // Order
	From       string        // Order: who gave it, as Handle.Order was told; empty from Restart and Stop
	Token      uint64        // LeaseAcquired, LeaseLost, LeaseReleased: the lease's fencing token
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
	case EventStarting:
		if e.Restarts > 0 {
			fmt.Fprintf(&b, " restarts=%d", e.Restarts)
		}
	case EventAbandoned:
		fmt.Fprintf(&b, " after=%v", e.Delay)
	case EventFenced:
		fmt.Fprintf(&b, " signal=%s", e.Signal)
	case EventWaiting:
		fmt.Fprintf(&b, " for=%s", strings.Join(e.Waiting, ","))
	case EventOrder:
		fmt.Fprintf(&b, " %s", e.Order)
		if e.From != "" {
			fmt.Fprintf(&b, " from=%q", e.From)
		}
	case EventStandby:
		if e.Delay > 0 {
			fmt.Fprintf(&b, " retry=%v", e.Delay.Round(time.Millisecond))
		}
	case EventLeaseAcquired, EventLeaseLost, EventLeaseReleased:
		fmt.Fprintf(&b, " token=%d", e.Token)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " err=%q", errText(e.Err))
	}
	return b.String()
}

// DefaultEventBuffer is how many events wait for a slow observer before new
// ones are dropped. Memory for them is taken only while they wait.
const DefaultEventBuffer = 16384

// DeliveryMargin is how long past the root's shutdown budget Run waits for
// the observer and logger to take the events still queued. Run also stops
// waiting once they have taken none for this long: a blocked observer
// costs a stop no more than that. Events not delivered by then are counted
// in Snapshot.DroppedEvents.
const DeliveryMargin = 100 * time.Millisecond

// eventQueue numbers the tree's events, keeps the latest in the journal,
// and hands them to the observers' goroutine. Push never blocks: once limit
// events wait or are being delivered, new ones are dropped and counted.
//
// Events wait in a list of fixed-size blocks. Pushers fill the last block
// under a mutex; the loop takes the whole list at once and delivers it
// without the lock, then keeps a few emptied blocks for reuse, so a steady
// stream allocates nothing and a burst's memory is returned once delivered.
// The loop is woken only when it waits for events, not for each event.
type eventQueue struct {
	mu         sync.Mutex
	on         bool        // events are made: for the journal or for delivery; set before Run
	delivering bool        // an observer or logger takes them; set before Run
	head, tail *eventBlock // waiting events
	n          int         // waiting events
	free       *eventBlock // emptied blocks, at most keptBlocks
	nfree      int
	limit      int
	dropped    uint64
	closed     bool // Run is returning: later events are not queued, nor counted
	cut        bool // Run returned: nothing more is delivered
	waiting    bool // the loop waits on wake
	busy       bool // the loop is delivering

	seq     uint64 // of the last event
	journal journal

	// inflight counts the events the loop has taken from the list but not
	// yet handed over; cutting swaps in -1, so that each is either delivered
	// or counted as dropped, exactly.
	inflight  atomic.Int64
	delivered atomic.Uint64

	wake    chan struct{}
	done    chan struct{}
	deliver func(*record)
}

const (
	blockEvents = 256 // events per block: 18 KB
	keptBlocks  = 16  // emptied blocks kept for reuse: the backlog of a busy machine
)

type eventBlock struct {
	ev   [blockEvents]record
	n    int
	next *eventBlock
}

// record is an Event as it waits in the queue and the journal: about half
// its size, with fewer pointers for the garbage collector to follow, since
// the queue copies every event twice and keeps thousands when the observer
// falls behind.
type record struct {
	at      int64 // Time, in nanoseconds since the tree's epoch
	seq     uint64
	path    string
	err     error
	gen     uint64
	n       int64       // Delay, Restarts, or Token
	more    *recordMore // Waiting and From; nil for the other kinds
	attempt int32
	kind    EventKind
	exit    ExitKind
	signal  Signal
	order   Order
}

// recordMore holds the fields of rare kinds, on the heap only for them.
type recordMore struct {
	waiting []string
	from    string
}

// pack writes e, numbered seq, into r; epoch is the tree's. It writes r in
// place, field by field: the journal's slot, or the queue's, without a copy
// in between.
func (e *Event) pack(r *record, seq uint64, epoch time.Time) {
	n := int64(e.Delay)
	switch e.Kind {
	case EventStarting:
		n = int64(e.Restarts)
	case EventLeaseAcquired, EventLeaseLost, EventLeaseReleased:
		n = int64(e.Token)
	}
	var more *recordMore
	if e.Waiting != nil || e.From != "" {
		more = &recordMore{waiting: e.Waiting, from: e.From}
	}
	*r = record{at: int64(e.Time.Sub(epoch)), seq: seq, path: e.Path, err: e.Err, gen: e.Generation,
		n: n, more: more, attempt: int32(e.Attempt), kind: e.Kind, exit: e.Exit, signal: e.Signal, order: e.Order}
}

// event unpacks r.
func (r *record) event(epoch time.Time) Event {
	e := Event{Seq: r.seq, Kind: r.kind, Time: epoch.Add(time.Duration(r.at)), Path: r.path, Generation: r.gen,
		Attempt: int(r.attempt), Exit: r.exit, Err: r.err, Signal: r.signal, Order: r.order}
	switch r.kind {
	case EventStarting:
		e.Restarts = int(r.n)
	case EventLeaseAcquired, EventLeaseLost, EventLeaseReleased:
		e.Token = uint64(r.n)
	default:
		e.Delay = time.Duration(r.n)
	}
	if r.more != nil {
		e.Waiting, e.From = r.more.waiting, r.more.from
	}
	return e
}

func newEventQueue(limit, journal int, deliver func(*record)) *eventQueue {
	q := &eventQueue{
		limit:   limit,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		deliver: deliver,
	}
	q.journal.size = journal
	q.on = journal > 0
	return q
}

// push numbers e, keeps it in the journal and queues it for delivery.
func (q *eventQueue) push(e *Event, epoch time.Time) {
	q.mu.Lock()
	q.seq++
	var r *record // the event, packed once, where it is kept
	if q.journal.size > 0 {
		r = q.journal.slot()
		e.pack(r, q.seq, epoch)
	}
	q.journal.wake()
	if q.closed || !q.delivering {
		// Once Run is returning, a late report of an abandoned attempt
		// goes to the journal only.
		q.mu.Unlock()
		return
	}
	if q.n+int(max(q.inflight.Load(), 0)) >= q.limit {
		q.dropped++
		q.mu.Unlock()
		return
	}
	b := q.tail
	if b == nil || b.n == blockEvents {
		b = q.free
		if b != nil {
			q.free, b.next = b.next, nil
			q.nfree--
		} else {
			b = new(eventBlock)
		}
		if q.tail == nil {
			q.head = b
		} else {
			q.tail.next = b
		}
		q.tail = b
	}
	if r != nil {
		b.ev[b.n] = *r
	} else {
		e.pack(&b.ev[b.n], q.seq, epoch)
	}
	b.n++
	q.n++
	wake := q.waiting
	q.waiting = false
	starved := !wake && !q.busy && q.n >= q.limit/4
	q.mu.Unlock()
	if wake {
		q.wake <- struct{}{} // at most one per wait: never blocks
	}
	if starved {
		// The loop was woken long ago but has not run: a supervisor and the
		// attempts it starts hand the processor to one another, and the
		// loop waits behind them. Let it run rather than drop its events.
		goruntime.Gosched()
	}
}

func (q *eventQueue) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// loop delivers events until close is called and none is left, or delivery
// is cut off.
func (q *eventQueue) loop() {
	ended := false
	defer func() {
		if ended {
			close(q.done)
			return
		}
		// An observer or the logger called runtime.Goexit (t.FailNow does),
		// which ends this goroutine whatever it recovers. The rest of the
		// batch it was delivering is dropped; another goroutine goes on
		// with the next.
		q.mu.Lock()
		for {
			v := q.inflight.Load()
			if v <= 0 {
				break // none left, or cut: the close counted them
			}
			if q.inflight.CompareAndSwap(v, 0) {
				q.dropped += uint64(v)
				break
			}
		}
		q.busy = false
		q.mu.Unlock()
		go q.loop()
	}()
	q.deliverAll()
	ended = true
}

// deliverAll is loop's work.
func (q *eventQueue) deliverAll() {
	for {
		q.mu.Lock()
		for q.head == nil && !q.cut {
			if q.closed {
				q.mu.Unlock()
				return
			}
			q.waiting = true
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if q.cut {
			q.mu.Unlock()
			return
		}
		list := q.head
		q.head, q.tail = nil, nil
		q.inflight.Store(int64(q.n))
		q.n = 0
		q.busy = true
		q.mu.Unlock()

		blocks := 0
		var last *eventBlock
		for b := list; b != nil; b = b.next {
			for i := range b.n {
				if !q.take() {
					return
				}
				if deliverHook != nil {
					deliverHook()
				}
				q.safeDeliver(&b.ev[i])
				b.ev[i] = record{} // keeps no error alive
			}
			b.n = 0
			blocks++
			last = b
		}

		q.mu.Lock()
		q.busy = false
		last.next, q.free = q.free, list
		for q.nfree += blocks; q.nfree > keptBlocks; q.nfree-- {
			q.free = q.free.next // the rest of a burst's blocks go to the collector
		}
		q.mu.Unlock()
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
func (q *eventQueue) safeDeliver(r *record) {
	defer func() {
		recover()
		q.delivered.Add(1)
	}()
	q.deliver(r)
}

// close stops accepting events and waits until the queued ones are
// delivered, the deadline passes, or a whole DeliveryMargin goes by without
// a delivery. What is left is counted as dropped.
func (q *eventQueue) close(deadline time.Time) {
	q.mu.Lock()
	q.closed = true
	wake := q.waiting
	q.waiting = false
	q.mu.Unlock()
	if wake {
		q.wake <- struct{}{}
	}
	// The last moments before the deadline are kept for an event whose
	// delivery began as the wait ended: it is delivered before Run returns,
	// unless the observer is stuck in it.
	cutAt := deadline.Add(-handoverWait)
	last := q.delivered.Load()
	for {
		wait := min(time.Until(cutAt), DeliveryMargin)
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
	q.head, q.tail, q.free = nil, nil, nil
	if n := q.inflight.Swap(-1); n > 0 {
		q.dropped += uint64(n)
	}
	q.mu.Unlock()
	// The loop ends once it has handed over what it had claimed before the
	// cut, if it had claimed one. Past the deadline (the tree itself was
	// late), that may take a handoverWait more.
	wait := time.Until(deadline)
	if wait <= 0 || wait > handoverWait {
		wait = handoverWait
	}
	timer := time.NewTimer(wait)
	select {
	case <-q.done:
	case <-timer.C:
	}
	timer.Stop()
}

// deliverHook lets tests hold delivery up between its claim of an event
// and the call of the observer.
var deliverHook func()

// handoverWait is how long close waits, within its deadline, for the
// event the observer was being handed as delivery was cut.
const handoverWait = DeliveryMargin / 10
