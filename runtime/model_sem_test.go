package runtime_test

// The model: DESIGN.md's and README's "How a tree behaves" semantics of one
// tree, written as a single-threaded simulation with exact time: each
// supervisor's messages are handled in order, timers fire in order of their
// due time. Pools are nested supervisors whose children come and go. It
// knows workers that return at once when cancelled, after draining for a
// while, or after their grace (abandoned); no heartbeats, leases, or nested
// budgets that run out (only the root's). Where the documents leave a
// choice open, a comment says which one the runtime made, and the model
// follows it.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

type mCause uint8

const (
	mNone    mCause = iota
	mStopped        // stopped by its supervisor or an order
	mFault          // stopped for a missed deadline (ready or Timeout): a failure
)

type mChild struct {
	name, path  string
	sup         *mSup // the supervisor it belongs to
	sub         *mSup // a nested supervisor's own level
	restart     runtime.Restart
	significant bool
	deps        []*mChild
	dependents  []*mChild // in start order
	readyTO     time.Duration
	needsReady  bool
	backoff     runtime.Backoff
	own         *runtime.RestartLimit
	ownWindow   []time.Duration
	rank        int

	state    runtime.State
	gen      uint64
	attempt  int
	lastExit runtime.ExitKind

	running   bool // has a current attempt
	ready     bool
	readyAt   time.Duration
	stop      mCause
	pending   bool
	member    bool
	completed bool
	counted   bool
	held      bool
	again     bool // an operator's Restart waits for the attempt to stop
	removed   bool // a pool instance that is gone
	stopSince time.Duration
	abandoned int
	fenced    uint64
	streak    int // restarts since an attempt stayed up (and ready) for ResetAfter
	timer     int // bumped on every arm and disarm: a timer with an older value is stale

	// A worker's Shutdown grace and Timeout; how long it takes to return
	// once cancelled (longer than grace: it is abandoned).
	grace, timeout, drain time.Duration
}

type mSup struct {
	m        *model
	path     string
	self     *mChild // nil at the root
	strategy runtime.Strategy
	limit    runtime.RestartLimit
	children []*mChild // declaration order; a pool's live instances
	order    []*mChild // start order; a pool's live instances

	// A pool: its cap, and the policy of its instances.
	pool     bool
	max      int
	instance mChild
	counts   runtime.PoolCounts // the totals
	named    int                // the names the pool made up
	budget   time.Duration      // for stopping its children; 0: one that never runs out

	running  bool // a run is under way (its Handle orders are taken)
	runs     int  // counts its runs
	window   []time.Duration
	stopping bool
	result   *mGiveUp
	live     int
	queue    []*mChild
	plan     struct {
		active, waiting bool
		delay           time.Duration
		seq             int
	}
	planSeq int
	isReady bool
	unready int
}

// mGiveUp is what the model expects of a *runtime.GiveUpError.
type mGiveUp struct {
	sup, child string
	ownLimit   bool
}

type mTimer struct {
	at   time.Duration
	sup  *mSup
	c    *mChild // nil for a plan's delay
	seq  int
	kind int
	gen  uint64 // tExit, tGrace, tDeadline: the attempt's
	run  int    // tExit: the supervisor's run the attempt belongs to
}

const (
	tBackoff = iota
	tReady
	tPlan
	tExit     // a worker that drains (or ignores) its cancellation returns
	tGrace    // a stopped worker's grace is over
	tDeadline // an attempt's Timeout
	tBudget   // a supervisor's shutdown budget is spent
)

// mEvent is an event the model expects, in the form runtime events are
// compared in (see eventKey).
type mEvent struct {
	group string // the supervisor whose goroutine emits it
	key   string
}

type model struct {
	now     time.Duration
	root    *mSup
	timers  []mTimer
	inbox   []func()
	events  []mEvent
	events0 []mEvent
	// cut says why the run is inconclusive from here, where the runtime
	// may take either of two ways: timers came due at one instant, which
	// its heap takes in no set order, and which may then end differently
	// (whose backoff streak grows, who waits for whom); or a budget ran out
	// on a nested supervisor not yet stopping (see racesKill).
	cut string

	abandoned []string // what the shutdown report should list

	// drawn holds the delays the runtime drew with jitter, by "path gen"
	// of the exit, from its events: the model checks each is within
	// ±Jitter of its own, then takes it.
	drawn map[string]time.Duration
	errs  []string // what the model found wrong on its own

	budgetsSpent int

	ended  bool
	result *mGiveUp
}

func (m *model) emit(group, key string) {
	m.events = append(m.events, mEvent{group, key})
}

func (m *model) post(f func()) { m.inbox = append(m.inbox, f) }

// settle handles every message, as the runtime does before synctest.Wait
// returns.
func (m *model) settle() {
	for len(m.inbox) > 0 {
		f := m.inbox[0]
		m.inbox = m.inbox[1:]
		f()
	}
}

// advance moves the clock by d, firing timers in order.
func (m *model) advance(d time.Duration) {
	end := m.now + d
	for {
		m.dropStale()
		if len(m.timers) == 0 {
			break
		}
		at := m.timers[0].at
		for _, t := range m.timers {
			at = min(at, t.at)
		}
		if at > end {
			break
		}
		m.now = at
		var due []mTimer
		m.timers = slices.DeleteFunc(m.timers, func(t mTimer) bool {
			if t.at == at {
				due = append(due, t)
				return true
			}
			return false
		})
		if tie(slices.DeleteFunc(slices.Clone(due), m.stale)) {
			m.cut = "timers came due at one instant"
		}
		for _, t := range due {
			if !m.stale(t) {
				m.fire(t)
			}
		}
		m.settle()
	}
	m.now = end
}

// next returns when the next timer is due.
func (m *model) next() (time.Duration, bool) {
	m.dropStale()
	if len(m.timers) == 0 {
		return 0, false
	}
	return slices.MinFunc(m.timers, func(a, b mTimer) int { return cmp.Compare(a.at, b.at) }).at, true
}

func (m *model) stale(t mTimer) bool {
	switch t.kind {
	case tPlan:
		return !t.sup.plan.waiting || t.sup.plan.seq != t.seq
	case tExit:
		return false // an exit is counted, fenced, even after its run
	case tGrace:
		return !t.c.running || t.c.gen != t.gen
	case tDeadline:
		return !t.c.running || t.c.gen != t.gen || t.c.stop != mNone
	case tBudget:
		return !t.sup.running || !t.sup.stopping
	}
	return t.c.timer != t.seq
}

// tie reports whether timers due together may be taken in an order that
// matters: any but the instances of one stopping pool, which it stops at
// once and removes whatever the order.
func tie(due []mTimer) bool {
	if len(due) < 2 {
		return false
	}
	due = slices.DeleteFunc(due, func(t mTimer) bool { return t.kind == tExit && t.late() })
	for _, t := range due {
		if len(due) > 1 && (!t.sup.pool || !t.sup.stopping || t.sup != due[0].sup) {
			return true
		}
	}
	return false
}

// late reports whether an exit comes after the run of its attempt, which
// nobody hears: it only counts as fenced.
func (t mTimer) late() bool { return !t.sup.running || t.sup.runs != t.run }

func (m *model) dropStale() {
	m.timers = slices.DeleteFunc(m.timers, m.stale)
}

func (m *model) fire(t mTimer) {
	sv := t.sup
	switch t.kind {
	case tBackoff:
		t.c.timer++
		sv.want(t.c)
	case tReady:
		t.c.timer++
		if t.c.running && t.c.stop == mNone && !t.c.ready && !sv.stopping { // in a shutdown, it stops in its turn
			sv.requestStop(t.c, mFault)
		}
	case tPlan:
		sv.finishPlan()
	case tExit:
		sv.returned(t.c, t.gen, t.run)
	case tBudget:
		if sv.running && sv.stopping {
			sv.m.budgetsSpent++
			sv.budgetExpired()
		}
	case tGrace:
		sv.abandon(t.c)
	case tDeadline:
		sv.requestStop(t.c, mFault)
	}
}

func (c *mChild) arm(kind int, d time.Duration) {
	c.timer++
	c.sup.m.timers = append(c.sup.m.timers, mTimer{at: c.sup.m.now + d, sup: c.sup, c: c, seq: c.timer, kind: kind})
}

func (c *mChild) disarm() { c.timer++ }

// isReady: what satisfies an After list naming c. A dependency that ended
// for good after a success counts as ready (a systemd oneshot).
func (c *mChild) isReady() bool { return c.completed || (c.running && c.ready && c.stop == mNone) }

func (sv *mSup) mayStart(c *mChild) bool { return !sv.stopping && !c.held && !c.member }

func (sv *mSup) depsReady(c *mChild) bool {
	for _, d := range c.deps {
		if !d.isReady() {
			return false
		}
	}
	return true
}

// want starts c as soon as its After list is ready.
func (sv *mSup) want(c *mChild) {
	if !sv.mayStart(c) {
		return
	}
	c.pending = true
	if sv.depsReady(c) {
		sv.start(c)
		return
	}
	c.state = runtime.StateWaiting
	var names []string
	for _, d := range c.deps {
		if !d.isReady() {
			names = append(names, d.name)
		}
	}
	sv.m.emit(sv.path, fmt.Sprintf("%s waiting %v", c.path, names))
}

func (sv *mSup) start(c *mChild) {
	c.pending = false
	c.gen++
	if sv.pool && c.gen > 1 {
		sv.counts.Restarts++
	}
	c.attempt = c.streak + 1
	c.ready = false
	c.stop, c.again = mNone, false
	c.running = true
	c.state = runtime.StateRunning
	if c.needsReady {
		c.state = runtime.StateStarting
	}
	sv.live++
	sv.m.emit(sv.path, fmt.Sprintf("%s starting gen=%d attempt=%d restarts=%d", c.path, c.gen, c.attempt, c.gen-1))
	if c.sub != nil {
		c.sub.begin(c)
	}
	if c.timeout > 0 {
		sv.m.timers = append(sv.m.timers, mTimer{at: sv.m.now + c.timeout, sup: sv, c: c, gen: c.gen, kind: tDeadline})
	}
	switch {
	case !c.needsReady:
		sv.becameReady(c)
	case c.readyTO > 0:
		c.arm(tReady, c.readyTO)
	}
}

func (sv *mSup) becameReady(c *mChild) {
	c.ready, c.readyAt = true, sv.m.now
	sv.count(c)
	if c.needsReady {
		c.state = runtime.StateRunning
		sv.m.emit(sv.path, fmt.Sprintf("%s ready gen=%d attempt=%d", c.path, c.gen, c.attempt))
	}
	sv.startDependents(c)
	sv.checkReady()
}

// startDependents starts, in start order, the dependents of c that now
// wait for nothing, each followed by those its start made ready at once.
func (sv *mSup) startDependents(c *mChild) {
	for _, d := range c.dependents {
		if d.pending && sv.mayStart(d) && sv.depsReady(d) {
			sv.start(d) // recurses through becameReady
		}
	}
}

func (sv *mSup) count(c *mChild) {
	if !c.counted {
		c.counted = true
		sv.unready--
	}
}

// checkReady: a supervisor is ready once every child of its run has been
// ready or done; a nested one tells its parent.
func (sv *mSup) checkReady() {
	if sv.isReady || sv.stopping || sv.plan.active || sv.unready > 0 {
		return
	}
	sv.isReady = true
	if self := sv.self; self != nil {
		gen := self.gen
		sv.m.post(func() { self.sup.readyMsg(self, gen) })
	}
}

// readyMsg is a's call of Ready (or a nested supervisor's readiness).
func (sv *mSup) readyMsg(c *mChild, gen uint64) {
	if !c.running || c.gen != gen {
		sv.m.emit(sv.path, fmt.Sprintf("%s fenced", c.path))
		return
	}
	if c.stop == mNone && !c.ready {
		c.disarm()
		sv.becameReady(c)
	}
}

// begin is a run of a nested supervisor: everything starts afresh from
// its spec, as in OTP.
func (sv *mSup) begin(self *mChild) {
	sv.running = true
	sv.runs++
	sv.window = nil
	sv.stopping = false
	sv.result = nil
	sv.queue = nil
	sv.plan.active, sv.plan.waiting = false, false
	sv.isReady = false
	sv.unready = len(sv.children)
	if sv.pool {
		sv.children, sv.order, sv.unready = nil, nil, 0 // a pool starts empty, and is ready
	}
	sv.live = 0
	for _, c := range sv.children {
		c.pending, c.member, c.completed, c.held, c.again = false, false, false, false, false
		c.streak, c.counted = 0, false
		c.ownWindow = nil
		c.state = runtime.StateIdle
	}
	for _, c := range sv.order {
		sv.want(c)
	}
	sv.checkReady()
}

// exit is an attempt's return. kind is how it returned on its own
// (ExitSuccess, ExitError, ExitPanic) or ExitNone when it returned because
// it was cancelled; dnr when its error wraps ErrDoNotRestart.
func (sv *mSup) exit(c *mChild, gen uint64, own runtime.ExitKind, dnr bool) {
	if !c.running || c.gen != gen {
		c.fenced++
		sv.m.emit(sv.path, fmt.Sprintf("%s fenced", c.path))
		return
	}
	kind := own
	switch {
	case own == runtime.ExitPanic:
	case c.stop == mFault:
		kind = runtime.ExitTimeout
	case c.stop != mNone:
		kind = runtime.ExitCancelled
	}
	if kind == runtime.ExitNone {
		panic("model: an attempt returned for no reason")
	}
	sv.forget(c)
	c.running = false
	sv.live--
	c.disarm()
	requested := c.stop == mStopped
	c.state = runtime.StateStopped
	c.lastExit = kind
	ev := "exited"
	if requested {
		ev = "stopped"
	}
	sv.m.emit(sv.path, fmt.Sprintf("%s %s gen=%d attempt=%d exit=%s", c.path, ev, c.gen, c.attempt, kind))
	if requested {
		sv.afterStop(c)
	} else {
		// After a missed deadline, ErrDoNotRestart (returned as the attempt
		// stops) still ends the child; the runtime keeps it unless the
		// error also says it was cancelled, which the model's workers
		// never return.
		sv.ended(c, kind, dnr)
	}
	sv.maybeReturn()
}

func (sv *mSup) restarts(c *mChild, kind runtime.ExitKind, dnr bool) bool {
	switch {
	case dnr:
		return false
	case c.restart == runtime.Temporary:
		return false
	case c.restart == runtime.Transient:
		return kind.Failure()
	}
	return true
}

// ended decides what follows an exit its supervisor did not ask for.
func (sv *mSup) ended(c *mChild, kind runtime.ExitKind, dnr bool) {
	if sv.stopping {
		if sv.pool {
			sv.remove(c)
		}
		sv.advance()
		return
	}
	if c.member && !dnr {
		sv.advance() // ended as part of its group's restart
		return
	}
	if c.held && !dnr {
		sv.afterStop(c) // stopped by an order, queued: its end is that stop
		return
	}
	if !sv.restarts(c, kind, dnr) {
		if sv.pool {
			sv.remove(c) // an instance that ended for good is removed
			return
		}
		c.member = false
		c.completed = kind == runtime.ExitSuccess
		c.state = runtime.StateDone
		sv.count(c)
		if c.significant {
			sv.shutdown(nil)
			return
		}
		sv.startDependents(c)
		sv.advance()
		sv.checkReady()
		return
	}
	if gu := sv.countRestart(c); gu != nil {
		sv.m.emit(sv.path, fmt.Sprintf("%s gave up child=%s own=%v", sv.path, gu.child, gu.ownLimit))
		sv.shutdown(gu)
		return
	}
	// Backoff: min(Max, Initial·Multiplier^(n-1)), n the restarts since an
	// attempt stayed up (and ready) for ResetAfter; no jitter here.
	c.streak++ // exit or abandon forgot the streak if the attempt stayed up
	d := mDelay(c.backoff, c.streak)
	if sv.strategy == runtime.OneForOne {
		d = sv.m.jittered(c, d, c.backoff.Jitter)
		sv.m.emit(sv.path, fmt.Sprintf("%s restart scheduled gen=%d attempt=%d delay=%v", c.path, c.gen, c.attempt, d))
		if d <= 0 {
			sv.want(c)
			return
		}
		c.state = runtime.StateBackoff
		c.arm(tBackoff, d)
		return
	}
	sv.groupRestart(c, d)
}

// jittered returns the delay the runtime drew for the restart after c's
// attempt, and notes an error unless it is within ±jitter of base.
func (m *model) jittered(c *mChild, base time.Duration, jitter float64) time.Duration {
	if jitter == 0 {
		return base
	}
	got, ok := m.drawn[fmt.Sprintf("%s %d", c.path, c.gen)]
	lo, hi := time.Duration(float64(base)*(1-jitter))-1, time.Duration(float64(base)*(1+jitter))+1
	if !ok || got < lo || got > hi {
		m.errs = append(m.errs, fmt.Sprintf("%s gen=%d: restart delay %v (drawn: %v), want %v ±%v", c.path, c.gen, got, ok, base, jitter))
		return base
	}
	return got
}

func mDelay(b runtime.Backoff, n int) time.Duration {
	if b.Initial <= 0 {
		return 0
	}
	mul := b.Multiplier
	if mul == 0 {
		mul = 1
	}
	d := float64(b.Initial) * math.Pow(mul, float64(n-1))
	return time.Duration(min(d, float64(b.Max)))
}

// countRestart: more than Max restarts in a sliding Window, inclusive of a
// restart exactly Window old, is one too many. A child's own limit is
// checked once its supervisor's is not crossed.
func (sv *mSup) countRestart(c *mChild) *mGiveUp {
	if over(&sv.window, sv.limit, sv.m.now) {
		return &mGiveUp{sup: sv.path, child: c.path}
	}
	if c.own != nil && over(&c.ownWindow, *c.own, sv.m.now) {
		return &mGiveUp{sup: sv.path, child: c.path, ownLimit: true}
	}
	return nil
}

func over(w *[]time.Duration, l runtime.RestartLimit, now time.Duration) bool {
	*w = slices.DeleteFunc(*w, func(t time.Duration) bool { return t < now-l.Window })
	if len(*w) >= l.Max {
		return true
	}
	*w = append(*w, now)
	return false
}

// groupRestart stops the group (one_for_all: all; rest_for_one: the failed
// child and those after it in start order) in reverse start order, then
// starts it again after the delay. Children that ended for good or are held
// by an order are not part of it.
func (sv *mSup) groupRestart(failed *mChild, d time.Duration) {
	p := &sv.plan
	if j := failed.backoff.Jitter; j > 0 {
		// The event says the plan's delay, the longer of the one it had and
		// the one drawn.
		got := sv.m.drawn[fmt.Sprintf("%s %d", failed.path, failed.gen)]
		if !p.active || got != p.delay {
			d = sv.m.jittered(failed, d, j)
		} else {
			d = 0 // the drawn delay was not the longer one: it is not known
		}
	}
	if !p.active {
		p.active, p.waiting, p.delay = true, false, d
	} else {
		p.delay = max(p.delay, d)
		p.waiting = false
	}
	sv.m.emit(sv.path, fmt.Sprintf("%s restart scheduled gen=%d attempt=%d delay=%v", failed.path, failed.gen, failed.attempt, p.delay))
	for _, c := range sv.order {
		if (sv.strategy == runtime.RestForOne && c.rank < failed.rank) || c.state == runtime.StateDone || c.held {
			continue
		}
		c.member = true
		c.pending = false
		if !c.running {
			c.disarm()
			c.state = runtime.StateStopped
		}
	}
	// A child that an order took out of the group while it waited to be
	// stopped is stopped all the same, in its turn.
	sv.queue = nil
	for i := len(sv.order) - 1; i >= 0; i-- {
		if c := sv.order[i]; c.running && (c.member || c.held && c.stop == mNone) {
			sv.queue = append(sv.queue, c)
		}
	}
	sv.advance()
}

// advance stops the head of the stop queue, one child at a time; once it
// is empty, a group restart waits for its delay.
func (sv *mSup) advance() {
	for len(sv.queue) > 0 {
		h := sv.queue[0]
		if !h.running {
			sv.queue = sv.queue[1:]
			continue
		}
		if h.stop == mNone {
			sv.requestStop(h, mStopped)
		}
		return
	}
	p := &sv.plan
	if sv.stopping || !p.active || p.waiting {
		return
	}
	for _, c := range sv.children {
		if c.member && c.running {
			return
		}
	}
	p.waiting = true
	if p.delay <= 0 {
		sv.finishPlan()
		return
	}
	for _, c := range sv.children {
		if c.member {
			c.state = runtime.StateBackoff
		}
	}
	sv.planSeq++
	p.seq = sv.planSeq
	sv.m.timers = append(sv.m.timers, mTimer{at: sv.m.now + p.delay, sup: sv, seq: p.seq, kind: tPlan})
}

// finishPlan starts the group again in start order; temporary members are
// not restarted (as in OTP) unless an operator asked.
func (sv *mSup) finishPlan() {
	sv.plan.active, sv.plan.waiting = false, false
	for _, c := range sv.order {
		if !c.member {
			continue
		}
		c.member = false
		if c.restart == runtime.Temporary && !c.again {
			c.state = runtime.StateDone
			sv.count(c)
			continue
		}
		sv.want(c)
	}
	sv.checkReady()
}

// requestStop cancels c's attempt and gives it its grace.
func (sv *mSup) requestStop(c *mChild, why mCause) {
	c.stop = why
	c.disarm()
	c.state = runtime.StateStopping
	c.stopSince = sv.m.now
	gen := c.gen
	if c.sub != nil {
		sub := c.sub
		sv.m.post(func() { sub.shutdown(nil); sub.maybeReturn() })
		return
	}
	sv.cancel(c)
	sv.m.timers = append(sv.m.timers, mTimer{at: sv.m.now + c.grace, sup: sv, c: c, gen: gen, kind: tGrace})
}

// cancel cancels the attempt of worker c: it returns once it has drained.
func (sv *mSup) cancel(c *mChild) {
	gen, run := c.gen, sv.runs
	if c.drain == 0 {
		sv.m.post(func() { sv.returned(c, gen, run) })
		return
	}
	sv.m.timers = append(sv.m.timers, mTimer{at: sv.m.now + c.drain, sup: sv, c: c, gen: gen, run: run, kind: tExit})
}

// returned is the return of attempt gen of c, which belongs to the
// supervisor's run: after that run it is only counted, fenced.
func (sv *mSup) returned(c *mChild, gen uint64, run int) {
	if !sv.running || sv.runs != run {
		c.fenced++
		return
	}
	sv.exit(c, gen, runtime.ExitNone, false)
}

// budgetExpired abandons every child still running, in stop order.
func (sv *mSup) budgetExpired() {
	sv.queue = nil
	for i := len(sv.order) - 1; i >= 0; i-- {
		if c := sv.order[i]; c.running {
			sv.abandon(c)
		}
	}
}

// listAbandoned records that c's attempt was abandoned.
func (sv *mSup) listAbandoned(c *mChild, kind runtime.ExitKind) {
	var waited time.Duration
	if c.state == runtime.StateStopping {
		waited = sv.m.now - c.stopSince
	}
	c.running = false
	sv.live--
	c.disarm()
	c.state, c.lastExit = runtime.StateStopped, kind
	c.abandoned++
	if sv.pool {
		sv.counts.Abandoned++
	}
	sv.m.abandoned = append(sv.m.abandoned, fmt.Sprintf("%s gen=%d attempt=%d", c.path, c.gen, c.attempt))
	sv.m.emit(sv.path, fmt.Sprintf("%s abandoned gen=%d attempt=%d waited=%v", c.path, c.gen, c.attempt, waited))
}

// racesKill cuts the run short when c, abandoned, is a nested supervisor
// that runs and was not stopping: the runtime cancels it, then kills it
// (and so with its own nested supervisors, level by level), and in between
// it may begin to stop, and say so.
func (m *model) racesKill(c *mChild) {
	if c.sub != nil && c.stop == mNone && c.sub.running && !c.sub.stopping {
		m.cut = "a budget ran out on a nested supervisor not yet stopping"
	}
}

// stoppingFrom reports whether sv, or a supervisor above it, is stopping:
// Handle.Restart then refuses a restart of its children.
func (sv *mSup) stoppingFrom() bool {
	for ; sv != nil; sv = sv.parent() {
		if sv.running && sv.stopping {
			return true
		}
	}
	return false
}

func (sv *mSup) parent() *mSup {
	if sv.self == nil {
		return nil
	}
	return sv.self.sup
}

// kill abandons a nested supervisor with its whole subtree, at once: every
// attempt below it is cancelled and listed, and its run ends, starting
// nothing more. Each nested run below returns at once, too late to be heard.
func (sv *mSup) kill() {
	sv.running, sv.stopping = false, true
	sv.plan.active, sv.plan.waiting = false, false
	sv.queue = nil
	var subs []*mSup
	for i := len(sv.order) - 1; i >= 0; i-- {
		c := sv.order[i]
		if !c.running {
			c.disarm()
			if c.state != runtime.StateDone && c.state != runtime.StateStopped {
				c.state = runtime.StateStopped
			}
			continue
		}
		if c.stop == mNone && c.sub == nil {
			sv.cancel(c) // its return is late: the run has ended
		}
		sv.m.racesKill(c)
		sv.listAbandoned(c, runtime.ExitCancelled)
		if c.sub != nil {
			c.fenced++
			subs = append(subs, c.sub)
		}
	}
	if sv.pool {
		for _, c := range slices.Clone(sv.children) {
			sv.remove(c)
		}
	}
	for _, sub := range subs {
		sub.kill()
	}
}

// abandon detaches an attempt that did not return within its grace, or
// when its supervisor's budget ran out: it is listed in the shutdown
// report, and its late return is fenced. A nested supervisor is abandoned
// with its subtree.
func (sv *mSup) abandon(c *mChild) {
	sv.m.racesKill(c)
	if c.stop == mNone {
		c.stop = mStopped
		if c.sub == nil {
			sv.cancel(c)
		}
	}
	kind := runtime.ExitCancelled
	if c.stop == mFault {
		kind = runtime.ExitTimeout
	}
	sv.forget(c)
	sv.listAbandoned(c, kind)
	if c.sub != nil {
		c.fenced++ // its run returns at once, after its parent's
		c.sub.kill()
	}
	if c.stop == mFault {
		sv.ended(c, runtime.ExitTimeout, false)
	} else {
		sv.afterStop(c)
	}
	sv.maybeReturn()
}

// forget ends the restart streak of c if its attempt, which ends now,
// stayed up (and ready) for ResetAfter, however it ends.
func (sv *mSup) forget(c *mChild) {
	if c.ready && sv.m.now-c.readyAt >= c.backoff.ResetAfter {
		c.streak = 0
	}
}

func (sv *mSup) afterStop(c *mChild) {
	if sv.pool && (c.held || sv.stopping) {
		sv.remove(c) // a stopped instance is removed (OTP's terminate_child)
	} else if c.again && !c.member {
		c.again = false
		if i := slices.Index(sv.queue, c); i >= 0 { // its new attempt is not the one to stop
			sv.queue = slices.Delete(sv.queue, i, i+1)
		}
		sv.want(c)
	}
	sv.advance()
}

// control is an operator's order: it neither counts against the limit nor
// waits for a backoff. Stop holds the child stopped until Restart.
func (sv *mSup) control(c *mChild, restart bool) {
	order := "stop"
	if restart {
		order = "restart"
	}
	sv.m.emit(sv.path, fmt.Sprintf("%s order %s", c.path, order))
	if sv.stopping {
		return
	}
	if sv.plan.active {
		switch {
		case restart && c.member:
			c.again = true // restarts with its group, even if temporary
			return
		case restart && !c.running:
			c.held, c.completed = false, false
			c.disarm()
			c.pending = false
			c.member = true
			c.again = true
			c.state = runtime.StateStopped
			return
		case restart && c.held:
			// running, stopped by an order: queued or stopping, it
			// joins the group, which waits for it
			c.held, c.completed = false, false
			c.member = true
			c.again = true
			sv.plan.waiting = false // the delay begins again once it stopped
			return
		case !restart && c.member:
			c.member = false
			c.held, c.again = true, false
			if !c.running {
				c.state = runtime.StateStopped
				sv.advance()
			} else if c.stop == mFault {
				c.stop = mStopped
			}
			return
		}
	}
	c.held = !restart
	if c.running {
		switch c.stop {
		case mNone:
			sv.requestStop(c, mStopped)
		case mFault:
			c.stop = mStopped
		}
		c.again = restart
		return
	}
	c.disarm()
	if !restart {
		c.pending = false
		if sv.pool {
			sv.remove(c)
			return
		}
		if c.state != runtime.StateDone { // one that ended for good stays done
			c.state = runtime.StateStopped
		}
		return
	}
	c.completed = false
	sv.want(c)
}

// shutdown stops every running child, one at a time, in the exact reverse
// of the start order; children waiting to start show as stopped.
func (sv *mSup) shutdown(reason *mGiveUp) {
	if sv.stopping {
		return
	}
	sv.stopping = true
	sv.result = reason
	var why string
	if reason != nil {
		why = " err=gaveup"
	}
	sv.m.emit(sv.path, sv.path+" shutting down"+why)
	sv.plan.active, sv.plan.waiting = false, false
	for _, c := range slices.Clone(sv.children) {
		c.pending, c.member = false, false
		if !c.running {
			c.disarm()
			if sv.pool {
				sv.remove(c)
				continue
			}
			switch c.state {
			case runtime.StateBackoff, runtime.StateWaiting, runtime.StateIdle:
				c.state = runtime.StateStopped
			}
		}
	}
	sv.queue = nil
	for i := len(sv.order) - 1; i >= 0; i-- {
		if c := sv.order[i]; c.running {
			sv.queue = append(sv.queue, c)
		}
	}
	if sv.live > 0 && sv.budget > 0 {
		sv.m.timers = append(sv.m.timers, mTimer{at: sv.m.now + sv.budget, sup: sv, kind: tBudget})
	}
	if sv.pool {
		for _, c := range sv.queue {
			if c.stop == mNone { // one already stopping keeps its stop
				sv.requestStop(c, mStopped) // a pool stops its instances at once
			}
		}
		sv.queue = nil
	}
	sv.advance()
}

// remove drops a pool's instance.
func (sv *mSup) remove(c *mChild) {
	c.disarm()
	c.removed = true
	sv.counts.Removed++
	del := func(k *mChild) bool { return k == c }
	sv.children = slices.DeleteFunc(sv.children, del)
	sv.order = slices.DeleteFunc(sv.order, del)
}

// add is Pool.Start: the error it should return, or nil once the instance
// is posted to the pool.
func (sv *mSup) add(name string) (*mChild, error) {
	switch {
	case !sv.running || sv.stopping:
		return nil, runtime.ErrNotRunning
	}
	taken := func(name string) bool {
		return slices.ContainsFunc(sv.children, func(c *mChild) bool { return c.name == name })
	}
	switch {
	case name != "" && taken(name):
		return nil, runtime.ErrNameTaken // the more lasting reason
	case sv.max > 0 && len(sv.children) >= sv.max:
		return nil, runtime.ErrPoolFull
	}
	if name == "" {
		// The pool names it i1, i2, …, over its whole life, skipping the
		// names of live instances.
		for name == "" || taken(name) {
			sv.named++
			name = fmt.Sprintf("i%d", sv.named)
		}
	}
	c := sv.instance // the pool child's policy
	sv.counts.Started++
	c.name, c.path, c.sup, c.counted = name, sv.path+"/"+name, sv, true
	sv.children = append(sv.children, &c)
	sv.order = append(sv.order, &c)
	sv.m.post(func() {
		if !c.removed && c.gen == 0 {
			sv.want(&c)
		}
	})
	return &c, nil
}

// maybeReturn ends a supervisor's run once it stops with nothing running:
// a nested one's attempt returns to its parent, the root's Run returns.
func (sv *mSup) maybeReturn() {
	if !sv.running || !sv.stopping || sv.live > 0 {
		return
	}
	sv.running = false
	if sv.pool {
		for _, c := range slices.Clone(sv.children) {
			sv.remove(c)
		}
	}
	if sv.self == nil {
		sv.m.ended, sv.m.result = true, sv.result
		return
	}
	self, gen := sv.self, sv.self.gen
	kind := runtime.ExitSuccess
	if sv.result != nil {
		kind = runtime.ExitError
	}
	sv.m.post(func() { self.sup.exit(self, gen, kind, false) })
}

// all lists every child, depth first in declaration order, as Snapshot does.
func (sv *mSup) all(out []*mChild) []*mChild {
	for _, c := range sv.children {
		out = append(out, c)
		if c.sub != nil {
			out = c.sub.all(out)
		}
	}
	return out
}

// snapshotLine is how the model and the runtime render one child.
func snapshotLine(path string, st runtime.State, gen uint64, attempt, restarts int, last runtime.ExitKind, abandoned int, fenced uint64) string {
	return fmt.Sprintf("%s %s gen=%d attempt=%d restarts=%d last=%s abandoned=%d fenced=%d", path, st, gen, attempt, restarts, last, abandoned, fenced)
}

// poolLine is how the model and the runtime render a pool's Len and totals.
func poolLine(path string, n int, c runtime.PoolCounts) string {
	return fmt.Sprintf("pool %s len=%d started=%d restarts=%d removed=%d abandoned=%d", path, n, c.Started, c.Restarts, c.Removed, c.Abandoned)
}

func (m *model) snapshot() string {
	lines := m.root.lines(nil)
	for _, c := range m.root.all(nil) {
		if c.sub != nil && c.sub.pool {
			lines = append(lines, poolLine(c.path, len(c.sub.children), c.sub.counts))
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func (sv *mSup) lines(out []string) []string {
	first := len(out)
	for _, c := range sv.children {
		out = append(out, snapshotLine(c.path, c.state, c.gen, c.attempt, int(max(c.gen, 1)-1), c.lastExit, c.abandoned, c.fenced))
		if c.sub != nil {
			out = c.sub.lines(out)
		}
	}
	if sv.pool {
		slices.Sort(out[first:]) // instances, in no set order
	}
	return out
}
