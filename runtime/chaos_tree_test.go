package runtime_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// The shape of TestChaos's tree, drawn from its seed: a root, nested
// supervisors on two more levels, and about 1,000 workers with every kind of
// liveness setting, restart type, limit and after edge.

// chaosSup is one supervisor of the chaos tree.
type chaosSup struct {
	path     string
	slot     *chaosSlot // nil at the root
	parent   *chaosSup
	level    int // 0 at the root
	strategy runtime.Strategy
	limit    runtime.RestartLimit
	budget   time.Duration
	children []*chaosSlot // declaration order

	// Owned by the observer.
	run    supRun    // the run in progress, as the event stream shows it
	recent eventRing // its latest events and its children's

	lastStart atomic.Int64  // its attempt's latest Starting event, as chaos.since
	stopping  atomic.Bool   // its current run has begun to stop
	shutGen   atomic.Uint64 // a pool's: the generation of its slot whose run began to stop last
	pool      *chaosPool    // set for a pool
}

// eventRing keeps a supervisor's latest events, and its children's, to
// explain a violation; owned by the observer.
type eventRing struct {
	buf  [96]runtime.Event
	next int
	n    int
}

func (r *eventRing) add(e runtime.Event) {
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// String lists the events oldest first, with times relative to the last one.
func (r *eventRing) String() string {
	var b strings.Builder
	last := r.buf[(r.next+len(r.buf)-1)%len(r.buf)].Time
	for i := range r.n {
		e := r.buf[(r.next-r.n+i+len(r.buf))%len(r.buf)]
		fmt.Fprintf(&b, "\n\t\t%8v %s", e.Time.Sub(last).Round(10*time.Microsecond), e)
	}
	return b.String()
}

// supRun is what the event stream has shown of one run of a supervisor.
type supRun struct {
	started    time.Time   // its attempt's Starting event; zero at the root
	window     []time.Time // RestartScheduled times of its children
	gaveUp     bool
	stopping   bool
	shutdownAt time.Time // its ShuttingDown event
	shutdownBy error     // that event's Err: nil for a clean stop
	endedAt    time.Time // its attempt's Exited, Stopped or Abandoned event
}

// chaosSlot is one child of the chaos tree: a worker or a nested supervisor.
type chaosSlot struct {
	id     int
	path   string
	sup    *chaosSup  // the supervisor it is a child of
	nested *chaosSup  // set for a nested supervisor or a pool
	inst   *chaosInst // set for a pool instance
	rank   int        // position in its supervisor's start order
	child  runtime.Child
	life   time.Duration // mean time until an attempt's fault

	// Owned by the observer.
	liveGen, lastGen uint64
	endedGen         uint64      // the generation that ended last
	startingAt       time.Time   // of the latest Starting event
	window           []time.Time // restarts counted against the child's own limit

	// Guarded by chaos.mu.
	running []*attemptRec // attempts whose run function has not returned
	lastRec *attemptRec   // the attempt that returned last
}

// chaosTree is the drawn tree and its index.
type chaosTree struct {
	spec       runtime.Spec
	root       *chaosSup
	slots      []*chaosSlot // depth first, as Snapshot lists them
	sups       []*chaosSup  // root first
	byPath     map[string]*chaosSlot
	supByPath  map[string]*chaosSup
	workers    int
	pools      []*chaosPool
	poolByPath map[string]*chaosPool
}

// drawChaosTree draws the tree for seed; run makes each worker's RunFunc.
func drawChaosTree(seed uint64, run func(*chaosSlot) runtime.RunFunc) *chaosTree {
	r := rand.New(rand.NewPCG(seed, 0xc4a05))
	ct := &chaosTree{byPath: map[string]*chaosSlot{}, supByPath: map[string]*chaosSup{}, poolByPath: map[string]*chaosPool{}}
	ct.root = &chaosSup{path: "chaos", strategy: runtime.OneForOne, budget: 2 * time.Second,
		// The root must outlive the run: its limit is never reached.
		limit: runtime.RestartLimit{Max: math.MaxInt32, Window: time.Second}}
	ct.sups = append(ct.sups, ct.root)
	ct.supByPath[ct.root.path] = ct.root
	ct.spec = runtime.Spec{Name: "chaos", Strategy: ct.root.strategy, RestartLimit: &ct.root.limit,
		Shutdown: ct.root.budget, Backoff: drawBackoff(r)}
	ct.spec.Children = ct.drawChildren(r, ct.root, run)
	return ct
}

// drawChildren draws the children of sv, recursing into nested supervisors,
// and sets sv's restart limit from their expected failure rate.
func (ct *chaosTree) drawChildren(r *rand.Rand, sv *chaosSup, run func(*chaosSlot) runtime.RunFunc) []runtime.Child {
	var subs, workers int
	life := 6 * time.Second // workers near the root fail less: each failure there restarts more
	switch sv.level {
	case 0:
		subs, workers = 4, 4+r.IntN(4)
	case 1:
		subs, workers = 4+r.IntN(2), 4+r.IntN(7)
		if sv.strategy != runtime.OneForOne {
			workers = 2 + r.IntN(3)
		}
	default:
		life = 1500 * time.Millisecond
		workers = 90 + r.IntN(41)
		if sv.strategy != runtime.OneForOne {
			workers = 6 + r.IntN(13) // a group restart stops them all, one at a time
		}
	}
	// Which positions hold nested supervisors, and their strategies: at
	// level 1, two large one_for_one ones and small group ones, so that
	// the tree has about 1,000 workers whatever the draw.
	pools := drawPoolCount(r, sv.level)
	isSub := make([]bool, subs+workers+pools)
	isPool := make([]bool, len(isSub))
	for i := range subs {
		isSub[i] = true
	}
	for i := subs; i < subs+pools; i++ {
		isPool[i] = true
	}
	r.Shuffle(len(isSub), func(i, j int) {
		isSub[i], isSub[j] = isSub[j], isSub[i]
		isPool[i], isPool[j] = isPool[j], isPool[i]
	})
	strategies := make([]runtime.Strategy, subs)
	for i := range strategies {
		switch {
		case sv.level == 0:
			strategies[i] = []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne}[r.IntN(3)]
		case i < 2:
			strategies[i] = runtime.OneForOne
		default:
			strategies[i] = []runtime.Strategy{runtime.OneForAll, runtime.RestForOne}[r.IntN(2)]
		}
	}
	r.Shuffle(len(strategies), func(i, j int) { strategies[i], strategies[j] = strategies[j], strategies[i] })

	// A transient or temporary supervisor at level 2 may hold a significant child.
	significant := -1
	if sv.level == 2 && sv.slot.child.Restart != runtime.Permanent {
		significant = r.IntN(len(isSub))
	}

	children := make([]runtime.Child, len(isSub))
	var rate float64 // expected counted restarts per second
	for i := range children {
		c := &children[i]
		s := &chaosSlot{id: len(ct.slots), sup: sv, life: life}
		ct.slots = append(ct.slots, s)
		sv.children = append(sv.children, s)
		if isPool[i] {
			rate += ct.drawPool(r, c, s, sv, i)
		} else if isSub[i] {
			c.Name = "sup" + strconv.Itoa(i)
			s.path = sv.path + "/" + c.Name
			drawNested(r, c, sv.level+1, strategies[0])
			strategies = strategies[1:]
			nsv := &chaosSup{path: s.path, slot: s, parent: sv, level: sv.level + 1,
				strategy: c.Supervisor.Strategy, budget: c.Supervisor.Shutdown}
			s.nested = nsv
			s.child = *c // its Restart, read by the level below
			ct.sups = append(ct.sups, nsv)
			ct.supByPath[nsv.path] = nsv
			c.Supervisor.Children = ct.drawChildren(r, nsv, run)
			c.Supervisor.RestartLimit = &nsv.limit
			rate += 0.05
		} else {
			c.Name = "w" + strconv.Itoa(i)
			s.path = sv.path + "/" + c.Name
			drawWorker(r, c, i == significant, sv.level > 0)
			if c.Significant {
				s.life = 4 * s.life // it ends its supervisor now and then, not all the time
			}
			c.Run = run(s)
			ct.workers++
			rate += 0.6 / s.life.Seconds()
		}
		ct.byPath[s.path] = s
	}
	drawAfter(r, children)
	for rank, i := range chaosStartOrder(children) {
		sv.children[i].rank = rank
	}
	for i := range children {
		sv.children[i].child = children[i]
	}
	if sv.level > 0 {
		// Generous, but not always: some supervisors give up and escalate.
		w := time.Duration(2000+r.IntN(3000)) * time.Millisecond
		sv.limit = runtime.RestartLimit{Max: max(1, int(rate*w.Seconds()*(0.8+2.2*r.Float64()))), Window: w}
	}
	return children
}

// drawNested makes c a nested supervisor at level.
func drawNested(r *rand.Rand, c *runtime.Child, level int, strategy runtime.Strategy) {
	c.Supervisor = &runtime.Spec{
		Strategy: strategy,
		Shutdown: time.Duration(300+r.IntN(3700)) * time.Millisecond, // sometimes more than the root's
		Backoff:  drawBackoff(r),
	}
	c.Restart = runtime.Permanent
	if level == 2 {
		switch x := r.IntN(10); {
		case x < 2:
			c.Restart = runtime.Transient // with a significant child: it may end cleanly
		case x < 3:
			c.Restart = runtime.Temporary
		}
	}
}

// drawWorker sets a worker's restart type and liveness settings. A worker
// of the root has no restart limit of its own: going over it would end the
// tree.
func drawWorker(r *rand.Rand, c *runtime.Child, significant, ownLimit bool) {
	switch x := r.IntN(10); {
	case x < 7:
		c.Restart = runtime.Permanent
	case x < 9:
		c.Restart = runtime.Transient
	default:
		c.Restart = runtime.Temporary
	}
	c.Shutdown = time.Duration(30+r.IntN(220)) * time.Millisecond
	if significant {
		// No deadline of its own, so that it never ends its supervisor
		// while the run calms down before the final shutdown.
		c.Significant = true
		c.Restart = []runtime.Restart{runtime.Transient, runtime.Temporary}[r.IntN(2)]
		return
	}
	if r.IntN(10) == 0 {
		c.Timeout = time.Duration(300+r.IntN(2700)) * time.Millisecond
	}
	if r.IntN(100) < 35 {
		c.Ready = &runtime.Ready{Timeout: time.Duration(250+r.IntN(950)) * time.Millisecond}
		if r.IntN(20) == 0 {
			c.Ready.Timeout = 0 // waits forever
		}
	}
	if r.IntN(100) < 30 {
		c.Heartbeat = &runtime.Heartbeat{Timeout: time.Duration(150+r.IntN(350)) * time.Millisecond}
	}
	if r.IntN(100) < 8 && ownLimit {
		c.RestartLimit = &runtime.RestartLimit{Max: 1 + r.IntN(4), Window: time.Duration(500+r.IntN(2500)) * time.Millisecond}
	}
	if r.IntN(100) < 15 {
		c.Backoff = drawBackoff(r)
	}
}

func drawBackoff(r *rand.Rand) *runtime.Backoff {
	return &runtime.Backoff{
		Initial:    time.Duration(2+r.IntN(28)) * time.Millisecond,
		Max:        time.Duration(50+r.IntN(450)) * time.Millisecond,
		Multiplier: 1.5 + 1.5*r.Float64(),
		Jitter:     0.5 * r.Float64(),
		ResetAfter: time.Duration(500+r.IntN(2500)) * time.Millisecond,
	}
}

// drawAfter adds acyclic after edges: a child may wait for siblings placed
// before it in a random permutation, so some edges point forward in
// declaration order and the start order differs from it.
func drawAfter(r *rand.Rand, children []runtime.Child) {
	perm := r.Perm(len(children))
	for k := 1; k < len(perm); k++ {
		if r.IntN(5) != 0 {
			continue
		}
		c := &children[perm[k]]
		for range 1 + r.IntN(2) {
			dep := children[perm[r.IntN(k)]].Name
			if !containsString(c.After, dep) {
				c.After = append(c.After, dep)
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// chaosStartOrder is DESIGN.md's start order: declaration order, each child
// moved after its After list, the earliest declared first among those free
// to start. It returns the children's indexes in that order.
func chaosStartOrder(children []runtime.Child) []int {
	placed := make([]bool, len(children))
	index := make(map[string]int, len(children))
	for i, c := range children {
		index[c.Name] = i
	}
	var order []int
	for len(order) < len(children) {
		for i, c := range children {
			if placed[i] {
				continue
			}
			free := true
			for _, d := range c.After {
				free = free && placed[index[d]]
			}
			if free {
				placed[i] = true
				order = append(order, i)
				break
			}
		}
	}
	return order
}
