package runtime

import "time"

// timers are a supervisor's timers: its children's backoffs, ready timeouts
// and graces, a group restart's delay and the shutdown budget, in a heap by
// when they are due, with one time.Timer set to the earliest, which raises
// alarmTimer. A timer each cost two allocations and a timer heap insertion
// and removal per restart with a backoff, and per stop. An entry that a
// later arm, disarm or exit made stale is dropped when it reaches the top,
// or when the heap has doubled (sweepTimers).
type timers struct {
	heap    []timerEntry // min-heap by at
	timer   *time.Timer  // nil until first needed
	armed   int64        // tree clock the timer fires at; 0: not armed
	sweepAt int          // heap length at which every stale entry is dropped (see sweepTimers)
}

// minSweep is the heap length below which stale entries are only dropped
// when they reach the top.
const minSweep = 64

type timerKind uint8

const (
	timerBackoff timerKind = iota // restart s; seq is its timerSeq
	timerReady                    // s missed its ready timeout; seq is its timerSeq
	timerGrace                    // abandon s; seq is the generation being stopped
	timerLease                    // campaign again after a failed Acquire; seq is its timerSeq
	timerPlan                     // the group restart's delay is over; seq is its plan's; no slot
	timerBudget                   // the shutdown budget is spent; no slot
)

type timerEntry struct {
	at   int64 // tree clock when it is due
	s    *slot // nil for timerPlan and timerBudget
	seq  uint64
	kind timerKind
}

// staleTimer reports whether e no longer applies: its slot was armed or disarmed
// again, the attempt whose grace it times returned, was abandoned, or was
// followed by another, or its group restart is no longer waiting.
func (sv *supervisor) staleTimer(e timerEntry) bool {
	switch e.kind {
	case timerGrace:
		a := e.s.cur.Load()
		return a == nil || a.gen != e.seq
	case timerPlan:
		return !sv.plan.waiting || uint64(sv.plan.seq) != e.seq
	case timerBudget:
		return !sv.stopping
	}
	return uint64(e.s.timerSeq) != e.seq
}

// arm sets the slot's one timer, replacing the one it had.
func (s *slot) arm(kind timerKind, d time.Duration) {
	s.disarm()
	sv := s.sup
	sv.addTimer(timerEntry{at: sv.tree.due(sv.now(), d), s: s, seq: uint64(s.timerSeq), kind: kind})
}

// disarm drops the slot's timer, if any: its entry is now stale.
func (s *slot) disarm() { s.timerSeq++ }

// startGrace gives the current attempt of s, being stopped, until at.
func (sv *supervisor) startGrace(s *slot, gen uint64, at int64) {
	sv.addTimer(timerEntry{at: at, s: s, seq: gen, kind: timerGrace})
}

func (sv *supervisor) addTimer(e timerEntry) {
	t := &sv.timers
	if len(t.heap) >= max(t.sweepAt, minSweep) {
		sv.sweepTimers()
	}
	t.heap = append(t.heap, e)
	for i := len(t.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if t.heap[p].at <= t.heap[i].at {
			break
		}
		t.heap[p], t.heap[i] = t.heap[i], t.heap[p]
		i = p
	}
	sv.armTimer()
}

// sweepTimers removes every stale entry, not only those at the top: one
// below a live entry would otherwise keep its slot, and so a removed
// instance's run function, until it came due (an hour's ready timeout
// behind an instance that hangs starting). Sweeping once the heap has
// doubled since the last sweep costs O(1) per entry added.
func (sv *supervisor) sweepTimers() {
	t := &sv.timers
	live := t.heap[:0]
	for _, e := range t.heap {
		if !sv.staleTimer(e) {
			live = append(live, e)
		}
	}
	clear(t.heap[len(live):])
	t.heap = live
	t.shrink()
	for i := len(t.heap)/2 - 1; i >= 0; i-- {
		t.down(i)
	}
	t.sweepAt = 2 * len(t.heap)
}

// dropStaleTimers removes the stale entries at the top of the heap.
func (sv *supervisor) dropStaleTimers() {
	t := &sv.timers
	for len(t.heap) > 0 && sv.staleTimer(t.heap[0]) {
		t.pop()
	}
}

func (t *timers) pop() timerEntry {
	h := t.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = timerEntry{}
	t.heap = h[:last]
	t.down(0)
	t.shrink()
	return top
}

// shrink gives back what a burst grew (a pool's 100k instances, each with
// a ready timeout or a grace) once a quarter of it is in use, as the inbox
// and the pool's index do.
func (t *timers) shrink() {
	if c := cap(t.heap); c > shrinkFrom && len(t.heap) < c/4 {
		t.heap = append(make([]timerEntry, 0, 2*len(t.heap)), t.heap...)
	}
}

// down moves the entry at i down the heap to its place.
func (t *timers) down(i int) {
	h := t.heap
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].at < h[m].at {
			m = l
		}
		if r < len(h) && h[r].at < h[m].at {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// armTimer sets the timer for the earliest live entry, unless it is set to
// fire sooner: then it fires, finds nothing due, and is set again. A serial
// shutdown thus sets it once, not once per child.
func (sv *supervisor) armTimer() {
	sv.dropStaleTimers()
	t := &sv.timers
	if len(t.heap) == 0 {
		return
	}
	at := t.heap[0].at
	if t.armed != 0 && t.armed <= at {
		return
	}
	d := time.Duration(at - sv.tree.since(sv.now()))
	if t.timer == nil {
		t.timer = time.AfterFunc(d, func() { sv.inbox.raise(alarmTimer) })
	} else {
		t.timer.Reset(d)
	}
	t.armed = at
}

// timersDue handles every entry that is due.
func (sv *supervisor) timersDue() {
	t := &sv.timers
	t.armed = 0
	now := sv.tree.since(sv.now())
	for len(t.heap) > 0 && t.heap[0].at <= now {
		e := t.pop()
		if sv.staleTimer(e) {
			continue
		}
		switch e.kind {
		case timerBackoff:
			e.s.disarm()
			sv.want(e.s)
		case timerReady:
			e.s.disarm()
			if a := e.s.cur.Load(); a != nil && (a.flags.Load()&flagReady != 0 || a.returned()) || e.s.stopAsked() || sv.stopping {
				// Ready was called, or the attempt returned, in time or
				// within the moment the supervisor took to get here; its
				// message is on its way. Or it is being stopped anyway, or
				// will be in its turn of a shutdown.
				continue
			}
			sv.requestStop(e.s, causeReadyTimeout, true)
		case timerGrace:
			if sv.exitsBefore(e.s) && sv.staleTimer(e) {
				continue // its own exit came meanwhile
			}
			sv.abandon(e.s)
		case timerPlan:
			sv.finishPlan()
		case timerBudget:
			sv.budgetExpired()
		case timerLease:
			e.s.disarm()
			if e.s.pending && !sv.stopping && e.s.lease().camp == nil && e.s.lease().held == nil {
				sv.campaign(e.s)
			}
		}
	}
	sv.armTimer()
}

// stopTimers forgets every timer, at the end of a run.
func (sv *supervisor) stopTimers() {
	t := &sv.timers
	if t.timer != nil {
		t.timer.Stop()
	}
	clear(t.heap)
	t.heap, t.armed, t.sweepAt = t.heap[:0], 0, 0
	if cap(t.heap) > shrinkFrom {
		t.heap = nil // what a burst grew: the next run starts small
	}
}
