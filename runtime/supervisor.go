package runtime

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// supervisor runs one level of a tree: the root, or a nested supervisor in
// the goroutine of its slot's attempt. All decisions are made on that one
// goroutine; children and timers talk to it through its inbox.
type supervisor struct {
	tree     *Tree
	path     string
	strategy Strategy
	limit    RestartLimit
	budget   time.Duration
	slots    []*slot // declaration order; a pool's live instances, under mu
	order    []*slot // start order; nil for a pool
	pool     *poolState
	inbox    *mailbox
	batch    *[drainBatch]message          // what drain took from inbox; the run's
	runMu    sync.Mutex                    // held by a run: a new run waits for an abandoned one to end
	mu       sync.Mutex                    // guards every slot's st and killed
	runDone  atomic.Pointer[chan struct{}] // done of the current run, for handles; nil between runs

	killed bool // the run was abandoned with its parent: it starts nothing more; alarmKill says so

	// closing is stopping, for handles and Pool.Start, also set by the
	// parent as it cancels the run: a restart ordered, or an instance
	// started, while the run stops would be dropped or cancelled at once,
	// so Handle.Restart and Pool.Start refuse them.
	closing atomic.Bool

	staleMu sync.Mutex
	stale   []message // the watchdog's notices, which bypass the inbox; alarmStale says so

	// Per run, owned by the supervisor's goroutine.
	done      chan struct{}
	base      context.Context // children's contexts derive from it, without its cancellation
	info      *runInfo        // done and base, for the attempts of this run
	self      *Attempt        // the nested supervisor's own attempt; nil at the root
	live      int
	window    restartWindow
	stopping  bool
	lostLease bool // stopping because the nested supervisor's own lease was lost
	stopBegan time.Time
	result    error
	queue     []*slot // children to stop one at a time, head first
	plan      groupPlan
	planSeq   uint32 // numbers the plans' delays, for their timer entries
	timers    timers
	stamp     time.Time // the clock read for the message being handled; see now
	isReady   bool
	unready   int                       // children not yet ready (or done) since the run began
	waiters   map[*slot][]chan struct{} // Handle.StopAndWait callers, told when the attempt ends
	cascade   []cascadeFrame            // startDependents' stack; empty between messages
	parking   []*slot                   // park's and moved's stack; empty between messages
}

// groupPlan is a one_for_all or rest_for_one restart in progress: stop the
// members, wait for the delay, start them again.
type groupPlan struct {
	active  bool
	waiting bool // every member stopped; the timer runs
	delay   time.Duration
	seq     uint32 // of the timer entry for the delay, once waiting
}

type msgKind uint8

const (
	// What attempts report: never held back (see mailbox.post).
	msgExit msgKind = iota
	msgReady
	msgDeadline // gen is the attempt's generation
	msgStale    // gen is the attempt's generation
	msgRestart  // from Handle.Restart
	msgStop     // from Handle.Stop
	msgAdd      // from Pool.Start: a new instance
	msgLease    // a campaign for the slot's lease ended: claim says how
	msgLeaseLost
)

type message struct {
	kind  msgKind
	slot  *slot
	gen   uint64
	err   error
	reply chan struct{} // msgStop from StopAndWait: closed once no attempt runs
	from  string        // msgRestart, msgStop: who gave the order
	claim *claim        // msgLease, msgLeaseLost
	at    int64         // msgExit after a shutdown's stop: when the attempt returned (tree clock)
}

// post delivers m unless the supervisor run that done belongs to has ended.
func (sv *supervisor) post(done <-chan struct{}, m message) bool {
	return sv.inbox.post(done, m)
}

// run supervises the children until ctx is cancelled, a significant child
// ends, or the restart limit is exceeded. self is nil at the root.
func (sv *supervisor) run(ctx context.Context, self *Attempt) error {
	// A previous run that its parent abandoned was killed: it returns at
	// once, without waiting for its children.
	sv.runMu.Lock()
	defer sv.runMu.Unlock()
	sv.reset(ctx, self)
	defer sv.cleanup()
	defer context.AfterFunc(ctx, func() { sv.inbox.raise(alarmCtx) })()

	switch {
	case sv.isKilled():
		// Abandoned before it began: it starts nothing, opens no pool and
		// reports nothing ready; its loop ends it at once.
	case ctx.Err() != nil:
		sv.shutdown(nil)
	default:
		for _, s := range sv.order {
			sv.want(s)
		}
		if sv.pool != nil {
			sv.mu.Lock()
			sv.pool.open = !sv.killed // killTree may have come since
			sv.mu.Unlock()
		}
		sv.checkReady()
	}
	ctxSeen := false
	for !sv.stopping || sv.live > 0 {
		sv.stamp = time.Time{}
		<-sv.inbox.wake
		alarms := sv.inbox.raised(alarmKill | alarmCtx | alarmTimer | alarmStale)
		if alarms&alarmKill != 0 && sv.isKilled() {
			sv.endKilled()
			return ErrAbandoned
		}
		if alarms&alarmCtx != 0 && !ctxSeen && ctx.Err() != nil {
			ctxSeen = true
			sv.lostLease = context.Cause(ctx) == ErrLeaseLost
			sv.shutdown(nil)
		}
		if alarms&alarmStale != 0 {
			sv.stamp = time.Time{}
			sv.takeStale()
		}
		if alarms&alarmTimer != 0 {
			sv.stamp = time.Time{}
			sv.timersDue()
		}
		sv.drain()
	}
	return sv.result
}

// isKilled reports whether killTree abandoned the run.
func (sv *supervisor) isKilled() bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.killed
}

// drainBatch bounds how many messages drain takes without a look at the
// run's alarms.
const drainBatch = 64

// batchBuf returns the buffer drain takes messages into, made once.
func (sv *supervisor) batchBuf() *[drainBatch]message {
	if sv.batch == nil {
		sv.batch = new([drainBatch]message)
	}
	return sv.batch
}

// drain handles up to drainBatch messages of the inbox, taken at once: a
// crash loop or a burst of Pool.Start queues many. The watchdog's notices
// go first: a flood of exits must not keep a stale child running.
func (sv *supervisor) drain() { sv.drainUpTo(drainBatch) }

// drainUpTo is drain, of at most limit messages (at most drainBatch); it
// returns how many it handled.
func (sv *supervisor) drainUpTo(limit int) int {
	batch := sv.batchBuf()
	n := sv.inbox.take(batch[:limit])
	for i := range n {
		if sv.inbox.raised(alarmStale) != 0 {
			sv.stamp = time.Time{}
			sv.takeStale()
		}
		if sv.stopping && sv.live == 0 {
			sv.inbox.unread(batch[i:n]) // the run is over: its cleanup takes them
			clear(batch[:n])
			return i
		}
		sv.stamp = time.Time{}
		sv.handle(batch[i])
	}
	clear(batch[:n]) // for the collector: what a removed instance held (its run function, its error) is released
	return n
}

// takeStale handles the watchdog's notices.
func (sv *supervisor) takeStale() {
	sv.staleMu.Lock()
	notices := sv.stale
	sv.stale = nil
	sv.staleMu.Unlock()
	for _, m := range notices {
		sv.handle(m) // a notice of an earlier run has an old generation
	}
}

// reset prepares a run. A restarted supervisor starts every child from its
// spec, as OTP does: what operators stopped in its previous run runs again.
func (sv *supervisor) reset(ctx context.Context, self *Attempt) {
	done := make(chan struct{})
	sv.done = done
	sv.base = context.WithoutCancel(ctx)
	sv.info = &runInfo{done: done, base: sv.base}
	sv.live = 0
	sv.window = restartWindow{}
	sv.stopping = false
	sv.closing.Store(false)
	sv.lostLease = false
	sv.result = nil
	sv.queue = nil
	sv.plan = groupPlan{}
	sv.isReady = false
	sv.unready = len(sv.slots)
	sv.waiters = nil
	sv.stamp = time.Time{} // a run of a nested supervisor may follow a long pause
	now := sv.now()
	sv.mu.Lock()
	// A run whose attempt was abandoned before it began is killed at once:
	// killTree found another run, or none, and left it to this one.
	sv.self = self
	sv.killed = self != nil && self.flags.Load()&flagAbandoned != 0
	sv.inbox.alarms.Store(0) // what the last run left; a kill of it is of an attempt gone
	if sv.killed {
		sv.inbox.raise(alarmKill)
	}
	if sv.pool != nil {
		sv.unready = 0 // a pool starts empty: its last run removed its instances
	}
	for _, s := range sv.slots {
		s.pending, s.member, s.completed = false, false, false
		s.held, s.restartNow = false, false
		s.streak = 0
		s.counted, s.parked = false, false
		if ls := s.lease(); ls != nil {
			ls.fails, ls.flaps, ls.err = 0, 0, nil // a new run campaigns afresh
		}
		if s.ownLimit() != nil {
			s.ownLimit().window = restartWindow{}
		}
		s.state, s.st.since = StateIdle, sv.tree.since(now)
	}
	killed := sv.killed
	sv.mu.Unlock()
	if !killed {
		sv.runDone.Store(&done)
	}
}

func (sv *supervisor) cleanup() {
	if sv.isKilled() {
		sv.tree.killsDone() // before done, as in endKilled
	}
	sv.runDone.Store(nil)
	if sv.pool != nil {
		// Before done: StopAndWait returns when it closes, and then its
		// instance must be gone.
		for _, s := range sv.slotsNow() {
			s.disarm()
			sv.releaseHeld(s)
		}
		sv.removeAll()
	}
	close(sv.done)
	for _, ws := range sv.waiters {
		for _, w := range ws {
			close(w) // every attempt of the run has returned or been abandoned
		}
	}
	sv.waiters = nil
	sv.inbox.release() // senders waiting for room see done closed
	batch := sv.batchBuf()
	for n := sv.inbox.take(batch[:]); n > 0; n = sv.inbox.take(batch[:]) {
		for _, m := range batch[:n] {
			if m.kind == msgExit {
				m.slot.fenced.Add(1) // an abandoned attempt's exit, just in time to be too late
			}
			if m.reply != nil {
				close(m.reply) // the run is over: nothing of it runs any more
			}
		}
		clear(batch[:n])
	}
	sv.stopTimers()
	for _, s := range sv.slotsNow() {
		s.disarm()
		sv.releaseHeld(s) // nothing of the run runs any more
	}
}

// testHook lets tests inject a fault into the supervisor's own code.
var testHook func(path string)

// abandonHook lets tests hold a supervisor up between the detach of an
// attempt it abandons, at path, and its listing in the report.
var abandonHook func(path string)

// exitHook lets tests hold a supervisor up between its taking of the exit
// of the attempt at path, no longer current, and what follows.
var exitHook func(path string)

func (sv *supervisor) handle(m message) {
	if testHook != nil {
		testHook(sv.path)
	}
	s := m.slot
	switch m.kind {
	case msgExit:
		sv.exited(s, m.gen, m.err, m.at)
	case msgReady:
		a := s.cur.Load()
		if a == nil || a.gen != m.gen {
			s.fenced.Add(1) // current when called, replaced before it arrived
			sv.emit(&Event{Kind: EventFenced, Path: s.path, Generation: m.gen, Signal: SignalReady})
			return
		}
		if s.stopCause == causeNone && !s.ready {
			s.disarm()
			sv.becameReady(s, sv.now())
		}
	case msgRestart, msgStop:
		order := OrderStop
		if m.kind == msgRestart {
			order = OrderRestart
		}
		sv.emit(&Event{Kind: EventOrder, Time: sv.now(), Path: s.path, Order: order, From: m.from})
		sv.control(s, m.kind == msgRestart, m.reply)
	case msgAdd:
		sv.added(s)
	case msgLease:
		sv.leased(s, m.claim)
	case msgLeaseLost:
		sv.leaseLost(s, m.claim)
	case msgDeadline, msgStale:
		a := s.cur.Load()
		if a == nil || a.gen != m.gen || s.stopAsked() || a.returned() {
			return // gone, stopping anyway, or returned: its queued exit says how it ended
		}
		if m.kind == msgStale && sv.stopping {
			// In a shutdown it stops in its turn: its dependents, which stop
			// first, may still use it. (A missed Timeout has cancelled its
			// context already: it is stopping on its own.)
			return
		}
		cause := causeAttemptTimeout
		if m.kind == msgStale {
			cause = causeHeartbeatTimeout
		}
		sv.requestStop(s, cause, true)
	}
}

// emit reports a decision of the run. A killed run may finish the message
// it was handling, but what it decides then is not reported: its attempts
// were reported abandoned, and a new run may be starting. The check and the
// emit share mu with the kill, so that no event of an attempt follows the
// report of its abandonment.
func (sv *supervisor) emit(e *Event) {
	if !sv.tree.events.on {
		return
	}
	sv.mu.Lock()
	if !sv.killed {
		sv.tree.emit(e)
	}
	sv.mu.Unlock()
}

// now reads the clock once per message handled: the transitions a message
// causes share one time, and a clock read costs as much as a restart's
// cheaper steps. Only the supervisor's goroutine may call it.
func (sv *supervisor) now() time.Time {
	if sv.stamp.IsZero() {
		sv.stamp = time.Now()
	}
	return sv.stamp
}

// want marks s to start as soon as its After list is ready.
func (sv *supervisor) want(s *slot) {
	if !sv.mayStart(s) {
		return
	}
	s.pending = true
	if sv.depsReady(s) {
		sv.start(s)
		return
	}
	s.setState(StateWaiting, sv.now())
	sv.park(s)
	if sv.tree.events.on {
		var names []string
		for _, d := range s.deps() {
			if !d.isReady() {
				names = append(names, d.name())
			}
		}
		sv.emit(&Event{Kind: EventWaiting, Path: s.path, Waiting: names})
	}
}

// mayStart reports whether s may start on its own: not while its
// supervisor stops, not when an order holds it stopped, and not as a member
// of a group restart, which starts with its group (finishPlan).
func (sv *supervisor) mayStart(s *slot) bool {
	return !sv.stopping && !s.held && !s.member
}

func (sv *supervisor) depsReady(s *slot) bool {
	for _, d := range s.deps() {
		if !d.isReady() {
			return false
		}
	}
	return true
}

// start runs a new attempt of s; a child with a lease it does not hold
// stands by for it instead.
func (sv *supervisor) start(s *slot) {
	if ls := s.lease(); ls != nil && (ls.held == nil || ls.held.gone) {
		lost := ls.held
		if lost != nil {
			sv.releaseHeld(s) // lost, and the attempt it covered has just ended
		}
		sv.standby(s, lost)
		return
	}
	now := sv.now()
	s.pending = false
	gen := s.st.gen + 1 // only this goroutine writes st.gen
	s.ready = false
	s.stopCause, s.restartNow = causeNone, false
	a := &Attempt{slot: s, gen: gen, number: int32(s.streak + 1), run: sv.info}
	if ls := s.lease(); ls != nil {
		a.ext.Store(&attemptExt{parent: context.WithValue(sv.base, tokenKey{}, ls.held.token)})
	}
	var timed context.Context
	var release context.CancelFunc
	if t := s.spec.Timeout; t > 0 {
		timed, release = context.WithDeadlineCause(a.context(), now.Add(t), ErrAttemptTimeout)
		a.mu.Lock()
		a.extLocked().timed = timed // beside the AfterFunc of timed
		a.mu.Unlock()
	}
	state := StateStarting
	if !s.needsReady() {
		state = StateRunning
	}
	sv.mu.Lock()
	if sv.killed {
		// Abandoned with the parent since this message was taken: start
		// nothing that the abandonment could not list.
		sv.mu.Unlock()
		a.cancel(causeStopped)
		if release != nil {
			release()
		}
		return
	}
	s.cur.Store(a) // under mu, so that kill sees every attempt
	was := s.state
	s.state, s.st.since = state, sv.tree.since(now)
	s.st.gen, s.st.attempt = gen, a.number
	if gen > 1 && sv.pool != nil {
		sv.pool.totals.Restarts++
	}
	// Under mu, so that a kill lists no attempt whose start is unreported.
	sv.tree.emit(&Event{Kind: EventStarting, Time: now, Path: s.path, Generation: a.gen, Attempt: int(a.number), Restarts: s.st.restarts()})
	sv.mu.Unlock()
	sv.moved(s, was, state)

	if release != nil {
		// The context's own deadline tells the supervisor, so that the
		// attempt always sees context.DeadlineExceeded, never a
		// cancellation that raced it.
		done := sv.done
		unwatch := context.AfterFunc(timed, func() {
			if context.Cause(timed) == ErrAttemptTimeout {
				sv.post(done, message{kind: msgDeadline, slot: s, gen: gen})
			}
		})
		a.mu.Lock()
		x := a.ext.Load()
		x.release, x.unwatch = release, unwatch
		a.mu.Unlock()
	}
	sv.live++
	if s.spec.Heartbeat != nil {
		sv.tree.watch(a)
	}
	go s.run(a)
	switch {
	case !s.needsReady():
		sv.becameReady(s, now)
	case s.spec.Ready != nil && s.spec.Ready.Timeout > 0:
		s.arm(timerReady, s.spec.Ready.Timeout)
	}
}

// becameReady records that s is ready and starts what waited for it.
func (sv *supervisor) becameReady(s *slot, now time.Time) {
	s.ready, s.readyAt = true, sv.tree.since(now)
	sv.count(s)
	if s.needsReady() {
		s.setState(StateRunning, now)
		a := s.cur.Load()
		sv.emit(&Event{Kind: EventReady, Time: now, Path: s.path, Generation: a.gen, Attempt: int(a.number)})
	}
	sv.startDependents(s)
	sv.park(s.dependents()...)
	sv.checkReady()
}

// startDependents starts the dependents of s that wait for nothing else
// now, each in start order and, depth first, before its next sibling,
// those that its start makes ready at once. The depth is a stack of its
// own, not a recursion through start and becameReady: an After chain as
// long as the tree would grow the goroutine's stack past its limit.
func (sv *supervisor) startDependents(s *slot) {
	if len(s.dependents()) == 0 {
		return // the usual case, and every pool instance's
	}
	sv.cascade = append(sv.cascade, cascadeFrame{s: s})
	if len(sv.cascade) > 1 {
		return // called through start, from the loop below: it goes on with s
	}
	for len(sv.cascade) > 0 {
		f := &sv.cascade[len(sv.cascade)-1]
		ds := f.s.dependents()
		if f.next == len(ds) {
			*f = cascadeFrame{} // holds nothing once done
			sv.cascade = sv.cascade[:len(sv.cascade)-1]
			continue
		}
		d := ds[f.next]
		f.next++ // before start, which may push a frame and move the stack
		if d.pending && sv.mayStart(d) && sv.depsReady(d) {
			sv.start(d)
		}
	}
}

// cascadeFrame is a slot whose dependents startDependents is starting, and
// the next of them to look at.
type cascadeFrame struct {
	s    *slot
	next int
}

// checkReady records that the supervisor is ready once every child of its
// first start is ready or done: the root closes Tree.Ready, a nested
// supervisor tells its parent.
func (sv *supervisor) checkReady() {
	if sv.isReady || sv.stopping || sv.plan.active || sv.unready > 0 {
		return
	}
	sv.isReady = true
	if sv.self == nil {
		close(sv.tree.ready) // the root: the whole tree is up
		return
	}
	sv.self.Ready()
}

// park counts as ready each of ss that waits only for siblings that stand
// by for their lease, or are parked (wait, likewise, for such), and then,
// in turn, what waits for it: the singleton runs in another process, and
// this one is ready all the same, as with the singleton itself (standby).
// Until the supervisor's first readiness only, which is all it counts
// towards; each slot is parked once, so that a chain costs its length.
func (sv *supervisor) park(ss ...*slot) {
	if sv.isReady || sv.stopping {
		return
	}
	stack := append(sv.parking[:0], ss...)
	counted := false
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s.parked || !s.pending || !sv.waitsForLease(s) {
			continue
		}
		s.parked, counted = true, true
		sv.count(s)
		stack = append(stack, s.dependents()...)
	}
	sv.parking = stack[:0]
	if counted {
		sv.checkReady()
	}
}

// waitsForLease reports whether s waits, and only for siblings that stand
// by for their lease or are parked.
func (sv *supervisor) waitsForLease(s *slot) bool {
	if s.getState() != StateWaiting {
		return false
	}
	by := false
	for _, d := range s.deps() {
		switch {
		case d.isReady():
		case d.parked || d.getState() == StateStandby:
			by = true
		default:
			return false
		}
	}
	return by
}

// moved records, for park, that s went from the state was to st. What was
// parked behind s, when s stood by or was parked, is no longer, unless s
// still stands by; whoever makes s wait again parks it again.
func (sv *supervisor) moved(s *slot, was, st State) {
	standing := s.parked || was == StateStandby
	s.parked = false
	if !standing || st == StateStandby {
		return
	}
	stack := append(sv.parking[:0], s.dependents()...)
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if d.parked {
			d.parked = false
			stack = append(stack, d.dependents()...)
		}
	}
	sv.parking = stack[:0]
}

// count records that s has been ready, or is done, since the run began.
func (sv *supervisor) count(s *slot) {
	if !s.counted {
		s.counted = true
		sv.unready--
	}
}

// exited handles an attempt's return.
func (sv *supervisor) exited(s *slot, gen uint64, err error, at int64) {
	a := s.cur.Load()
	if a == nil || a.gen != gen {
		s.fenced.Add(1)
		sv.emit(&Event{Kind: EventFenced, Path: s.path, Generation: gen, Signal: SignalExit, Err: err})
		return
	}
	now := sv.now()
	sv.leftToExit(s, a) // a return the shutdown's chain caused is a stop, even if the queue never reached it
	kind, err := s.outcome(a, err)
	requested := s.stopCause != causeNone && !s.failStop()
	ev := EventStopped
	if !requested {
		ev = EventExited
	}
	// A chained stop's return, not now, is when it stopped: chainStop may
	// have cancelled the next child since. What follows (graces, timers) is
	// timed from now.
	stoppedAt := now
	if at != 0 {
		stoppedAt = sv.tree.epoch.Add(time.Duration(at))
	}
	// A kill lists the attempts it finds current, under mu: either it
	// listed this one, whose exit is then a late one, or it will not find
	// it, and its end is reported here, killed run or not, before the kill
	// lets Run return, which delivers nothing after.
	sv.mu.Lock()
	listed := a.flags.Load()&flagAbandoned != 0
	if !listed {
		s.cur.Store(nil)
		s.state, s.st.since = StateStopped, sv.tree.since(stoppedAt)
		s.lastExit, s.st.lastErr = kind, err
		if sv.tree.events.on {
			sv.tree.emit(&Event{Kind: ev, Time: stoppedAt, Path: s.path, Generation: a.gen, Attempt: int(a.number), Exit: kind, Err: err})
		}
	}
	sv.mu.Unlock()
	if listed {
		sv.detach(s, a)
		sv.stopped(s)
		s.fenced.Add(1)
		return
	}
	if exitHook != nil {
		exitHook(s.path)
	}
	sv.detach(s, a)
	if requested {
		sv.afterStop(s)
	} else {
		sv.ended(s, a, kind, err, doNotRestart(a, kind), now)
	}
	sv.settleLease(s)
	sv.stopped(s) // once what follows the exit is decided: a removed instance is gone
}

// stopped tells StopAndWait callers that s runs no attempt any more, once
// its state says so.
func (sv *supervisor) stopped(s *slot) {
	if ws, ok := sv.waiters[s]; ok {
		for _, w := range ws {
			close(w)
		}
		delete(sv.waiters, s)
		if len(sv.waiters) == 0 {
			sv.waiters = nil // a Go map never shrinks: what a burst of them grew goes
		}
	}
}

// detach makes a no longer current: whatever it reports later is fenced.
// If a stayed up (and ready) for ResetAfter, however it ended, its child's
// restart streak is over (forget).
func (sv *supervisor) detach(s *slot, a *Attempt) {
	s.forget(sv.tree.since(sv.now()))
	s.cur.Store(nil)
	sv.live--
	s.disarm()
	var release context.CancelFunc
	if x := a.ext.Load(); x != nil && x.release != nil {
		x.unwatch()
		release = x.release
	}
	if s.spec.Heartbeat != nil {
		sv.tree.unwatch(a)
	}
	sv.dropStaleTimers()
	a.cancel(causeStopped) // for what the attempt left running
	if release != nil {
		release()
	}
}

// ended decides what follows an exit the supervisor did not ask for, or a
// failure it caused (a missed deadline).
func (sv *supervisor) ended(s *slot, a *Attempt, kind ExitKind, err error, dnr bool, now time.Time) {
	if sv.stopping {
		if sv.pool != nil {
			sv.removeEnded(s) // its pool stops: it never runs again
		}
		sv.advance()
		return
	}
	if s.member && !dnr {
		// A group restart is under way for it: however it ended, it ended
		// as part of that restart, as OTP's terminate takes its exit, and it
		// starts again with its group (unless temporary).
		sv.advance()
		return
	}
	if s.held && !dnr {
		// Stop was taken while it waited its turn in a group's stop queue:
		// its end is the stop the order asked for, which counts nothing.
		sv.afterStop(s)
		return
	}
	if !s.restarts(kind, dnr) {
		if sv.pool != nil {
			sv.removeEnded(s)
			return
		}
		s.member = false
		s.completed = kind == ExitSuccess
		s.setState(StateDone, now)
		sv.count(s)
		if s.spec.Significant {
			sv.shutdown(nil)
			return
		}
		sv.startDependents(s)
		sv.park(s.dependents()...)
		sv.advance()
		sv.checkReady()
		return
	}
	if gu := sv.countRestart(s, now, func() error {
		return &ChildError{Path: s.path, Generation: a.gen, Attempt: int(a.number), Exit: kind, Err: err}
	}); gu != nil {
		sv.emit(&Event{Kind: EventGaveUp, Time: now, Path: sv.path, Err: gu})
		sv.shutdown(gu)
		return
	}
	d := s.nextDelay()
	if sv.strategy == OneForOne {
		sv.emit(&Event{Kind: EventRestartScheduled, Time: now, Path: s.path, Generation: a.gen, Attempt: int(a.number), Delay: d})
		if d <= 0 {
			sv.want(s)
			return
		}
		s.setState(StateBackoff, now)
		s.arm(timerBackoff, d)
		return
	}
	sv.groupRestart(s, a, d, now)
}

// countRestart records a restart of s and returns the give-up error if it
// makes one too many; failure builds the error of the exit that caused it.
func (sv *supervisor) countRestart(s *slot, now time.Time, failure func() error) error {
	l := sv.limit
	over, own := sv.window.exceeded(l, now), false
	if !over && s.ownLimit() != nil {
		l = s.ownLimit().RestartLimit
		over, own = s.ownLimit().window.exceeded(l, now), true
	}
	if !over {
		return nil
	}
	return &GiveUpError{Supervisor: sv.path, Child: s.path, Max: l.Max, Window: l.Window, Err: failure(), ChildLimit: own}
}

// groupRestart stops the failed child's group in reverse start order, then
// starts it again after the delay. now is when the failure was counted.
func (sv *supervisor) groupRestart(failed *slot, a *Attempt, d time.Duration, now time.Time) {
	p := &sv.plan
	if !p.active {
		*p = groupPlan{active: true, delay: d}
	} else {
		p.delay = max(p.delay, d)
		p.waiting = false // its timer entry is now stale
	}
	sv.emit(&Event{Kind: EventRestartScheduled, Time: now, Path: failed.path, Generation: a.gen, Attempt: int(a.number), Delay: p.delay})
	for _, s := range sv.order {
		if (sv.strategy == RestForOne && s.rank < failed.rank) || s.getState() == StateDone || s.held {
			continue
		}
		s.member = true
		s.pending = false
		if s.cur.Load() == nil {
			s.disarm()
			if s.lease() != nil {
				sv.callOff(s) // it campaigns again when the group starts
			}
			s.setState(StateStopped, now)
		}
	}
	// A child an order took out of the group while it waited in the
	// queue stays in it: nothing else would stop it.
	sv.queue = sv.liveInStopOrder(func(s *slot) bool { return s.member || (s.held && s.stopCause == causeNone) })
	sv.advance()
}

// liveInStopOrder returns the running children that match keep in stop
// order: the reverse of the declared start order, however often each was
// restarted, so that a dependency always stops after its dependents.
func (sv *supervisor) liveInStopOrder(keep func(*slot) bool) []*slot {
	var q []*slot
	order := sv.order
	if sv.pool != nil {
		order = sv.slotsNow() // in no order: a pool stops its instances at once
		q = make([]*slot, 0, len(order))
	}
	for i := len(order) - 1; i >= 0; i-- {
		if s := order[i]; s.cur.Load() != nil && keep(s) {
			q = append(q, s)
		}
	}
	return q
}

// advance stops the head of the queue; once the queue is empty it moves a
// group restart on to its delay.
func (sv *supervisor) advance() {
	for len(sv.queue) > 0 {
		h := sv.queue[0]
		a := h.cur.Load()
		if a == nil {
			sv.queue = sv.queue[1:]
			continue
		}
		if h.stopCause == causeNone && !sv.leftToExit(h, a) {
			if sv.stopping {
				sv.info.stopCause.Store(uint32(sv.stopCauseOf())) // before the flag: chainStop reads it after
				a.setFlag(flagChain)
			}
			sv.requestStop(h, sv.stopCauseOf(), false)
		}
		return
	}
	p := &sv.plan
	if sv.stopping || !p.active || p.waiting {
		return
	}
	for _, s := range sv.slots {
		if s.member && s.cur.Load() != nil {
			return // a member is still stopping on its own account
		}
	}
	p.waiting = true
	if p.delay <= 0 {
		sv.finishPlan()
		return
	}
	now := sv.now()
	for _, s := range sv.slots {
		if s.member {
			s.setState(StateBackoff, now)
		}
	}
	sv.planSeq++
	p.seq = sv.planSeq
	sv.addTimer(timerEntry{at: sv.tree.due(now, p.delay), seq: uint64(p.seq), kind: timerPlan})
}

// chainStop cancels the next child in stop order once a, stopped by a
// shutdown, has returned, from a's goroutine: the supervisor need not wake
// between one child's return and the next one's cancellation. The order is
// kept, since a has returned and its exit is queued first; the supervisor's
// handling of a's exit overlaps the next child's return. The supervisor
// still asks for the stop when the child reaches the head of its queue,
// which gives it its grace; the cancellation is then not made again. Only a
// worker is stopped this way: a nested supervisor reports its own shutdown,
// which must not come before a's exit is reported.
func (sv *supervisor) chainStop(a *Attempt) {
	s := a.slot
	if sv.order == nil || s.cur.Load() != a {
		return // a pool, which stops its instances at once; or a was handled
	}
	for r := s.rank - 1; r >= 0; r-- {
		n := sv.order[r]
		b := n.cur.Load()
		if b == nil || b.run != a.run {
			continue // not running: not in the stop queue
		}
		if n.sub() == nil {
			b.setFlag(flagChain)
			b.cancel(cause(a.run.stopCause.Load())) // not a's: a may have been stopping for its own fault
		}
		return
	}
}

// finishPlan starts the group again, in start order. Temporary members are
// never restarted, as in OTP.
func (sv *supervisor) finishPlan() {
	sv.plan = groupPlan{}
	now := sv.now()
	for _, s := range sv.order {
		if !s.member {
			continue
		}
		s.member = false
		if s.spec.Restart == Temporary && !s.restartNow {
			s.setState(StateDone, now)
			sv.count(s)
			sv.releaseHeld(s)
			continue
		}
		sv.want(s)
	}
	sv.checkReady()
}

// requestStop cancels the current attempt of s and gives it its grace.
// failure marks a stop the child brought on itself by missing a deadline.
func (sv *supervisor) requestStop(s *slot, cause cause, failure bool) {
	a := s.cur.Load()
	s.stopCause = cause
	if failure {
		s.stopCause |= causeFailure
	}
	now := sv.now()
	s.disarm()
	fault := causeNone
	if failure {
		fault = cause
	}
	s.setStopping(now, fault)
	a.cancel(cause)
	if g := s.spec.Shutdown; g > 0 {
		sv.startGrace(s, a.gen, sv.tree.due(now, g))
	}
}

// abandon detaches an attempt that did not return within its grace.
// A nested supervisor is abandoned with its whole subtree, at once.
// An attempt that has returned is left to its exit, which is queued: a
// supervisor behind a shutdown's chain (chainStop) finds graces and its
// budget run out for children that stopped when asked.
func (sv *supervisor) abandon(s *slot) {
	a := s.cur.Load()
	if sv.leftToExit(s, a) {
		return
	}
	now := sv.now()
	if s.stopCause == causeNone {
		a.cancel(causeStopped)
		s.stopCause = causeStopped
	}
	// From before detach to the end of the listing (and of the kill of a
	// nested supervisor's subtree) is one step for a kill from above, which
	// would not find the detached attempt, and for what waits for kills.
	sv.tree.killMu.Lock()
	sv.detach(s, a)
	if abandonHook != nil {
		abandonHook(s.path)
	}
	kind := ExitCancelled
	if s.failStop() {
		kind = ExitTimeout
	}
	sv.mu.Lock()
	sv.abandonedLocked(s, a, kind, now)
	sv.mu.Unlock()
	if sub := s.sub(); sub != nil {
		sub.killTree(a)
	}
	sv.tree.killMu.Unlock()
	// An abandoned attempt keeps no claim on the lease: the next attempt
	// runs under a new one, with a larger token.
	sv.releaseHeld(s)
	if s.failStop() {
		sv.ended(s, a, ExitTimeout, s.stopCause.err(), false, now)
	} else {
		sv.afterStop(s)
	}
	sv.settleLease(s)
	sv.stopped(s)
}

// leftToExit reports whether the attempt a of s has returned, with its exit
// queued: then no stop is asked of it, and its exit says how it ended, as
// if it had come first. A return that the shutdown's chain caused
// (chainStop) is a stop all the same.
func (sv *supervisor) leftToExit(s *slot, a *Attempt) bool {
	if !a.returned() {
		return false
	}
	if s.stopCause == causeNone && a.flags.Load()&flagChain != 0 {
		s.stopCause = sv.stopCauseOf()
	}
	return true
}

// afterStop follows a stop the supervisor asked for: the next in the stop
// queue, or the new attempt a Handle.Restart asked for.
func (sv *supervisor) afterStop(s *slot) {
	switch {
	case sv.pool != nil && (s.held || sv.stopping):
		sv.removeEnded(s) // Handle.Stop on an instance removes it, as its pool's stop does
	case s.restartNow && !s.member: // a member starts with its group, even if temporary
		s.restartNow = false
		sv.unqueue(s) // its new attempt is not the one the queue was to stop
		sv.want(s)
	}
	sv.advance()
}

// unqueue takes s out of the stop queue. A child that an order took out of
// a group restart, and another order restarted, may still be in it when
// it returns: it starts again at once, alone, and the queue must not stop
// that new attempt, which would leave it stopped and out of its group.
func (sv *supervisor) unqueue(s *slot) {
	if i := slices.Index(sv.queue, s); i >= 0 {
		sv.queue = slices.Delete(sv.queue, i, i+1)
	}
}

// control handles Handle.Restart and Handle.Stop: an operator's orders,
// which neither count against the restart limit nor wait for a backoff.
// reply, from StopAndWait, is closed once the child has no attempt running.
func (sv *supervisor) control(s *slot, restart bool, reply chan struct{}) {
	if sv.pool != nil && !restart {
		sv.startUnseen(s)
	}
	if reply != nil {
		if s.cur.Load() == nil {
			defer close(reply) // after the order: it may not start anything
		} else {
			if sv.waiters == nil {
				sv.waiters = map[*slot][]chan struct{}{}
			}
			sv.waiters[s] = append(sv.waiters[s], reply)
		}
	}
	if sv.stopping || s.removed() {
		return // everything stops anyway, or the instance is gone
	}
	now := sv.now()
	if sv.plan.active {
		// A group restart is under way: it alone starts its members, once
		// all of them have stopped (OTP handles orders between the steps of
		// a restart, never during one).
		switch {
		case restart && s.member:
			s.restartNow = true // it restarts with the group, even if temporary
			return
		case restart && s.cur.Load() == nil:
			s.held, s.completed = false, false
			s.disarm()
			s.pending = false   // not before its group, even if its After list gets ready
			s.member = true     // joins the group, to start in order with it
			s.restartNow = true // even if temporary
			s.setState(StateStopped, now)
			return
		case restart && s.held:
			// Stopped by an order and not yet returned: still queued (a
			// member an order took out of the group) or being stopped. It
			// joins the group, which waits for it to stop, in its turn if
			// queued, and starts it with the others.
			s.held, s.completed = false, false
			s.member = true
			s.restartNow = true
			// A group waiting out its delay waits for it too: the delay
			// begins again once it has stopped.
			sv.plan.waiting = false
			return
		case !restart && s.member:
			s.member = false // leaves the group, which no longer waits for it
			s.held, s.restartNow = true, false
			if s.cur.Load() == nil {
				s.setState(StateStopped, now)
				sv.advance()
			} else if s.failStop() {
				s.stopCause &^= causeFailure // stopped by order now, not for its fault
				s.orderTakesOver()
			}
			return
		}
	}
	s.held = !restart
	if s.cur.Load() != nil {
		switch {
		case s.stopCause == causeNone:
			sv.requestStop(s, causeStopped, false)
		case s.failStop():
			// Already stopping for its own fault (a missed deadline): the
			// order takes over, so the fault neither counts nor delays.
			s.stopCause &^= causeFailure
			s.orderTakesOver()
		}
		s.restartNow = restart
		return
	}
	s.disarm() // a pending backoff
	if !restart {
		s.pending = false
		sv.releaseHeld(s)
		if sv.pool != nil {
			sv.removeEnded(s)
			return
		}
		if s.getState() != StateDone {
			// One that ended for good stays done, as OTP's terminate_child
			// of a terminated child changes nothing: the tree stays ready.
			s.setState(StateStopped, now)
		}
		return
	}
	s.completed = false
	sv.want(s)
}

// shutdown stops every child in reverse start order within the budget. A
// nil reason is a clean stop; otherwise Run returns it.
func (sv *supervisor) shutdown(reason error) {
	if sv.stopping {
		return
	}
	if sv.pool != nil {
		sv.mu.Lock()
		sv.pool.open = false // first: startAccepted must see every instance Start accepted
		sv.mu.Unlock()
		sv.startAccepted()
	}
	sv.stopping = true
	sv.closing.Store(true)
	sv.stopBegan = sv.now()
	sv.result = reason
	if sv.self == nil {
		close(sv.tree.stopping)
	}
	sv.emit(&Event{Kind: EventShuttingDown, Path: sv.path, Err: reason})
	sv.plan = groupPlan{}
	now := sv.now()
	for _, s := range sv.slotsNow() {
		s.pending, s.member = false, false
		if s.cur.Load() == nil {
			s.disarm()
			s.stopIfPending(now)
			sv.releaseHeld(s)
			if sv.pool != nil {
				sv.removeEnded(s) // waiting for a restart that will not come
			}
		}
	}
	sv.queue = sv.liveInStopOrder(func(*slot) bool { return true })
	if sv.live > 0 {
		sv.addTimer(timerEntry{at: sv.tree.due(sv.stopBegan, sv.budget), kind: timerBudget})
	}
	if sv.pool != nil {
		// Instances stop at once, each within its grace, as OTP stops a
		// dynamic supervisor's children. One already stopping (an order, a
		// missed deadline) keeps its stop: its grace, its cause and the
		// time it began, as advance leaves a declared child's.
		sv.timers.heap = slices.Grow(sv.timers.heap, len(sv.queue))
		for _, s := range sv.queue {
			if s.stopCause == causeNone && !sv.leftToExit(s, s.cur.Load()) {
				sv.requestStop(s, sv.stopCauseOf(), false)
			}
		}
		sv.queue = nil
	}
	sv.advance()
}

// stopCauseOf is the cause of the stops of a shutdown: ErrLeaseLost below
// a nested supervisor whose lease was lost, else ErrStopped.
func (sv *supervisor) stopCauseOf() cause {
	if sv.stopping && sv.lostLease {
		return causeLeaseLost
	}
	return causeStopped
}

// budgetExpired abandons every child still running when the budget is spent,
// in stop order, and asks no more stops. A child that has returned is not
// abandoned: its exit, queued or about to be (a shutdown's chain stops
// children while the supervisor is behind), is taken in its turn, so that
// observers see the stops and abandonments in stop order, as they came.
func (sv *supervisor) budgetExpired() {
	sv.queue = nil
	live := sv.liveInStopOrder(func(*slot) bool { return true })
	sv.tree.reserveReport(len(live))
	for _, s := range live {
		a := s.cur.Load()
		if a == nil {
			continue // its exit was among those handled meanwhile
		}
		if sv.leftToExit(s, a) {
			sv.awaitExit(s, a)
			continue
		}
		sv.stamp = time.Time{} // after what awaitExit handled
		sv.abandon(s)
		if s.cur.Load() == a {
			sv.awaitExit(s, a) // it returned just now, and abandon left it to its exit
		}
	}
}

// exitsBefore takes, in a shutdown, the exits of the children ahead of s
// in stop order that have returned (a shutdown's chain stops them while
// the supervisor is behind), so that observers see their stops before s is
// abandoned. It reports whether it took any.
func (sv *supervisor) exitsBefore(s *slot) bool {
	if !sv.stopping || sv.pool != nil {
		return false // a pool stops its instances at once, in no order
	}
	took := false
	for _, o := range sv.liveInStopOrder(func(*slot) bool { return true }) {
		if o == s {
			break
		}
		if a := o.cur.Load(); a != nil && sv.leftToExit(o, a) {
			sv.awaitExit(o, a)
			took = true
		}
	}
	if took {
		sv.stamp = time.Time{}
	}
	return took
}

// awaitExit handles the supervisor's messages, in order, until that of the
// exit of a, which has returned, is handled. Its goroutine posts it without
// waiting and runs no user code between its return and the post, so the
// wait is short.
func (sv *supervisor) awaitExit(s *slot, a *Attempt) {
	woken := false
	for s.cur.Load() == a {
		if sv.drainUpTo(drainBatch) == 0 && s.cur.Load() == a {
			<-sv.inbox.wake
			woken = true
		}
	}
	if woken {
		sv.inbox.signal() // the wake may have been meant for the run's alarms too
	}
}

// abandonedLocked records that attempt a of s was abandoned: in the
// report, the snapshot and an event. Only the first record of an attempt
// counts: its supervisor and a killing ancestor may race. sv.mu is held.
func (sv *supervisor) abandonedLocked(s *slot, a *Attempt, kind ExitKind, now time.Time) {
	var waited time.Duration
	if s.state == StateStopping { // since its supervisor cancelled it
		waited = time.Duration(sv.tree.since(now) - s.st.since)
	}
	if !sv.tree.reportAbandoned(a, waited, now) {
		return
	}
	s.state, s.st.since = StateStopped, sv.tree.since(now)
	s.st.abandoned++
	if sv.pool != nil {
		sv.pool.totals.Abandoned++
	}
	s.lastExit, s.st.lastErr = kind, ErrAbandoned
	if kind == ExitTimeout {
		if c := a.cause(); c != nil {
			s.st.lastErr = fmt.Errorf("%w: %w", ErrAbandoned, c) // and which deadline it missed
		}
	}
	sv.tree.emit(&Event{Kind: EventAbandoned, Time: now, Path: s.path, Generation: a.gen, Attempt: int(a.number), Delay: waited, Err: a.cause()})
}

// killTree abandons the subtree of a nested supervisor whose parent
// abandoned it, from the parent's goroutine: every attempt still running
// below it is cancelled and listed in the report at once, it starts
// nothing more, and its run returns without waiting for its children.
// Cancellation thus reaches every descendant when an ancestor's budget runs
// out, and Run's report is complete when it returns. self is the abandoned
// attempt: a run of it that has not begun yet kills itself when it does.
func (sv *supervisor) killTree(self *Attempt) {
	now := time.Now()
	type sub struct {
		sv   *supervisor
		self *Attempt
	}
	var subs []sub
	sv.mu.Lock()
	if sv.killed || sv.self != self {
		sv.mu.Unlock()
		return
	}
	sv.killed = true
	order := sv.order
	if sv.pool != nil {
		sv.pool.open = false
		order = sv.slots
	}
	sv.tree.reserveReport(len(order))
	var unseen []*Attempt
	for i := len(order) - 1; i >= 0; i-- {
		s := order[i]
		a := s.cur.Load()
		if a == nil && sv.pool != nil && s.st.gen == 0 {
			unseen = append(unseen, sv.killUnseen(s, now))
			continue
		}
		if a == nil {
			// Waiting to start, or returned with its exit not handled yet:
			// it runs nothing, and Run may return before this run would
			// have said so.
			if st := s.state; st != StateDone && st != StateStopped {
				s.state, s.st.since = StateStopped, sv.tree.since(now)
			}
			continue
		}
		a.cancel(causeStopped)
		sv.abandonedLocked(s, a, ExitCancelled, now)
		if s.sub() != nil {
			subs = append(subs, sub{s.sub(), a})
		}
	}
	if sv.pool != nil {
		// Gone at once, like the pool's run: when Run returns, the pool is
		// empty and its abandoned instances are in the report.
		sv.pool.killed = slices.Clone(sv.slots)
		sv.removeAllLocked()
	}
	sv.inbox.raise(alarmKill) // only now may the run release its attempts
	sv.runDone.Store(nil)     // orders for its children now find it not running
	sv.mu.Unlock()
	for _, a := range unseen {
		go a.slot.run(a)
	}
	for _, sub := range subs {
		sub.sv.killTree(sub.self)
	}
}

// killUnseen makes, cancelled and listed as abandoned, the attempt of an
// instance that Start accepted but its pool did not start before the kill:
// as at the pool's shutdown (startAccepted), its run function runs all the
// same, so that it can release what Start handed it. The kill starts it
// once it has released mu. The attempt is never the slot's current one:
// the killed run ignores it, and its exit is fenced. sv.mu is held.
func (sv *supervisor) killUnseen(s *slot, now time.Time) *Attempt {
	a := &Attempt{slot: s, gen: 1, number: 1, run: sv.info}
	a.cancel(causeStopped)
	sv.tree.emit(&Event{Kind: EventStarting, Time: now, Path: s.path, Generation: a.gen, Attempt: int(a.number)})
	sv.abandonedLocked(s, a, ExitCancelled, now)
	return a
}

// endKilled ends a run that killTree abandoned: it releases what the live
// attempts hold, which killTree already cancelled and reported.
func (sv *supervisor) endKilled() {
	// The kill may still be on its way down the subtree, from its killer's
	// goroutine: StopAndWait, told below or by done that the run's
	// attempts have returned or been abandoned, must find them so.
	sv.tree.killsDone()
	sv.stopping = true
	sv.closing.Store(true)
	now := time.Now()
	for _, s := range sv.slotsNow() {
		if a := s.cur.Load(); a != nil {
			sv.detach(s, a)
			sv.stopped(s)
		} else {
			s.disarm()
			s.stopIfPending(now)
		}
	}
}
