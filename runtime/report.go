package runtime

import (
	"slices"
	"time"
)

// AbandonedAttempt is an attempt that ignored cancellation past its grace,
// or was running below a nested supervisor that was abandoned.
type AbandonedAttempt struct {
	Path       string
	Generation uint64
	Attempt    int
	Waited     time.Duration // how long the supervisor waited after cancelling it
	At         time.Time     // when it was abandoned
	// Returned is when its run function finally returned; zero while it
	// still runs.
	Returned time.Time
}

// ShutdownReport lists what did not stop when asked.
type ShutdownReport struct {
	// Abandoned lists every abandoned attempt that still runs, then the
	// latest ReportHistory of those that have returned since.
	Abandoned []AbandonedAttempt
	// Forgotten counts the returned attempts dropped from Abandoned to keep
	// the report bounded.
	Forgotten int
}

// Clean reports whether every attempt returned when asked.
func (r ShutdownReport) Clean() bool { return len(r.Abandoned) == 0 && r.Forgotten == 0 }

// ReportHistory is how many abandoned attempts that have since returned a
// ShutdownReport keeps. Those still running are all kept.
const ReportHistory = 100

// abandonLog is the data behind ShutdownReport, guarded by Tree.mu.
//
// The running ones are a list in the order they were abandoned: a kill
// lists a pool's 100k instances in one go, on the way to Run's return, so
// a listing is an append to a list grown once for all of them (reserve).
// The index by attempt, which only a return needs, is built lazily, by
// the first return after the listings; a return leaves a hole, and holes
// are closed once they are as many as the running ones. An entry keeps the
// attempt, which has the rest: path, generation and number.
type abandonLog struct {
	running   []listedEntry      // abandoned and still running, in order; a nil a is a hole
	index     map[*Attempt]int32 // where each of running[:indexed] is
	indexed   int
	holes     int
	history   []AbandonedAttempt // ring of returned ones
	next      int                // where the ring writes next, once full
	forgotten int
}

type listedEntry struct {
	a      *Attempt
	waited time.Duration
	at     time.Time
}

func (e *listedEntry) listing() AbandonedAttempt {
	return AbandonedAttempt{Path: e.a.slot.path, Generation: e.a.gen, Attempt: int(e.a.number), Waited: e.waited, At: e.at}
}

// reserve makes room for n more running ones: a kill knows how many it
// is about to list.
func (l *abandonLog) reserve(n int) {
	l.running = slices.Grow(l.running, n) // by append's steps: nested kills reserve a few each
}

func (l *abandonLog) add(a *Attempt, waited time.Duration, now time.Time, returned bool) {
	e := listedEntry{a, waited, now}
	if returned {
		r := e.listing()
		r.Returned = now
		l.keep(r)
		return
	}
	l.running = append(l.running, e)
}

func (l *abandonLog) returned(a *Attempt, now time.Time) {
	if l.indexed < len(l.running) {
		l.reindex()
	}
	i, ok := l.index[a]
	if !ok {
		return // listed as returned already
	}
	delete(l.index, a)
	r := l.running[i].listing()
	r.Returned = now
	l.keep(r)
	l.running[i] = listedEntry{}
	l.holes++
	switch {
	case len(l.index) == 0:
		l.running, l.index, l.indexed, l.holes = nil, nil, 0, 0 // what a kill grew
	case l.holes > 32 && l.holes > len(l.index):
		l.compact()
	}
}

// reindex indexes the running ones listed since the last return, in a map
// made for all of them at once when they are many.
func (l *abandonLog) reindex() {
	fresh := len(l.running) - l.indexed
	if l.index == nil || fresh > len(l.index) {
		index := make(map[*Attempt]int32, len(l.index)+fresh)
		for a, i := range l.index {
			index[a] = i
		}
		l.index = index
	}
	for i := l.indexed; i < len(l.running); i++ {
		l.index[l.running[i].a] = int32(i)
	}
	l.indexed = len(l.running)
}

// compact closes the holes returns left, in order.
func (l *abandonLog) compact() {
	inPlace := cap(l.running) <= 4*len(l.index)
	running := l.running[:0]
	if !inPlace { // what a kill grew, which a map never gives back
		running = make([]listedEntry, 0, 2*len(l.index))
		l.index = make(map[*Attempt]int32, len(l.index))
	}
	for _, e := range l.running {
		if e.a != nil {
			l.index[e.a] = int32(len(running))
			running = append(running, e)
		}
	}
	if inPlace {
		clear(l.running[len(running):]) // no hold on returned attempts
	}
	l.running, l.indexed, l.holes = running, len(running), 0
}

func (l *abandonLog) keep(e AbandonedAttempt) {
	if len(l.history) < ReportHistory {
		l.history = append(l.history, e)
		return
	}
	l.history[l.next] = e
	l.next = (l.next + 1) % ReportHistory
	l.forgotten++
}

func (l *abandonLog) snapshot() ShutdownReport {
	r := ShutdownReport{Forgotten: l.forgotten}
	if n := len(l.running) - l.holes + len(l.history); n > 0 {
		r.Abandoned = make([]AbandonedAttempt, 0, n)
	}
	for i := range l.running {
		if l.running[i].a != nil {
			r.Abandoned = append(r.Abandoned, l.running[i].listing())
		}
	}
	r.Abandoned = append(r.Abandoned, l.history[l.next:]...)
	r.Abandoned = append(r.Abandoned, l.history[:l.next]...)
	return r
}
