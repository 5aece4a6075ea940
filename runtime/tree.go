package runtime

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	treeIdle uint32 = iota
	treeRunning
	treeEnded
)

// Tree is a supervision tree built from a Spec. Run it once. Trees come
// from New, or the generated New<Tree>: every method of a nil or zero Tree
// panics, saying so, as a nil map does on a write.
type Tree struct {
	name   string
	root   *supervisor
	opts   options
	size   int         // children, nested ones included
	epoch  time.Time   // origin of since
	events *eventQueue // events.on says whether events are made at all
	state  atomic.Uint32

	pathsOnce sync.Once
	paths     map[string]*slot // for Handle, built on first use

	wd     *watchdog    // nil without heartbeats
	leases *leases      // nil without lease children
	clock  atomic.Int64 // the watchdog's tick count, which Beat records

	ready    chan struct{} // closed when every child has first been ready
	stopping chan struct{} // closed when the root begins to stop
	done     chan struct{} // closed when Run returns

	// killMu is held through each abandonment (supervisor.abandon, from
	// before the detach to the end of the listing and, for a nested
	// supervisor or pool, of its killTree), which runs on the goroutine of
	// the supervisor that abandons: a killed run, which would otherwise
	// end as soon as it is told, waits for it (killsDone) before it tells
	// StopAndWait; a kill from above, which does not find a detached
	// attempt, waits for its listing. So Run, which returns after the
	// root's abandonments, finds every one below it done.
	killMu sync.Mutex

	mu     sync.Mutex
	report abandonLog
	err    error // what Run returned
}

// New checks spec with Validate and builds a tree from it. Every problem is
// reported, each as a *SpecError naming the child path and the field.
func New(spec Spec, opts ...Option) (*Tree, error) {
	v := validate(spec)
	if err := errors.Join(v.errs...); err != nil {
		return nil, err
	}
	t := &Tree{name: spec.Name, epoch: time.Now(),
		ready: make(chan struct{}), stopping: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(&t.opts)
		}
	}
	if v.leases != nil { // some child has a lease
		if isNil(t.opts.leaser) { // a typed nil too: its Acquire would panic for ever
			path := leaseChild(spec.Name, &spec)
			return nil, &SpecError{Path: path, Field: "Lease", Msg: "the child has a lease, but the tree has no Leaser: pass runtime.WithLeaser (runtime/lease/etcd provides one)"}
		}
		t.leases = &leases{leaser: t.opts.leaser}
	}
	size := t.opts.eventBuffer
	if size <= 0 {
		size = DefaultEventBuffer
	}
	journal := t.opts.journal
	if !t.opts.journalSet {
		journal = DefaultJournal
	}
	t.events = newEventQueue(size, journal, t.deliver)
	if len(t.opts.observers) > 0 || t.opts.logger != nil {
		t.events.on, t.events.delivering = true, true
	}
	t.root = t.build(spec.Name, &spec)
	return t, nil
}

// build makes the supervisor for spec and, recursively, its children.
func (t *Tree) build(path string, spec *Spec) *supervisor {
	sv := &supervisor{
		tree:     t,
		path:     path,
		strategy: spec.Strategy,
		limit:    RestartLimit{Max: DefaultRestartMax, Window: DefaultRestartWindow},
		budget:   spec.Shutdown,
		inbox:    newMailbox(),
	}
	if sv.strategy == "" {
		sv.strategy = OneForOne
	}
	if spec.RestartLimit != nil {
		sv.limit = *spec.RestartLimit
	}
	if sv.budget == 0 {
		sv.budget = DefaultTreeShutdown
	}
	backoff := &Backoff{
		Initial: DefaultBackoffInitial, Max: DefaultBackoffMax, Multiplier: DefaultBackoffMultiple,
		Jitter: DefaultBackoffJitter, ResetAfter: DefaultBackoffReset,
	}
	if spec.Backoff != nil {
		b := *spec.Backoff // the caller may change theirs
		backoff = &b
	}
	// New keeps nothing of the caller's spec: slots keep copies of what they
	// use (see policies), and a change after New changes nothing here.
	children := spec.Children
	slots := make([]slot, len(children)) // one allocation for all
	sv.slots = make([]*slot, len(children))
	paths := childPaths(path, children)
	ordered := false // some child has an After list
	var policies policies
	for i := range children {
		c := &children[i]
		s := &slots[i]
		n := len(path) + 1 + len(c.Name)
		// Field by field into the zeroed slot: a composite literal would be
		// built, then copied whole with the collector's barriers.
		s.sup, s.spec, s.fn, s.path = sv, policies.of(c, backoff), c.Run, paths[:n]
		paths = paths[n:]
		if c.RestartLimit != nil {
			s.rare = orNew(s.rare)
			s.rare.limit = &childLimit{RestartLimit: *c.RestartLimit}
		}
		if c.Lease != nil {
			ls := &leaseState{name: c.Lease.Name, ttl: c.Lease.TTL}
			if ls.name == "" {
				ls.name = s.path
			}
			if ls.ttl == 0 {
				ls.ttl = DefaultLeaseTTL
			}
			s.rare = orNew(s.rare)
			s.rare.lease = ls
		}
		if c.Supervisor != nil {
			s.rare = orNew(s.rare)
			s.rare.sub = t.build(s.path, c.Supervisor)
		}
		if c.Pool != nil {
			s.spec = &Child{Restart: Permanent, Backoff: backoff} // a supervisor, bounded by itself
			s.rare = orNew(s.rare)
			s.rare.limit = nil // c's limit is the pool's own
			s.rare.sub = t.buildPool(s.path, c, backoff)
		}
		if c.Heartbeat != nil {
			if t.wd == nil {
				t.wd = &watchdog{}
			}
			t.wd.consider(c.Heartbeat.Timeout)
		}
		sv.slots[i] = s
		s.rank = int32(i)
		ordered = ordered || len(c.After) > 0
		t.size++
	}
	if !ordered {
		sv.order = sv.slots // start order is declaration order
		return sv
	}
	index := make(map[string]int, len(children))
	for i := range children {
		index[children[i].Name] = i + 1
	}
	order := startOrder(children, index)
	sv.order = make([]*slot, len(order))
	for r, i := range order {
		s := sv.slots[i]
		s.rank = int32(r)
		sv.order[r] = s
		for _, dep := range children[i].After {
			d := sv.slots[index[dep]-1]
			s.rare, d.rare = orNew(s.rare), orNew(d.rare)
			s.rare.deps = append(s.rare.deps, d)
			d.rare.dependents = append(d.rare.dependents, s) // in start order, as r grows
		}
	}
	return sv
}

// childPaths returns the paths of the children of the supervisor at path,
// one after another in one string: build cuts each child's from it, so that
// they take one allocation instead of one each.
func childPaths(path string, children []Child) string {
	n := 0
	for i := range children {
		n += len(path) + 1 + len(children[i].Name)
	}
	var b strings.Builder
	b.Grow(n)
	for i := range children {
		b.WriteString(path)
		b.WriteByte('/')
		b.WriteString(children[i].Name)
	}
	return b.String()
}

// buildPool makes the supervisor of the pool c. Its instances share one
// policy: c's, without its restart limit, which is the pool's.
func (t *Tree) buildPool(path string, c *Child, backoff *Backoff) *supervisor {
	sv := &supervisor{
		tree:     t,
		path:     path,
		strategy: OneForOne,
		limit:    RestartLimit{Max: DefaultRestartMax, Window: DefaultRestartWindow},
		inbox:    newMailbox(),
	}
	if c.RestartLimit != nil {
		sv.limit = *c.RestartLimit
	}
	inst := *c
	inst.RestartLimit = nil
	var ps policies
	sv.pool = &poolState{max: c.Pool.Max, spec: ps.of(&inst, backoff), byName: newNames()}
	sv.pool.pool.sv = sv
	sv.budget = sv.pool.spec.Shutdown // instances stop at once, each within this grace
	return sv
}

// leaseChild returns the path of the first child below spec, at path, that
// has a lease; "" if none has.
func leaseChild(path string, spec *Spec) string {
	for i := range spec.Children {
		c := &spec.Children[i]
		if c.Lease != nil {
			return path + "/" + c.Name
		}
		if c.Supervisor != nil {
			if p := leaseChild(path+"/"+c.Name, c.Supervisor); p != "" {
				return p
			}
		}
	}
	return ""
}

// policies hands out the copies of Child that slots keep, with the
// defaults applied: Shutdown is a worker's grace (0 for a nested supervisor,
// which bounds itself), Backoff the one in force. Children whose fields other
// than Name, Run, After and Supervisor are then equal share one copy: a flat
// tree of 100k alike children keeps one instead of 100k.
type policies struct {
	m    map[policyKey]*Child
	last *Child
	key  policyKey
}

// policyKey is a Child's policy by value; an absent field is a zero value
// with its has bit clear.
type policyKey struct {
	restart                             Restart
	shutdown, timeout, ready, heartbeat time.Duration
	limit                               RestartLimit
	backoff                             Backoff
	has                                 uint8 // 1 ready, 2 heartbeat, 4 limit, 8 backoff, 16 significant
}

// of returns the policy of c, a child of a supervisor whose backoff is
// backoff.
func (ps *policies) of(c *Child, backoff *Backoff) *Child {
	k := policyKey{restart: c.Restart, shutdown: c.Shutdown, timeout: c.Timeout}
	switch {
	case c.Supervisor != nil:
		k.shutdown = 0 // a worker's is never 0
	case k.shutdown == 0:
		k.shutdown = DefaultChildShutdown
	}
	if c.Ready != nil {
		k.ready, k.has = c.Ready.Timeout, k.has|1
	}
	if c.Heartbeat != nil {
		k.heartbeat, k.has = c.Heartbeat.Timeout, k.has|2
	}
	if c.RestartLimit != nil {
		k.limit, k.has = *c.RestartLimit, k.has|4
	}
	if c.Backoff != nil {
		k.backoff, k.has = *c.Backoff, k.has|8
	}
	if c.Significant {
		k.has |= 16
	}
	if ps.last != nil && k == ps.key {
		return ps.last // siblings are most often alike in a row
	}
	p := ps.m[k]
	if p == nil {
		p = &Child{Restart: c.Restart, Shutdown: k.shutdown, Timeout: c.Timeout, Significant: c.Significant, Backoff: backoff}
		if c.Ready != nil {
			p.Ready = &Ready{Timeout: k.ready}
		}
		if c.Heartbeat != nil {
			p.Heartbeat = &Heartbeat{Timeout: k.heartbeat}
		}
		if c.RestartLimit != nil {
			l := k.limit
			p.RestartLimit = &l
		}
		if c.Backoff != nil {
			b := k.backoff
			p.Backoff = &b
		}
		if ps.m == nil {
			ps.m = make(map[policyKey]*Child)
		}
		ps.m[k] = p
	}
	ps.last, ps.key = p, k
	return p
}

// built panics unless t was built by New: a nil or zero Tree is a caller's
// bug, told as such rather than as a nil dereference inside the runtime.
func (t *Tree) built(method string) {
	if t == nil || t.root == nil {
		notBuilt(t, method)
	}
}

//go:noinline
func notBuilt(t *Tree, method string) {
	kind := "zero"
	if t == nil {
		kind = "nil"
	}
	panic("arbor: Tree." + method + " called on a " + kind + " *runtime.Tree: build trees with runtime.New or the generated New<Tree>")
}

// Name is the tree's name, the first element of every path.
func (t *Tree) Name() string {
	t.built("Name")
	return t.name
}

// Run starts the tree and blocks until ctx is cancelled (it then stops every
// child in reverse start order and returns nil), a significant child ends it
// (nil), or the root exceeds its restart limit (a *GiveUpError naming the
// child and wrapping its last failure). Run returns only once every attempt
// in the tree, at every level, has returned or been abandoned (cancelled and
// listed in ShutdownReport), within the root's shutdown budget plus
// DeliveryMargin, whatever observers and loggers do.
func (t *Tree) Run(ctx context.Context) error {
	t.built("Run")
	if ctx == nil {
		return ErrNilContext // before the tree counts as running
	}
	t.mu.Lock() // Observe adds observers before Run only
	started := t.state.CompareAndSwap(treeIdle, treeRunning)
	t.mu.Unlock()
	if !started {
		if t.state.Load() == treeEnded {
			return ErrTreeEnded
		}
		return ErrAlreadyRunning
	}
	delivering := t.events.delivering
	if delivering {
		go t.events.loop()
	}
	var stopWatchdog func()
	if t.wd != nil {
		stopWatchdog = t.wd.start(t)
	}
	if t.leases != nil {
		t.leases.ctx, t.leases.cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	err := t.root.run(ctx, nil)
	if stopWatchdog != nil {
		stopWatchdog()
	}
	budget := t.root.stopBegan.Add(t.root.budget)
	if t.leases != nil {
		// Released leases let other processes take over at once: Run
		// waits for Release, within the budget, so that the process does
		// not exit first.
		t.leases.finish(budget, budget.Add(DeliveryMargin))
		t.leases.cancel()
	}
	if delivering {
		// Events are delivered before Run returns while the observer keeps
		// up, but not past the budget: the rest are counted as dropped.
		t.events.close(budget.Add(DeliveryMargin))
	}
	t.mu.Lock()
	t.err = err
	t.mu.Unlock()
	t.state.Store(treeEnded)
	close(t.done)
	return err
}

// killsDone waits for an abandonment in progress (see killMu), if any.
func (t *Tree) killsDone() {
	t.killMu.Lock()
	t.killMu.Unlock() //nolint:staticcheck // an empty critical section: a wait for the holder
}

// Snapshot returns the state of every child. It is safe to call at any time,
// concurrently with everything else.
func (t *Tree) Snapshot() Snapshot {
	t.built("Snapshot")
	snap := Snapshot{Tree: t.name, Children: make([]ChildStatus, 0, t.size), LastEvent: t.events.lastSeq()}
	t.root.appendStatus(&snap.Children)
	snap.DroppedEvents = t.events.droppedCount()
	return snap
}

func (sv *supervisor) appendStatus(out *[]ChildStatus) {
	sv.mu.Lock()
	level := make([]ChildStatus, len(sv.slots))
	for i, s := range sv.slots {
		level[i] = s.statusLocked()
	}
	sv.mu.Unlock()
	if sv.pool != nil {
		*out = append(*out, level...) // instances, in no order
		return
	}
	for i, s := range sv.slots {
		*out = append(*out, level[i])
		if s.sub() != nil {
			s.sub().appendStatus(out) // nested children follow their supervisor
		}
	}
}

// walk calls f for every slot below sv, depth first, except pool instances.
func (sv *supervisor) walk(f func(*slot)) {
	if sv.pool != nil {
		return
	}
	for _, s := range sv.slots {
		f(s)
		if s.sub() != nil {
			s.sub().walk(f)
		}
	}
}

// since turns a reading of the clock into nanoseconds since New: slots keep
// times as int64, a third of a time.Time.
func (t *Tree) since(now time.Time) int64 { return int64(now.Sub(t.epoch)) }

// due is the tree clock d after now, at most the largest int64: a delay of
// almost for ever must not wrap into the past, where it would be due at once
// and sort before every other timer.
func (t *Tree) due(now time.Time, d time.Duration) int64 {
	n := t.since(now)
	if d > 0 && n > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return n + int64(d)
}

// Handle returns the handle of the child at path, such as "shop/db", or of
// the live pool instance at path, such as "server/conns/i7"; nil if there
// is none.
func (t *Tree) Handle(path string) *Handle {
	t.built("Handle")
	if s := t.staticSlot(path); s != nil {
		return &Handle{s: s}
	}
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		if p := t.staticSlot(path[:i]); p != nil && p.sub() != nil && p.sub().pool != nil {
			return p.sub().instanceHandle(path[i+1:])
		}
	}
	return nil
}

// staticSlot returns the slot of the declared child at path, or nil.
func (t *Tree) staticSlot(path string) *slot {
	t.pathsOnce.Do(func() {
		t.paths = make(map[string]*slot, t.size)
		t.root.walk(func(s *slot) { t.paths[s.path] = s })
	})
	return t.paths[path]
}

// ShutdownReport lists the attempts the tree abandoned: every one that is
// still running, then the latest ReportHistory of those that have returned
// since, oldest first in each part.
func (t *Tree) ShutdownReport() ShutdownReport {
	t.built("ShutdownReport")
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.report.snapshot()
}

// reportAbandoned lists attempt a as abandoned. It reports false when a
// was listed already.
func (t *Tree) reportAbandoned(a *Attempt, waited time.Duration, now time.Time) bool {
	if !a.setFlag(flagAbandoned) {
		return false
	}
	t.mu.Lock()
	t.report.add(a, waited, now, a.flags.Load()&flagReturned != 0)
	t.mu.Unlock()
	return true
}

// reserveReport makes room in the report for n attempts about to be
// listed.
func (t *Tree) reserveReport(n int) {
	t.mu.Lock()
	t.report.reserve(n)
	t.mu.Unlock()
}

// abandonedReturned records that the abandoned attempt a returned at last.
func (t *Tree) abandonedReturned(a *Attempt) {
	t.mu.Lock()
	t.report.returned(a, time.Now())
	t.mu.Unlock()
}

// emit queues e for the observer and logger, if any. It never blocks. The
// caller sets e.Time when it has just read the clock: time.Now is a good part
// of an event's cost.
func (t *Tree) emit(e *Event) {
	if !t.events.on {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	t.events.push(e, t.epoch)
}

// deliver hands r to the logger and each observer. Each is contained on its
// own: a logger or an observer that panics costs the others nothing.
func (t *Tree) deliver(r *record) {
	e := r.event(t.epoch)
	if l := t.opts.logger; l != nil {
		logEvent(l, &e)
	}
	for _, fn := range t.opts.observers {
		observeEvent(fn, &e)
	}
}

// logEvent logs e as a record of e's time, not of its delivery, which a
// slow observer or logger may hold up: the lines stay in order with the
// program's own.
func logEvent(l *slog.Logger, e *Event) {
	defer func() { recover() }()
	ctx, level := context.Background(), e.level()
	h := l.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	at := e.Time
	if at.IsZero() {
		at = time.Now()
	}
	r := slog.NewRecord(at, level, "arbor: "+e.Kind.String(), 0)
	r.AddAttrs(e.attrs()...)
	h.Handle(ctx, r)
}

func observeEvent(fn func(Event), e *Event) {
	defer func() { recover() }()
	fn(*e)
}

// notStarted is what an error for an order or a Start given before Run
// adds: "supervisor is not running" alone leaves a newcomer to wonder
// which supervisor, and why.
func (t *Tree) notStarted() string {
	if t.state.Load() == treeIdle {
		return " (the tree has not started: Run starts it)"
	}
	return ""
}

// Observe adds an observer, as WithObserver does, to a tree that has not
// started: an adapter given a built tree attaches itself this way. Once Run
// has been called it returns ErrAlreadyRunning (or ErrTreeEnded), and fn
// gets nothing.
func (t *Tree) Observe(fn func(Event)) error {
	t.built("Observe")
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state.Load() {
	case treeRunning:
		return ErrAlreadyRunning
	case treeEnded:
		return ErrTreeEnded
	}
	if fn != nil {
		t.opts.observers = append(t.opts.observers, fn)
		t.events.on, t.events.delivering = true, true
	}
	return nil
}

func (e Event) level() slog.Level {
	switch e.Kind {
	case EventGaveUp:
		return slog.LevelError
	case EventAbandoned:
		return slog.LevelWarn
	case EventExited:
		if e.Exit.Failure() {
			return slog.LevelWarn
		}
	case EventStarting:
		if e.Restarts == 0 {
			return slog.LevelDebug // a restart is worth reading; a first start is not
		}
	case EventFenced, EventWaiting:
		return slog.LevelDebug
	case EventStandby:
		if e.Err != nil {
			return slog.LevelWarn
		}
	case EventLeaseLost:
		return slog.LevelWarn
	case EventLeaseReleased:
		if e.Err != nil {
			return slog.LevelWarn
		}
	}
	return slog.LevelInfo
}

func (e Event) attrs() []slog.Attr {
	attrs := []slog.Attr{slog.String("path", e.Path)}
	if e.Generation != 0 {
		attrs = append(attrs, slog.Uint64("generation", e.Generation), slog.Int("attempt", e.Attempt))
	}
	if e.Exit != ExitNone {
		attrs = append(attrs, slog.String("exit", e.Exit.String()))
	}
	if e.Delay != 0 {
		attrs = append(attrs, slog.Duration("delay", e.Delay))
	}
	if e.Restarts != 0 {
		attrs = append(attrs, slog.Int("restarts", e.Restarts))
	}
	if e.Signal != 0 {
		attrs = append(attrs, slog.String("signal", e.Signal.String()))
	}
	if len(e.Waiting) > 0 {
		attrs = append(attrs, slog.Any("waiting", e.Waiting))
	}
	if e.Token != 0 {
		attrs = append(attrs, slog.Uint64("token", e.Token))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", errText(e.Err)))
	}
	if pe, ok := e.Err.(*PanicError); ok && e.Kind == EventExited && len(pe.Stack) > 0 {
		// Where it panicked: "nil pointer dereference" alone names no
		// line, and the log is where a crash-looping child is seen.
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	return attrs
}
