package runtime

import (
	"sync"
	"sync/atomic"
)

// mailbox is a supervisor's inbox: a queue under a mutex, which the
// supervisor's goroutine takes in batches. Unlike a channel, a burst (100k
// instances of a pool ending at once) costs each sender a short critical
// section instead of parking on a full channel to be woken for every
// message the supervisor takes. What attempts report (exits, Ready,
// deadlines) is queued at once: there are at most a few per live attempt.
// Orders and new instances wait while mailboxCap messages are queued, so
// that a flood of them cannot grow the box without bound.
//
// The box's wake channel is the only one its supervisor waits on: what else
// needs it (its context's cancellation, its timer, the watchdog, a kill) sets
// an alarm and signals it. Parking on one channel costs less than on a
// select of five, and a supervisor parks once per restart of a crash loop.
type mailbox struct {
	mu      sync.Mutex
	room    sync.Cond // senders wait on it while the box is full
	msgs    []message // queued from head on
	head    int
	waiting int           // senders waiting for room
	wake    chan struct{} // signalled when msgs grows or an alarm is raised
	alarms  atomic.Uint32
}

// The alarms: each is raised by another goroutine, and cleared by the
// supervisor when it looks at it. A spurious one is harmless: what each
// leads to checks that it applies.
const (
	alarmKill  uint32 = 1 << iota // killTree abandoned the run
	alarmCtx                      // the run's context is done
	alarmTimer                    // the supervisor's timer fired
	alarmStale                    // the watchdog left notices in stale
)

// raise sets the alarms and wakes the supervisor.
func (b *mailbox) raise(alarms uint32) {
	b.alarms.Or(alarms)
	b.signal()
}

// raised clears the given alarms and reports which of them were set.
func (b *mailbox) raised(alarms uint32) uint32 {
	if b.alarms.Load()&alarms == 0 {
		return 0 // the usual case, without a write
	}
	return b.alarms.And(^alarms) & alarms
}

const mailboxCap = 1024

func newMailbox() *mailbox {
	b := &mailbox{wake: make(chan struct{}, 1)}
	b.room.L = &b.mu
	return b
}

// post queues m unless done is closed, waiting while the box is full if m
// is an order or a new instance, and reports whether it did.
func (b *mailbox) post(done <-chan struct{}, m message) bool {
	b.mu.Lock()
	for {
		select {
		case <-done:
			b.mu.Unlock()
			return false
		default:
		}
		if m.kind <= msgDeadline || len(b.msgs)-b.head < mailboxCap {
			break
		}
		b.waiting++
		b.room.Wait()
		b.waiting--
	}
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	b.signal()
	return true
}

func (b *mailbox) signal() {
	select {
	case b.wake <- struct{}{}:
	default: // already signalled
	}
}

// take moves the oldest messages into buf, as many as fit, and returns how
// many it moved.
func (b *mailbox) take(buf []message) int {
	b.mu.Lock()
	n := copy(buf, b.msgs[b.head:])
	clear(b.msgs[b.head : b.head+n]) // for the collector
	b.head += n
	switch {
	case b.head == len(b.msgs):
		b.msgs, b.head = b.msgs[:0], 0
		if cap(b.msgs) > 4*mailboxCap {
			b.msgs = nil // what a burst grew
		}
	case b.head > len(b.msgs)/2:
		k := copy(b.msgs, b.msgs[b.head:]) // so that a steady stream cannot grow it
		clear(b.msgs[k:])
		b.msgs, b.head = b.msgs[:k], 0
	}
	more := len(b.msgs) > 0
	for range min(n, b.waiting) {
		b.room.Signal() // one sender per message taken, not a herd
	}
	b.mu.Unlock()
	if more {
		b.signal()
	}
	return n
}

// unread puts ms back ahead of every queued message.
func (b *mailbox) unread(ms []message) {
	if len(ms) == 0 {
		return
	}
	b.mu.Lock()
	msgs := make([]message, 0, len(ms)+len(b.msgs)-b.head) // ms is the caller's buffer
	msgs = append(append(msgs, ms...), b.msgs[b.head:]...)
	b.msgs, b.head = msgs, 0
	b.mu.Unlock()
	b.signal()
}

// release wakes the senders waiting for room, so that they see their run's
// done closed.
func (b *mailbox) release() {
	b.mu.Lock()
	b.room.Broadcast()
	b.mu.Unlock()
}
