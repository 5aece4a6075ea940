package runtime_test

// TestSoak is a chaos soak written from outside, with the public API only, in
// a different shape from TestChaos: not one wide tree run for a long time,
// but many short tree lifecycles of deep, narrow trees (up to six levels,
// one to three children each), most of which end on their own (a root over
// its restart limit, a significant child) or are cancelled at a random
// moment: before Run, during startup, during a group restart. Pool instances
// start and stop each other from their run functions; operators give orders
// on random paths, nested supervisors and instances included, while the tree
// stops and after it ended; observers and loggers are slow.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var (
	soakDuration = flag.Duration("soak.duration", 0, "how long TestSoak runs; 0 skips it")
	soakSeed     = flag.Uint64("soak.seed", 0, "base seed of TestSoak (0: from the clock)")
	soakOnly     = flag.Int("soak.life", -1, "run only this lifecycle of the seed, to replay it")
)

// soakSlack is how late past the root's budget plus DeliveryMargin Run may
// return before the soak calls it a violation: scheduling on a loaded
// machine under -race.
const soakSlack = 500 * time.Millisecond

// TestSoak runs tree lifecycles for -soak.duration and checks, for each:
// when Run returns, every attempt has returned or is cancelled and listed in
// ShutdownReport; Run returns within the budget; states settle; Health agrees
// with Run's error; orders on the ended tree give ErrTreeEnded; nothing is
// delivered to observers after Run; no goroutine outlives the lifecycle once
// the attempts it leaked on purpose are released; at most one live attempt
// per slot unless the older one was abandoned; StopAndWait never hangs;
// and the heap stays flat across lifecycles.
//
//	go test -race -run 'TestSoak$' -v -timeout 30m ./runtime/ -soak.duration=10m
//	go test -race -run 'TestSoak$' -v ./runtime/ -soak.duration=1m -soak.seed=N -soak.life=K   # replay one lifecycle
func TestSoak(t *testing.T) {
	if *soakDuration == 0 {
		t.Skip("soak: give -soak.duration to run it")
	}
	seed := *soakSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("soak seed %d, duration %v", seed, *soakDuration)
	base := goruntime.NumGoroutine()
	deadline := time.Now().Add(*soakDuration)
	st := new(soakStats)
	st.maxOver.Store(math.MinInt64)
	var heap []uint64
	for i := 0; time.Now().Before(deadline); i++ {
		if *soakOnly >= 0 && i != *soakOnly {
			if i > *soakOnly {
				break
			}
			continue
		}
		l := newSoakLife(t, seed, i, st)
		if !l.run(base) {
			t.Logf("replay: go test -race -run 'TestSoak$' -v ./runtime/ -soak.duration=1m -soak.seed=%d -soak.life=%d", seed, i)
		}
		if t.Failed() && st.violations.Load() > 20 {
			break
		}
		if i%50 == 0 {
			goruntime.GC()
			var ms goruntime.MemStats
			goruntime.ReadMemStats(&ms)
			heap = append(heap, ms.HeapAlloc)
		}
		st.lives.Add(1)
	}
	t.Logf("soak: %s", st.String())
	if len(heap) >= 4 {
		q := len(heap) / 4
		first, last := slices.Max(heap[:q+1]), slices.Max(heap[len(heap)-q-1:])
		t.Logf("heap after GC: first quarter max %d KB, last quarter max %d KB (%d samples)", first>>10, last>>10, len(heap))
		if last > 2*first+8<<20 {
			t.Errorf("heap grows across lifecycles: %d KB then %d KB", first>>10, last>>10)
		}
	}
}

type soakStats struct {
	lives, attempts, instances, leaked, gaveUp, significant, cancelled atomic.Int64
	orders, ordersOK, violations, abandoned, starts, startFails        atomic.Int64
	maxOver                                                            atomic.Int64 // the longest Run past its budget, ns
}

func (s *soakStats) String() string {
	return fmt.Sprintf("%d lifecycles (%d gave up, %d ended by a significant child, %d cancelled), %d attempts (%d pool instances, %d leaked on purpose), %d abandoned, %d orders (%d accepted), %d Pool.Start (%d refused), Run at most %v past its budget plus DeliveryMargin, %d violations",
		s.lives.Load(), s.gaveUp.Load(), s.significant.Load(), s.cancelled.Load(), s.attempts.Load(), s.instances.Load(), s.leaked.Load(),
		s.abandoned.Load(), s.orders.Load(), s.ordersOK.Load(), s.starts.Load(), s.startFails.Load(), time.Duration(s.maxOver.Load()), s.violations.Load())
}

// soakLife is one tree lifecycle.
type soakLife struct {
	t      *testing.T
	seed   uint64 // the lifecycle's own
	idx    int
	st     *soakStats
	spec   runtime.Spec
	tree   *runtime.Tree
	budget time.Duration
	storm  bool     // most attempts fail fast
	paths  []string // every declared child
	pools  []string
	kids   map[string]soakKid

	release chan struct{} // closed to free the attempts leaked on purpose
	stopOps chan struct{} // closed to stop the operators
	ended   atomic.Bool   // Run has returned
	wg      sync.WaitGroup

	mu         sync.Mutex
	live       map[string][]*soakRec // by path: attempts whose run function has not returned
	instNames  map[string][]string   // by pool: names given to Start
	liveInst   int
	nextID     uint64
	violations []string
	gaps       []uint64 // Seqs the observer did not get

	lastSeq   atomic.Uint64
	delivered atomic.Int64
	late      atomic.Int64 // observer calls after Run returned
	trigger   atomic.Bool  // cancel Run at the next group stop the observer sees
	cancel    context.CancelFunc
	cancelAt  atomic.Int64 // unix ns
}

// soakKid is what the checks need of a declared child.
type soakKid struct {
	ready  time.Duration // zero: no ready, or no timeout
	budget time.Duration // a nested supervisor's
	limit  *runtime.RestartLimit
}

type soakRec struct {
	id       uint64
	path     string
	gen      uint64
	a        *runtime.Attempt
	ctx      context.Context
	returned atomic.Bool
}

func newSoakLife(t *testing.T, seed uint64, idx int, st *soakStats) *soakLife {
	l := &soakLife{t: t, seed: seed ^ uint64(idx)*0x9e3779b97f4a7c15, idx: idx, st: st,
		kids: map[string]soakKid{}, release: make(chan struct{}), stopOps: make(chan struct{}),
		live: map[string][]*soakRec{}, instNames: map[string][]string{}}
	return l
}

func (l *soakLife) violate(format string, args ...any) {
	msg := fmt.Sprintf("seed %d life %d: ", l.seed, l.idx) + fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.violations = append(l.violations, msg)
	l.mu.Unlock()
	l.st.violations.Add(1)
	l.t.Error(msg)
}

// draw builds the lifecycle's spec.
func (l *soakLife) draw(r *rand.Rand) {
	l.budget = time.Duration(100+r.IntN(900)) * time.Millisecond
	l.storm = r.IntN(4) == 0
	l.spec = runtime.Spec{Name: "soak", Shutdown: l.budget}
	depth := 3 + r.IntN(4) // 3 to 6 levels of supervisors
	l.drawSup(r, &l.spec, "soak", 1, depth)
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (l *soakLife) drawSup(r *rand.Rand, s *runtime.Spec, path string, level, depth int) {
	s.Strategy = pick(r, runtime.OneForOne, runtime.OneForAll, runtime.RestForOne)
	s.RestartLimit = &runtime.RestartLimit{Max: r.IntN(5), Window: time.Duration(20+r.IntN(2000)) * time.Millisecond}
	s.Backoff = soakBackoff(r)
	if level > 1 {
		s.Shutdown = time.Duration(30+r.IntN(400)) * time.Millisecond
	}
	n := 1 + r.IntN(3)
	nested := -1
	if level < depth {
		nested = r.IntN(n) // one chain reaches the full depth
	}
	for i := range n {
		var c runtime.Child
		switch x := r.IntN(10); {
		case i == nested || (level < depth && x < 2):
			c.Name = fmt.Sprintf("s%d", i)
			c.Supervisor = &runtime.Spec{}
			l.drawSup(r, c.Supervisor, path+"/"+c.Name, level+1, depth)
			c.Restart = pick(r, runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary)
		case x < 4:
			c.Name = fmt.Sprintf("p%d", i)
			c.Pool = &runtime.PoolSpec{Max: r.IntN(6)}
			l.drawWorkerFields(r, &c)
			c.RestartLimit = &runtime.RestartLimit{Max: r.IntN(6), Window: time.Duration(20+r.IntN(1000)) * time.Millisecond}
			l.pools = append(l.pools, path+"/"+c.Name)
		default:
			c.Name = fmt.Sprintf("w%d", i)
			c.Run = l.runFunc()
			l.drawWorkerFields(r, &c)
		}
		if c.Pool == nil && c.Restart != runtime.Permanent && r.IntN(5) == 0 {
			c.Significant = true
		}
		if i > 0 && r.IntN(3) == 0 {
			c.After = []string{s.Children[r.IntN(i)].Name}
		}
		s.Children = append(s.Children, c)
		l.paths = append(l.paths, path+"/"+c.Name)
		k := soakKid{limit: c.RestartLimit}
		if c.Ready != nil {
			k.ready = c.Ready.Timeout
		}
		if c.Supervisor != nil {
			k.budget = c.Supervisor.Shutdown
		}
		l.kids[path+"/"+c.Name] = k
	}
}

func (l *soakLife) drawWorkerFields(r *rand.Rand, c *runtime.Child) {
	c.Restart = pick(r, runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary)
	c.Shutdown = time.Duration(5+r.IntN(60)) * time.Millisecond
	if r.IntN(4) == 0 {
		c.Timeout = time.Duration(30+r.IntN(300)) * time.Millisecond
	}
	if r.IntN(3) == 0 {
		c.Ready = &runtime.Ready{}
		if r.IntN(3) > 0 {
			c.Ready.Timeout = time.Duration(20+r.IntN(150)) * time.Millisecond
		}
	}
	if r.IntN(4) == 0 {
		c.Heartbeat = &runtime.Heartbeat{Timeout: time.Duration(15+r.IntN(60)) * time.Millisecond}
	}
	if r.IntN(4) == 0 {
		c.RestartLimit = &runtime.RestartLimit{Max: r.IntN(4), Window: time.Duration(20+r.IntN(1000)) * time.Millisecond}
	}
	if r.IntN(3) == 0 {
		c.Backoff = soakBackoff(r)
	}
}

func soakBackoff(r *rand.Rand) *runtime.Backoff {
	init := time.Duration(r.IntN(10)) * time.Millisecond
	return &runtime.Backoff{Initial: init, Max: init + time.Duration(r.IntN(30))*time.Millisecond,
		Multiplier: 2, Jitter: r.Float64(), ResetAfter: time.Duration(r.IntN(500)) * time.Millisecond}
}

// --- run functions ---

type soakPlan uint8

const (
	planGood soakPlan = iota
	planError
	planPanic
	planGoexit
	planNil
	planTypedNil
	planDoNotRestart
	planHostile
	planSpawner
	planOrderer
	planStopBeating
)

func (l *soakLife) planRand(path string, gen uint64, extra uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(path))
	return rand.New(rand.NewPCG(l.seed^h.Sum64(), gen^extra<<32))
}

func (l *soakLife) runFunc() runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		rec := l.begin(ctx, a)
		defer rec.returned.Store(true)
		defer l.end(rec)
		return l.play(ctx, a, l.planRand(a.Path(), a.Generation(), 0))
	}
}

func (l *soakLife) begin(ctx context.Context, a *runtime.Attempt) *soakRec {
	l.st.attempts.Add(1)
	l.mu.Lock()
	l.nextID++
	rec := &soakRec{id: l.nextID, path: a.Path(), gen: a.Generation(), a: a, ctx: ctx}
	var older []*soakRec
	for _, o := range l.live[rec.path] {
		if !o.returned.Load() {
			older = append(older, o)
		}
	}
	l.live[rec.path] = append(l.live[rec.path], rec)
	l.mu.Unlock()
	if len(older) > 0 {
		report := l.tree.ShutdownReport()
		for _, o := range older {
			if !o.returned.Load() && !soakInReport(report, o.path, o.gen) {
				l.violate("two live attempts in one slot: %s generation %d started while generation %d runs, not abandoned (report %+v)",
					rec.path, rec.gen, o.gen, report.Abandoned)
			}
		}
	}
	return rec
}

func (l *soakLife) end(rec *soakRec) {
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

func soakInReport(r runtime.ShutdownReport, path string, gen uint64) bool {
	for _, a := range r.Abandoned {
		if a.Path == path && a.Generation == gen {
			return true
		}
	}
	return false
}

// hostile values a run function hands the runtime.
type (
	soakPanicError struct{}
	soakPanicIs    struct{}
	soakLoopError  struct{ n int }
	soakTypedNil   struct{ msg string }
	soakSlowError  struct{}
	soakPanicStr   struct{}
)

func (soakPanicError) Error() string   { panic("Error panics") }
func (soakPanicIs) Error() string      { return "Is panics" }
func (soakPanicIs) Is(error) bool      { panic(errors.New("Is panics")) }
func (e *soakLoopError) Error() string { return "loops" }
func (e *soakLoopError) Unwrap() error { return e }
func (e *soakTypedNil) Error() string  { return e.msg } // panics on the nil receiver
func (soakSlowError) Error() string    { time.Sleep(20 * time.Millisecond); return "slow" }
func (soakPanicStr) String() string    { panic("String panics") }

// soakBlockingIs is an error whose Is method blocks until the lifecycle
// releases what it leaked.
type soakBlockingIs struct{ release <-chan struct{} }

func (soakBlockingIs) Error() string   { return "Is blocks" }
func (e soakBlockingIs) Is(error) bool { <-e.release; return false }
func typedNil() error                  { var e *soakTypedNil; return e }
func (l *soakLife) hostile(r *rand.Rand) any {
	return pick[any](r, soakPanicError{}, soakPanicIs{}, &soakLoopError{}, typedNil(), soakSlowError{},
		soakPanicStr{}, fmt.Errorf("wrapped: %w", soakPanicError{}), errors.Join(soakPanicIs{}, typedNil()))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// play runs one attempt's plan.
func (l *soakLife) play(ctx context.Context, a *runtime.Attempt, r *rand.Rand) (err error) {
	var plan soakPlan
	x := r.IntN(100)
	if l.storm && r.IntN(4) > 0 {
		x = 30 + r.IntN(40) // a failure: restart limits give way, level after level
	}
	switch {
	case x < 30:
		plan = planGood
	case x < 42:
		plan = planError
	case x < 50:
		plan = planPanic
	case x < 53:
		plan = planGoexit
	case x < 58:
		plan = planNil
	case x < 61:
		plan = planTypedNil
	case x < 64:
		plan = planDoNotRestart
	case x < 70:
		plan = planHostile
	case x < 84:
		plan = planSpawner
	case x < 92:
		plan = planOrderer
	default:
		plan = planStopBeating
	}
	mean := 40 * time.Millisecond
	if l.storm {
		mean = 5 * time.Millisecond
	}
	at := time.Duration(r.ExpFloat64() * float64(mean))
	if plan == planSpawner || plan == planOrderer {
		at *= 5
	}
	readyIn := time.Duration(r.IntN(30)) * time.Millisecond
	if r.IntN(8) == 0 {
		readyIn = -1 // never
	}
	// After cancellation: return at once, linger within or past the grace,
	// or ignore it until the lifecycle releases it.
	var linger time.Duration
	leak := false
	switch x := r.IntN(100); {
	case x < 70:
	case x < 85:
		linger = time.Duration(r.IntN(20)) * time.Millisecond
	case x < 97:
		linger = time.Duration(50+r.IntN(500)) * time.Millisecond
	default:
		leak = true
	}
	escape := r.IntN(10) == 0 // a goroutine that reports after the attempt returned
	if escape {
		delay := time.Duration(r.IntN(50)) * time.Millisecond
		l.wg.Add(1)
		defer func() {
			go func() {
				defer l.wg.Done()
				time.Sleep(delay)
				a.Ready()
				a.Beat()
				_ = a.Current()
			}()
		}()
	}
	defer func() {
		if ctx.Err() == nil {
			return
		}
		switch {
		case leak:
			l.st.leaked.Add(1)
			<-l.release
		case linger > 0:
			time.Sleep(linger)
		}
	}()

	beatEvery := 5 * time.Millisecond
	deadline := time.Now().Add(at)
	var ready bool
	var t0 = time.Now()
	tick := time.NewTicker(beatEvery)
	defer tick.Stop()
	for {
		if !ready && readyIn >= 0 && time.Since(t0) >= readyIn {
			a.Ready()
			ready = true
		}
		if plan != planStopBeating || time.Now().Before(deadline) {
			a.Beat()
		}
		if plan != planGood && plan != planStopBeating && !time.Now().Before(deadline) {
			break
		}
		switch plan {
		case planSpawner:
			l.spawn(ctx, r)
		case planOrderer:
			if r.IntN(4) == 0 {
				octx := ctx
				if r.IntN(8) == 0 {
					octx = context.Background() // StopAndWait of itself or an ancestor waits for the grace
				}
				l.order(octx, r, a.Path())
			}
		}
		select {
		case <-ctx.Done():
			return pick(r, ctx.Err(), nil, error(nil), errBoom, typedNil())
		case <-tick.C:
		}
	}
	switch plan {
	case planError, planSpawner, planOrderer:
		return fmt.Errorf("%s: %w", a.Path(), errBoom)
	case planPanic:
		panic(pick[any](r, nil, "boom", 42, errBoom, l.hostile(r)))
	case planGoexit:
		goruntime.Goexit()
	case planNil:
		return nil
	case planTypedNil:
		return typedNil()
	case planDoNotRestart:
		return fmt.Errorf("done: %w", runtime.ErrDoNotRestart)
	case planHostile:
		if r.IntN(20) == 0 {
			return soakBlockingIs{l.release} // stuck in the runtime's check for ErrDoNotRestart
		}
		v := l.hostile(r)
		if r.IntN(2) == 0 {
			panic(v)
		}
		if e, ok := v.(error); ok {
			return e
		}
		return typedNil()
	}
	return nil
}

// spawn starts instances of a random pool and stops random instances, from
// a run function.
func (l *soakLife) spawn(ctx context.Context, r *rand.Rand) {
	if len(l.pools) == 0 {
		return
	}
	pool := pick(r, l.pools...)
	switch r.IntN(3) {
	case 0, 1:
		l.mu.Lock()
		full := l.liveInst >= 40
		l.mu.Unlock()
		if full {
			return
		}
		name := ""
		if r.IntN(2) == 0 {
			name = pick(r, "a", "b", "c", "d", "e", "f")
		}
		l.startInstance(pool, name)
	case 2:
		l.mu.Lock()
		names := l.instNames[pool]
		var name string
		if len(names) > 0 {
			name = names[r.IntN(len(names))]
		}
		l.mu.Unlock()
		if name == "" {
			return
		}
		h := l.tree.Handle(pool + "/" + name)
		if r.IntN(2) == 0 {
			l.checkOrder("stop "+h.Path(), h.Stop(), true)
		} else {
			wctx, cancel := context.WithTimeout(ctx, time.Duration(r.IntN(200))*time.Millisecond)
			err := h.StopAndWait(wctx)
			cancel()
			if err != nil && wctx.Err() != nil && errors.Is(err, wctx.Err()) {
				err = nil
			}
			l.checkOrder("stop-and-wait "+pool+"/"+name, err, true)
		}
	}
}

func (l *soakLife) startInstance(pool, name string) {
	l.st.starts.Add(1)
	p := l.tree.Pool(pool)
	if p == nil {
		l.violate("Pool(%s) is nil", pool)
		return
	}
	endedBefore := l.ended.Load()
	run := func(ctx context.Context, a *runtime.Attempt) error {
		l.st.instances.Add(1)
		l.mu.Lock()
		l.liveInst++
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			l.liveInst--
			l.mu.Unlock()
		}()
		return l.runFunc()(ctx, a)
	}
	h, err := p.Start(name, run)
	switch {
	case err == nil:
		if h == nil || !strings.HasPrefix(h.Path(), pool+"/") {
			l.violate("Start(%q) on %s gave handle %v", name, pool, h)
			return
		}
		if endedBefore {
			l.violate("Start on %s accepted after Run returned", pool)
		}
		l.mu.Lock()
		nm := h.Path()[len(pool)+1:]
		if !slices.Contains(l.instNames[pool], nm) {
			l.instNames[pool] = append(l.instNames[pool], nm)
		}
		l.mu.Unlock()
	case endedBefore && !errors.Is(err, runtime.ErrTreeEnded):
		l.st.startFails.Add(1)
		l.violate("Start on %s after Run returned: %v, want ErrTreeEnded", pool, err)
	case errors.Is(err, runtime.ErrPoolFull), errors.Is(err, runtime.ErrNameTaken),
		errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrTreeEnded):
		l.st.startFails.Add(1)
	default:
		l.st.startFails.Add(1)
		l.violate("Start(%q) on %s: unexpected error %v", name, pool, err)
	}
}

// order gives a random order on a random path: a declared child (worker,
// nested supervisor, pool) or an instance.
func (l *soakLife) order(ctx context.Context, r *rand.Rand, who string) {
	path := pick(r, l.paths...)
	if strings.HasPrefix(who, "soak/") && r.IntN(3) == 0 {
		// An attempt orders itself or one of its supervisors.
		path = who
		for strings.Count(path, "/") > 1 && r.IntN(2) == 0 {
			path = path[:strings.LastIndex(path, "/")]
		}
	}
	l.mu.Lock()
	if len(l.pools) > 0 && r.IntN(3) == 0 {
		pool := pick(r, l.pools...)
		if names := l.instNames[pool]; len(names) > 0 {
			path = pool + "/" + names[r.IntN(len(names))]
		}
	}
	l.mu.Unlock()
	h := l.tree.Handle(path)
	instance := !slices.Contains(l.paths, path)
	if h == nil {
		if !instance { // else removed since
			l.violate("Handle(%s) is nil", path)
		}
		return
	}
	endedBefore := l.ended.Load()
	var err error
	var op string
	switch x := r.IntN(10); {
	case x < 4:
		op, err = "restart", h.Order(runtime.OrderRestart, who)
	case x < 7:
		op, err = "stop", h.Stop()
	default:
		op = "stop-and-wait"
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if r.IntN(3) > 0 {
			wctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(300))*time.Millisecond)
		}
		began := time.Now()
		err = h.StopAndWait(wctx)
		cancel()
		if took := time.Since(began); took > 3*l.budget+2*time.Second {
			l.violate("StopAndWait(%s) took %v (budget %v)", path, took, l.budget)
		}
		if err != nil && wctx.Err() != nil && errors.Is(err, wctx.Err()) {
			err = nil
		}
	}
	if endedBefore && !instance && !errors.Is(err, runtime.ErrTreeEnded) {
		l.violate("%s %s after Run returned: %v, want ErrTreeEnded", op, path, err)
	}
	l.checkOrder(op+" "+path, err, instance)
}

func (l *soakLife) checkOrder(what string, err error, instance bool) {
	l.st.orders.Add(1)
	switch {
	case err == nil:
		l.st.ordersOK.Add(1)
	case errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrTreeEnded):
	case instance && (errors.Is(err, runtime.ErrRemoved) || errors.Is(err, runtime.ErrNoChild)):
	default:
		l.violate("%s: unexpected error %v", what, err)
	}
}

// operate gives orders from outside until the lifecycle ends, and a few more
// after Run returned.
func (l *soakLife) operate(k uint64) {
	r := rand.New(rand.NewPCG(l.seed, 1000+k))
	after := 0
	for {
		select {
		case <-l.stopOps:
			return
		default:
		}
		if l.ended.Load() {
			if after++; after > 5 {
				<-l.stopOps
				return
			}
		}
		switch r.IntN(10) {
		case 0:
			l.checkViews()
		case 1, 2:
			if len(l.pools) > 0 {
				l.startInstance(pick(r, l.pools...), pick(r, "", "", "x", "y"))
			}
		default:
			l.order(context.Background(), r, fmt.Sprintf("operator %d", k))
		}
		time.Sleep(time.Duration(r.IntN(4000)) * time.Microsecond)
	}
}

// checkViews reads the snapshot and health at any moment: no panic, and
// consistency with each other.
func (l *soakLife) checkViews() {
	snap := l.tree.Snapshot()
	h := l.tree.Health()
	_ = l.tree.ShutdownReport()
	for _, c := range snap.Children {
		if c.Path == "" || !strings.HasPrefix(c.Path, "soak/") {
			l.violate("snapshot child with path %q", c.Path)
		}
		_ = runtime.ErrorText(c.LastError)
	}
	// Nothing stays in backoff, stopping or (with a ready timeout) starting
	// for long while its supervisor runs: backoffs are under 40ms, graces
	// under 70ms, nested budgets under 430ms.
	const stuck = 3 * time.Second
	select {
	case <-l.tree.Stopping():
	default:
		parents := map[string]runtime.State{}
		for _, c := range snap.Children {
			parents[c.Path] = c.State
		}
		for _, c := range snap.Children {
			parent := c.Path[:strings.LastIndex(c.Path, "/")]
			if ps, ok := parents[parent]; ok && ps != runtime.StateRunning && ps != runtime.StateStarting {
				continue
			}
			k := l.kids[c.Path]
			age := time.Since(c.Since)
			switch {
			case c.State == runtime.StateBackoff && age > stuck,
				c.State == runtime.StateStopping && age > stuck+k.budget,
				c.State == runtime.StateStarting && k.ready > 0 && age > stuck+k.ready:
				l.violate("%s in %v for %v while its supervisor runs", c.Path, c.State, age)
			}
		}
	}
	if h.State == runtime.HealthReady && h.Reason != "" {
		l.violate("health ready with reason %q", h.Reason)
	}
	for _, c := range h.Children {
		_ = c.Reason
	}
}

// --- the lifecycle ---

func (l *soakLife) run(baseGoroutines int) bool {
	r := rand.New(rand.NewPCG(l.seed, 7))
	l.draw(r)
	opts := []runtime.Option{runtime.WithObserver(l.observe), runtime.WithEventBuffer(1 << 12)}
	if r.IntN(3) == 0 {
		slow := rand.New(rand.NewPCG(l.seed, 8)) // used by the observer goroutine only
		opts = append(opts, runtime.WithObserver(func(e runtime.Event) {
			switch x := slow.IntN(1000); {
			case x < 10:
				time.Sleep(time.Duration(slow.IntN(30)) * time.Millisecond)
			case x == 10:
				select { // an observer that blocks
				case <-l.release:
				case <-time.After(time.Duration(slow.IntN(1500)) * time.Millisecond):
				}
			case x == 11:
				panic(soakPanicError{})
			case x == 12:
				goruntime.Goexit() // as t.FailNow in an observer
			}
		}))
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
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		<-tree.Stopping()
		stoppingAt.Store(time.Now().UnixNano())
	}()
	cancelAfter := time.Duration(-1)
	switch x := r.IntN(100); {
	case x < 5:
		l.doCancel() // before Run
	case x < 20:
		cancelAfter = time.Duration(r.IntN(5000)) * time.Microsecond // during startup
	case x < 45:
		cancelAfter = time.Duration(5+r.IntN(300)) * time.Millisecond
	case x < 65:
		l.trigger.Store(true) // at a group stop
		cancelAfter = 2 * time.Second
	case x < 90:
		cancelAfter = time.Duration(200+r.IntN(1800)) * time.Millisecond
	default:
		cancelAfter = time.Duration(4000+r.IntN(4000)) * time.Millisecond // long enough to see a stuck state
	}
	nops := 1 + r.IntN(3)
	var opsWG sync.WaitGroup
	for k := range nops {
		opsWG.Go(func() { l.operate(uint64(k)) })
	}
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
	l.afterRun(rerr, runAt, doneAt, stoppingAt.Load())

	// Orders on the ended tree, then release the leaked attempts.
	time.Sleep(2 * time.Millisecond)
	close(l.stopOps)
	waited := make(chan struct{})
	go func() { opsWG.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(3*l.budget + 5*time.Second):
		l.violate("an operator is still blocked %v after Run returned", time.Since(doneAt))
		dumpGoroutines(l.t)
		l.t.FailNow()
	}
	close(l.release)
	l.awaitAll(doneAt)
	l.wg.Wait()
	l.checkGoroutines(baseGoroutines)
	return len(l.violations) == 0
}

func (l *soakLife) doCancel() {
	l.cancelAt.CompareAndSwap(0, time.Now().UnixNano())
	l.cancel()
}

func (l *soakLife) observe(e runtime.Event) {
	if l.ended.Load() {
		l.late.Add(1)
	}
	if prev := l.lastSeq.Swap(e.Seq); e.Seq <= prev {
		l.violate("event %d delivered after %d", e.Seq, prev)
	} else if e.Seq > prev+1 {
		l.mu.Lock()
		for q := prev + 1; q < e.Seq && len(l.gaps) < 50; q++ {
			l.gaps = append(l.gaps, q)
		}
		l.mu.Unlock()
	}
	l.delivered.Add(1)
	if e.Kind == runtime.EventAbandoned {
		l.st.abandoned.Add(1)
	}
	// Cancel Run as a nested supervisor or a group begins to stop.
	groupStop := e.Kind == runtime.EventShuttingDown && e.Path != "soak" ||
		e.Kind == runtime.EventStopped && e.Exit == runtime.ExitCancelled
	if groupStop && l.trigger.CompareAndSwap(true, false) {
		l.doCancel()
	}
	_ = e.String()
}

// afterRun checks the guarantees the moment Run has returned.
func (l *soakLife) afterRun(rerr error, runAt, doneAt time.Time, stoppingAt int64) {
	report := l.tree.ShutdownReport()
	l.mu.Lock()
	var live []*soakRec
	for _, list := range l.live {
		live = append(live, list...)
	}
	l.mu.Unlock()
	for _, rec := range live {
		if rec.returned.Load() {
			continue
		}
		if rec.ctx.Err() == nil {
			l.violate("%s generation %d: still running with its context not cancelled when Run returned (%v)", rec.path, rec.gen, rerr)
		}
		if !soakInReport(report, rec.path, rec.gen) {
			l.violate("%s generation %d: still running when Run returned, not in ShutdownReport (%v)", rec.path, rec.gen, rerr)
		}
		if rec.a.Current() {
			l.violate("%s generation %d: still current when Run returned", rec.path, rec.gen)
		}
	}

	// Run's budget runs from the start of the shutdown.
	from := doneAt
	if c := l.cancelAt.Load(); c != 0 {
		from = time.Unix(0, c)
	}
	if stoppingAt != 0 && time.Unix(0, stoppingAt).Before(from) {
		from = time.Unix(0, stoppingAt)
	}
	if from.Before(runAt) {
		from = runAt
	}
	select {
	case <-l.tree.Stopping():
	default:
		l.violate("Run returned and Stopping is not closed")
	}
	over := doneAt.Sub(from) - l.budget - runtime.DeliveryMargin
	for {
		m := l.st.maxOver.Load()
		if int64(over) <= m || l.st.maxOver.CompareAndSwap(m, int64(over)) {
			break
		}
	}
	if over > soakSlack {
		l.violate("Run returned %v after the shutdown began; budget %v", doneAt.Sub(from), l.budget)
	}

	// Run's result, Err, Health.
	var gu *runtime.GiveUpError
	h := l.tree.Health()
	switch {
	case rerr == nil:
		if l.cancelAt.Load() != 0 {
			l.st.cancelled.Add(1)
		} else {
			l.st.significant.Add(1)
		}
		if h.State != runtime.HealthStopped {
			l.violate("Run returned nil, Health says %v (%s)", h.State, h.Reason)
		}
	case errors.As(rerr, &gu):
		l.st.gaveUp.Add(1)
		if gu.Supervisor != "soak" || !errors.Is(rerr, runtime.ErrRestartLimit) {
			l.violate("Run returned %v: the root's give-up should name it and wrap ErrRestartLimit", rerr)
		}
		// The root's limit, or with ChildLimit the child's own.
		lim := *l.spec.RestartLimit
		if own := l.kids[gu.Child].limit; gu.ChildLimit && own != nil {
			lim = *own
		}
		if gu.Max != lim.Max || gu.Window != lim.Window {
			l.violate("the root gave up with limit %d in %v (ChildLimit %v); the spec says %d in %v", gu.Max, gu.Window, gu.ChildLimit, lim.Max, lim.Window)
		}
		if !slices.Contains(l.paths, gu.Child) || strings.Count(gu.Child, "/") != 1 {
			l.violate("the root gave up naming %q, not one of its children", gu.Child)
		}
		if h.State != runtime.HealthFailed {
			l.violate("Run returned %v, Health says %v", rerr, h.State)
		}
	default:
		l.violate("Run returned %v (%T), want nil or a *GiveUpError", rerr, rerr)
	}
	if err := l.tree.Err(); err != rerr {
		l.violate("Err() = %v, Run returned %v", err, rerr)
	}
	if err := l.tree.Run(context.Background()); !errors.Is(err, runtime.ErrTreeEnded) {
		l.violate("Run again: %v, want ErrTreeEnded", err)
	}
	if err := l.tree.Observe(func(runtime.Event) { l.late.Add(1) }); !errors.Is(err, runtime.ErrTreeEnded) {
		l.violate("Observe after Run: %v, want ErrTreeEnded", err)
	}

	// States settle.
	snap := l.tree.Snapshot()
	for _, c := range snap.Children {
		switch {
		case c.Instance:
			l.violate("instance %s (%v) still listed after Run returned", c.Path, c.State)
		case c.State == runtime.StateStopped, c.State == runtime.StateDone, c.State == runtime.StateIdle:
		default:
			l.violate("%s shows %v after Run returned", c.Path, c.State)
		}
	}
	for _, p := range l.pools {
		if n := l.tree.Pool(p).Len(); n != 0 {
			l.violate("pool %s has %d instances after Run returned", p, n)
		}
		if c := l.tree.Pool(p).Counts(); c.Starting+c.Running+c.Backoff+c.Stopping+c.Stopped != 0 {
			l.violate("pool %s counts %+v after Run returned", p, c)
		}
	}
	for _, p := range l.paths {
		switch st := l.tree.Handle(p).State(); st {
		case runtime.StateStopped, runtime.StateDone, runtime.StateIdle:
		default:
			l.violate("Handle(%s).State() is %v after Run returned", p, st)
		}
	}
	// Orders on the ended tree.
	for _, p := range l.paths {
		h := l.tree.Handle(p)
		for _, err := range []error{h.Restart(), h.Stop(), h.StopAndWait(context.Background())} {
			if !errors.Is(err, runtime.ErrTreeEnded) {
				l.violate("order on %s after Run returned: %v, want ErrTreeEnded", p, err)
			}
		}
	}
	for _, p := range l.pools {
		if _, err := l.tree.Pool(p).Start("", l.runFunc()); !errors.Is(err, runtime.ErrTreeEnded) {
			l.violate("Start on %s after Run returned: %v, want ErrTreeEnded", p, err)
		}
	}
	// Events: what was not delivered was counted as dropped, when nothing
	// abandoned could still report.
	// Events after Run returned (fenced reports of escaped goroutines, late
	// exits of abandoned attempts) are in the journal only.
	// A fenced report after the last delivered event may be late: once Run
	// is returning, such reports go to the journal only.
	last := l.tree.LastEvent()
	var after uint64
	evs, _ := l.tree.Journal(0)
	l.mu.Lock()
	gaps := slices.Clone(l.gaps)
	l.mu.Unlock()
	var undelivered []string
	for _, e := range evs {
		if e.Seq > l.lastSeq.Load() || slices.Contains(gaps, e.Seq) {
			if e.Seq > l.lastSeq.Load() && (!e.Time.Before(doneAt) || e.Kind == runtime.EventFenced) {
				after++
			}
			if len(undelivered) < 8 {
				undelivered = append(undelivered, fmt.Sprintf("%d at %v: %s", e.Seq, e.Time.Sub(runAt), e))
			}
		}
	}
	// Each event is delivered, dropped, or (a late report) journaled only.
	if got := uint64(l.delivered.Load()) + snap.DroppedEvents; got > last || got+after < last {
		l.violate("%d events delivered + %d dropped + %d after Run, but the last is %d; Run returned at %v; undelivered: %s",
			l.delivered.Load(), snap.DroppedEvents, after, last, doneAt.Sub(runAt), strings.Join(undelivered, "; "))
	}
}

// awaitAll waits for every attempt to return once released.
func (l *soakLife) awaitAll(doneAt time.Time) {
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) {
		l.mu.Lock()
		n := len(l.live)
		l.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(time.Millisecond)
	if late := l.late.Load(); late > 0 {
		l.violate("%d events delivered to the observer after Run returned", late)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, list := range l.live {
		for _, rec := range list {
			l.mu.Unlock()
			l.violate("%s generation %d never returned, %v after Run and its release", p, rec.gen, time.Since(doneAt))
			l.mu.Lock()
		}
	}
}

func (l *soakLife) checkGoroutines(base int) {
	end := time.Now().Add(3 * time.Second)
	for {
		n := goruntime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(end) {
			l.violate("%d goroutines after the lifecycle, %d before the soak", n, base)
			dumpGoroutines(l.t)
			l.t.FailNow()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dumpGoroutines(t *testing.T) {
	f, err := os.CreateTemp("", "soak-goroutines-*.txt")
	if err != nil {
		return
	}
	defer f.Close()
	pprof.Lookup("goroutine").WriteTo(f, 2)
	t.Logf("goroutines dumped to %s", f.Name())
}

// soakHandler is a log handler that is sometimes slow and sometimes panics.
type soakHandler struct{ slog.Handler }

var soakHandlerN atomic.Int64

func (h soakHandler) Handle(ctx context.Context, r slog.Record) error {
	switch soakHandlerN.Add(1) % 500 {
	case 0:
		time.Sleep(20 * time.Millisecond)
	case 250:
		panic("handler panics")
	}
	return h.Handler.Handle(ctx, r)
}
func (h soakHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return soakHandler{h.Handler.WithAttrs(as)}
}
func (h soakHandler) WithGroup(g string) slog.Handler { return soakHandler{h.Handler.WithGroup(g)} }
