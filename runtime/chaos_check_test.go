package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/goleak"

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
	older := slices.Clone(s.running)
	s.running = append(s.running, rec)
	c.live[rec.key] = rec
	late := c.returned
	if late {
		c.late = append(c.late, rec)
	}
	c.mu.Unlock()
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
		// attempt's first moments (its goroutine started late) could explain
		// it, and that verdict would not take three timeouts to arrive.
		timeout := ch.Heartbeat.Timeout
		gap := max(rec.maxGap, rec.cancelAt.Sub(rec.lastBeat))
		if !rec.stopBeating && gap < timeout/2 && rec.cancelAt.Sub(rec.firstBeat) >= 3*timeout {
			c.violate("deadlines are never early", "%s generation %d: cancelled as stale (timeout %v) while beating, at most %v apart",
				path, gen, timeout, gap.Round(time.Millisecond))
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
	if int(e.Kind) < len(c.events) {
		c.events[e.Kind].Add(1)
	}
	if s := c.ct.byPath[e.Path]; s != nil {
		s.sup.recent.add(e)
	} else {
		c.ct.supByPath[e.Path].recent.add(e)
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
		if early := c.at(at).Sub(s.startingAt); early < timeout/2 {
			c.violateEvents("deadlines are never early", "%s generation %d: cancelled as not ready in %v, but called Ready %v after its Starting event",
				s.path, e.Generation, timeout, early.Round(time.Millisecond))
		}
	}
}

// onRestartScheduled counts a restart against the limits. The runtime keeps
// the restarts of the last Window before its decision; the check forgives
// chaosClockSlack between that decision and the event.
func (c *chaos) onRestartScheduled(s *chaosSlot, e runtime.Event) {
	sv := s.sup
	if sv.run.stopping {
		c.violateEvents("nothing starts after its supervisor began to stop", "%s: restart scheduled after %s began to stop", s.path, sv.path)
	}
	if n := countRestart(&sv.run.window, sv.limit, e.Time); n > sv.limit.Max {
		c.violateEvents("restart limits", "%s: %d restarts of its children within %v (limit %d) without giving up",
			sv.path, n, sv.limit.Window, sv.limit.Max)
	}
	if l := s.child.RestartLimit; l != nil {
		if n := countRestart(&s.window, *l, e.Time); n > l.Max {
			c.violateEvents("restart limits", "%s: restarted %d times within %v (its limit %d) without its supervisor giving up",
				s.path, n, l.Window, l.Max)
		}
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
	if s := c.ct.byPath[gu.Child]; s != nil && s.child.RestartLimit != nil {
		l := s.child.RestartLimit
		enough = enough || countSince(s.window, e.Time.Add(-l.Window-chaosClockSlack)) >= l.Max
	}
	if !enough {
		c.violateEvents("restart limits", "%s gave up (%v) before its children reached the limit", sv.path, gu)
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
		case st.Supervisor != (s.nested != nil):
			c.violate("snapshots", "%s: Supervisor is %v", s.path, st.Supervisor)
		case st.Generation < p.Generation || st.Restarts < p.Restarts || st.Abandoned < p.Abandoned || st.Fenced < p.Fenced:
			c.violate("snapshots", "%s: counters went down: generation %d→%d, restarts %d→%d, abandoned %d→%d, fenced %d→%d",
				s.path, p.Generation, st.Generation, p.Restarts, st.Restarts, p.Abandoned, st.Abandoned, p.Fenced, st.Fenced)
		}
		prev[i] = st
	}
}

func (c *chaos) checkHealth() {
	c.stats.healthReads.Add(1)
	if h := c.tree.Health(); len(h.Children) != len(c.ct.slots) {
		c.violate("snapshots", "health lists %d children; want %d", len(h.Children), len(c.ct.slots))
	}
}

// chaosOrderLag is how long a supervisor may take to act on an order.
const chaosOrderLag = 2 * time.Second

// checkHeld checks that a child stopped by an order stays stopped until an
// order restarts it: no attempt of it runs with a live context well after the
// order, unless a supervisor above it has started a new run since (which
// starts every child from its spec), or is stopping (and stops it in turn,
// within its budget).
func (c *chaos) checkHeld() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.live {
		at, ok := c.held[r.slot.id]
		if !ok || now.Sub(at) < chaosOrderLag || r.ctx.Err() != nil {
			continue
		}
		excused := false
		for sv := r.slot.sup; sv != nil; sv = sv.parent {
			excused = excused || sv.stopping.Load() || sv.slot != nil && c.at(sv.lastStart.Load()).After(at)
		}
		if !excused {
			c.violate("stop holds", "%s generation %d runs %v after an order stopped it",
				r.slot.path, r.key.gen, now.Sub(at).Round(time.Millisecond))
			delete(c.held, r.slot.id) // once is enough
		}
	}
}

// afterRun checks the shutdown guarantee the moment Run has returned, then
// waits for the abandoned attempts to end.
func (c *chaos) afterRun() {
	report := c.tree.ShutdownReport()
	c.mu.Lock()
	c.returned = true
	var live []*attemptRec
	for _, r := range c.live {
		live = append(live, r)
	}
	c.mu.Unlock()

	budget := c.ct.root.budget
	if took := c.doneAt.Sub(c.cancelAt); took > budget+chaosRunMargin {
		c.violate("Run returns within its budget", "Run returned %v after cancellation; the root's budget is %v", took.Round(time.Millisecond), budget)
	} else {
		c.t.Logf("Run returned %v after cancellation (budget %v)", took.Round(time.Millisecond), budget)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].slot.id < live[j].slot.id })
	for _, r := range live {
		c.checkGuarantee(r, report, "when Run returned")
	}
	// A nested supervisor's attempt is an attempt too; the events say
	// which are current, unless delivery was cut short at the budget.
	c.dropped = c.tree.Snapshot().DroppedEvents
	for _, sv := range c.ct.sups[1:] {
		s := sv.slot
		if s.liveGen == 0 || inReport(report, s.path, s.liveGen) {
			continue
		}
		if c.dropped > 0 {
			c.unverify()
			continue
		}
		c.violate("shutdown guarantee", "%s generation %d: nested supervisor still current when Run returned, and not in ShutdownReport", s.path, s.liveGen)
	}

	// Abandoned attempts end within their linger (under a second); those of
	// an abandoned supervisor once it has stopped them within its budget,
	// and its own abandoned supervisors within theirs.
	var wait time.Duration
	for _, sv := range c.ct.sups {
		var chain time.Duration
		for x := sv; x != nil; x = x.parent {
			chain += x.budget
		}
		wait = max(wait, chain)
	}
	wait += 2 * time.Second
	deadline := time.Now().Add(wait)
	for {
		c.mu.Lock()
		n := len(c.live)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			c.mu.Lock()
			for _, r := range c.live {
				c.violate("every attempt ends", "%s generation %d still runs %v after Run returned (context: %v)",
					r.slot.path, r.key.gen, wait, r.ctx.Err())
			}
			c.mu.Unlock()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(c.kill)
	for {
		c.mu.Lock()
		n := len(c.live)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	report = c.tree.ShutdownReport()
	c.mu.Lock()
	late := slices.Clone(c.late)
	c.mu.Unlock()
	for _, r := range late {
		c.checkGuarantee(r, report, "though it began after Run returned")
	}
}

// checkGuarantee checks the shutdown guarantee for an attempt still running
// when Run returned: cancelled, and listed in ShutdownReport.
func (c *chaos) checkGuarantee(r *attemptRec, report runtime.ShutdownReport, when string) {
	switch {
	case r.ctx.Err() == nil:
		c.violate("shutdown guarantee", "%s generation %d: running with a live context %s", r.slot.path, r.key.gen, when)
	case !inReport(report, r.slot.path, r.key.gen):
		c.violate("shutdown guarantee", "%s generation %d: running %s, and not in ShutdownReport", r.slot.path, r.key.gen, when)
	}
}

// finish runs the checks that need the whole run, and reports.
func (c *chaos) finish(d time.Duration) {
	c.settleSuspects(true)
	switch {
	case c.dropped > 0:
		c.t.Logf("stop order not checked: %d events were dropped", c.dropped)
	default:
		c.checkStopOrder()
	}
	c.checkFlat(d)
	if err := goleak.Find(); err != nil {
		c.violate("no goroutine leaks", "%v", err)
	}
	c.vmu.Lock()
	defer c.vmu.Unlock()
	if c.unverified > 0 {
		c.t.Logf("%d suspicions could not be verified: the runtime dropped events", c.unverified)
	}
	invariants := make([]string, 0, len(c.violations))
	for inv := range c.violations {
		invariants = append(invariants, inv)
	}
	sort.Strings(invariants)
	for _, inv := range invariants {
		shown, n := c.violations[inv], c.violated[inv]
		more := ""
		if n > len(shown) {
			more = fmt.Sprintf("\n\t... and %d more", n-len(shown))
		}
		c.t.Errorf("seed %d: invariant %q violated %d times:\n\t%s%s", c.seed, inv, n, strings.Join(shown, "\n\t"), more)
	}
}

// stopCand is a child the final shutdown stopped: when it was cancelled and
// when its supervisor was done with it.
type stopCand struct {
	path     string
	rank     int
	cancelAt time.Time
	endAt    time.Time // zero: never
}

// checkStopOrder checks that each supervisor stopped its children one at a
// time in reverse start order: a child is cancelled only once every child
// started after it has returned or been abandoned. Only children running and
// uncancelled when the final shutdown began are compared, and only before a
// budget (the supervisor's or an ancestor's) ran out and cut the order short.
func (c *chaos) checkStopOrder() {
	scanned := map[*chaosSlot]*attemptRec{}
	for _, r := range c.scan {
		scanned[r.slot] = r
	}
	for _, sv := range c.ct.sups {
		if sv.run.shutdownAt.IsZero() || sv.run.started.After(c.scanAt) {
			continue
		}
		var budgetOut time.Time // the earliest a budget could cut in
		for x := sv; x != nil; x = x.parent {
			if !x.run.shutdownAt.IsZero() {
				if t := x.run.shutdownAt.Add(x.budget); budgetOut.IsZero() || t.Before(budgetOut) {
					budgetOut = t
				}
			}
		}
		var cands []stopCand
		for _, s := range sv.children {
			if n := s.nested; n != nil {
				r := n.run
				if !r.started.IsZero() && r.started.Before(c.scanAt) && !r.shutdownAt.Before(c.scanAt) && r.shutdownBy == nil {
					cands = append(cands, stopCand{s.path, s.rank, r.shutdownAt, r.endedAt})
				}
				continue
			}
			r := scanned[s]
			if r == nil || r.cause != runtime.ErrStopped {
				continue // not running, or not stopped by the shutdown
			}
			end := r.returnedAt
			if t, ok := c.finalAb[r.key]; ok && t.Before(end) {
				end = t
			}
			cands = append(cands, stopCand{s.path, s.rank, r.cancelAt, end})
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].rank < cands[j].rank })
		for i, b := range cands {
			if !b.cancelAt.Before(budgetOut) {
				continue
			}
			for _, a := range cands[i+1:] {
				if a.endAt.IsZero() || b.cancelAt.Before(a.endAt) {
					c.violate("stop order", "%s: %s was cancelled %v before %s, started after it, was done",
						sv.path, b.path, a.endAt.Sub(b.cancelAt).Round(time.Millisecond), a.path)
					break
				}
			}
		}
	}
}

// checkFlat checks that goroutines and the heap did not grow over the run.
// Goroutines are counted beyond the run functions still running (abandoned
// ones included): the runtime's own, which must stay bounded. A leak grows
// steadily, so the last third's lowest reading must not exceed the first
// third's highest by much; the first quarter of the run is warm-up.
func (c *chaos) checkFlat(d time.Duration) {
	bound := 3*len(c.ct.slots) + 100
	var steady []chaosSample
	for _, s := range c.samples {
		if extra := s.goroutines - s.live; extra > bound {
			c.violate("goroutines and heap stay flat", "%d goroutines besides %d run functions at %v; at most %d expected",
				extra, s.live, s.at.Sub(c.samples[0].at).Round(time.Second), bound)
		}
		if s.at.Sub(c.samples[0].at) >= d/4 {
			steady = append(steady, s)
		}
	}
	if len(steady) < 6 {
		c.t.Logf("too few samples (%d) to judge growth", len(steady))
		return
	}
	third := len(steady) / 3
	first, last := steady[:third], steady[len(steady)-third:]
	maxOf := func(ss []chaosSample, f func(chaosSample) float64) (m float64) {
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	minOf := func(ss []chaosSample, f func(chaosSample) float64) float64 {
		m := f(ss[0])
		for _, s := range ss {
			m = min(m, f(s))
		}
		return m
	}
	extra := func(s chaosSample) float64 { return float64(s.goroutines - s.live) }
	heap := func(s chaosSample) float64 { return mb(s.heap) }
	if hi, lo := maxOf(first, extra), minOf(last, extra); lo > hi*1.1+50 {
		c.violate("goroutines and heap stay flat", "runtime goroutines grew: at most %.0f early in the run, at least %.0f late", hi, lo)
	}
	if hi, lo := maxOf(first, heap), minOf(last, heap); lo > hi*1.5+8 {
		c.violate("goroutines and heap stay flat", "heap grew: at most %.1f MB early in the run, at least %.1f MB late", hi, lo)
	}
	c.t.Logf("steady state: runtime goroutines %.0f–%.0f early, %.0f–%.0f late; heap %.1f–%.1f MB early, %.1f–%.1f MB late",
		minOf(first, extra), maxOf(first, extra), minOf(last, extra), maxOf(last, extra),
		minOf(first, heap), maxOf(first, heap), minOf(last, heap), maxOf(last, heap))
}
