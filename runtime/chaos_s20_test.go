package runtime_test

// TestChaosLives is a third chaos angle, next to TestChaos (one wide tree of
// three levels for a long time, invariants followed as it runs) and TestSoak
// (many short lifecycles with coarse checks, skipped unless asked for): many
// short lifecycles of deep trees (four to six levels of supervisors, two to
// four children each), run in the suite, and judged after each lifecycle on
// the tree's whole event stream, which a large journal keeps in order
// whatever the observers do. The trees mix what the other two rarely put
// together: nested supervisors whose budget is a few milliseconds under
// parents with long ones (and the reverse), significant children at every
// level whose supervisors end cleanly and whose parents restart them or not
// by their restart type, pools at several levels whose instances start
// siblings and stop their own supervisors, orders on supervisors with
// StopAndWait (whose promise is checked when it returns), handles of
// instances kept across their pool's restarts, readers hammering Snapshot,
// Health, ShutdownReport and the journal, observers and loggers that are
// slow, panic or block, and the root cancelled at a random moment.
//
//	go test -race -run 'TestChaosLives$' -v -timeout 30m ./runtime/ -chaos20.duration=10m
//	go test -race -run 'TestChaosLives$' -v ./runtime/ -chaos20.seed=N -chaos20.life=K   # replay one lifecycle

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var (
	c20Duration = flag.Duration("chaos20.duration", 10*time.Second, "how long TestChaosLives runs (3s with -short)")
	c20Seed     = flag.Uint64("chaos20.seed", 0, "base seed of TestChaosLives (0: from the clock)")
	c20Only     = flag.Int("chaos20.life", -1, "run only this lifecycle of the seed, to replay it")
)

// c20Slack is how late past the root's budget plus DeliveryMargin Run may
// return: scheduling on a loaded 2-core machine under -race.
const c20Slack = 500 * time.Millisecond

func TestChaosLives(t *testing.T) {
	seed := *c20Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	d := *c20Duration
	if testing.Short() && !flagGiven("chaos20.duration") {
		d = 3 * time.Second
	}
	t.Logf("chaos20 seed %d, duration %v", seed, d)
	base := goruntime.NumGoroutine()
	st := new(c20Stats)
	var heap []uint64
	deadline := time.Now().Add(d)
	for i := 0; time.Now().Before(deadline) || i == *c20Only; i++ {
		if *c20Only >= 0 && i != *c20Only {
			if i > *c20Only {
				break
			}
			continue
		}
		l := newC20Life(t, seed, i, st)
		if !l.run(base) {
			t.Logf("replay: go test -race -run 'TestChaosLives$' -v ./runtime/ -chaos20.seed=%d -chaos20.life=%d", seed, i)
		}
		st.lives.Add(1)
		if st.violations.Load() > 30 {
			break
		}
		if i%25 == 0 {
			heap = append(heap, heapAfterGC())
		}
	}
	t.Logf("chaos20: %s", st)
	checkHeapFlat(t, heap)
}

// heapAfterGC is the live heap after a collection.
func heapAfterGC() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// checkHeapFlat fails a long run (four samples or more) whose heap, sampled
// between lifecycles, grew: its last quarter at most twice its first, plus 8 MB.
func checkHeapFlat(t *testing.T, heap []uint64) {
	if len(heap) < 4 {
		return
	}
	q := len(heap) / 4
	first, last := slices.Max(heap[:q+1]), slices.Max(heap[len(heap)-q-1:])
	t.Logf("heap after GC: first quarter at most %d KB, last quarter at most %d KB (%d samples)", first>>10, last>>10, len(heap))
	if last > 2*first+8<<20 {
		t.Errorf("heap grows across lifecycles: %d KB, then %d KB", first>>10, last>>10)
	}
}

type c20Stats struct {
	lives, gaveUp, significant, cancelled, events, attempts, instances atomic.Int64
	abandoned, orders, stopWaits, stopWaitChecked, oldHandles, reads   atomic.Int64
	maxDepth, tinyBudgets, sigEnds, restartsChecked, limitsChecked     atomic.Int64
	violations, unverified, nestedExits, stopWaitSelf                  atomic.Int64
	leaseLives, leaseAcquired, leaseFlaps, leaseRivals, leaseFailures  atomic.Int64
	snapsChecked                                                       atomic.Int64
}

func (s *c20Stats) String() string {
	return fmt.Sprintf("%d lifecycles (%d gave up, %d ended by a significant child, %d cancelled; up to %d levels; %d nested budgets under 10ms), "+
		"%d attempts (%d instances), %d abandoned, %d events checked (%d restart decisions, %d limit checks, %d significant ends, %d nested exits), "+
		"%d orders (%d StopAndWait returned nil and were checked over %d attempts, %d of them by an attempt on itself or its supervisor; %d orders on instance handles kept from Start, often from an earlier run of their pool), "+
		"%d reads (%d snapshots held against the journal), %d lifecycles unverified (journal overflow), %d violations; "+
		"leases in %d lifecycles: %d acquired by the tree, %d lost, %d held by a rival, %d Acquire failures or panics",
		s.lives.Load(), s.gaveUp.Load(), s.significant.Load(), s.cancelled.Load(), s.maxDepth.Load(), s.tinyBudgets.Load(),
		s.attempts.Load(), s.instances.Load(), s.abandoned.Load(), s.events.Load(), s.restartsChecked.Load(), s.limitsChecked.Load(), s.sigEnds.Load(), s.nestedExits.Load(),
		s.orders.Load(), s.stopWaits.Load(), s.stopWaitChecked.Load(), s.stopWaitSelf.Load(), s.oldHandles.Load(),
		s.reads.Load(), s.snapsChecked.Load(), s.unverified.Load(), s.violations.Load(),
		s.leaseLives.Load(), s.leaseAcquired.Load(), s.leaseFlaps.Load(), s.leaseRivals.Load(), s.leaseFailures.Load())
}

// c20Node is a declared child (or the root) as the checks need it.
type c20Node struct {
	path        string
	parent      *c20Node
	kids        []*c20Node
	restart     runtime.Restart
	instances   runtime.Restart // a pool's instances'
	significant bool
	sup, pool   bool                  // a nested supervisor (or the root); a pool
	strategy    runtime.Strategy      // a supervisor's; a pool is one_for_one
	limit       runtime.RestartLimit  // a supervisor's or a pool's
	own         *runtime.RestartLimit // the child's own, in its parent
	budget      time.Duration         // a supervisor's or a pool's
	lease       string                // its lease's name; "" without one
}

// c20Life is one lifecycle.
type c20Life struct {
	t      *testing.T
	seed   uint64
	idx    int
	st     *c20Stats
	spec   runtime.Spec
	tree   *runtime.Tree
	budget time.Duration
	storm  bool
	root   *c20Node
	nodes  map[string]*c20Node // every declared child, and the root
	paths  []string            // declared children, as Snapshot lists them
	pools  []string
	leases *c20Leases    // nil: no child has a lease
	deep   *deepLife     // set in TestChaosDeep, which draws its own trees and runs more chaos
	mean   time.Duration // mean time until an attempt's fault; 0: 30ms
	stalls *stallMeter

	release chan struct{} // frees the attempts leaked on purpose
	stopOps chan struct{}
	ended   atomic.Bool

	mu         sync.Mutex
	recs       []*c20Rec            // every attempt, in the order they began
	live       map[string][]*c20Rec // by path: not returned
	kept       []*runtime.Handle    // instance handles from Start, kept for later
	instOf     map[*runtime.Handle]uint64
	nextInst   uint64
	violations []string

	lastSeq  atomic.Uint64
	trigger  atomic.Bool // cancel at the next nested ShuttingDown the observer sees
	cancel   context.CancelFunc
	cancelAt atomic.Int64 // unix ns
}

type c20Rec struct {
	path     string
	gen      uint64
	a        *runtime.Attempt
	ctx      context.Context
	began    time.Time
	returned atomic.Bool
	inst     uint64 // an instance's Start, numbered: a name may be reused by a later instance
}

func newC20Life(t *testing.T, seed uint64, idx int, st *c20Stats) *c20Life {
	return &c20Life{t: t, seed: seed ^ uint64(idx+1)*0x9e3779b97f4a7c15, idx: idx, st: st,
		nodes: map[string]*c20Node{}, release: make(chan struct{}), stopOps: make(chan struct{}),
		live: map[string][]*c20Rec{}, instOf: map[*runtime.Handle]uint64{}}
}

func (l *c20Life) violate(format string, args ...any) {
	msg := fmt.Sprintf("seed %d life %d: ", l.seed, l.idx) + fmt.Sprintf(format, args...)
	l.mu.Lock()
	n := len(l.violations)
	l.violations = append(l.violations, msg)
	l.mu.Unlock()
	l.st.violations.Add(1)
	if n < 10 {
		l.t.Error(msg)
	}
}

// --- the tree ---

func (l *c20Life) draw(r *rand.Rand) {
	l.budget = time.Duration(100+r.IntN(700)) * time.Millisecond
	l.storm = r.IntN(5) == 0
	l.spec = runtime.Spec{Name: "c20", Shutdown: l.budget}
	l.root = &c20Node{path: "c20", sup: true, budget: l.budget}
	l.nodes["c20"] = l.root
	depth := 4 + r.IntN(3)
	if int64(depth) > l.st.maxDepth.Load() {
		l.st.maxDepth.Store(int64(depth))
	}
	l.drawSup(r, &l.spec, l.root, 1, depth)
}

func (l *c20Life) drawSup(r *rand.Rand, s *runtime.Spec, n *c20Node, level, depth int) {
	s.Strategy = pick(r, runtime.OneForOne, runtime.OneForOne, runtime.OneForAll, runtime.RestForOne)
	s.RestartLimit = &runtime.RestartLimit{Max: r.IntN(7), Window: time.Duration(20+r.IntN(2000)) * time.Millisecond}
	s.Backoff = c20Backoff(r)
	n.strategy, n.limit = s.Strategy, *s.RestartLimit
	if level > 1 {
		switch x := r.IntN(10); {
		case x < 3: // a few milliseconds: it abandons what does not stop at once
			s.Shutdown = time.Duration(1+r.IntN(9)) * time.Millisecond
			l.st.tinyBudgets.Add(1)
		case x < 8:
			s.Shutdown = time.Duration(20+r.IntN(200)) * time.Millisecond
		default: // more than the root's, sometimes
			s.Shutdown = time.Duration(300+r.IntN(1700)) * time.Millisecond
		}
		n.budget = s.Shutdown
	}
	count := 2 + r.IntN(3)
	nested := -1
	if level < depth {
		nested = r.IntN(count) // one chain reaches the full depth
	}
	for i := range count {
		var c runtime.Child
		k := &c20Node{parent: n}
		switch x := r.IntN(100); {
		case i == nested || level < depth && x < 20:
			c.Name = fmt.Sprintf("s%d", i)
			c.Supervisor = &runtime.Spec{}
			c.Restart = pick(r, runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary)
			k.sup = true
		case x < 40:
			c.Name = fmt.Sprintf("p%d", i)
			c.Pool = &runtime.PoolSpec{Max: r.IntN(6)}
			l.drawWorker(r, &c)
			c.RestartLimit = &runtime.RestartLimit{Max: r.IntN(6), Window: time.Duration(20+r.IntN(1000)) * time.Millisecond}
			k.pool, k.strategy, k.limit, k.instances = true, runtime.OneForOne, *c.RestartLimit, c.Restart
			k.budget = c.Shutdown // a pool stops its instances at once, each within its grace
		default:
			c.Name = fmt.Sprintf("w%d", i)
			c.Run = l.runFunc(0)
			l.drawWorker(r, &c)
		}
		k.path = n.path + "/" + c.Name
		if c.Pool == nil && c.Restart != runtime.Permanent && r.IntN(5) < 2 {
			c.Significant = true
		}
		if c.Pool == nil && r.IntN(6) == 0 {
			c.RestartLimit = &runtime.RestartLimit{Max: r.IntN(4), Window: time.Duration(20+r.IntN(1000)) * time.Millisecond}
			k.own = c.RestartLimit
		}
		if c.Supervisor != nil && r.IntN(3) == 0 {
			c.Backoff = c20Backoff(r)
		}
		if i > 0 && r.IntN(3) == 0 {
			c.After = []string{s.Children[r.IntN(i)].Name}
		}
		l.drawLease(&c, k)
		k.restart, k.significant = c.Restart, c.Significant
		if k.restart == "" || c.Pool != nil {
			k.restart = runtime.Permanent // a pool is restarted as a permanent child; Restart is its instances'
		}
		n.kids = append(n.kids, k)
		l.nodes[k.path] = k
		l.paths = append(l.paths, k.path) // before its children, as Snapshot lists them
		if c.Pool != nil {
			l.pools = append(l.pools, k.path)
		}
		if c.Supervisor != nil {
			l.drawSup(r, c.Supervisor, k, level+1, depth)
		}
		s.Children = append(s.Children, c)
	}
}

func (l *c20Life) drawWorker(r *rand.Rand, c *runtime.Child) {
	c.Restart = pick(r, runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary)
	c.Shutdown = time.Duration(5+r.IntN(150)) * time.Millisecond
	if r.IntN(5) == 0 {
		c.Timeout = time.Duration(30+r.IntN(300)) * time.Millisecond
	}
	if r.IntN(3) == 0 {
		c.Ready = &runtime.Ready{}
		if r.IntN(3) > 0 {
			c.Ready.Timeout = time.Duration(20+r.IntN(150)) * time.Millisecond
		}
	}
	if r.IntN(6) == 0 {
		c.Heartbeat = &runtime.Heartbeat{Timeout: time.Duration(20+r.IntN(60)) * time.Millisecond}
	}
	if r.IntN(3) == 0 {
		c.Backoff = c20Backoff(r)
	}
}

func c20Backoff(r *rand.Rand) *runtime.Backoff {
	init := time.Duration(r.IntN(10)) * time.Millisecond
	return &runtime.Backoff{Initial: init, Max: init + time.Duration(r.IntN(30))*time.Millisecond,
		Multiplier: 2, Jitter: r.Float64(), ResetAfter: time.Duration(r.IntN(500)) * time.Millisecond}
}

// node returns the declared node of path, or for a pool instance its pool's.
func (l *c20Life) node(path string) (n *c20Node, instance bool) {
	if n := l.nodes[path]; n != nil {
		return n, false
	}
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		if p := l.nodes[path[:i]]; p != nil && p.pool {
			return p, true
		}
	}
	return nil, false
}

// --- run functions ---

func (l *c20Life) rand(path string, gen uint64, extra uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(path))
	return rand.New(rand.NewPCG(l.seed^h.Sum64(), gen^extra<<32))
}

func (l *c20Life) runFunc(inst uint64) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		rec := l.begin(ctx, a, inst)
		defer l.end(rec)
		if l.deep != nil {
			return l.deep.play(ctx, a, rec, l.rand(a.Path(), a.Generation(), 0))
		}
		return l.play(ctx, a, rec, l.rand(a.Path(), a.Generation(), 0))
	}
}

func (l *c20Life) begin(ctx context.Context, a *runtime.Attempt, inst uint64) *c20Rec {
	l.st.attempts.Add(1)
	rec := &c20Rec{path: a.Path(), gen: a.Generation(), a: a, ctx: ctx, began: time.Now(), inst: inst}
	l.mu.Lock()
	older := slices.Clone(l.live[rec.path])
	l.live[rec.path] = append(l.live[rec.path], rec)
	l.recs = append(l.recs, rec)
	l.mu.Unlock()
	l.checkLeaseBegin(rec)
	if len(older) > 0 {
		report := l.tree.ShutdownReport()
		for _, o := range older {
			old, new := o, rec
			if o.gen > rec.gen && o.inst == rec.inst { // of one instance, if instances: a new one counts from 1
				old, new = rec, o // its goroutine began after its successor's
			}
			if !old.returned.Load() && !inReport(report, old.path, old.gen) {
				l.violate("one attempt per slot: %s generation %d runs with generation %d, which the report does not list as abandoned", rec.path, new.gen, old.gen)
			}
		}
	}
	return rec
}

func (l *c20Life) end(rec *c20Rec) {
	rec.returned.Store(true)
	l.mu.Lock()
	list := l.live[rec.path]
	if i := slices.Index(list, rec); i >= 0 {
		l.live[rec.path] = slices.Delete(list, i, i+1)
		if len(l.live[rec.path]) == 0 {
			delete(l.live, rec.path)
		}
	}
	l.mu.Unlock()
}

type c20Plan uint8

const (
	c20Good c20Plan = iota
	c20Error
	c20Panic
	c20Nil
	c20DoNotRestart
	c20Hostile
	c20Spawner  // starts and stops instances, of its own pool when it is one
	c20Orderer  // orders on random paths and kept handles
	c20SelfStop // StopAndWait on itself or one of its supervisors
)

// play runs one attempt's plan.
func (l *c20Life) play(ctx context.Context, a *runtime.Attempt, rec *c20Rec, r *rand.Rand) error {
	var plan c20Plan
	x := r.IntN(100)
	if l.storm && r.IntN(4) > 0 {
		x = 25 + r.IntN(40)
	}
	switch {
	case x < 25:
		plan = c20Good
	case x < 40:
		plan = c20Error
	case x < 47:
		plan = c20Panic
	case x < 57:
		plan = c20Nil
	case x < 60:
		plan = c20DoNotRestart
	case x < 65:
		plan = c20Hostile
	case x < 77:
		plan = c20Spawner
	case x < 90:
		plan = c20Orderer
	default:
		plan = c20SelfStop
	}
	mean := 30 * time.Millisecond
	if l.mean > 0 {
		mean = l.mean
	}
	if l.storm {
		mean = 5 * time.Millisecond
	}
	at := time.Duration(r.ExpFloat64() * float64(mean))
	if plan >= c20Spawner {
		at *= 4
	}
	readyIn := time.Duration(r.IntN(20)) * time.Millisecond
	if r.IntN(10) == 0 {
		readyIn = -1
	}
	var linger time.Duration
	leak := false
	switch x := r.IntN(100); {
	case x < 70:
	case x < 85:
		linger = time.Duration(r.IntN(20)) * time.Millisecond
	case x < 98:
		linger = time.Duration(50+r.IntN(400)) * time.Millisecond
	default:
		leak = true
	}
	defer func() {
		if ctx.Err() == nil {
			return
		}
		switch {
		case leak:
			<-l.release
		case linger > 0:
			time.Sleep(linger)
		}
	}()
	t0 := time.Now()
	deadline := t0.Add(at)
	tick := time.NewTicker(4 * time.Millisecond)
	defer tick.Stop()
	ready := false
	for {
		if !ready && readyIn >= 0 && time.Since(t0) >= readyIn {
			a.Ready()
			ready = true
		}
		a.Beat()
		if plan != c20Good && !time.Now().Before(deadline) {
			break
		}
		switch plan {
		case c20Spawner:
			if r.IntN(3) == 0 {
				l.spawn(ctx, r, a.Path())
			}
		case c20Orderer:
			if r.IntN(4) == 0 {
				l.order(ctx, r, a.Path())
			}
		}
		select {
		case <-ctx.Done():
			return pick(r, ctx.Err(), nil, errBoom)
		case <-tick.C:
		}
	}
	switch plan {
	case c20Error, c20Spawner, c20Orderer:
		return fmt.Errorf("%s: %w", a.Path(), errBoom)
	case c20Panic:
		panic(pick[any](r, "boom", errBoom, soakPanicError{}))
	case c20Nil:
		return nil
	case c20DoNotRestart:
		return fmt.Errorf("done: %w", runtime.ErrDoNotRestart)
	case c20Hostile:
		return pick(r, typedNil(), error(soakPanicError{}), error(soakPanicIs{}))
	case c20SelfStop:
		// Itself or a supervisor above it, with its own context (which
		// the stop cancels) or with none: then StopAndWait returns once
		// it has itself been abandoned, or its supervisor's run ended.
		path := a.Path()
		for strings.Count(path, "/") > 1 && r.IntN(2) == 0 {
			path = path[:strings.LastIndexByte(path, '/')]
		}
		wctx := ctx
		if r.IntN(3) == 0 {
			wctx = context.Background()
		}
		if h := l.tree.Handle(path); h != nil {
			l.stopAndWait(wctx, h, a.Path())
		}
		return ctx.Err()
	}
	return nil
}

// spawn starts instances and stops them, from a run function: an instance
// spawns into its own pool.
func (l *c20Life) spawn(ctx context.Context, r *rand.Rand, self string) {
	pool := ""
	n, inst := l.node(self)
	if inst && (l.deep == nil || r.IntN(2) == 0) { // TestChaosDeep's spawn into other pools too
		pool = n.path
	} else if len(l.pools) > 0 {
		pool = pick(r, l.pools...)
		if inst && pool != n.path {
			l.deep.st.crossSpawns.Add(1)
		}
	}
	if pool == "" {
		return
	}
	switch r.IntN(4) {
	case 0, 1:
		name := ""
		if r.IntN(2) == 0 {
			name = pick(r, "a", "b", "c")
		}
		l.startInstance(pool, name)
	case 2:
		h := l.tree.Handle(pool + "/" + pick(r, "a", "b", "c"))
		if h != nil {
			l.checkOrder("stop "+h.Path(), h.Stop())
		}
	default:
		if h := l.tree.Handle(pool + "/" + pick(r, "a", "b", "c")); h != nil {
			wctx, cancel := context.WithTimeout(ctx, time.Duration(r.IntN(100))*time.Millisecond)
			l.stopAndWait(wctx, h, self)
			cancel()
		}
	}
}

func (l *c20Life) startInstance(pool, name string) {
	p := l.tree.Pool(pool)
	endedBefore := l.ended.Load()
	l.mu.Lock()
	l.nextInst++
	id := l.nextInst
	l.mu.Unlock()
	run := l.runFunc(id)
	h, err := p.Start(name, func(ctx context.Context, a *runtime.Attempt) error {
		l.st.instances.Add(1)
		return run(ctx, a)
	})
	switch {
	case err == nil:
		if endedBefore {
			l.violate("Start on %s accepted after Run returned", pool)
		}
		l.mu.Lock()
		l.instOf[h] = id
		if len(l.kept) < 64 {
			l.kept = append(l.kept, h)
		} else {
			l.kept[rand.IntN(len(l.kept))] = h
		}
		l.mu.Unlock()
	case errors.Is(err, runtime.ErrPoolFull), errors.Is(err, runtime.ErrNameTaken),
		errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrTreeEnded):
	default:
		l.violate("Start(%q) on %s: %v", name, pool, err)
	}
}

// order gives an order on a random path, a nested supervisor or pool as
// often as a worker, or on an instance handle kept from an earlier Start,
// which may be from an earlier run of its pool.
func (l *c20Life) order(ctx context.Context, r *rand.Rand, who string) {
	var h *runtime.Handle
	l.mu.Lock()
	if len(l.kept) > 0 && r.IntN(3) == 0 {
		h = l.kept[r.IntN(len(l.kept))]
	}
	l.mu.Unlock()
	if h == nil {
		path := pick(r, l.paths...)
		if r.IntN(2) == 0 { // a supervisor
			for n := l.nodes[path]; n != nil && !n.sup && !n.pool && n.parent != l.root; n = n.parent {
				path = n.parent.path
			}
		}
		h = l.tree.Handle(path)
	} else {
		l.st.oldHandles.Add(1)
	}
	l.orderOn(ctx, r, h, who)
}

// orderOn gives a random order on h: Restart, Stop or StopAndWait.
func (l *c20Life) orderOn(ctx context.Context, r *rand.Rand, h *runtime.Handle, who string) {
	switch x := r.IntN(10); {
	case x < 4:
		l.checkOrder("restart "+h.Path(), h.Order(runtime.OrderRestart, who))
	case x < 7:
		l.checkOrder("stop "+h.Path(), h.Stop())
	default:
		wctx, cancel := context.WithTimeout(ctx, time.Duration(r.IntN(400))*time.Millisecond)
		l.stopAndWait(wctx, h, who)
		cancel()
	}
}

func (l *c20Life) checkOrder(what string, err error) {
	l.st.orders.Add(1)
	switch {
	case err == nil, errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrTreeEnded), errors.Is(err, runtime.ErrRemoved):
	default:
		l.violate("%s: unexpected error %v", what, err)
	}
}

// operate gives orders and starts instances from outside until told to stop.
func (l *c20Life) operate(k uint64) {
	r := rand.New(rand.NewPCG(l.seed, 1000+k))
	for {
		select {
		case <-l.stopOps:
			return
		default:
		}
		if len(l.pools) > 0 && r.IntN(3) == 0 {
			l.startInstance(pick(r, l.pools...), pick(r, "", "", "a", "b"))
		} else {
			l.order(context.Background(), r, fmt.Sprintf("operator %d", k))
		}
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
	}
}

// --- the lifecycle ---

func (l *c20Life) run(base int) bool {
	r := rand.New(rand.NewPCG(l.seed, 7))
	if l.deep != nil {
		if lr := rand.New(rand.NewPCG(l.seed, 9)); lr.IntN(4) == 0 {
			l.leases = newC20Leases(lr)
		}
		l.deep.draw(r)
	} else {
		if lr := rand.New(rand.NewPCG(l.seed, 9)); lr.IntN(3) == 0 { // its own stream: a seed draws the same tree with leases or without
			l.leases = newC20Leases(lr)
		}
		l.draw(r)
	}
	opts := []runtime.Option{runtime.WithObserver(l.observe), runtime.WithJournal(c20Journal)}
	if l.leases != nil && len(l.leases.names) > 0 {
		opts = append(opts, runtime.WithLeaser(l.leases))
	}
	if r.IntN(3) == 0 {
		slow := rand.New(rand.NewPCG(l.seed, 8)) // the observers' goroutine's only
		opts = append(opts, runtime.WithObserver(func(e runtime.Event) {
			switch x := slow.IntN(1000); {
			case x < 20:
				time.Sleep(time.Duration(slow.IntN(20)) * time.Millisecond)
			case x == 20:
				select { // blocks, past the budget sometimes
				case <-l.release:
				case <-time.After(time.Duration(slow.IntN(1500)) * time.Millisecond):
				}
			case x == 21:
				panic("observer panics")
			}
		}), runtime.WithEventBuffer(64+slow.IntN(512)))
	}
	if r.IntN(4) == 0 {
		opts = append(opts, runtime.WithLogger(slog.New(soakHandler{slog.NewTextHandler(io.Discard, nil)})))
	}
	tree, err := runtime.New(l.spec, opts...)
	if err != nil {
		l.violate("New: %v", err)
		return false
	}
	l.tree = tree
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.cancel = cancel
	var stoppingAt atomic.Int64
	var side sync.WaitGroup
	side.Go(func() {
		<-tree.Stopping()
		stoppingAt.Store(time.Now().UnixNano())
	})
	cancelAfter := time.Duration(-1)
	switch x := r.IntN(100); {
	case l.deep != nil:
		cancelAfter = l.deep.cancelAfter(r)
	case x < 4:
		l.doCancel() // before Run
	case x < 20:
		cancelAfter = time.Duration(r.IntN(5000)) * time.Microsecond // while it starts
	case x < 45:
		cancelAfter = time.Duration(5+r.IntN(300)) * time.Millisecond
	case x < 60:
		l.trigger.Store(true) // as a nested supervisor begins to stop
		cancelAfter = 1500 * time.Millisecond
	default:
		cancelAfter = time.Duration(300+r.IntN(1200)) * time.Millisecond
	}
	var ops sync.WaitGroup
	operators := uint64(1 + r.IntN(2))
	if l.deep != nil {
		operators = 0 // its own, at its own pace
	}
	for k := range operators {
		ops.Go(func() { l.operate(k) })
	}
	readers := &c20Readers{l: l}
	for range 2 {
		ops.Go(readers.read)
	}
	if l.deep != nil {
		l.deep.start(&ops)
	}
	if l.leases != nil && len(l.leases.names) > 0 {
		ops.Go(l.flap)
	}
	l.stalls = startStallMeter()
	defer l.stalls.end()
	runAt := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- tree.Run(ctx) }()
	if cancelAfter >= 0 {
		tm := time.AfterFunc(cancelAfter, l.doCancel)
		defer tm.Stop()
	}
	var rerr error
	select {
	case rerr = <-runErr:
	case <-time.After(cancelAfter + 3*l.budget + 10*time.Second):
		l.violate("Run has not returned %v after it began", time.Since(runAt))
		dumpGoroutines(l.t)
		l.t.FailNow()
	}
	l.ended.Store(true)
	doneAt := time.Now()
	side.Wait()
	from := l.afterRun(rerr, runAt, doneAt, stoppingAt.Load())
	l.checkLeasesReleased(from, doneAt)

	close(l.stopOps)
	waited := make(chan struct{})
	go func() { ops.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(3*l.budget + 5*time.Second):
		l.violate("an operator or reader is still blocked %v after Run returned", time.Since(doneAt))
		dumpGoroutines(l.t)
		l.t.FailNow()
	}
	close(l.release)
	l.awaitAll(doneAt)
	l.stalls.end()
	l.checkJournal(rerr)
	if evs, missed := l.tree.Journal(0); missed == 0 {
		readers.checkSnaps(evs)
	}
	readers.finish(rerr)
	l.checkGoroutines(base)
	// Every attempt's goroutine has ended: the report says each returned.
	for _, a := range l.tree.ShutdownReport().Abandoned {
		if a.Returned.IsZero() {
			l.violate("ShutdownReport lists %s generation %d as still running once every goroutine of the tree has ended", a.Path, a.Generation)
		}
	}
	return len(l.violations) == 0
}

// c20Journal keeps every event of a lifecycle: the checks read the whole
// stream from it, in order, whatever the observers did.
const c20Journal = 1 << 17

func (l *c20Life) doCancel() {
	l.cancelAt.CompareAndSwap(0, time.Now().UnixNano())
	l.cancel()
}

func (l *c20Life) observe(e runtime.Event) {
	if prev := l.lastSeq.Swap(e.Seq); e.Seq <= prev {
		l.violate("event %d delivered after %d", e.Seq, prev)
	}
	if e.Kind == runtime.EventShuttingDown && e.Path != l.root.path && l.trigger.CompareAndSwap(true, false) {
		l.doCancel()
	}
}

// afterRun checks the shutdown guarantee and Run's budget the moment Run
// has returned. It returns when the shutdown began, at the latest.
func (l *c20Life) afterRun(rerr error, runAt, doneAt time.Time, stoppingAt int64) (from time.Time) {
	report := l.tree.ShutdownReport()
	l.mu.Lock()
	var live []*c20Rec
	for _, list := range l.live {
		live = append(live, list...)
	}
	l.mu.Unlock()
	for _, rec := range live {
		switch {
		case rec.returned.Load():
		case rec.ctx.Err() == nil:
			l.violate("shutdown guarantee: %s generation %d runs with a live context when Run returned (%v)", rec.path, rec.gen, rerr)
		case !inReport(report, rec.path, rec.gen):
			l.violate("shutdown guarantee: %s generation %d runs when Run returned, and the report does not list it (%v)", rec.path, rec.gen, rerr)
		case rec.a.Current():
			l.violate("shutdown guarantee: %s generation %d is still current when Run returned", rec.path, rec.gen)
		}
	}
	from = doneAt
	if c := l.cancelAt.Load(); c != 0 {
		from = time.Unix(0, c)
	}
	if stoppingAt != 0 && time.Unix(0, stoppingAt).Before(from) {
		from = time.Unix(0, stoppingAt)
	}
	if from.Before(runAt) {
		from = runAt
	}
	if over := doneAt.Sub(from) - l.budget - runtime.DeliveryMargin - l.stalls.within(from, doneAt); over > c20Slack {
		l.violate("Run returned %v after its shutdown began; the root's budget is %v", doneAt.Sub(from).Round(time.Millisecond), l.budget)
	}
	var gu *runtime.GiveUpError
	switch {
	case rerr == nil && l.cancelAt.Load() != 0:
		l.st.cancelled.Add(1)
	case rerr == nil:
		l.st.significant.Add(1)
	case errors.As(rerr, &gu):
		l.st.gaveUp.Add(1)
		if gu.Supervisor != l.root.path {
			l.violate("Run returned %v: the root's give-up should name the root", rerr)
		}
	default:
		l.violate("Run returned %v, want nil or a *GiveUpError", rerr)
	}
	for _, c := range l.tree.Snapshot().Children {
		switch {
		case c.Instance:
			l.violate("instance %s (%v) still listed after Run returned", c.Path, c.State)
		case c.State != runtime.StateStopped && c.State != runtime.StateDone && c.State != runtime.StateIdle:
			l.violate("%s shows %v after Run returned", c.Path, c.State)
		}
	}
	return from
}

// awaitAll waits for every attempt to return once the leaked ones are
// released.
func (l *c20Life) awaitAll(doneAt time.Time) {
	end := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		n := len(l.live)
		var stuck []string
		if n > 0 && time.Now().After(end) {
			for p, list := range l.live {
				for _, rec := range list {
					stuck = append(stuck, fmt.Sprintf("%s generation %d", p, rec.gen))
				}
			}
		}
		l.mu.Unlock()
		if n == 0 {
			return
		}
		if stuck != nil {
			l.violate("never returned, %v after Run and their release: %s", time.Since(doneAt), strings.Join(stuck, ", "))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *c20Life) checkGoroutines(base int) {
	end := time.Now().Add(3 * time.Second)
	for goruntime.NumGoroutine() > base {
		if time.Now().After(end) {
			l.violate("%d goroutines after the lifecycle, %d before the test", goruntime.NumGoroutine(), base)
			dumpGoroutines(l.t)
			l.t.FailNow()
		}
		time.Sleep(5 * time.Millisecond)
	}
}
