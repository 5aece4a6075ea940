package runtime

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"time"
)

// Pool is a child whose instances are started at run time, each with its
// own run function: OTP's dynamic supervisor. Instances are independent of
// each other (one_for_one); an instance that ends for good (temporary,
// transient after a success, ErrDoNotRestart) or that Handle.Stop stops is
// removed, and its memory released. A Pool is safe for concurrent use, also
// from the run functions of its own instances.
type Pool struct {
	sv *supervisor
}

// poolState is what a pool's supervisor keeps besides a supervisor's.
// Guarded by the supervisor's mu.
type poolState struct {
	pool   Pool
	max    int
	spec   *Child // the instances' policy
	byName names
	open   bool   // running, and not stopping: Start is accepted
	next   uint64 // for generated names
	// reserved is set once Start was given a name like a generated one,
	// "i" and digits: until then, a generated name cannot be taken, and
	// freePath need not look it up.
	reserved bool
	totals   PoolCounts
	killed   []*slot // instances a kill removed, until the killed run has released what they hold
}

// instance is a pool instance's slot and the handle Start returns, in one
// allocation. Its slot's rank is its index in the pool's slots, and -1 once
// it is removed.
type instance struct {
	slot
	handle Handle
}

// Pool returns the pool at path, such as "server/conns", or nil if the
// child there is not a pool. A nil Pool has no instances, and its Start
// returns ErrNoChild; so does a zero Pool, such as new(Pool).
func (t *Tree) Pool(path string) *Pool {
	t.built("Pool")
	s := t.staticSlot(path)
	if s == nil || s.sub() == nil || s.sub().pool == nil {
		return nil
	}
	return &s.sub().pool.pool
}

// Path is the pool's path in the tree.
func (p *Pool) Path() string {
	if p == nil || p.sv == nil {
		return ""
	}
	return p.sv.path
}

// Start starts an instance that runs run, named name, or named by the pool
// when name is empty. Its path is the pool's path, a slash and its name. It
// fails with ErrNameTaken when an instance of that name lives (full pool or
// not), ErrPoolFull when the pool has its Max of live instances,
// ErrNotRunning when the pool is not running (waiting for its After list,
// being restarted, or stopping: while the tree stops, Start is taken until
// the pool's own turn, unlike Handle.Restart) and ErrTreeEnded (which
// matches ErrNotRunning too) once the tree has ended. Start returns once the
// pool has the instance, which starts at once; it waits while the pool has
// 1,024 messages it has not taken yet (so do orders), so that callers cannot
// outrun the pool. An instance Start accepted always runs, so that its run
// function can release what it holds: if its pool begins to stop, or an
// order to stop it arrives, before the pool started it, it starts and is
// cancelled at once; if its pool is abandoned with a parent first, it runs
// cancelled and is listed in the ShutdownReport.
func (p *Pool) Start(name string, run RunFunc) (*Handle, error) {
	if p == nil || p.sv == nil {
		return nil, ErrNoChild
	}
	sv := p.sv
	ps := sv.pool
	if run == nil {
		return nil, &SpecError{Path: sv.path, Field: "Run", Msg: "Pool.Start needs a run function"}
	}
	if name != "" && !validName(name) {
		return nil, &SpecError{Path: sv.path, Field: "Name", Msg: fmt.Sprintf("invalid instance name %q (want [a-z][a-z0-9_-]*)", name)}
	}
	if sv.tree.state.Load() == treeEnded {
		return nil, errEnded
	}
	if sv.closing.Load() {
		// Its parent has cancelled it, which its run may not have seen
		// yet: the instance would only start to be cancelled.
		return nil, fmt.Errorf("%w: pool %s", ErrNotRunning, sv.path)
	}
	sv.mu.Lock()
	var path string
	switch {
	case !ps.open:
		sv.mu.Unlock()
		return nil, fmt.Errorf("%w: pool %s%s", ErrNotRunning, sv.path, sv.tree.notStarted())
	case name != "" && ps.byName.get(name) != nil:
		// Before the cap: the instance lives, which room made later
		// would not change.
		sv.mu.Unlock()
		return nil, fmt.Errorf("%w: %s/%s", ErrNameTaken, sv.path, name)
	case ps.max > 0 && len(sv.slots) >= ps.max:
		sv.mu.Unlock()
		return nil, fmt.Errorf("%w: %s has %d instances", ErrPoolFull, sv.path, ps.max)
	case name == "":
		path = ps.freePath(sv.path)
		name = path[len(sv.path)+1:]
	default:
		path = sv.path + "/" + name
		ps.reserved = ps.reserved || generatedLike(name)
	}
	// Starting from here on, as Counts counts it: Start has started it
	// as far as the caller can tell, and it always runs.
	in := &instance{slot: slot{sup: sv, spec: ps.spec, fn: run, path: path, counted: true, state: StateStarting}}
	in.handle.s = &in.slot
	in.rank = int32(len(sv.slots)) // its index in sv.slots
	sv.slots = append(sv.slots, &in.slot)
	ps.byName.put(name, in)
	ps.totals.Started++
	in.st.since = sv.tree.since(time.Now())
	done := sv.done
	sv.mu.Unlock()
	if !sv.post(done, message{kind: msgAdd, slot: &in.slot}) {
		// The run ended since: its shutdown started the instance (see
		// startAccepted) or its kill did (killUnseen), which then ran and
		// is gone, or it was removed unstarted, and Start did not happen.
		sv.mu.Lock()
		ran := in.st.gen > 0 || in.st.abandoned > 0 // started by the shutdown, or by the kill (killUnseen)
		if !ran {
			sv.remove(&in.slot) // counted started and removed: the totals are counters, which never go down
		}
		sv.mu.Unlock()
		if ran {
			return &in.handle, nil
		}
		return nil, fmt.Errorf("%w: pool %s%s", ErrNotRunning, sv.path, sv.tree.notStarted())
	}
	return &in.handle, nil
}

// names indexes a pool's live instances by name. It keys them by a hash
// of the name, which takes 8 bytes less per instance than the name itself;
// a name whose hash another live name holds, which practically never
// happens, goes to a second map.
type names struct {
	seed   maphash.Seed
	byHash map[uint64]*instance
	more   map[string]*instance
	peak   int // the most names byHash held since it was made: a Go map never shrinks
}

func newNames() names {
	return names{seed: maphash.MakeSeed(), byHash: map[uint64]*instance{}}
}

func (n *names) get(name string) *instance {
	if in := n.byHash[maphash.String(n.seed, name)]; in != nil && in.name() == name {
		return in
	}
	return n.more[name]
}

// put adds in as name, which no live instance has.
func (n *names) put(name string, in *instance) {
	h := maphash.String(n.seed, name)
	if n.byHash[h] == nil {
		n.byHash[h] = in
		n.peak = max(n.peak, len(n.byHash))
		return
	}
	if n.more == nil {
		n.more = map[string]*instance{}
	}
	n.more[name] = in
}

func (n *names) del(name string) {
	h := maphash.String(n.seed, name)
	if in := n.byHash[h]; in != nil && in.name() == name {
		delete(n.byHash, h)
		if n.peak > shrinkFrom && len(n.byHash) < n.peak/4 {
			// What a burst grew, given back once it has ended (at a
			// cost of the live names, after three times as many were
			// deleted).
			m := make(map[uint64]*instance, len(n.byHash))
			for h, in := range n.byHash {
				m[h] = in
			}
			n.byHash, n.peak = m, len(m)
		}
		return
	}
	delete(n.more, name)
}

func (n *names) clear() {
	if n.peak > shrinkFrom {
		n.byHash, n.peak = map[uint64]*instance{}, 0
	} else {
		clear(n.byHash)
	}
	n.more = nil
}

// shrinkFrom is the size above which the pool's slice of instances and
// index by name are made anew once a quarter of it is in use.
const shrinkFrom = 1024

// freePath returns the path of a generated name, such as "i42", that no
// live instance has: one allocation for the path and the name in it.
func (ps *poolState) freePath(pool string) string {
	buf := make([]byte, 0, len(pool)+24)
	for {
		ps.next++
		buf = append(buf[:0], pool...)
		buf = append(buf, "/i"...)
		buf = strconv.AppendUint(buf, ps.next, 10)
		if !ps.reserved || ps.byName.get(string(buf[len(pool)+1:])) == nil { // no allocation for the lookup
			return string(buf)
		}
	}
}

// generatedLike reports whether name could be a name freePath makes.
func generatedLike(name string) bool {
	if len(name) < 2 || name[0] != 'i' {
		return false
	}
	for _, c := range []byte(name[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Len returns the number of live instances: those Start accepted that have
// not been removed, in any state PoolCounts counts. Max bounds it.
func (p *Pool) Len() int {
	if p == nil || p.sv == nil {
		return 0
	}
	p.sv.mu.Lock()
	defer p.sv.mu.Unlock()
	return len(p.sv.slots)
}

// PoolCounts is OTP's count_children for a pool: its live instances by
// state, and what happened to instances since the tree was built, for
// metrics that do not need a series per instance. The live instances by
// state add up to Len, and to Started − Removed.
type PoolCounts struct {
	Starting int // running, not ready yet (or not yet started)
	Running  int // running and ready
	Backoff  int // waiting for a restart
	Stopping int // cancelled, not yet returned
	// Stopped counts instances whose attempt has just returned or been
	// abandoned: the pool restarts or removes each at once, but a
	// concurrent reader may see one in between.
	Stopped int

	Started   uint64 // instances Start accepted
	Restarts  uint64 // restarts of instances, automatic or by Handle.Restart
	Removed   uint64 // instances removed: ended for good, stopped, or dropped with their pool's run
	Abandoned uint64 // attempts of instances abandoned after their grace
}

// Counts returns the pool's live instances by state, and its totals.
func (p *Pool) Counts() PoolCounts {
	if p == nil || p.sv == nil {
		return PoolCounts{}
	}
	p.sv.mu.Lock()
	defer p.sv.mu.Unlock()
	c := p.sv.pool.totals
	for _, s := range p.sv.slots {
		switch s.state {
		case StateIdle, StateStarting:
			c.Starting++
		case StateRunning:
			c.Running++
		case StateBackoff:
			c.Backoff++
		case StateStopping:
			c.Stopping++
		case StateStopped:
			c.Stopped++
		}
	}
	return c
}

// remove takes the instance s out of its pool, for good. sv.mu is held.
func (sv *supervisor) remove(s *slot) {
	if s.rank < 0 {
		return
	}
	last := len(sv.slots) - 1
	moved := sv.slots[last]
	sv.slots[s.rank] = moved
	moved.rank = s.rank
	sv.slots[last] = nil
	sv.slots = sv.slots[:last]
	if c := cap(sv.slots); c > shrinkFrom && last < c/4 {
		sv.slots = append(make([]*slot, 0, 2*last), sv.slots...) // what a burst grew
	}
	sv.pool.byName.del(s.name())
	sv.pool.totals.Removed++
	s.rank = -1
	s.state = StateDone
}

// removeAll removes every instance once the pool's run has ended: a pool
// that runs again starts empty, as OTP's dynamic supervisor does, so they
// can never come back, and a pool that stays stopped keeps none of them.
func (sv *supervisor) removeAll() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.removeAllLocked()
	sv.pool.killed = nil
}

// removeAllLocked is removeAll with mu held.
func (sv *supervisor) removeAllLocked() {
	for _, s := range sv.slots {
		s.rank = -1
		s.state = StateDone
	}
	sv.pool.totals.Removed += uint64(len(sv.slots))
	clear(sv.slots)
	sv.slots = sv.slots[:0]
	if cap(sv.slots) > shrinkFrom {
		sv.slots = nil // what a burst grew
	}
	sv.pool.byName.clear()
}

// removed reports whether s is an instance that left its pool.
func (s *slot) removed() bool {
	if s.sup.pool == nil {
		return false
	}
	s.sup.mu.Lock()
	defer s.sup.mu.Unlock()
	return s.rank < 0
}

// instanceHandle returns the handle of the live instance named name.
func (sv *supervisor) instanceHandle(name string) *Handle {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if in := sv.pool.byName.get(name); in != nil {
		return &in.handle
	}
	return nil
}

// added starts an instance that Start added, on the pool's goroutine,
// unless it was removed since (its message may reach a later run of the
// pool, which must not start an instance of an earlier one) or the
// pool's shutdown, which came first, started it.
func (sv *supervisor) added(s *slot) {
	sv.mu.Lock()
	gone := s.rank < 0 || s.st.gen > 0
	if sv.stopping && !gone {
		sv.remove(s) // Start raced the shutdown
		gone = true
	}
	sv.mu.Unlock()
	if !gone {
		sv.want(s)
	}
}

// startAccepted starts, as the pool begins to stop, the instances that
// Start accepted (and returned a handle for) but whose message is still
// queued, as if the pool had taken them first: it never drops an
// instance unseen. Each then stops at once with the others, so that its
// run function gets what Start handed it, such as a connection to close,
// and sees its context cancelled.
func (sv *supervisor) startAccepted() {
	for _, s := range sv.slotsNow() {
		sv.startUnseen(s)
	}
}

// startUnseen starts the instance s if Start accepted it but its message
// has not been handled yet: a stop order that overtook it (Tree.Handle
// finds an instance before Start posts it) then stops a running instance,
// never one whose run function was not called.
func (sv *supervisor) startUnseen(s *slot) {
	if s.st.gen == 0 && s.cur.Load() == nil && !sv.stopping && !s.removed() {
		sv.start(s)
	}
}

// removeEnded removes an instance that will not run again.
func (sv *supervisor) removeEnded(s *slot) {
	s.disarm()
	sv.mu.Lock()
	sv.remove(s)
	sv.mu.Unlock()
}

// slotsNow returns the supervisor's children: a pool's instances change,
// under mu, so a pool's goroutine iterates over a copy, which includes the
// instances a kill removed but the run has not released yet.
func (sv *supervisor) slotsNow() []*slot {
	if sv.pool == nil {
		return sv.slots
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return slices.Concat(sv.slots, sv.pool.killed)
}
