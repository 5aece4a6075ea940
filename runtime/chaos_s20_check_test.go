package runtime_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// The checks of TestChaosLives beyond the shutdown guarantee and Run's
// budget (see chaos_s20_test.go): what StopAndWait promises when it
// returns, what concurrent readers see, and a model of the whole event
// stream, read from the journal once every attempt has returned.

// stopAndWait stops the child h and, when StopAndWait returns nil, checks
// its promise: every attempt at or below the child that began before the
// call has returned, or is cancelled and listed in ShutdownReport. who says
// who the caller is: an attempt's path, or an operator.
func (l *c20Life) stopAndWait(ctx context.Context, h *runtime.Handle, who string) {
	began := time.Now()
	err := h.StopAndWait(ctx)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			err = nil // it waited long enough
		}
		l.checkOrder("stop-and-wait "+h.Path(), err)
		return
	}
	l.st.orders.Add(1)
	l.st.stopWaits.Add(1)
	if who == h.Path() || strings.HasPrefix(who, h.Path()+"/") {
		l.st.stopWaitSelf.Add(1)
	}
	report := l.tree.ShutdownReport()
	p := h.Path()
	l.mu.Lock()
	inst := l.instOf[h]
	var under []*c20Rec
	for _, rec := range l.recs {
		if rec.inst != 0 && rec.path == p && rec.inst != inst {
			continue // another instance of the same name
		}
		if rec.began.Before(began) && (rec.path == p || strings.HasPrefix(rec.path, p+"/")) {
			under = append(under, rec)
		}
	}
	l.mu.Unlock()
	returned := time.Now()
	for _, rec := range under {
		l.st.stopWaitChecked.Add(1)
		switch {
		case rec.returned.Load():
		case rec.ctx.Err() == nil:
			l.violate("StopAndWait(%s) by %s returned while %s generation %d, begun before it, runs with a live context; %s", p, who, rec.path, rec.gen, l.eventsUnder(p, rec.path, began, returned))
		case !inReport(report, rec.path, rec.gen):
			time.Sleep(50 * time.Millisecond)
			later := inReport(l.tree.ShutdownReport(), rec.path, rec.gen)
			l.violate("StopAndWait(%s) by %s (own context %v) returned while %s generation %d, begun before it, runs and the report does not list it (current %v, listed 50ms later %v); %s",
				p, who, ctx.Done() != nil, rec.path, rec.gen, rec.a.Current(), later, l.eventsUnder(p, rec.path, began, returned))
		}
	}
}

// c20Readers hammer the read side while the tree runs: Snapshot, Health,
// ShutdownReport and the journal.
type c20Readers struct {
	l *c20Life

	mu    sync.Mutex
	snaps []c20Snap // kept to be held against the journal
}

// c20Snap is what a snapshot said of the declared children.
type c20Snap struct {
	last uint64   // its LastEvent
	gens []uint64 // by declared child, in l.paths' order
}

// healthRank orders the tree's health states as a lifecycle goes through
// them: a reader may skip some, never go back.
func healthRank(s runtime.HealthState) int {
	switch s {
	case runtime.HealthStarting:
		return 0
	case runtime.HealthReady, runtime.HealthDegraded:
		return 1
	case runtime.HealthStopping:
		return 2
	}
	return 3
}

func (rd *c20Readers) read() {
	l := rd.l
	rank := 0
	var after uint64
	for i := 0; ; i++ {
		select {
		case <-l.stopOps:
			return
		default:
		}
		l.st.reads.Add(1)
		switch i % 4 {
		case 0:
			snap := l.tree.Snapshot()
			k := 0
			for _, c := range snap.Children {
				if c.Instance {
					continue
				}
				if k >= len(l.paths) || c.Path != l.paths[k] {
					l.violate("snapshot child %d is %s; want the declared children depth first", k, c.Path)
					break
				}
				k++
			}
			if k != len(l.paths) {
				l.violate("snapshot lists %d declared children; want %d", k, len(l.paths))
				break
			}
			rd.keep(snap)
		case 1:
			h := l.tree.Health()
			r := healthRank(h.State)
			if r < rank {
				l.violate("health went back to %v (%q) after a later state", h.State, h.Reason)
			}
			rank = max(rank, r)
			if (h.State == runtime.HealthReady) != (h.Reason == "") && h.State != runtime.HealthStarting {
				l.violate("health %v with reason %q", h.State, h.Reason)
			}
		case 2:
			for _, a := range l.tree.ShutdownReport().Abandoned {
				if !strings.HasPrefix(a.Path, l.root.path+"/") || a.Generation == 0 {
					l.violate("shutdown report lists %+v", a)
				}
			}
		case 3:
			evs, missed := l.tree.JournalN(after, 256)
			if missed > 0 {
				break // the journal overflowed; checkJournal says so
			}
			for _, e := range evs {
				if e.Seq != after+1 {
					l.violate("journal gave event %d after %d", e.Seq, after)
				}
				after = e.Seq
			}
		}
		if i%8 == 0 {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// keep keeps the generations snap shows, up to 256 snapshots a lifecycle.
func (rd *c20Readers) keep(snap runtime.Snapshot) {
	s := c20Snap{last: snap.LastEvent}
	for _, c := range snap.Children {
		if !c.Instance {
			s.gens = append(s.gens, c.Generation)
		}
	}
	rd.mu.Lock()
	if len(rd.snaps) < 256 {
		rd.snaps = append(rd.snaps, s)
	}
	rd.mu.Unlock()
}

// checkSnaps holds the snapshots kept against the journal: a snapshot shows
// every event up to its LastEvent (a console streams from there), so each
// declared child's generation is at least that of its latest Starting
// event by then, and at most the latest the tree ever started.
func (rd *c20Readers) checkSnaps(evs []runtime.Event) {
	l := rd.l
	index := make(map[string]int, len(l.paths))
	for i, p := range l.paths {
		index[p] = i
	}
	rd.mu.Lock()
	snaps := slices.Clone(rd.snaps)
	rd.mu.Unlock()
	slices.SortFunc(snaps, func(a, b c20Snap) int { return cmp.Compare(a.last, b.last) })
	started := make([]uint64, len(l.paths)) // by the events so far
	ever := make([]uint64, len(l.paths))
	for _, e := range evs {
		if i, ok := index[e.Path]; ok && e.Kind == runtime.EventStarting {
			ever[i] = max(ever[i], e.Generation)
		}
	}
	k := 0
	for _, s := range snaps {
		for ; k < len(evs) && evs[k].Seq <= s.last; k++ {
			if i, ok := index[evs[k].Path]; ok && evs[k].Kind == runtime.EventStarting {
				started[i] = evs[k].Generation
			}
		}
		for i, g := range s.gens {
			switch {
			case g < started[i]:
				l.violate("snapshot at event %d shows %s at generation %d; its generation %d started by then", s.last, l.paths[i], g, started[i])
			case g > ever[i]:
				l.violate("snapshot at event %d shows %s at generation %d; the tree never started more than %d", s.last, l.paths[i], g, ever[i])
			}
		}
		l.st.snapsChecked.Add(1)
	}
}

// finish checks what the readers see once Run has returned.
func (rd *c20Readers) finish(rerr error) {
	l := rd.l
	h := l.tree.Health()
	want := runtime.HealthStopped
	if rerr != nil {
		want = runtime.HealthFailed
	}
	if h.State != want {
		l.violate("Run returned %v, health says %v (%q)", rerr, h.State, h.Reason)
	}
}

// c20Sup is a supervisor's current run as the event stream shows it.
type c20Sup struct {
	n        *c20Node
	run      int // runs begun: its slot's Starting events; 1 for the root
	stopping bool
	shutErr  error
	shutAt   time.Time
	gaveUp   bool
	killed   bool        // abandoned with its slot, or an ancestor's: it decides nothing more
	sigEnded bool        // a significant child ended in this run
	sigShut  bool        // one had when the run began to stop
	window   []time.Time // its children's restarts in this run
	pending  *c20Pending // the decision an exit asks for
	plan     string      // a group restart's latest failed child, until it starts again
	recent   *eventRing  // its latest events and its children's, to explain a violation
}

// c20Pending is an exit whose supervisor's decision comes next from it.
type c20Pending struct {
	e       runtime.Event
	restart bool // a restart, or a give-up; else none, and a shutdown if significant
	sig     bool
}

// c20Slot is one child's (or instance's) attempts as the stream shows them.
type c20Slot struct {
	live, last uint64
	poolRun    int         // an instance: its pool's run when it began
	supRun     int         // its supervisor's run when its current or last attempt began
	window     []time.Time // restarts against its own limit, in its supervisor's run
}

// checkJournal reads the lifecycle's whole event stream from the journal
// and checks, in order:
//   - per slot: a Starting only once the previous attempt ended or was
//     abandoned, growing generations (an instance's start over at 1, a new
//     instance), each attempt ends once, and every attempt has ended;
//   - nothing starts, and no restart is scheduled, in a supervisor's run
//     after its ShuttingDown;
//   - restart limits, exactly: each RestartScheduled has fewer than Max
//     earlier ones within Window in its supervisor's run (and its own limit's
//     in its own window), and a GaveUp has Max of them and names the limit
//     crossed;
//   - in a supervisor or pool that is not in a group restart, the decision
//     that follows an exit (the next of its events on that child or
//     itself): a restart or a give-up when the restart type asks for one,
//     never otherwise, and a clean shutdown after a significant child that
//     is not restarted;
//   - a nested supervisor that exits on its own exits with success only
//     after a significant child ended in its run and it shut down without
//     error, and with ErrRestartLimit after it gave up; a clean end of the
//     root that nobody cancelled follows a significant child's end too;
//   - an instance never restarts in a later run of its pool.
func (l *c20Life) checkJournal(rerr error) {
	evs, missed := l.tree.Journal(0)
	if missed > 0 {
		l.st.unverified.Add(1)
		l.t.Logf("seed %d life %d: journal overflowed (%d missed); its stream is not checked", l.seed, l.idx, missed)
		return
	}
	l.st.events.Add(int64(len(evs)))
	sups := map[string]*c20Sup{l.root.path: {n: l.root, run: 1, recent: new(eventRing)}}
	for p, n := range l.nodes {
		if n.sup || n.pool {
			sups[p] = &c20Sup{n: n, recent: new(eventRing)}
		}
	}
	slots := map[string]*c20Slot{}
	slotOf := func(p string) *c20Slot {
		s := slots[p]
		if s == nil {
			s = &c20Slot{}
			slots[p] = s
		}
		return s
	}
	var rootShut *runtime.Event
	for i := range evs {
		e := evs[i]
		if e.Seq != uint64(i+1) {
			l.violate("journal: event %d at position %d", e.Seq, i)
			return
		}
		n, inst := l.node(e.Path)
		var parent *c20Sup
		switch {
		case inst:
			parent = sups[n.path]
		case n != nil && n.parent != nil:
			parent = sups[n.parent.path]
		}
		if parent != nil {
			parent.recent.add(e)
		}
		if sv := sups[e.Path]; sv != nil && !inst {
			sv.recent.add(e) // its own: ShuttingDown, GaveUp, and its slot's
		}
		// The pending decision of the supervisor this event may answer.
		l.settlePending(sups, e, n, inst, parent)
		switch e.Kind {
		case runtime.EventStarting:
			s := slotOf(e.Path)
			if s.live != 0 {
				var recent *eventRing
				if parent != nil {
					recent = parent.recent
				}
				l.violate("journal: %s generation %d starts while generation %d has neither ended nor been abandoned; latest events of its supervisor:%s", e.Path, e.Generation, s.live, recent)
			}
			switch {
			case inst && e.Generation == 1:
				s.last, s.poolRun = 0, parent.run
			case inst && s.poolRun != parent.run:
				l.violate("journal: instance %s restarts (generation %d) in run %d of its pool; it began in run %d", e.Path, e.Generation, parent.run, s.poolRun)
			}
			if e.Generation <= s.last {
				l.violate("journal: %s generation %d after generation %d", e.Path, e.Generation, s.last)
			}
			s.live, s.last = e.Generation, e.Generation
			if parent != nil {
				s.supRun = parent.run
			}
			if parent != nil && parent.plan == e.Path {
				parent.plan = "" // the group restart it began has started its members again
			}
			if parent != nil && parent.stopping && !parent.killed {
				l.violate("journal: %s generation %d starts after %s began to stop", e.Path, e.Generation, parent.n.path)
			}
			if sv := sups[e.Path]; sv != nil { // a new run of a nested supervisor or pool
				*sv = c20Sup{n: sv.n, run: sv.run + 1, recent: sv.recent}
				for _, k := range sv.n.kids {
					if ks := slots[k.path]; ks != nil {
						ks.window = nil
					}
				}
			}
		case runtime.EventExited, runtime.EventStopped, runtime.EventAbandoned:
			if e.Kind == runtime.EventAbandoned {
				l.st.abandoned.Add(1)
			}
			l.onEnd(sups, slotOf(e.Path), e, n, inst, parent)
		case runtime.EventRestartScheduled:
			if parent.stopping && !parent.killed {
				l.violate("journal: %s restart scheduled after %s began to stop", e.Path, parent.n.path)
			}
			l.countRestart(parent, slotOf(e.Path), e, n, inst)
			if parent.n.strategy != runtime.OneForOne {
				// A group restart, or more of one: it ends when its latest
				// failed child starts again (its members start together),
				// not when an earlier one does, which may start on its
				// own once it no longer waits for its After list.
				parent.plan = e.Path
			}
		case runtime.EventGaveUp:
			l.onGaveUp(sups[e.Path], slots, e)
		case runtime.EventShuttingDown:
			sv := sups[e.Path]
			if sv.stopping && !sv.killed {
				l.violate("journal: %s shuts down twice in run %d", e.Path, sv.run)
			}
			sv.stopping, sv.shutErr, sv.shutAt, sv.sigShut = true, e.Err, e.Time, sv.sigEnded
			if e.Path == l.root.path {
				rootShut = &evs[i]
			}
		}
	}
	for p, s := range slots {
		if s.live != 0 {
			l.violate("journal: %s generation %d never ended nor was abandoned", p, s.live)
		}
	}
	// A clean end nobody asked for follows a significant child's end.
	if rerr == nil && rootShut != nil && rootShut.Err == nil {
		cancelled := l.cancelAt.Load()
		if (cancelled == 0 || rootShut.Time.Before(time.Unix(0, cancelled))) && !sups[l.root.path].sigShut {
			l.violate("journal: the root shut down cleanly at %v, before it was cancelled, and no significant child had ended", rootShut.Time.Sub(evs[0].Time))
		}
	}
}

// settlePending judges the decision an earlier exit asked of parent, if e
// is that decision: the supervisor's next event on that child or itself.
func (l *c20Life) settlePending(sups map[string]*c20Sup, e runtime.Event, n *c20Node, inst bool, parent *c20Sup) {
	switch e.Kind {
	case runtime.EventFenced, runtime.EventWaiting, runtime.EventReady:
		return // another goroutine's, or not a decision
	case runtime.EventOrder:
		if sups[e.Path] != nil && !inst {
			return // an order on a supervisor comes from its parent
		}
	}
	// A supervisor's own events: the decision, or its end (its slot's
	// events come from its parent once its run has ended).
	if sv := sups[e.Path]; sv != nil && sv.pending != nil {
		if e.Kind == runtime.EventGaveUp || e.Kind == runtime.EventShuttingDown {
			l.judge(sv, e)
		}
		sv.pending = nil
		return
	}
	if parent != nil && parent.pending != nil && parent.pending.e.Path == e.Path {
		l.judge(parent, e)
		parent.pending = nil
	}
}

func (l *c20Life) judge(sv *c20Sup, e runtime.Event) {
	p := sv.pending
	l.st.restartsChecked.Add(1)
	var gu *runtime.GiveUpError
	gaveUp := e.Kind == runtime.EventGaveUp && errors.As(e.Err, &gu) && gu.Child == p.e.Path // on this exit
	switch {
	case p.restart && e.Kind != runtime.EventRestartScheduled && !gaveUp:
		l.violate("journal: %s exited %v (restart %v); its supervisor's next decision is %v, want a restart or a give-up; latest events of %s:%s", p.e.Path, p.e.Exit, l.restartOf(p.e.Path), e, sv.n.path, sv.recent)
	case !p.restart && (e.Kind == runtime.EventRestartScheduled && e.Path == p.e.Path || gaveUp):
		l.violate("journal: %s exited %v (restart %v); its supervisor's next decision is %v, want none; latest events of %s:%s", p.e.Path, p.e.Exit, l.restartOf(p.e.Path), e, sv.n.path, sv.recent)
	case p.sig && (e.Kind != runtime.EventShuttingDown || e.Err != nil):
		l.violate("journal: significant %s exited %v and is not restarted; its supervisor's next decision is %v, want a clean shutdown; latest events of %s:%s", p.e.Path, p.e.Exit, e, sv.n.path, sv.recent)
	}
}

// restartOf is the restart type of the child or instance at path.
func (l *c20Life) restartOf(path string) runtime.Restart {
	n, inst := l.node(path)
	if inst {
		return n.instances
	}
	return n.restart
}

// onEnd follows the end of an attempt.
func (l *c20Life) onEnd(sups map[string]*c20Sup, s *c20Slot, e runtime.Event, n *c20Node, inst bool, parent *c20Sup) {
	if s.live != e.Generation {
		l.violate("journal: %s %v of generation %d, but the current one is %d (ended twice, or never started)", e.Path, e.Kind, e.Generation, s.live)
	}
	s.live = 0
	if sv := sups[e.Path]; sv != nil && !inst {
		if e.Kind == runtime.EventAbandoned {
			l.kill(sups, sv)
		}
		l.nestedEnd(sv, e)
	}
	if parent == nil || parent.killed || s.supRun != parent.run {
		// A killed run may report the end of an attempt it did not list
		// after its supervisor's next run has begun: it is not that run's.
		return
	}
	if !inst && n.significant && (e.Kind == runtime.EventExited || e.Kind == runtime.EventAbandoned) {
		parent.sigEnded = true
		l.st.sigEnds.Add(1)
	}
	if e.Kind != runtime.EventExited || parent.stopping || parent.plan != "" {
		return // a member of a group restart ends as part of it, whatever its type
	}
	dnr := safeIs(e.Err, runtime.ErrDoNotRestart)
	rt := n.restart
	if inst {
		rt = n.instances
	}
	if rt == "" {
		rt = runtime.Permanent
	}
	restart := !dnr && (rt == runtime.Permanent || rt == runtime.Transient && e.Exit.Failure())
	parent.pending = &c20Pending{e: e, restart: restart, sig: !inst && n.significant && !restart}
}

// nestedEnd checks how a nested supervisor or pool's attempt ended against
// what its run did.
func (l *c20Life) nestedEnd(sv *c20Sup, e runtime.Event) {
	if e.Kind != runtime.EventAbandoned && sv.stopping && !sv.killed {
		// Its budget bounds its stop, whatever its children do: it
		// abandons them when it runs out.
		if took := e.Time.Sub(sv.shutAt); took > sv.n.budget+c20Slack+l.stalls.within(sv.shutAt, e.Time) {
			l.violate("journal: %s took %v to stop; its budget is %v (the process stalled %v meanwhile)", e.Path, took.Round(time.Millisecond), sv.n.budget,
				l.stalls.within(sv.shutAt, e.Time).Round(time.Millisecond))
		}
	}
	if e.Kind != runtime.EventExited || sv.killed {
		// Stopped by its parent, or abandoned: anything goes. Killed with
		// an ancestor, it may still decide a few things before the kill
		// reaches it, which the model no longer follows.
		return
	}
	l.st.nestedExits.Add(1)
	switch {
	case sv.gaveUp:
		if e.Exit != runtime.ExitError || !safeIs(e.Err, runtime.ErrRestartLimit) {
			l.violate("journal: %s gave up but exited %v: %v; want an error wrapping ErrRestartLimit", e.Path, e.Exit, e.Err)
		}
	case e.Exit != runtime.ExitSuccess:
		l.violate("journal: %s exited %v (%v) without giving up", e.Path, e.Exit, e.Err)
	case sv.n.pool:
		l.violate("journal: pool %s exited with success: a pool never ends by itself", e.Path)
	case !sv.stopping || sv.shutErr != nil || !sv.sigShut:
		var sig []string
		for _, k := range sv.n.kids {
			if k.significant {
				sig = append(sig, k.path)
			}
		}
		l.violate("journal: %s exited with success in run %d (shut down %v, by %v; a significant child ended before %v; significant: %v); latest events of %s:%s", e.Path, sv.run, sv.stopping, sv.shutErr, sv.sigShut, sig, sv.n.path, sv.recent)
	}
}

// kill marks sv and every supervisor below it as deciding nothing more in
// their current runs: an abandoned supervisor's subtree is killed.
func (l *c20Life) kill(sups map[string]*c20Sup, sv *c20Sup) {
	sv.killed, sv.pending = true, nil
	for _, k := range sv.n.kids {
		if ks := sups[k.path]; ks != nil {
			l.kill(sups, ks)
		}
	}
}

// countRestart checks a RestartScheduled against the limits, with the
// times the supervisor counted: an event's Time is its decision's.
func (l *c20Life) countRestart(sv *c20Sup, s *c20Slot, e runtime.Event, n *c20Node, inst bool) {
	l.st.limitsChecked.Add(1)
	if c := c20Within(sv.window, e.Time, sv.n.limit.Window); c >= sv.n.limit.Max {
		l.violate("journal: %s restart scheduled with %d restarts already within %v in %s's run (limit %d), without a give-up",
			e.Path, c, sv.n.limit.Window, sv.n.path, sv.n.limit.Max)
	}
	sv.window = append(sv.window, e.Time)
	if !inst && n.own != nil {
		if c := c20Within(s.window, e.Time, n.own.Window); c >= n.own.Max {
			l.violate("journal: %s restart scheduled with %d restarts already within %v (its own limit %d), without a give-up",
				e.Path, c, n.own.Window, n.own.Max)
		}
		s.window = append(s.window, e.Time)
	}
}

// c20Within counts the times in w at or after t-window, as the runtime's
// limit does (OTP's Now - Then =< Period).
func c20Within(w []time.Time, t time.Time, window time.Duration) int {
	cut := t.Add(-window)
	n := 0
	for _, x := range w {
		if !x.Before(cut) {
			n++
		}
	}
	return n
}

func (l *c20Life) onGaveUp(sv *c20Sup, slots map[string]*c20Slot, e runtime.Event) {
	sv.gaveUp = true
	var gu *runtime.GiveUpError
	if !errors.As(e.Err, &gu) {
		l.violate("journal: %s gave up with %v; want a *GiveUpError", e.Path, e.Err)
		return
	}
	lim, window := sv.n.limit, sv.window
	if gu.ChildLimit {
		n, _ := l.node(gu.Child)
		if n == nil || n.own == nil {
			l.violate("journal: %s gave up on %s's own limit, which it has none of", e.Path, gu.Child)
			return
		}
		lim = *n.own
		if s := slots[gu.Child]; s != nil {
			window = s.window
		} else {
			window = nil
		}
	}
	if gu.Max != lim.Max || gu.Window != lim.Window {
		l.violate("journal: %s gave up with limit %d in %v (child limit %v); the spec says %d in %v", e.Path, gu.Max, gu.Window, gu.ChildLimit, lim.Max, lim.Window)
	}
	if c := c20Within(window, e.Time, lim.Window); c < lim.Max {
		l.violate("journal: %s gave up (%v) with only %d restarts within %v (limit %d)", e.Path, gu, c, lim.Window, lim.Max)
	}
}

// eventsUnder lists the latest events at or below path, and its
// supervisor's, and every event of focus, with times from the call that
// began at began.
func (l *c20Life) eventsUnder(path, focus string, began, returned time.Time) string {
	evs, _ := l.tree.Journal(0)
	parent := path[:strings.LastIndexByte(path, '/')]
	var lines, own []string
	for _, e := range evs {
		line := fmt.Sprintf("%8v %s", e.Time.Sub(began).Round(10*time.Microsecond), e)
		if e.Path == focus {
			own = append(own, line)
		}
		if e.Path == path || strings.HasPrefix(e.Path, path+"/") || e.Path == parent {
			lines = append(lines, line)
		}
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return fmt.Sprintf("StopAndWait returned %v after the call; events of %s:\n\t%s\nlatest events below:\n\t%s",
		returned.Sub(began).Round(10*time.Microsecond), focus, strings.Join(own, "\n\t"), strings.Join(lines, "\n\t"))
}
