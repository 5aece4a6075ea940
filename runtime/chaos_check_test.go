package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// The invariants TestChaos checks. Every check fails only on a definite
// violation: times are compared in the direction that cannot raise a false
// alarm (a run function sees its cancellation after the runtime decided it,
// and records its return before the runtime hears of it), and a check that
// needs an event the runtime dropped is counted as unverified instead.
//
// As it runs:
//   - one attempt per slot: a new attempt starts only once every older
//     attempt of its child has returned, or has been cancelled and abandoned
//     (in the events or ShutdownReport); in the event stream, no Starting
//     while the previous generation has neither ended nor been abandoned,
//     generations grow, and each attempt ends once;
//   - restart limits: no supervisor restarts its children (or a child with
//     its own limit) more than the limit within the window without giving up,
//     none gives up before, and a nested supervisor that gave up fails its
//     slot with an error wrapping ErrRestartLimit;
//   - nothing starts after its supervisor began to stop;
//   - cancellation causes: each cancelled attempt sees one of the runtime's
//     causes, matching its settings; a timeout reads as a deadline; no
//     attempt that reported Ready in time, or kept beating, is killed for it;
//   - orders return nil or ErrNotRunning; a child an order stopped stays
//     stopped until an order restarts it or a supervisor above it restarts;
//     snapshots list every child in order, and their counters never go down;
//   - goroutines and heap stay flat.
//
// At the end: Run returns within the root's budget plus a margin; every
// attempt has returned or has been cancelled and listed in ShutdownReport;
// each supervisor stopped its children in reverse start order; every
// attempt ends, and no goroutine leaks.
//
// A violation is a runtime bug or a checker bug: reduce it to a test in
// chaos_repro_test.go, or fix the check. While a known runtime bug stands,
// switch its check off behind a variable named for the bug (bugX = true),
// never loosen it.

const (
	// chaosClockSlack covers the time between a supervisor's decision and
	// the event that reports it.
	chaosClockSlack = 250 * time.Millisecond
	// chaosRunMargin is how far past the root's budget Run may return.
	chaosRunMargin = time.Second
)

// violate records a definite violation of invariant.
func (c *chaos) violate(invariant, format string, args ...any) {
	c.vmu.Lock()
	if c.violated[invariant]++; len(c.violations[invariant]) < 10 {
		c.violations[invariant] = append(c.violations[invariant], fmt.Sprintf(format, args...))
	}
	c.vmu.Unlock()
}

// violateEvents records a violation seen in the event stream, unless the
// runtime dropped events before it: then the stream may just be missing one.
func (c *chaos) violateEvents(invariant, format string, args ...any) {
	if c.tree.Snapshot().DroppedEvents > 0 {
		c.unverify()
		return
	}
	c.violate(invariant, format, args...)
}

// unverify counts a suspicion that dropped events leave open.
func (c *chaos) unverify() {
	c.vmu.Lock()
	c.unverified++
	c.vmu.Unlock()
}

// begin records the start of an attempt and checks it against the older
// attempts of its child that still run.
func (c *chaos) begin(s *chaosSlot, a *runtime.Attempt, ctx context.Context) *attemptRec {
	rec := &attemptRec{key: attemptKey{s.id, a.Generation()}, slot: s, a: a, ctx: ctx}
	c.stats.starts.Add(1)
	c.mu.Lock()
	if _, ok := c.orphans[rec.key]; ok {
		rec.abandoned = true
		delete(c.orphans, rec.key)
	}
	if s.inst != nil {
		k := instKey{s.path, rec.key.gen}
		if _, ok := c.instOrphans[k]; ok {
			rec.abandoned = true
			delete(c.instOrphans, k)
		}
		c.instLive[k] = rec
	}
	older := slices.Clone(s.running)
	s.running = append(s.running, rec)
	c.live[rec.key] = rec
	late := c.returned
	c.mu.Unlock()
	if late { // its goroutine began after Run returned
		c.checkGuarantee(rec, c.tree.ShutdownReport(), "though it began after Run returned")
	}
	if s.inst != nil {
		c.beginInstance(rec)
	}
	for _, o := range older {
		if o.key.gen > rec.key.gen {
			c.overlap(rec, o) // its goroutine began after its successor's
		} else {
			c.overlap(o, rec)
		}
	}
	return rec
}

// end records that an attempt's run function returned.
func (c *chaos) end(rec *attemptRec) {
	rec.returnedAt = time.Now()
	c.mu.Lock()
	delete(c.live, rec.key)
	s := rec.slot
	if k := (instKey{s.path, rec.key.gen}); s.inst != nil && c.instLive[k] == rec {
		delete(c.instLive, k)
	}
	s.lastRec = rec
	if i := slices.Index(s.running, rec); i >= 0 {
		s.running = slices.Delete(s.running, i, i+1)
	}
	c.mu.Unlock()
}

// overlap is an attempt that started while an older one of the same child
// still ran.
type overlap struct {
	old, new *attemptRec
}

// overlap checks that old, still running when new started, was detached
// the only way a running attempt may be: cancelled, then abandoned.
func (c *chaos) overlap(old, new *attemptRec) {
	c.stats.overlaps.Add(1)
	if old.ctx.Err() == nil {
		c.violate("one attempt per slot", "%s: generation %d started while generation %d still ran with a live context",
			new.slot.path, new.key.gen, old.key.gen)
		return
	}
	if old.a.Current() {
		c.violate("one attempt per slot", "%s: generation %d started while generation %d was still current",
			new.slot.path, new.key.gen, old.key.gen)
		return
	}
	if inReport(c.tree.ShutdownReport(), old.slot.path, old.key.gen) {
		return
	}
	c.mu.Lock()
	if !old.abandoned {
		c.suspects = append(c.suspects, overlap{old, new})
	}
	c.mu.Unlock()
}

// settleSuspects drops the overlaps whose older attempt has since been
// reported abandoned; at the end, the others are violations.
func (c *chaos) settleSuspects(final bool) {
	var report runtime.ShutdownReport
	var dropped uint64
	if final {
		report = c.tree.ShutdownReport()
		dropped = c.tree.Snapshot().DroppedEvents
	}
	c.mu.Lock()
	open := c.suspects[:0]
	for _, o := range c.suspects {
		_, orphan := c.orphans[o.old.key]
		if _, ok := c.instOrphans[instKey{o.old.slot.path, o.old.key.gen}]; ok && o.old.slot.inst != nil {
			orphan = true
		}
		if o.old.abandoned || orphan || final && inReport(report, o.old.slot.path, o.old.key.gen) {
			continue
		}
		open = append(open, o)
	}
	c.suspects = open
	c.mu.Unlock()
	if !final {
		return
	}
	for _, o := range open {
		if dropped > 0 {
			c.unverify()
			continue
		}
		c.violate("one attempt per slot", "%s: generation %d started while generation %d still ran, and no event or report says it was abandoned",
			o.new.slot.path, o.new.key.gen, o.old.key.gen)
	}
}

func inReport(r runtime.ShutdownReport, path string, gen uint64) bool {
	for _, a := range r.Abandoned {
		if a.Path == path && a.Generation == gen {
			return true
		}
	}
	return false
}

// cancelled records how an attempt saw its context end, and checks the cause.
func (c *chaos) cancelled(rec *attemptRec, ctx context.Context) {
	rec.cancelAt = time.Now()
	rec.cause, rec.ctxErr = context.Cause(ctx), ctx.Err()
	ch := &rec.slot.child
	path, gen := rec.slot.path, rec.key.gen
	switch rec.cause {
	case runtime.ErrStopped:
	case runtime.ErrAttemptTimeout:
		if ch.Timeout == 0 {
			c.violate("cancellation causes", "%s generation %d: cancelled for a timeout it does not have", path, gen)
		}
		if rec.ctxErr != context.DeadlineExceeded {
			c.violate("a timeout reads as a deadline", "%s generation %d: cause ErrAttemptTimeout but ctx.Err() is %v", path, gen, rec.ctxErr)
		}
	case runtime.ErrReadyTimeout:
		c.stats.readyLates.Add(1)
		if ch.Ready == nil || ch.Ready.Timeout == 0 {
			c.violate("cancellation causes", "%s generation %d: cancelled for a ready timeout it does not have", path, gen)
		} // whether it was early, the observer judges: see readyTimedOut
	case runtime.ErrHeartbeatTimeout:
		c.stats.staleCancels.Add(1)
		if ch.Heartbeat == nil {
			c.violate("cancellation causes", "%s generation %d: cancelled for a heartbeat it does not have", path, gen)
			break
		}
		// Beating steadily, it cannot be stale. Only a stale verdict on the
		// attempt's first moments (its run function started, then its first
		// beat came late) could explain it, and that verdict would not take
		// three timeouts to arrive.
		timeout := ch.Heartbeat.Timeout
		gap := max(rec.maxGap, rec.cancelAt.Sub(rec.lastBeat))
		if !rec.stopBeating && gap < timeout/2 && rec.cancelAt.Sub(rec.firstBeat) >= 3*timeout {
			c.violate("deadlines are never early", "%s generation %d: cancelled as stale (timeout %v) while beating, at most %v apart "+
				"(%d beats over %v, %d while not current; the last %v before it saw the cancellation; the process stalled %v meanwhile)",
				path, gen, timeout, gap.Round(time.Millisecond), rec.beats, rec.cancelAt.Sub(rec.firstBeat).Round(time.Millisecond), rec.notCurrent,
				rec.cancelAt.Sub(rec.lastBeat).Round(time.Millisecond), c.stall.within(rec.firstBeat, rec.cancelAt).Round(time.Millisecond))
		}
	default:
		c.violate("cancellation causes", "%s generation %d: unexpected cause %v (ctx.Err() %v)", path, gen, rec.cause, rec.ctxErr)
	}
	if rec.ctxErr == context.DeadlineExceeded && rec.cause != runtime.ErrAttemptTimeout {
		c.violate("cancellation causes", "%s generation %d: deadline exceeded with cause %v", path, gen, rec.cause)
	}
}

// observe is the tree's observer: it follows each slot and supervisor run
// through the ordered event stream.
func (c *chaos) observe(e runtime.Event) {
	c.observeEvent(e)
	c.seen.Store(c.since(e.Time))
	if lag := int64(time.Since(e.Time)); lag > c.stats.observerLag.Load() {
		c.stats.observerLag.Store(lag)
	}
	if c.heldOpen.Load() > 0 {
		c.settleHeld(e.Time, false)
	}
}

func (c *chaos) observeEvent(e runtime.Event) {
	if int(e.Kind) < len(c.events) {
		c.events[e.Kind].Add(1)
	}
	if s := c.ct.byPath[e.Path]; s != nil {
		s.sup.recent.add(e)
	} else if sv := c.ct.supByPath[e.Path]; sv != nil {
		sv.recent.add(e)
	} else if cp := c.ct.poolOf(e.Path); cp != nil {
		c.observeInstance(cp, e)
		return
	} else {
		c.violate("events", "an event for %s, which is neither a child nor an instance: %v", e.Path, e)
		return
	}
	switch e.Kind {
	case runtime.EventStarting:
		if e.Restarts > 0 {
			c.stats.restarts.Add(1)
		}
		c.onStarting(c.ct.byPath[e.Path], e)
	case runtime.EventExited, runtime.EventStopped, runtime.EventAbandoned:
		c.onEnd(c.ct.byPath[e.Path], e)
	case runtime.EventRestartScheduled:
		c.onRestartScheduled(c.ct.byPath[e.Path], e)
	case runtime.EventGaveUp:
		c.onGaveUp(c.ct.supByPath[e.Path], e)
	case runtime.EventShuttingDown:
		sv := c.ct.supByPath[e.Path]
		if sv.run.stopping {
			c.violateEvents("one shutdown per run", "%s: a second ShuttingDown in one run", sv.path)
		}
		sv.run.stopping, sv.run.shutdownAt, sv.run.shutdownBy = true, e.Time, e.Err
		sv.stopping.Store(true)
		if sv.pool != nil {
			sv.shutGen.Store(sv.slot.liveGen)
		}
	}
}

func (c *chaos) onStarting(s *chaosSlot, e runtime.Event) {
	switch {
	case s.liveGen == 0:
	case s.nested == nil && !c.stillRuns(s, s.liveGen):
		c.violateEvents("each attempt ends once", "%s: generation %d returned without an Exited, Stopped or Abandoned event; latest events of %s:%s",
			s.path, s.liveGen, s.sup.path, &s.sup.recent)
	default:
		c.violateEvents("one attempt per slot", "%s: generation %d starting while generation %d has neither ended nor been abandoned; latest events of %s:%s",
			s.path, e.Generation, s.liveGen, s.sup.path, &s.sup.recent)
	}
	if e.Generation <= s.lastGen {
		c.violateEvents("one attempt per slot", "%s: generation %d after generation %d", s.path, e.Generation, s.lastGen)
	}
	s.liveGen, s.lastGen, s.startingAt = e.Generation, e.Generation, e.Time
	if s.sup.run.stopping {
		c.violateEvents("nothing starts after its supervisor began to stop", "%s: generation %d starting after %s began to stop",
			s.path, e.Generation, s.sup.path)
	}
	if sv := s.nested; sv != nil { // a new run: a new window, for it and its children
		sv.run = supRun{started: e.Time}
		sv.lastStart.Store(c.since(e.Time))
		sv.stopping.Store(false)
		for _, ch := range sv.children {
			ch.window = nil
		}
	}
}

func (c *chaos) onEnd(s *chaosSlot, e runtime.Event) {
	if e.Generation == s.endedGen {
		c.violateEvents("each attempt ends once", "%s generation %d: %s after it had ended; latest events of %s:%s",
			s.path, e.Generation, e.Kind, s.sup.path, &s.sup.recent)
		return
	}
	if s.liveGen != e.Generation {
		c.violateEvents("one attempt per slot", "%s: %s of generation %d, but generation %d is current",
			s.path, e.Kind, e.Generation, s.liveGen)
	}
	s.liveGen, s.endedGen = 0, e.Generation
	if rd := s.child.Ready; rd != nil && e.Kind != runtime.EventStopped && safeIs(e.Err, runtime.ErrReadyTimeout) {
		c.readyTimedOut(s, e, rd.Timeout)
	}
	if sv := s.nested; sv != nil {
		sv.run.endedAt = e.Time
		if sv.run.gaveUp && e.Kind == runtime.EventExited && (e.Exit != runtime.ExitError || !safeIs(e.Err, runtime.ErrRestartLimit)) {
			c.violateEvents("restart limits", "%s gave up but exited %s: %v; want an error wrapping ErrRestartLimit", s.path, e.Exit, e.Err)
		}
	}
	if e.Kind != runtime.EventAbandoned {
		return
	}
	key := attemptKey{s.id, e.Generation}
	c.mu.Lock()
	if r := c.live[key]; r != nil {
		r.abandoned = true
	} else {
		c.orphans[key] = e.Time
	}
	if c.final.Load() {
		c.finalAb[key] = e.Time
	}
	c.mu.Unlock()
}

// stillRuns reports whether generation gen of worker s has a run function
// that has not returned.
func (c *chaos) stillRuns(s *chaosSlot, gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(s.running, func(r *attemptRec) bool { return r.key.gen == gen })
}

// readyTimedOut checks that an attempt cancelled for missing its ready
// timeout had not called Ready in time. The timer starts after the Starting
// event, and Ready queues its message before the timer can, so a Ready
// called within half the timeout of that event must win; half, because the
// time is read just before the call.
func (c *chaos) readyTimedOut(s *chaosSlot, e runtime.Event, timeout time.Duration) {
	key := attemptKey{s.id, e.Generation}
	c.mu.Lock()
	r := c.live[key]
	if r == nil && s.lastRec != nil && s.lastRec.key == key {
		r = s.lastRec
	}
	c.mu.Unlock()
	if r == nil {
		return // its goroutine has not begun, or an older one returned since
	}
	if at := r.readyAt.Load(); at != 0 {
		// A stall between recording the call and making it delays it.
		if early := c.at(at).Sub(s.startingAt) + c.stall.within(c.at(at), e.Time); early < timeout/2 {
			c.violateEvents("deadlines are never early", "%s generation %d: cancelled as not ready in %v, but called Ready %v after its Starting event",
				s.path, e.Generation, timeout, early.Round(time.Millisecond))
		}
	}
}

// onRestartScheduled counts a restart against the limits. The runtime keeps
// the restarts of the last Window before its decision; the check forgives
// chaosClockSlack between that decision and the event.
func (c *chaos) onRestartScheduled(s *chaosSlot, e runtime.Event) {
	c.supRestart(s.sup, s.path, e.Time)
	if l := s.ownLimit(); l != nil {
		if n := countRestart(&s.window, *l, e.Time); n > l.Max {
			c.violateEvents("restart limits", "%s: restarted %d times within %v (its limit %d) without its supervisor giving up",
				s.path, n, l.Window, l.Max)
		}
	}
}

// ownLimit is the child's own restart limit: a pool's RestartLimit is its
// instances', not its own.
func (s *chaosSlot) ownLimit() *runtime.RestartLimit {
	if s.nested != nil && s.nested.pool != nil {
		return nil
	}
	return s.child.RestartLimit
}

// supRestart counts a restart of the child at path against its supervisor's
// limit.
func (c *chaos) supRestart(sv *chaosSup, path string, t time.Time) {
	if sv.run.stopping {
		c.violateEvents("nothing starts after its supervisor began to stop", "%s: restart scheduled after %s began to stop", path, sv.path)
	}
	if n := countRestart(&sv.run.window, sv.limit, t); n > sv.limit.Max {
		c.violateEvents("restart limits", "%s: %d restarts of its children within %v (limit %d) without giving up",
			sv.path, n, sv.limit.Window, sv.limit.Max)
	}
}

// countRestart adds a restart at t to window and returns how many restarts
// certainly fall within l.Window up to t.
func countRestart(window *[]time.Time, l runtime.RestartLimit, t time.Time) int {
	w := *window
	for len(w) > 0 && w[0].Before(t.Add(-l.Window-chaosClockSlack)) {
		w = w[1:]
	}
	w = append(w, t)
	*window = w
	return countSince(w, t.Add(-l.Window+chaosClockSlack))
}

func countSince(w []time.Time, from time.Time) (n int) {
	for _, t := range w {
		if t.After(from) {
			n++
		}
	}
	return n
}

// onGaveUp checks that a supervisor gave up only at its limit.
func (c *chaos) onGaveUp(sv *chaosSup, e runtime.Event) {
	sv.run.gaveUp = true
	var gu *runtime.GiveUpError
	if !errors.As(e.Err, &gu) {
		c.violateEvents("restart limits", "%s gave up with %v; want a *GiveUpError", sv.path, e.Err)
		return
	}
	enough := countSince(sv.run.window, e.Time.Add(-sv.limit.Window-chaosClockSlack)) >= sv.limit.Max
	if s := c.ct.byPath[gu.Child]; s != nil && s.ownLimit() != nil {
		l := s.ownLimit()
		enough = enough || countSince(s.window, e.Time.Add(-l.Window-chaosClockSlack)) >= l.Max
	}
	if !enough {
		var seen []time.Duration // the restarts the check counted for the child, before the give-up
		if s := c.ct.byPath[gu.Child]; s != nil {
			for _, t := range s.window {
				seen = append(seen, t.Sub(e.Time).Round(time.Millisecond))
			}
		}
		c.violateEvents("restart limits", "%s gave up (%v) before its children reached the limit; restarts of %s seen at %v from the give-up; latest events of %s:%s",
			sv.path, gu, gu.Child, seen, sv.path, &sv.recent)
	}
}

// safeIs is errors.Is that survives an error whose Is method panics.
func safeIs(err, target error) (is bool) {
	defer func() { _ = recover() }()
	return errors.Is(err, target)
}

// checkSnapshot checks a snapshot against the tree and the previous one.
func (c *chaos) checkSnapshot(prev []runtime.ChildStatus) {
	c.stats.snapshots.Add(1)
	snap := c.tree.Snapshot()
	static := snap.Children[:0:0]
	var pool string // the pool the instances listed next belong to
	for _, st := range snap.Children {
		if !st.Instance {
			static = append(static, st)
			pool = ""
			if st.Pool {
				pool = st.Path
			}
			continue
		}
		if pool == "" || !strings.HasPrefix(st.Path, pool+"/") || strings.Contains(st.Path[len(pool)+1:], "/") {
			c.violate("snapshots", "instance %s does not follow its pool (after %q)", st.Path, pool)
		}
	}
	snap.Children = static
	if len(snap.Children) != len(c.ct.slots) {
		c.violate("snapshots", "snapshot lists %d children; want %d", len(snap.Children), len(c.ct.slots))
		return
	}
	for i, st := range snap.Children {
		s, p := c.ct.slots[i], prev[i]
		switch {
		case st.Path != s.path:
			c.violate("snapshots", "snapshot child %d is %s; want %s (depth first, declaration order)", i, st.Path, s.path)
			return
		case st.Supervisor != (s.nested != nil) || st.Pool != (s.nested != nil && s.nested.pool != nil):
			c.violate("snapshots", "%s: Supervisor is %v, Pool %v", s.path, st.Supervisor, st.Pool)
		case st.Generation < p.Generation || st.Restarts < p.Restarts || st.Abandoned < p.Abandoned || st.Fenced < p.Fenced:
			c.violate("snapshots", "%s: counters went down: generation %d→%d, restarts %d→%d, abandoned %d→%d, fenced %d→%d",
				s.path, p.Generation, st.Generation, p.Restarts, st.Restarts, p.Abandoned, st.Abandoned, p.Fenced, st.Fenced)
		}
		prev[i] = st
	}
}

func (c *chaos) checkHealth() {
	c.stats.healthReads.Add(1)
	n := 0
	for _, ch := range c.tree.Health().Children {
		if c.ct.byPath[ch.Path] != nil {
			n++
		} else if c.ct.poolOf(ch.Path) == nil {
			c.violate("snapshots", "health lists %s, neither a child nor an instance", ch.Path)
		}
	}
	if n != len(c.ct.slots) {
		c.violate("snapshots", "health lists %d children; want %d", n, len(c.ct.slots))
	}
}

// chaosOrderLag is how long a supervisor may take to act on an order.
const chaosOrderLag = 2 * time.Second

// checkHeld checks that a child stopped by an order stays stopped until an
// order restarts it: no attempt of it runs with a live context well after the
// order, unless a supervisor above it has started a new run since (which
// starts every child from its spec), or is stopping (and stops it in turn,
// within its budget). The observer tells those two excuses, and it may lag
// behind under load: an attempt found running is a suspect until the observer
// has seen every event up to when it was found (settleHeld).
func (c *chaos) checkHeld() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.live {
		id := r.slot.id
		if r.slot.inst != nil {
			id = r.slot.inst.pool.slot.id // a pool stopped by an order stops its instances
		}
		at, ok := c.held[id]
		if !ok || now.Sub(at) < chaosOrderLag || r.ctx.Err() != nil || now.Sub(at)-c.stall.within(at, now) < chaosOrderLag || c.heldExcused(r, at) {
			continue
		}
		lag := now.Sub(c.at(c.seen.Load()))
		c.heldSuspects = append(c.heldSuspects, heldSuspect{r: r, at: at, found: now, lag: lag})
		c.heldOpen.Add(1)
		delete(c.held, id) // once is enough
	}
}

// heldSuspect is an attempt found running with a live context after an
// order stopped its child, and the observer's lag then.
type heldSuspect struct {
	r         *attemptRec
	at, found time.Time
	lag       time.Duration
}

// heldExcused reports whether a supervisor above r is stopping, or has
// started a new run since the order at.
func (c *chaos) heldExcused(r *attemptRec, at time.Time) bool {
	for sv := r.slot.sup; sv != nil; sv = sv.parent {
		if sv.stopping.Load() || sv.slot != nil && c.at(sv.lastStart.Load()).After(at) {
			return true
		}
	}
	return false
}

// settleHeld judges the suspects found before upTo, the time of the event
// the observer has just handled, or all of them once Run has returned (final).
// It runs on the observer's goroutine, or after it ended: the supervisor's
// latest events are then safe to read.
func (c *chaos) settleHeld(upTo time.Time, final bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	open := c.heldSuspects[:0]
	for _, h := range c.heldSuspects {
		switch {
		case !final && h.found.After(upTo):
			open = append(open, h)
		case !c.heldExcused(h.r, h.at):
			c.violateEvents("stop holds", "%s generation %d runs %v after an order stopped it (the observer was %v behind); latest events of %s:%s",
				h.r.slot.path, h.r.key.gen, h.found.Sub(h.at).Round(time.Millisecond), h.lag.Round(time.Millisecond), h.r.slot.sup.path, &h.r.slot.sup.recent)
		}
	}
	c.heldSuspects = open
	c.heldOpen.Store(int32(len(open)))
}
