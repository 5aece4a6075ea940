package runtime

import "time"

// graces times the grace of every attempt a supervisor is stopping with one
// timer, set to the earliest end, rather than a timer per stop: a shutdown
// stops its children one after another, and a timer each was a good part of
// its cost. An entry whose attempt has returned is stale and is dropped once
// it reaches the top.
type graces struct {
	heap  []graceEntry // min-heap by at
	timer *time.Timer  // nil until first needed
	armed int64        // tree clock the timer fires at; 0: not armed
}

type graceEntry struct {
	at  int64 // tree clock when the grace ends
	s   *slot
	gen uint64 // the attempt being stopped
}

// stale reports whether the attempt of e is no longer current: it returned,
// was abandoned, or a later one runs.
func (e graceEntry) stale() bool {
	a := e.s.cur.Load()
	return a == nil || a.gen != e.gen
}

// startGrace gives the current attempt of s, being stopped, until at.
func (sv *supervisor) startGrace(s *slot, gen uint64, at int64) {
	g := &sv.graces
	g.heap = append(g.heap, graceEntry{at: at, s: s, gen: gen})
	for i := len(g.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if g.heap[p].at <= g.heap[i].at {
			break
		}
		g.heap[p], g.heap[i] = g.heap[i], g.heap[p]
		i = p
	}
	sv.armGrace()
}

// dropStaleGraces removes the stale entries at the top of the heap.
func (sv *supervisor) dropStaleGraces() {
	g := &sv.graces
	for len(g.heap) > 0 && g.heap[0].stale() {
		g.pop()
	}
}

func (g *graces) pop() graceEntry {
	h := g.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = graceEntry{}
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].at < h[m].at {
			m = l
		}
		if r < len(h) && h[r].at < h[m].at {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	g.heap = h
	return top
}

// armGrace sets the timer for the earliest live entry, unless it is set to
// fire sooner: then it fires, finds nothing due, and is set again. A serial
// shutdown thus sets it once, not once per child.
func (sv *supervisor) armGrace() {
	sv.dropStaleGraces()
	g := &sv.graces
	if len(g.heap) == 0 {
		return
	}
	at := g.heap[0].at
	if g.armed != 0 && g.armed <= at {
		return
	}
	d := time.Duration(at - sv.tree.since(sv.now()))
	if g.timer == nil {
		g.timer = time.NewTimer(d)
	} else {
		g.timer.Reset(d)
	}
	g.armed = at
}

// graceExpired abandons every attempt whose grace has ended.
func (sv *supervisor) graceExpired() {
	g := &sv.graces
	g.armed = 0
	now := sv.tree.since(sv.now())
	for len(g.heap) > 0 && g.heap[0].at <= now {
		e := g.pop()
		if !e.stale() {
			sv.abandon(e.s)
		}
	}
	sv.armGrace()
}

// stopGraces forgets every grace, at the end of a run.
func (sv *supervisor) stopGraces() {
	g := &sv.graces
	if g.timer != nil {
		g.timer.Stop()
	}
	clear(g.heap)
	g.heap, g.armed = g.heap[:0], 0
}
