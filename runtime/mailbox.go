package runtime

import "sync"

// mailbox is a supervisor's inbox: a queue under a mutex, which the
// supervisor's goroutine takes in batches. Unlike a channel, a burst (100k
// instances of a pool ending at once) costs each sender a short critical
// section instead of parking on a full channel to be woken for every
// message the supervisor takes. What attempts report (exits, Ready,
// deadlines) is queued at once: there are at most a few per live attempt.
// Orders and new instances wait while mailboxCap messages are queued, so
// that a flood of them cannot grow the box without bound.
type mailbox struct {
	mu      sync.Mutex
	room    sync.Cond // senders wait on it while the box is full
	msgs    []message // queued from head on
	head    int
	waiting int           // senders waiting for room
	wake    chan struct{} // signalled when msgs grows
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
