package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Pools in TestChaos: a few at each level of the tree, capped or not, with
// every restart type and liveness setting, some with a restart limit of
// their own, some in after edges. Drivers keep starting instances (from the
// operator, from several goroutines at once and from the instances' own run
// functions, with generated names and names that collide on purpose) and
// give their instances orders, while instances fail and the operator stops
// and restarts the pools. The checks:
//   - at most one current attempt per instance (as for every slot);
//   - a pool never has more than Max live instances: Len, Counts, and the
//     run functions that still run and were not abandoned;
//   - Start fails only with the documented errors, each matching the pool's
//     state, and a failed Start never runs its function;
//   - an instance removed never comes back: no attempt of an instance runs
//     with a live context once Restart said ErrRemoved, or once its pool has
//     started a new run;
//   - Counts agree with Len and with the snapshot's instances when calm, a
//     pool that does not run has no live instances, and a restarted instance
//     runs its own run function again.

// chaosPool is a pool of the chaos tree.
type chaosPool struct {
	path   string
	slot   *chaosSlot
	sv     *chaosSup
	max    int
	life   time.Duration // mean time until an instance's fault
	p      *runtime.Pool
	handle *runtime.Handle // the pool's own

	mu    sync.Mutex
	known []*chaosSlot // instances the drivers give orders to, at most chaosKnown

	// Owned by the observer.
	inst  map[string]*instObs // by path, the latest instances'
	ended []string            // paths of ended instances, oldest first: inst forgets them
}

// instObs is what the event stream has shown of an instance.
type instObs struct {
	liveGen, lastGen, endedGen uint64
}

// chaosInst is what the test knows of an instance it started.
type chaosInst struct {
	pool    *chaosPool
	named   chan struct{} // closed once Start has returned and path is set
	failed  bool          // Start failed: it must never run
	poolGen uint64        // the pool's generation when Start accepted it; 0: unknown
	handle  *runtime.Handle

	// Guarded by chaos.mu.
	removed bool   // Restart said ErrRemoved
	maxGen  uint64 // the latest generation its run function began
}

const (
	chaosKnown   = 48 // instances a pool's drivers remember
	chaosSoftCap = 24 // an uncapped pool's drivers start no more beyond
)

var chaosInstanceIDs atomic.Int64

// drawPoolCount draws how many pools a supervisor at level has.
func drawPoolCount(r *rand.Rand, level int) int {
	switch level {
	case 0:
		return 1 + r.IntN(2)
	case 1:
		return 1
	}
	if r.IntN(3) == 0 {
		return 1
	}
	return 0
}

// drawPool makes c, at position i of sv, a pool, and returns the rate of
// restarts it is expected to cost sv.
func (ct *chaosTree) drawPool(r *rand.Rand, c *runtime.Child, s *chaosSlot, sv *chaosSup, i int) float64 {
	c.Name = "pool" + strconv.Itoa(i)
	s.path = sv.path + "/" + c.Name
	c.Pool = &runtime.PoolSpec{}
	if r.IntN(2) == 0 {
		c.Pool.Max = 3 + r.IntN(10)
	}
	drawWorker(r, c, false, true)
	c.Run = nil
	rate := 0.05
	if c.RestartLimit == nil && r.IntN(5) < 3 {
		c.RestartLimit = &runtime.RestartLimit{Max: 20 + r.IntN(40), Window: time.Duration(1000+r.IntN(2000)) * time.Millisecond}
	}
	if c.RestartLimit == nil || c.RestartLimit.Max < 10 {
		rate = 0.3 // it gives up now and then
	}
	nsv := &chaosSup{path: s.path, slot: s, parent: sv, level: sv.level + 1, strategy: runtime.OneForOne,
		budget: c.Shutdown, limit: runtime.RestartLimit{Max: runtime.DefaultRestartMax, Window: runtime.DefaultRestartWindow}}
	if c.RestartLimit != nil {
		nsv.limit = *c.RestartLimit
	}
	cp := &chaosPool{path: s.path, slot: s, sv: nsv, max: c.Pool.Max, life: time.Duration(2000+r.IntN(4000)) * time.Millisecond,
		inst: map[string]*instObs{}}
	nsv.pool = cp
	s.nested = nsv
	ct.sups = append(ct.sups, nsv)
	ct.supByPath[nsv.path] = nsv
	ct.pools = append(ct.pools, cp)
	ct.poolByPath[cp.path] = cp
	return rate
}

// poolOf returns the pool of the instance at path, or nil.
func (ct *chaosTree) poolOf(path string) *chaosPool {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return nil
	}
	return ct.poolByPath[path[:i]]
}

// preparePools binds the chaos pools to the tree's.
func (c *chaos) preparePools() {
	for _, cp := range c.ct.pools {
		cp.p = c.tree.Pool(cp.path)
		cp.handle = c.tree.Handle(cp.path)
		if cp.p == nil || cp.handle == nil {
			c.t.Fatalf("seed %d: no pool at %s", c.seed, cp.path)
		}
	}
}

// instRun is an instance's RunFunc: now and then it accepts a
// sub-connection, then plays its plan like every worker; now and then it
// accepts one more on its way out, often while its pool stops.
func (c *chaos) instRun(s *chaosSlot) runtime.RunFunc {
	play := c.runFunc(s)
	return func(ctx context.Context, a *runtime.Attempt) error {
		<-s.inst.named
		if s.inst.failed {
			c.violate("a failed Start never runs", "%s: the run function of a failed Start began (generation %d)", a.Path(), a.Generation())
			return nil
		}
		r := rand.New(rand.NewPCG(c.seed^uint64(s.id), a.Generation()))
		if r.IntN(8) == 0 {
			c.subConnection(s.inst.pool, r)
		}
		if r.IntN(8) == 0 {
			defer c.subConnection(s.inst.pool, r)
		}
		return play(ctx, a)
	}
}

// subConnection starts an instance from an instance's run function.
func (c *chaos) subConnection(cp *chaosPool, r *rand.Rand) {
	if c.calmed.Load() || cp.max == 0 && cp.p.Len() >= 2*chaosSoftCap {
		return
	}
	c.stats.pool.fromRuns.Add(1)
	name := ""
	if r.IntN(3) == 0 {
		name = "sub" + strconv.Itoa(r.IntN(4))
	}
	if sub := c.startInstance(cp, name); sub != nil {
		cp.remember(sub)
	}
}

// beginInstance checks a new attempt of an instance: its instance was not
// removed, and belongs to the pool's current run.
func (c *chaos) beginInstance(rec *attemptRec) {
	in := rec.slot.inst
	c.mu.Lock()
	removed := in.removed
	in.maxGen = max(in.maxGen, rec.key.gen)
	c.mu.Unlock()
	if removed && rec.ctx.Err() == nil {
		c.violate("an instance removed never comes back", "%s generation %d began after Restart said ErrRemoved", rec.slot.path, rec.key.gen)
	}
	if in.poolGen == 0 {
		return
	}
	if g := in.pool.handle.Status().Generation; g > in.poolGen && rec.ctx.Err() == nil {
		c.violate("an instance removed never comes back", "%s generation %d runs with a live context in run %d of its pool; it was started in run %d",
			rec.slot.path, rec.key.gen, g, in.poolGen)
	}
}

// startInstance starts an instance in cp named name (empty: generated) and
// checks Start's answer against the pool's state.
func (c *chaos) startInstance(cp *chaosPool, name string) *chaosSlot {
	s := &chaosSlot{id: 1<<24 + int(chaosInstanceIDs.Add(1)), sup: cp.sv, life: cp.life, child: cp.slot.child,
		inst: &chaosInst{pool: cp, named: make(chan struct{})}}
	before := cp.handle.Status()
	h, err := cp.p.Start(name, c.instRun(s))
	after := cp.handle.Status()
	if err != nil {
		s.inst.failed = true
		close(s.inst.named)
		c.checkStartErr(cp, name, err, before, after)
		return nil
	}
	c.stats.pool.started.Add(1)
	s.path = h.Path()
	s.inst.handle = h
	if before.Generation == after.Generation {
		s.inst.poolGen = after.Generation
	}
	close(s.inst.named)
	switch {
	case !strings.HasPrefix(s.path, cp.path+"/") || name != "" && s.path != cp.path+"/"+name:
		c.violate("Start errors match the pool's state", "%s: Start(%q) gave an instance at %s", cp.path, name, s.path)
	case before.Generation == after.Generation && notRunning(before.State) && notRunning(after.State) &&
		before.State != runtime.StateStopped: // an abandoned pool shows Stopped just before its run is killed
		c.violate("Start errors match the pool's state", "%s: Start(%q) accepted while the pool was %s (generation %d)",
			cp.path, name, after.State, after.Generation)
	}
	select {
	case <-c.tree.Done():
		c.violate("Start errors match the pool's state", "%s: Start(%q) accepted after the tree ended", cp.path, name)
	default:
	}
	return s
}

// stopAndWait stops an instance no other driver knows of, and checks that
// it is gone once StopAndWait returns: it can never come back.
func (c *chaos) stopAndWait(s *chaosSlot) {
	h := s.inst.handle
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch err := h.StopAndWait(ctx); {
	case err == nil:
		c.stats.pool.stoppedAndWaited.Add(1)
		if h2 := c.tree.Handle(s.path); h2 == h {
			c.violate("an instance removed never comes back", "%s: Tree.Handle finds it after StopAndWait", s.path)
		}
		c.orderInstance(s, true) // ErrRemoved, or ErrNotRunning if its pool's run has just ended
	case errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrTreeEnded):
	default:
		c.violate("orders", "%s: StopAndWait returned %v", s.path, err)
	}
}

// notRunning reports whether a pool in state st cannot accept instances.
func notRunning(st runtime.State) bool {
	switch st {
	case runtime.StateIdle, runtime.StateWaiting, runtime.StateBackoff, runtime.StateStopped, runtime.StateDone:
		return true
	}
	return false
}

// startSuspect is an ErrNotRunning from a pool that seemed to run throughout;
// its ShuttingDown event, once observed, explains it.
type startSuspect struct {
	pool *chaosPool
	gen  uint64
}

func (c *chaos) checkStartErr(cp *chaosPool, name string, err error, before, after runtime.ChildStatus) {
	st := &c.stats.pool
	switch {
	case errors.Is(err, runtime.ErrPoolFull):
		st.full.Add(1)
		if cp.max == 0 {
			c.violate("Start errors match the pool's state", "%s: Start(%q) said %v, but the pool has no Max", cp.path, name, err)
		}
	case errors.Is(err, runtime.ErrNameTaken):
		st.taken.Add(1)
		if name == "" {
			c.violate("Start errors match the pool's state", "%s: Start with a generated name said %v", cp.path, err)
		}
	case errors.Is(err, runtime.ErrTreeEnded): // first: it matches ErrNotRunning too
		select {
		case <-c.tree.Done():
		case <-time.After(time.Second):
			c.violate("Start errors match the pool's state", "%s: Start(%q) said %v, but the tree runs", cp.path, name, err)
		}
	case errors.Is(err, runtime.ErrNotRunning):
		st.notRunning.Add(1)
		if before.Generation == after.Generation && before.State == runtime.StateRunning && after.State == runtime.StateRunning {
			c.mu.Lock()
			c.startSuspects = append(c.startSuspects, startSuspect{cp, after.Generation})
			c.mu.Unlock()
		}
	case errors.Is(err, runtime.ErrInvalidSpec):
		st.invalid.Add(1)
		if name == "" || validInstanceName(name) {
			c.violate("Start errors match the pool's state", "%s: Start(%q) said %v", cp.path, name, err)
		}
	default:
		c.violate("Start errors match the pool's state", "%s: Start(%q) said %v; want a documented error", cp.path, name, err)
	}
	if name != "" && !validInstanceName(name) && !errors.Is(err, runtime.ErrInvalidSpec) {
		c.violate("Start errors match the pool's state", "%s: Start(%q) said %v; want ErrInvalidSpec", cp.path, name, err)
	}
}

func validInstanceName(name string) bool {
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// settleStartSuspects drops the suspicions that an observed ShuttingDown
// explains; at the end, the others are violations.
func (c *chaos) settleStartSuspects(final bool) {
	c.mu.Lock()
	open := c.startSuspects[:0]
	for _, s := range c.startSuspects {
		if s.pool.sv.shutGen.Load() < s.gen {
			open = append(open, s)
		}
	}
	c.startSuspects = open
	left := append([]startSuspect(nil), open...)
	c.mu.Unlock()
	if !final {
		return
	}
	for _, s := range left {
		if c.dropped > 0 {
			c.unverify()
			continue
		}
		c.violate("Start errors match the pool's state", "%s: Start said ErrNotRunning while run %d of the pool ran and did not stop", s.pool.path, s.gen)
	}
}

// remember adds s to the instances the drivers give orders to.
func (cp *chaosPool) remember(s *chaosSlot) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if len(cp.known) < chaosKnown {
		cp.known = append(cp.known, s)
		return
	}
	cp.known[rand.IntN(len(cp.known))] = s
}

// pick returns a known instance, or nil.
func (cp *chaosPool) pick(r *rand.Rand) *chaosSlot {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if len(cp.known) == 0 {
		return nil
	}
	return cp.known[r.IntN(len(cp.known))]
}

func (cp *chaosPool) forget(s *chaosSlot) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for i, k := range cp.known {
		if k == s {
			cp.known[i] = cp.known[len(cp.known)-1]
			cp.known[len(cp.known)-1] = nil
			cp.known = cp.known[:len(cp.known)-1]
			return
		}
	}
}

// pickSlot picks the child an operator's order goes to: a pool one time in
// ten, so that pools are stopped and restarted often.
func (c *chaos) pickSlot(r *rand.Rand) int {
	if r.IntN(10) == 0 && len(c.ct.pools) > 0 {
		return c.ct.pools[r.IntN(len(c.ct.pools))].slot.id
	}
	return r.IntN(len(c.ct.slots))
}

// poolOrder is one action of a pool driver: start an instance, or give a
// known one an order.
func (c *chaos) poolOrder(r *rand.Rand) {
	cp := c.ct.pools[r.IntN(len(c.ct.pools))]
	switch x := r.IntN(100); {
	case x < 70:
		if cp.max == 0 && cp.p.Len() >= chaosSoftCap {
			return
		}
		var name string
		switch y := r.IntN(100); {
		case y < 55:
		case y < 85:
			name = "conn" + strconv.Itoa(r.IntN(6)) // collides on purpose
		case y < 95:
			name = "i" + strconv.Itoa(1+r.IntN(30)) // may collide with generated names
		default:
			name = []string{"Conn", "a/b", "9x", "a b", strings.Repeat("x", 300)}[r.IntN(5)]
		}
		if s := c.startInstance(cp, name); s != nil && r.IntN(10) == 0 {
			c.stopAndWait(s)
		} else if s != nil {
			cp.remember(s)
		}
	case x < 85:
		if s := cp.pick(r); s != nil {
			c.orderInstance(s, false)
		}
	default:
		if s := cp.pick(r); s != nil {
			c.orderInstance(s, true)
		}
	}
}

// orderInstance restarts or stops s, and checks the answer.
func (c *chaos) orderInstance(s *chaosSlot, restart bool) {
	in := s.inst
	var err error
	if restart {
		err = in.handle.Restart()
	} else {
		err = in.handle.Stop()
	}
	c.mu.Lock()
	wasRemoved := in.removed
	if errors.Is(err, runtime.ErrRemoved) {
		in.removed = true
	}
	c.mu.Unlock()
	switch {
	case err == nil:
		c.stats.pool.ordersOK.Add(1)
		if restart && wasRemoved {
			c.violate("an instance removed never comes back", "%s: Restart said nil after it had said ErrRemoved", s.path)
		}
	case errors.Is(err, runtime.ErrRemoved) && restart:
		c.stats.pool.removed.Add(1)
		in.pool.forget(s)
	case errors.Is(err, runtime.ErrTreeEnded): // first: it matches ErrNotRunning too
	case errors.Is(err, runtime.ErrNotRunning):
		c.stats.pool.ordersNotRun.Add(1)
	default:
		c.violate("orders", "%s: order returned %v", s.path, err)
	}
}

// drivePools starts instances and gives them orders, about every 10ms, until
// stop is closed.
func (c *chaos) drivePools(stop <-chan struct{}, k uint64) {
	r := rand.New(rand.NewPCG(c.seed, 0x9001+k))
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			t.Reset(time.Duration(r.ExpFloat64() * float64(10*time.Millisecond)))
			c.poolOrder(r)
		}
	}
}

// checkPools checks each pool's Len and Counts against its Max; with live,
// also the run functions that still run and were not abandoned.
func (c *chaos) checkPools(live bool) {
	for _, cp := range c.ct.pools {
		n, cnt := cp.p.Len(), cp.p.Counts()
		busy := cnt.Starting + cnt.Running + cnt.Backoff + cnt.Stopping + cnt.Stopped
		if cp.max > 0 && (n > cp.max || busy > cp.max) {
			c.violate("a pool has at most Max live instances", "%s: Len %d, Counts %+v; Max %d", cp.path, n, cnt, cp.max)
		}
		if uint64(busy) > cnt.Started-cnt.Removed || cnt.Removed > cnt.Started {
			c.violate("Counts agree", "%s: %+v: more live instances than started and not removed", cp.path, cnt)
		}
	}
	if !live {
		return
	}
	var recs []*attemptRec
	c.mu.Lock()
	for _, r := range c.live {
		if r.slot.inst != nil && r.slot.inst.pool.max > 0 && !r.abandoned {
			recs = append(recs, r)
		}
	}
	c.mu.Unlock()
	report := c.tree.ShutdownReport()
	perPool := map[*chaosPool]int{}
	for _, r := range recs {
		if !inReport(report, r.slot.path, r.key.gen) {
			perPool[r.slot.inst.pool]++
		}
	}
	for cp, n := range perPool {
		if n == cp.max {
			c.stats.pool.atCap.Add(1)
		}
		if n > cp.max {
			c.violate("a pool has at most Max live instances", "%s: %d run functions of its instances run, none abandoned; Max %d", cp.path, n, cp.max)
		}
	}
}

// checkPoolsCalm checks, once the tree is calm, that Counts agree with Len
// and the snapshot, that a pool that does not run has no live instance, and
// that each known running instance ran its own run function for its
// current generation.
func (c *chaos) checkPoolsCalm() {
	for _, cp := range c.ct.pools {
		cnt := cp.p.Counts()
		n := cp.p.Len()
		snap := c.tree.Snapshot()
		st := cp.handle.Status()
		if again := cp.p.Counts(); again != cnt || cp.p.Len() != n || cp.handle.Status().Generation != st.Generation {
			continue // not calm after all
		}
		var inSnap poolStates
		for _, ch := range snap.Children {
			if ch.Instance && strings.HasPrefix(ch.Path, cp.path+"/") && !strings.Contains(ch.Path[len(cp.path)+1:], "/") {
				inSnap.add(ch.State)
			}
		}
		busy := cnt.Starting + cnt.Running + cnt.Backoff + cnt.Stopping + cnt.Stopped
		switch {
		case inSnap.Starting != cnt.Starting || inSnap.Running != cnt.Running || inSnap.Backoff != cnt.Backoff || inSnap.Stopping != cnt.Stopping || inSnap.Stopped != cnt.Stopped:
			c.violate("Counts agree", "%s: Counts %+v, but the snapshot's instances are %+v", cp.path, cnt, inSnap)
		case n != inSnap.all || uint64(n) != cnt.Started-cnt.Removed:
			c.violate("Counts agree", "%s: Len %d, snapshot %d instances, Counts %+v (started−removed %d)", cp.path, n, inSnap.all, cnt, cnt.Started-cnt.Removed)
		case busy != n:
			c.violate("Counts agree", "%s (%s): Len %d, but Counts has %d live instances (%+v)", cp.path, st.State, n, busy, cnt)
		}
		if notRunning(st.State) && n > 0 {
			c.violate("a pool that does not run has no live instances", "%s is %s but has %d instances (%+v)", cp.path, st.State, n, inSnap)
		}
		cp.mu.Lock()
		known := append([]*chaosSlot(nil), cp.known...)
		cp.mu.Unlock()
		for _, s := range known {
			ist := s.inst.handle.Status()
			c.mu.Lock()
			gen, removed := s.inst.maxGen, s.inst.removed
			c.mu.Unlock()
			if ist.State == runtime.StateRunning && !removed && ist.Generation > 1 {
				c.stats.pool.rerunChecked.Add(1)
			}
			if ist.State == runtime.StateRunning && !removed && ist.Generation != gen {
				c.violate("a restarted instance runs its own run function", "%s is running generation %d, but its run function last began generation %d",
					s.path, ist.Generation, gen)
			}
		}
	}
}

// poolStates counts instances by state, as Counts does.
type poolStates struct {
	Starting, Running, Backoff, Stopping, Stopped, other, all int
}

func (p *poolStates) add(st runtime.State) {
	p.all++
	switch st {
	case runtime.StateIdle, runtime.StateStarting:
		p.Starting++
	case runtime.StateRunning:
		p.Running++
	case runtime.StateBackoff:
		p.Backoff++
	case runtime.StateStopping:
		p.Stopping++
	case runtime.StateStopped:
		p.Stopped++
	default:
		p.other++
	}
}

// observeInstance follows an instance through the event stream.
func (c *chaos) observeInstance(cp *chaosPool, e runtime.Event) {
	cp.sv.recent.add(e)
	switch e.Kind {
	case runtime.EventStarting:
		if e.Restarts > 0 {
			c.stats.restarts.Add(1)
		}
		o := cp.inst[e.Path]
		if o == nil || e.Generation == 1 {
			if o != nil && o.liveGen != 0 {
				c.violateEvents("one attempt per slot", "%s: a new instance started while generation %d of the previous one had neither ended nor been abandoned; latest events of %s:%s",
					e.Path, o.liveGen, cp.path, &cp.sv.recent)
			}
			o = &instObs{}
			cp.inst[e.Path] = o
		}
		switch {
		case o.liveGen != 0:
			c.violateEvents("one attempt per slot", "%s: generation %d starting while generation %d has neither ended nor been abandoned; latest events of %s:%s",
				e.Path, e.Generation, o.liveGen, cp.path, &cp.sv.recent)
		case e.Generation <= o.lastGen:
			c.violateEvents("one attempt per slot", "%s: generation %d after generation %d", e.Path, e.Generation, o.lastGen)
		}
		o.liveGen, o.lastGen = e.Generation, e.Generation
		if cp.sv.run.stopping {
			c.violateEvents("nothing starts after its supervisor began to stop", "%s: generation %d starting after %s began to stop",
				e.Path, e.Generation, cp.path)
		}
	case runtime.EventExited, runtime.EventStopped, runtime.EventAbandoned:
		o := cp.inst[e.Path]
		if o == nil {
			return // forgotten
		}
		if e.Generation == o.endedGen {
			c.violateEvents("each attempt ends once", "%s generation %d: %s after it had ended; latest events of %s:%s",
				e.Path, e.Generation, e.Kind, cp.path, &cp.sv.recent)
			return
		}
		if o.liveGen != e.Generation {
			c.violateEvents("one attempt per slot", "%s: %s of generation %d, but generation %d is current", e.Path, e.Kind, e.Generation, o.liveGen)
		}
		o.liveGen, o.endedGen = 0, e.Generation
		cp.ended = append(cp.ended, e.Path)
		if len(cp.ended) > 1024 {
			if old := cp.inst[cp.ended[0]]; old != nil && old.liveGen == 0 {
				delete(cp.inst, cp.ended[0])
			}
			cp.ended = cp.ended[1:]
		}
		if e.Kind == runtime.EventAbandoned {
			c.instAbandoned(e)
		}
	case runtime.EventRestartScheduled:
		c.supRestart(cp.sv, e.Path, e.Time)
	}
}

// instAbandoned marks the run function of an abandoned instance attempt.
func (c *chaos) instAbandoned(e runtime.Event) {
	k := instKey{e.Path, e.Generation}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.instLive[k]; r != nil {
		r.abandoned = true
		return
	}
	c.instOrphans[k] = e.Time
}

type instKey struct {
	path string
	gen  uint64
}

// poolStats counts what the pool drivers did.
type poolStats struct {
	started, fromRuns                atomic.Int64
	full, taken, notRunning, invalid atomic.Int64
	ordersOK, ordersNotRun, removed  atomic.Int64
	stoppedAndWaited                 atomic.Int64
	atCap                            atomic.Int64 // samples where a capped pool ran Max run functions
	rerunChecked                     atomic.Int64 // restarted instances checked to run their own function
}

func (s *poolStats) String() string {
	return fmt.Sprintf("instances started %d (%d tries from run functions), Start errors: full %d, name taken %d, not running %d, invalid name %d; instance orders %d (ErrNotRunning %d, ErrRemoved %d), stopped and waited for %d; pools at their cap in %d samples",
		s.started.Load(), s.fromRuns.Load(), s.full.Load(), s.taken.Load(), s.notRunning.Load(), s.invalid.Load(),
		s.ordersOK.Load(), s.ordersNotRun.Load(), s.removed.Load(), s.stoppedAndWaited.Load(), s.atCap.Load())
}

// checkPoolsEnded checks, once every run function has returned, that every
// pool is empty (an abandoned pool's goroutine may take a moment to return)
// and refuses new instances with ErrTreeEnded.
func (c *chaos) checkPoolsEnded() {
	for _, cp := range c.ct.pools {
		deadline := time.Now().Add(2 * time.Second)
		for cp.p.Len() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n, cnt := cp.p.Len(), cp.p.Counts(); n != 0 || cnt.Started != cnt.Removed {
			c.violate("a pool that does not run has no live instances", "%s: Len %d, Counts %+v after Run returned", cp.path, n, cnt)
		}
		h, err := cp.p.Start("", func(context.Context, *runtime.Attempt) error {
			c.violate("Start errors match the pool's state", "%s: an instance started after Run returned", cp.path)
			return nil
		})
		if h != nil || !errors.Is(err, runtime.ErrTreeEnded) {
			c.violate("Start errors match the pool's state", "%s: Start after Run returned said %v; want ErrTreeEnded", cp.path, err)
		}
	}
}
