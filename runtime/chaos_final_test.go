package runtime_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
)

// The checks of TestChaos at the end of the run: the shutdown guarantee,
// Run's budget, the stop order, flat goroutines and heap, no leak.

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
	stalled := c.stall.within(c.cancelAt, c.doneAt)
	if took := c.doneAt.Sub(c.cancelAt); took > budget+chaosRunMargin+stalled {
		c.violate("Run returns within its budget", "Run returned %v after cancellation; the root's budget is %v (the process stalled %v meanwhile)",
			took.Round(time.Millisecond), budget, stalled.Round(time.Millisecond))
	} else {
		c.t.Logf("Run returned %v after cancellation (budget %v; the process stalled %v meanwhile)", took.Round(time.Millisecond), budget, stalled.Round(time.Millisecond))
	}
	sort.Slice(live, func(i, j int) bool { return live[i].slot.id < live[j].slot.id })
	for _, r := range live {
		c.checkGuarantee(r, report, "when Run returned")
	}
	// Nothing shows as still going once Run has returned, whatever was
	// killed on the way: a stale state would mislead an operator for good.
	for _, st := range c.tree.Snapshot().Children {
		switch st.State {
		case runtime.StateStopped, runtime.StateDone, runtime.StateIdle:
		default:
			c.violate("states settle", "%s shows %s after Run returned", st.Path, st.State)
		}
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
	if !c.awaitReturns(time.Now().Add(wait)) {
		c.mu.Lock()
		for _, r := range c.live {
			c.violate("every attempt ends", "%s generation %d still runs %v after Run returned (context: %v)",
				r.slot.path, r.key.gen, wait, r.ctx.Err())
		}
		c.mu.Unlock()
	}
	close(c.kill)
	c.awaitReturns(time.Time{})
	c.checkPoolsEnded()
}

// awaitReturns waits until every run function has returned, or deadline
// (zero: none) has passed, and reports whether they all returned.
func (c *chaos) awaitReturns(deadline time.Time) bool {
	for {
		c.mu.Lock()
		n := len(c.live)
		c.mu.Unlock()
		switch {
		case n == 0:
			return true
		case !deadline.IsZero() && time.Now().After(deadline):
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkGuarantee checks the shutdown guarantee for an attempt still running
// when Run returned: cancelled, and listed in ShutdownReport, which lists
// every abandoned attempt until it returns.
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
	c.settleStartSuspects(true)
	c.settleHeld(time.Time{}, true)
	switch {
	case c.dropped > 0:
		c.t.Logf("stop order not checked: %d events were dropped", c.dropped)
	default:
		c.checkStopOrder()
	}
	c.checkFlat(d)
	c.stall.end()
	if err := findLeaks(c.prior); err != nil {
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
	if len(invariants) > 0 { // last, short, so that a tail of the output shows it
		var sum []string
		for _, inv := range invariants {
			sum = append(sum, fmt.Sprintf("%q %d times", inv, c.violated[inv]))
		}
		c.t.Errorf("seed %d: violated %s", c.seed, strings.Join(sum, ", "))
	}
}

// findLeaks looks for goroutines left over, beyond those ignored, for up to
// ten seconds: under load, the goroutines of a thousand attempts take a
// while to end once they returned. Only the first stacks are kept.
func findLeaks(ignore goleak.Option) error {
	var err error
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err = goleak.Find(ignore); err == nil || time.Now().After(end) {
			break
		}
	}
	if err == nil {
		return nil
	}
	msg := err.Error()
	if lines := strings.SplitN(msg, "\n", 41); len(lines) > 40 {
		msg = strings.Join(lines[:40], "\n") + "\n\t..."
	}
	return errors.New(msg)
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
