package runtime

import (
	"cmp"
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
type abandonLog struct {
	seq       uint64                   // orders the running ones
	running   map[*Attempt]listedEntry // abandoned and still running
	history   []AbandonedAttempt       // ring of returned ones
	next      int                      // where the ring writes next, once full
	forgotten int
}

type listedEntry struct {
	AbandonedAttempt
	seq uint64
}

func (l *abandonLog) add(a *Attempt, e AbandonedAttempt, returned bool) {
	if returned {
		e.Returned = e.At
		l.keep(e)
		return
	}
	if l.running == nil {
		l.running = map[*Attempt]listedEntry{}
	}
	l.seq++
	l.running[a] = listedEntry{e, l.seq}
}

func (l *abandonLog) returned(a *Attempt, now time.Time) {
	e, ok := l.running[a]
	if !ok {
		return // listed as returned already
	}
	delete(l.running, a)
	e.Returned = now
	l.keep(e.AbandonedAttempt)
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
	running := make([]listedEntry, 0, len(l.running))
	for _, e := range l.running {
		running = append(running, e)
	}
	slices.SortFunc(running, func(a, b listedEntry) int { return cmp.Compare(a.seq, b.seq) })
	for _, e := range running {
		r.Abandoned = append(r.Abandoned, e.AbandonedAttempt)
	}
	r.Abandoned = append(r.Abandoned, l.history[l.next:]...)
	r.Abandoned = append(r.Abandoned, l.history[:l.next]...)
	return r
}
