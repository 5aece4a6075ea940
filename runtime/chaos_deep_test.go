package runtime_test

// TestChaosDeep is TestChaosLives's lifecycle (chaos_s20_test.go: its run
// functions, operators, readers and checks of the whole event stream) on
// deeper trees that live longer, with what it leaves out: five to seven
// levels of supervisors mixing every strategy at every level, a nested
// supervisor whose children are all pools, pools at every level whose
// instances start instances of other pools, after edges with several
// siblings at every level, run functions that call runtime.Goexit (at once,
// or once cancelled and past their grace) or hang without beating or being
// ready, an operator that picks a level
// first (so the deepest levels get as many orders as the root's children)
// and orders supervisors, pools, workers and instances there, and a reader
// that holds Health against the snapshot it was read from, and each pool's
// Counts against the snapshot and Len. Lives last up to a few seconds, long
// enough for restart windows to slide and backoffs to reset, and end by a
// cancellation of the whole tree at a random moment (also before Run, and
// as a nested supervisor begins to stop), a significant child, or the
// root giving up. In one lifecycle of four, children at any level hold
// leases, as in TestChaosLives.
//
//	go test -race -run 'TestChaosDeep$' -v -timeout 30m ./runtime/ -deep.duration=5m
//	go test -race -run 'TestChaosDeep$' -v ./runtime/ -deep.seed=N -deep.life=K   # replay one lifecycle

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"math"
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
	deepDuration = flag.Duration("deep.duration", 8*time.Second, "how long TestChaosDeep runs (3s with -short)")
	deepSeed     = flag.Uint64("deep.seed", 0, "base seed of TestChaosDeep (0: from the clock)")
	deepOnly     = flag.Int("deep.life", -1, "run only this lifecycle of the seed, to replay it")
)

func TestChaosDeep(t *testing.T) {
	seed := *deepSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	d := *deepDuration
	if testing.Short() && !flagGiven("deep.duration") {
		d = 3 * time.Second
	}
	t.Logf("deep seed %d, duration %v", seed, d)
	base := goruntime.NumGoroutine()
	st, ds := new(c20Stats), new(deepStats)
	var heap []uint64
	deadline := time.Now().Add(d)
	for i := 0; time.Now().Before(deadline) || i == *deepOnly; i++ {
		if *deepOnly >= 0 && i != *deepOnly {
			if i > *deepOnly {
				break
			}
			continue
		}
		l := newC20Life(t, seed, i, st)
		l.deep = &deepLife{l: l, st: ds, prev: map[string]runtime.ChildStatus{}}
		if !l.run(base) {
			t.Logf("replay: go test -race -run 'TestChaosDeep$' -v ./runtime/ -deep.seed=%d -deep.life=%d", seed, i)
		}
		st.lives.Add(1)
		ds.note(l.deep)
		if st.violations.Load() > 30 {
			break
		}
		if i%5 == 0 {
			heap = append(heap, heapAfterGC())
		}
	}
	t.Logf("deep: %s", ds)
	t.Logf("deep: %s", st)
	checkHeapFlat(t, heap)
}

type deepStats struct {
	depths                               [8]atomic.Int64 // lifecycles by depth
	strategies                           [3]atomic.Int64 // supervisors by strategy
	pools, poolSups, afters, significant atomic.Int64
	goexits, goexitsLate, crossSpawns    atomic.Int64
	hangs                                atomic.Int64
	levelOrders                          [9]atomic.Int64 // the per-level operator's orders, by level
	instOrders, starts                   atomic.Int64
	healthChecked, countsChecked         atomic.Int64
	standbyWaits                         atomic.Int64 // waiting children seen well in Health: what they wait for stands by
	currentChecked                       atomic.Int64
	maxGoroutines                        atomic.Int64
	longest                              atomic.Int64 // the longest lifecycle drawn, in ms
}

func (s *deepStats) note(d *deepLife) {
	s.depths[d.depth].Add(1)
	s.longest.Store(max(s.longest.Load(), d.life.Milliseconds()))
}

func (s *deepStats) String() string {
	var depths, orders []string
	for i := range s.depths {
		if n := s.depths[i].Load(); n > 0 {
			depths = append(depths, fmt.Sprintf("%d levels: %d", i, n))
		}
		if n := s.levelOrders[i].Load(); n > 0 {
			orders = append(orders, fmt.Sprintf("level %d: %d", i, n))
		}
	}
	return fmt.Sprintf("lifecycles by depth (%s), up to %v long; supervisors one_for_one %d, one_for_all %d, rest_for_one %d; "+
		"%d pools (%d supervisors of pools only), %d after edges, %d significant children; "+
		"%d Goexits (%d once cancelled), %d hangs, %d instances started into another pool by an instance; "+
		"orders by level (%s), %d on instances, %d Pool.Start by the operator; "+
		"%d Health reads held against their snapshot (%d waiting children well, behind a standby), %d Counts held against Len and a snapshot, %d slots with several live attempts checked for one current; at most %d goroutines",
		strings.Join(depths, ", "), time.Duration(s.longest.Load())*time.Millisecond,
		s.strategies[0].Load(), s.strategies[1].Load(), s.strategies[2].Load(),
		s.pools.Load(), s.poolSups.Load(), s.afters.Load(), s.significant.Load(),
		s.goexits.Load(), s.goexitsLate.Load(), s.hangs.Load(), s.crossSpawns.Load(),
		strings.Join(orders, ", "), s.instOrders.Load(), s.starts.Load(),
		s.healthChecked.Load(), s.standbyWaits.Load(), s.countsChecked.Load(), s.currentChecked.Load(), s.maxGoroutines.Load())
}

// deepLife is what TestChaosDeep adds to a lifecycle.
type deepLife struct {
	l      *c20Life
	st     *deepStats
	depth  int
	life   time.Duration  // how long the tree runs before it is cancelled, at most
	levels [][]string     // declared children by level (0: the root's)
	pools  [][]string     // pools by level
	max    map[string]int // each pool's Max

	prev map[string]runtime.ChildStatus // the consistency reader's previous snapshot, by path
	last uint64                         // its previous snapshot's LastEvent
}

// --- the tree ---

func (d *deepLife) draw(r *rand.Rand) {
	l := d.l
	d.depth = 5 + r.IntN(3)
	if int64(d.depth) > l.st.maxDepth.Load() {
		l.st.maxDepth.Store(int64(d.depth))
	}
	d.life = time.Duration(500+r.IntN(5500)) * time.Millisecond
	l.budget = time.Duration(200+r.IntN(1300)) * time.Millisecond
	l.storm = r.IntN(8) == 0
	// Faults come less often in long lives, so that the journal keeps
	// every event and the tree lives long enough to repair itself.
	l.mean = pick(r, 15*time.Millisecond, 40*time.Millisecond, 120*time.Millisecond, 400*time.Millisecond)
	if d.life > 3*time.Second && l.mean < 40*time.Millisecond {
		l.mean = 40 * time.Millisecond
	}
	l.spec = runtime.Spec{Name: "deep", Shutdown: l.budget}
	l.root = &c20Node{path: "deep", sup: true, budget: l.budget}
	l.nodes[l.root.path] = l.root
	d.max = map[string]int{}
	d.levels = make([][]string, d.depth)
	d.pools = make([][]string, d.depth)
	poolSupAt := 1 + r.IntN(d.depth-1) // the chain's level that holds the supervisor of pools
	d.drawSup(r, &l.spec, l.root, 1, true, false, poolSupAt)
	if r.IntN(3) > 0 { // the root outlives most lives
		l.spec.RestartLimit.Max, l.spec.RestartLimit.Window = math.MaxInt32, time.Second
		l.root.limit = *l.spec.RestartLimit
	}
}

// drawSup draws the children of the supervisor n at level (the root is at
// level 1). One chain of nested supervisors reaches the full depth; the
// chain's supervisor at level poolSupAt has a nested supervisor of pools
// only among its children.
func (d *deepLife) drawSup(r *rand.Rand, s *runtime.Spec, n *c20Node, level int, chain, poolsOnly bool, poolSupAt int) {
	l := d.l
	s.Strategy = pick(r, runtime.OneForOne, runtime.OneForAll, runtime.RestForOne)
	d.st.strategies[slices.Index([]runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne}, s.Strategy)].Add(1)
	s.RestartLimit = &runtime.RestartLimit{Max: r.IntN(10), Window: time.Duration(20+r.IntN(2000)) * time.Millisecond}
	s.Backoff = c20Backoff(r)
	n.strategy, n.limit = s.Strategy, *s.RestartLimit
	if level > 1 {
		switch x := r.IntN(10); {
		case x < 2:
			s.Shutdown = time.Duration(1+r.IntN(9)) * time.Millisecond
			l.st.tinyBudgets.Add(1)
		case x < 8:
			s.Shutdown = time.Duration(20+r.IntN(300)) * time.Millisecond
		default:
			s.Shutdown = time.Duration(300+r.IntN(1700)) * time.Millisecond
		}
		n.budget = s.Shutdown
	}
	count := 2 + r.IntN(3)
	next, poolSup := -1, -1
	if chain && level < d.depth {
		next = r.IntN(count)
		if level == poolSupAt {
			poolSup = (next + 1 + r.IntN(count-1)) % count
		}
	}
	for i := range count {
		var c runtime.Child
		k := &c20Node{parent: n}
		x := r.IntN(100)
		switch {
		case poolsOnly:
			x = 30
		case i == next || i == poolSup:
			x = 0
		case level >= d.depth && x < 15:
			x = 50 // no supervisor below the deepest level
		}
		switch {
		case x < 15:
			c.Name = fmt.Sprintf("s%d", i)
			c.Supervisor = &runtime.Spec{}
			c.Restart = pick(r, runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary)
			k.sup = true
		case x < 40:
			c.Name = fmt.Sprintf("p%d", i)
			c.Pool = &runtime.PoolSpec{Max: r.IntN(6)}
			l.drawWorker(r, &c)
			c.RestartLimit = &runtime.RestartLimit{Max: r.IntN(8), Window: time.Duration(20+r.IntN(1000)) * time.Millisecond}
			k.pool, k.strategy, k.limit, k.instances = true, runtime.OneForOne, *c.RestartLimit, c.Restart
			k.budget = c.Shutdown
			d.max[k.path] = c.Pool.Max
			d.st.pools.Add(1)
		default:
			c.Name = fmt.Sprintf("w%d", i)
			c.Run = l.runFunc(0)
			l.drawWorker(r, &c)
		}
		k.path = n.path + "/" + c.Name
		// Rarely at the root, whose significant child ends the life.
		if c.Pool == nil && c.Restart != runtime.Permanent && r.IntN(5) < 2 && (level > 1 || r.IntN(4) == 0) {
			c.Significant = true
			d.st.significant.Add(1)
		}
		if c.Pool == nil && r.IntN(6) == 0 {
			c.RestartLimit = &runtime.RestartLimit{Max: r.IntN(4), Window: time.Duration(20+r.IntN(1000)) * time.Millisecond}
			k.own = c.RestartLimit
		}
		if c.Supervisor != nil && r.IntN(3) == 0 {
			c.Backoff = c20Backoff(r)
		}
		if i > 0 && r.IntN(5) < 2 { // one or two siblings declared before it: no cycle
			for range 1 + r.IntN(2) {
				if dep := s.Children[r.IntN(i)].Name; !slices.Contains(c.After, dep) {
					c.After = append(c.After, dep)
					d.st.afters.Add(1)
				}
			}
		}
		l.drawLease(&c, k)
		k.restart, k.significant = c.Restart, c.Significant
		if k.restart == "" || c.Pool != nil {
			k.restart = runtime.Permanent
		}
		n.kids = append(n.kids, k)
		l.nodes[k.path] = k
		l.paths = append(l.paths, k.path)
		d.levels[level-1] = append(d.levels[level-1], k.path)
		if c.Pool != nil {
			l.pools = append(l.pools, k.path)
			d.pools[level-1] = append(d.pools[level-1], k.path)
		}
		if c.Supervisor != nil {
			if i == poolSup {
				d.st.poolSups.Add(1)
			}
			d.drawSup(r, c.Supervisor, k, level+1, i == next, i == poolSup, poolSupAt)
		}
		s.Children = append(s.Children, c)
	}
}

// cancelAfter says when the whole tree is cancelled: before Run, as a
// nested supervisor begins to stop, or at a random moment of its life.
func (d *deepLife) cancelAfter(r *rand.Rand) time.Duration {
	switch x := r.IntN(100); {
	case x < 3:
		d.l.doCancel()
		return -1
	case x < 15:
		d.l.trigger.Store(true)
		return d.life
	case x < 25:
		return time.Duration(r.IntN(5000)) * time.Microsecond // while it starts
	default:
		return d.life/3 + time.Duration(r.Int64N(int64(d.life*2/3)))
	}
}

// start adds the per-level operator and the consistency reader.
func (d *deepLife) start(ops *sync.WaitGroup) {
	ops.Go(d.operate)
	ops.Go(d.readConsistent)
}

// --- run functions ---

// play runs an attempt: now and then one that calls runtime.Goexit, at
// once or once cancelled and past its grace, or one that hangs: it stops
// beating and never reports ready, until it is cancelled (by its watchdog,
// its deadline, or an order) and beyond its grace now and then; otherwise
// TestChaosLives's.
func (d *deepLife) play(ctx context.Context, a *runtime.Attempt, rec *c20Rec, r *rand.Rand) error {
	l := d.l
	own := l.rand(a.Path(), a.Generation(), 0xdee9)
	switch x := own.IntN(100); {
	case x < 8:
	case x < 13:
		d.st.hangs.Add(1)
		beats := own.IntN(20)
		tick := time.NewTicker(4 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			if i < beats {
				a.Beat()
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if own.IntN(3) == 0 {
			time.Sleep(time.Duration(own.IntN(300)) * time.Millisecond)
		}
		return context.Cause(ctx)
	default:
		return l.play(ctx, a, rec, r)
	}
	at := time.Duration(own.ExpFloat64() * float64(max(l.mean, 30*time.Millisecond)))
	late := own.IntN(2) == 0 // wait for cancellation, then linger before Goexit
	linger := time.Duration(own.IntN(300)) * time.Millisecond
	tick := time.NewTicker(4 * time.Millisecond)
	defer tick.Stop()
	timer := time.NewTimer(at)
	defer timer.Stop()
	if own.IntN(4) > 0 {
		a.Ready()
	}
	for {
		a.Beat()
		select {
		case <-ctx.Done():
			if late {
				d.st.goexitsLate.Add(1)
				time.Sleep(linger) // past its grace, sometimes: abandoned, then its Goexit is fenced
			}
			d.st.goexits.Add(1)
			goruntime.Goexit()
		case <-timer.C:
			if !late {
				d.st.goexits.Add(1)
				goruntime.Goexit()
			}
		case <-tick.C:
			if own.IntN(50) == 0 {
				d.spawnElsewhere(own, a.Path())
			}
		}
	}
}

// spawnElsewhere starts an instance of a pool other than the caller's.
func (d *deepLife) spawnElsewhere(r *rand.Rand, self string) {
	l := d.l
	if len(l.pools) == 0 {
		return
	}
	pool := pick(r, l.pools...)
	if strings.HasPrefix(self, pool+"/") {
		return
	}
	if _, inst := l.node(self); inst {
		d.st.crossSpawns.Add(1)
	}
	l.startInstance(pool, pick(r, "", "a", "b"))
}

// --- the operator and the reader ---

// operate picks a level, then a child, pool, nested supervisor or instance
// at that level, and orders it; or starts an instance of a pool at that
// level; or orders an instance handle kept from an earlier Start. Its pace
// is the lifecycle's: from an order every millisecond or so, which keeps
// most of the tree stopped or restarting, to one every 60.
func (d *deepLife) operate() {
	l := d.l
	r := rand.New(rand.NewPCG(l.seed, 2000))
	gap := pick(r, time.Millisecond, 5*time.Millisecond, 20*time.Millisecond, 60*time.Millisecond)
	var insts [][]string // instances by level, from the latest snapshot
	for i := 0; ; i++ {
		select {
		case <-l.stopOps:
			return
		default:
		}
		if i%16 == 0 {
			insts = make([][]string, d.depth+1)
			for _, c := range l.tree.Snapshot().Children {
				if c.Instance {
					lv := strings.Count(c.Path, "/") - 1
					insts[lv] = append(insts[lv], c.Path)
				}
			}
		}
		lv := r.IntN(d.depth + 1) // the instances of the deepest level's pools are one deeper
		switch x := r.IntN(12); {
		case x >= 10:
			l.order(context.Background(), r, "operator") // often on a kept handle
		case x < 2 && lv < d.depth && len(d.pools[lv]) > 0:
			d.st.starts.Add(1)
			l.startInstance(pick(r, d.pools[lv]...), pick(r, "", "", "a", "b", "c"))
		case x < 5 && len(insts[lv]) > 0:
			d.st.instOrders.Add(1)
			d.st.levelOrders[lv+1].Add(1)
			if h := l.tree.Handle(pick(r, insts[lv]...)); h != nil {
				l.orderOn(context.Background(), r, h, "level operator")
			}
		case lv < d.depth && len(d.levels[lv]) > 0:
			d.st.levelOrders[lv+1].Add(1)
			l.orderOn(context.Background(), r, l.tree.Handle(pick(r, d.levels[lv]...)), "level operator")
		}
		time.Sleep(time.Duration(r.Int64N(int64(2 * gap))))
	}
}

// readConsistent reads Health, Snapshot, Len and Counts as the tree runs
// and holds them against each other.
func (d *deepLife) readConsistent() {
	l := d.l
	for i := 0; ; i++ {
		select {
		case <-l.stopOps:
			return
		default:
		}
		switch i % 3 {
		case 0:
			d.checkHealth(l.tree.Health())
		case 1:
			d.checkCounts()
		default:
			d.checkCurrent()
		}
		if n := int64(goruntime.NumGoroutine()); n > d.st.maxGoroutines.Load() {
			d.st.maxGoroutines.Store(n)
		}
		time.Sleep(300 * time.Microsecond)
	}
}

// checkHealth holds a Health against the snapshot it was read from, and
// that snapshot against the previous one.
func (d *deepLife) checkHealth(h runtime.Health) {
	l := d.l
	d.st.healthChecked.Add(1)
	snap := h.Snapshot
	if len(h.Children) != len(snap.Children) {
		l.violate("health lists %d children, its snapshot %d", len(h.Children), len(snap.Children))
		return
	}
	if snap.LastEvent < d.last {
		l.violate("snapshot's LastEvent went back from %d to %d", d.last, snap.LastEvent)
	}
	d.last = snap.LastEvent
	ended := map[string]bool{} // supervisors that ended for good or stand by for their lease, and those below them
	var bad []string           // children not well, outside an ended supervisor
	byPath := map[string]runtime.ChildStatus{}
	for _, c := range snap.Children {
		byPath[c.Path] = c
	}
	// standsBy: c stands by for its lease, or waits only for siblings
	// that do (or wait likewise), which is as well.
	var standsBy func(c runtime.ChildStatus) bool
	standsBy = func(c runtime.ChildStatus) bool {
		if c.State == runtime.StateStandby {
			return true
		}
		if c.State != runtime.StateWaiting {
			return false
		}
		by := false
		for _, name := range c.After {
			d, ok := byPath[c.Path[:strings.LastIndexByte(c.Path, '/')+1]+name]
			switch {
			case !ok, d.State == runtime.StateRunning, d.State == runtime.StateDone && d.LastExit == runtime.ExitSuccess:
			case standsBy(d):
				by = true
			default:
				return false
			}
		}
		return by
	}
	for i, c := range snap.Children {
		ch := h.Children[i]
		if ch.Path != c.Path || ch.State != c.State || ch.Restart != c.Restarts || ch.Pool != c.Pool || ch.Instance != c.Instance {
			l.violate("health's child %d is %+v; its snapshot's is %s %v restarts %d pool %v instance %v", i, ch, c.Path, c.State, c.Restarts, c.Pool, c.Instance)
			return
		}
		parent := c.Path[:strings.LastIndexByte(c.Path, '/')]
		under := ended[parent]
		if c.Supervisor && (under || c.State == runtime.StateDone || standsBy(c)) {
			ended[c.Path] = true
		}
		if c.State == runtime.StateWaiting && standsBy(c) {
			d.st.standbyWaits.Add(1)
		}
		ok := c.State == runtime.StateRunning || c.State == runtime.StateDone || standsBy(c) ||
			// a pool's work: an instance starting without a failure
			c.Instance && c.State == runtime.StateStarting && !(c.LastError != nil && c.LastExit.Failure())
		if c.Instance && c.State == runtime.StateStopping {
			// Well when stopping on an order or with its pool, not when
			// for a deadline it missed, which the snapshot does not say.
			ok = ch.OK
		}
		if under && !ch.OK {
			l.violate("health says %s (%v) is not well below a supervisor that ended for good or stands by", c.Path, c.State)
		}
		if !under && ch.OK != ok {
			l.violate("health says %s is well: %v, in state %v", c.Path, ch.OK, c.State)
		}
		if !under && !ok {
			bad = append(bad, c.Path)
		}
		if !c.Instance {
			if p, seen := d.prev[c.Path]; seen && (c.Generation < p.Generation || c.Restarts < p.Restarts || c.Abandoned < p.Abandoned || c.Fenced < p.Fenced) {
				l.violate("snapshot: %s's counters went down: generation %d→%d, restarts %d→%d, abandoned %d→%d, fenced %d→%d",
					c.Path, p.Generation, c.Generation, p.Restarts, c.Restarts, p.Abandoned, c.Abandoned, p.Fenced, c.Fenced)
			}
			d.prev[c.Path] = c
		}
	}
	switch h.State {
	case runtime.HealthReady:
		if len(bad) > 0 {
			l.violate("health says ready; its snapshot shows %v, not ready", bad)
		}
	case runtime.HealthDegraded:
		named := false
		for _, p := range bad {
			named = named || strings.HasPrefix(h.Reason, p+": ")
		}
		if !named {
			l.violate("health says degraded (%q); its snapshot shows none of %v so", h.Reason, bad)
		}
	}
}

// checkCounts holds each pool's Counts against Len and a snapshot read
// between two Counts (Len is read between them too): Started and Removed only grow, so the instances the
// snapshot lists are within what the two readings allow.
func (d *deepLife) checkCounts() {
	l := d.l
	if len(l.pools) == 0 {
		return
	}
	before := make([]runtime.PoolCounts, len(l.pools))
	lens := make([]int, len(l.pools))
	for i, p := range l.pools {
		before[i] = l.tree.Pool(p).Counts()
		lens[i] = l.tree.Pool(p).Len()
	}
	snap := l.tree.Snapshot()
	listed := map[string]int{}
	for _, c := range snap.Children {
		if c.Instance {
			listed[c.Path[:strings.LastIndexByte(c.Path, '/')]]++
		}
	}
	for i, path := range l.pools {
		d.st.countsChecked.Add(1)
		after := l.tree.Pool(path).Counts()
		n, maxN := lens[i], d.max[path]
		b, a := before[i], after
		for _, c := range []runtime.PoolCounts{b, a} {
			busy := uint64(c.Starting + c.Running + c.Backoff + c.Stopping + c.Stopped)
			if c.Removed > c.Started || busy != c.Started-c.Removed {
				l.violate("%s: Counts %+v: the live instances by state do not add up to Started − Removed", path, c)
			}
			if maxN > 0 && busy > uint64(maxN) {
				l.violate("%s: Counts %+v: more than Max %d live instances", path, c, maxN)
			}
		}
		if a.Started < b.Started || a.Removed < b.Removed || a.Restarts < b.Restarts || a.Abandoned < b.Abandoned {
			l.violate("%s: Counts went down: %+v, then %+v", path, b, a)
		}
		if maxN > 0 && (n > maxN || listed[path] > maxN) {
			l.violate("%s: Len %d, %d listed in a snapshot; Max %d", path, n, listed[path], maxN)
		}
		lo, hi := int64(b.Started)-int64(a.Removed), int64(a.Started)-int64(b.Removed)
		if k := int64(listed[path]); k < lo || k > hi {
			l.violate("%s: a snapshot lists %d instances between Counts %+v and %+v (between %d and %d live)", path, k, b, a, lo, hi)
		}
		if k := int64(n); k < lo || k > hi {
			l.violate("%s: Len %d between Counts %+v and %+v (between %d and %d live)", path, n, b, a, lo, hi)
		}
	}
}

// checkCurrent checks that at most one attempt of a slot is current: of
// two attempts of one child (or one instance) whose run functions have not
// returned, the newer is read first, and an older one can never become
// current again once the newer has been.
func (d *deepLife) checkCurrent() {
	l := d.l
	l.mu.Lock()
	var groups [][]*c20Rec
	for _, list := range l.live {
		if len(list) > 1 {
			groups = append(groups, slices.Clone(list))
		}
	}
	l.mu.Unlock()
	for _, g := range groups {
		slices.SortFunc(g, func(a, b *c20Rec) int { return cmp.Compare(b.gen, a.gen) }) // newest first
		for i, newer := range g {
			if !newer.a.Current() {
				continue
			}
			for _, older := range g[i+1:] {
				if older.inst == newer.inst && older.a.Current() {
					l.violate("one current attempt per slot: %s generations %d and %d are both current", newer.path, older.gen, newer.gen)
				}
			}
			d.st.currentChecked.Add(1)
			break
		}
	}
}
