package runtime

// DefaultJournal is how many of its latest events a tree keeps for
// Tree.Journal unless WithJournal says otherwise: about 80 KB once full.
const DefaultJournal = 1024

// journal keeps the latest events in a ring, by sequence number. It lives
// in the event queue, under its mutex, so that numbering, keeping and
// queueing an event are one step: readers and observers see the same order.
type journal struct {
	size   int      // events kept at most; 0 keeps none
	ring   []record // event seq is at ring[(seq-1) % size]; grows up to size
	next   int      // where the next event goes, once ring is full
	notify chan struct{}
}

// slot returns where the next event goes. q.mu is held.
func (j *journal) slot() *record {
	if len(j.ring) < j.size {
		j.ring = append(j.ring, record{}) // every event is kept: its seq is len(j.ring)
		return &j.ring[len(j.ring)-1]
	}
	r := &j.ring[j.next] // without a division: seq-1 is next modulo size
	if j.next++; j.next == j.size {
		j.next = 0
	}
	return r
}

// wake wakes the readers that wait for the next event. q.mu is held.
func (j *journal) wake() {
	if j.notify != nil {
		close(j.notify)
		j.notify = nil
	}
}

// read returns the kept records numbered above after, the oldest limit of
// them (all when limit <= 0), and how many numbered above after are no
// longer kept.
func (q *eventQueue) read(after uint64, limit int) (recs []record, missed uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	last := q.seq
	if after >= last {
		return nil, 0
	}
	first := last - uint64(len(q.journal.ring)) + 1 // the oldest kept
	if after+1 < first {
		missed = first - (after + 1)
		after = first - 1
	}
	if limit > 0 && last-after > uint64(limit) {
		last = after + uint64(limit)
	}
	recs = make([]record, 0, last-after)
	for seq := after + 1; seq <= last; seq++ {
		recs = append(recs, q.journal.ring[(seq-1)%uint64(q.journal.size)])
	}
	return recs, missed
}

// wait returns a channel closed once an event numbered above after exists.
func (q *eventQueue) wait(after uint64) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seq > after {
		return closedChan
	}
	if q.journal.notify == nil {
		q.journal.notify = make(chan struct{})
	}
	return q.journal.notify
}

func (q *eventQueue) lastSeq() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.seq
}

// closedChan is a closed channel, for those that would be closed as soon
// as made: the Done of an attempt cancelled before it was asked for.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Journal returns the events the tree still keeps whose Seq is above after,
// oldest first: the latest DefaultJournal of them, or as many as WithJournal
// says. missed counts the events above after that it no longer keeps, so
// that a reader catching up knows what it lost. Journal(0) returns every
// event kept. Events go to the journal as they happen, whether an observer
// keeps up or not, and also after Run has returned (a late report of an
// abandoned attempt).
func (t *Tree) Journal(after uint64) (events []Event, missed uint64) {
	t.built("Journal")
	return t.JournalN(after, 0)
}

// JournalN is Journal limited to the oldest n of the events it would
// return (all of them when n <= 0), so that a reader catching up on a
// large journal copies a page of it at a time: the next page is after the
// Seq of the last event returned.
func (t *Tree) JournalN(after uint64, n int) (events []Event, missed uint64) {
	t.built("JournalN")
	recs, missed := t.events.read(after, n)
	if len(recs) == 0 {
		return nil, missed
	}
	events = make([]Event, len(recs))
	for i := range recs {
		events[i] = recs[i].event(t.epoch)
	}
	return events, missed
}

// JournalWait returns a channel that is closed once the tree has had an
// event whose Seq is above after: at once if it has already, else at its
// next event. A reader waits on it, then reads Journal(after), without
// polling. An after beyond the next event's Seq (one from another run of
// the program) is woken by that event all the same, and Journal(after)
// then returns nothing: the reader waits again, or starts over from 0.
func (t *Tree) JournalWait(after uint64) <-chan struct{} {
	t.built("JournalWait")
	return t.events.wait(after)
}

// LastEvent returns the Seq of the tree's latest event, 0 before the first.
func (t *Tree) LastEvent() uint64 {
	t.built("LastEvent")
	return t.events.lastSeq()
}
