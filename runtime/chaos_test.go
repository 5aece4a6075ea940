package runtime_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
)

// TestChaos's flags, which go after the package: go test ./runtime/ -chaos.seed=N.
var (
	chaosSeed     = flag.Uint64("chaos.seed", 0, "seed of TestChaos (0: from the clock)")
	chaosDuration = flag.Duration("chaos.duration", 20*time.Second, "how long TestChaos runs (3s with -short)")
)

// chaos is one run of TestChaos.
type chaos struct {
	t     *testing.T
	seed  uint64
	epoch time.Time
	ct    *chaosTree
	tree  *runtime.Tree
	stall *stallMeter   // the process's stalls, which excuse late deadlines
	prior goleak.Option // the goroutines of earlier tests, which TestMain judges

	calm   chan struct{} // closed when faults stop, before the final shutdown
	calmed atomic.Bool
	kill   chan struct{} // closed to end every run function, after the checks

	mu            sync.Mutex
	live          map[attemptKey]*attemptRec // attempts whose run function has not returned
	held          map[int]time.Time          // children stopped by an order, by slot id: when
	orphans       map[attemptKey]time.Time   // abandoned while not in live
	instOrphans   map[instKey]time.Time      // instances' attempts abandoned while not in live
	instLive      map[instKey]*attemptRec    // live instance attempts, by path and generation
	startSuspects []startSuspect             // ErrNotRunning answers not yet explained
	suspects      []overlap                  // overlaps not yet explained
	heldSuspects  []heldSuspect              // holds seen broken, until the observer catches up
	returned      bool                       // Run has returned

	final    atomic.Bool // the observer records what the final checks need
	finalAb  map[attemptKey]time.Time
	scan     []*attemptRec // live, uncancelled attempts when the final shutdown began
	scanAt   time.Time
	cancelAt time.Time // when the test cancelled Run's context
	doneAt   time.Time // when Run returned
	dropped  uint64    // events the runtime dropped, by then

	vmu        sync.Mutex
	violations map[string][]string // by invariant, the first few
	violated   map[string]int      // by invariant, how many
	unverified int                 // suspicions events dropped by the runtime left open

	samples  []chaosSample
	stats    chaosStats
	events   [runtime.EventWaiting + 1]atomic.Int64 // by kind
	seen     atomic.Int64                           // the latest observed event's time, as since
	heldOpen atomic.Int32                           // len(heldSuspects)
}

type attemptKey struct {
	slot int
	gen  uint64
}

// attemptRec is what a run function records of its attempt. Fields other
// than abandoned are written by the attempt's goroutine before it returns.
type attemptRec struct {
	key     attemptKey
	slot    *chaosSlot
	a       *runtime.Attempt
	ctx     context.Context
	readyAt atomic.Int64 // when it first called Ready, as chaos.since; read by the observer

	firstBeat, lastBeat time.Time
	maxGap              time.Duration // longest time between two beats
	beats, notCurrent   int           // beats, and those made while the attempt was not current
	stopBeating         bool

	cancelAt time.Time // when it saw its context cancelled
	cause    error
	ctxErr   error

	returnedAt time.Time
	abandoned  bool // guarded by chaos.mu
}

type chaosStats struct {
	starts, overlaps         atomic.Int64
	restarts                 atomic.Int64 // Starting events of restarts
	faults                   [faultHostile + 1]atomic.Int64
	lingered                 atomic.Int64
	ordersOK, ordersNotRun   atomic.Int64
	snapshots, healthReads   atomic.Int64
	staleCancels, readyLates atomic.Int64
	observerLag              atomic.Int64 // the longest, from an event to its observation; written by the observer
	pool                     poolStats
}

// TestChaos runs a tree of about 1,000 children under three levels of
// supervisors whose run functions fail, panic, return nil or hostile errors,
// call runtime.Goexit, ignore cancellation, stop beating and report readiness
// late, while an operator gives Restart and Stop orders and reads snapshots,
// and drivers start pool instances (see chaos_pool_test.go).
// It checks the runtime's invariants as it runs and at shutdown (see
// chaos_check_test.go). The seed fixes the tree and what every attempt does;
// the scheduling is the machine's. The long form:
//
//	go test -race -run 'TestChaos$' -timeout=30m ./runtime/ -chaos.duration=10m
func TestChaos(t *testing.T) {
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	d := *chaosDuration
	if testing.Short() && !flagGiven("chaos.duration") {
		d = 3 * time.Second
	}
	t.Logf("chaos seed %d, duration %v", seed, d)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay: go test -race -run 'TestChaos$' ./runtime/ -chaos.seed=%d -chaos.duration=%v", seed, d)
		}
	})
	c := &chaos{t: t, seed: seed, epoch: time.Now(), calm: make(chan struct{}), kill: make(chan struct{}),
		live: map[attemptKey]*attemptRec{}, held: map[int]time.Time{}, orphans: map[attemptKey]time.Time{}, instOrphans: map[instKey]time.Time{}, instLive: map[instKey]*attemptRec{},
		finalAb: map[attemptKey]time.Time{}, violations: map[string][]string{}, violated: map[string]int{}}
	c.prior = goleak.IgnoreCurrent()
	c.stall = startStallMeter()
	defer c.stall.end()
	c.ct = drawChaosTree(seed, c.runFunc)
	tree, err := runtime.New(c.ct.spec,
		runtime.WithObserver(c.observe),
		runtime.WithEventBuffer(1<<16),
		runtime.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("seed %d: New: %v", seed, err)
	}
	c.tree = tree
	c.preparePools()
	t.Logf("tree: %d workers, %d supervisors, %d pools (%s)", c.ct.workers, len(c.ct.sups)-len(c.ct.pools), len(c.ct.pools), c.ct.describe())
	c.run(d)
	c.finish(d)
}

func flagGiven(name string) (given bool) {
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// run drives the tree for d: chaos, a calm second, then the final shutdown.
func (c *chaos) run(d time.Duration) {
	const calmFor = time.Second // longer than any backoff: group restarts finish
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	begin := time.Now()
	go func() { runErr <- c.tree.Run(ctx) }()

	stopOps, stopSampler := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.operate(stopOps) })
	for k := range uint64(3) {
		wg.Go(func() { c.drivePools(stopOps, k) })
	}
	wg.Go(func() { c.sample(stopSampler, max(250*time.Millisecond, min(5*time.Second, d/40))) })

	ended := false
	select {
	case <-time.After(max(0, d-calmFor)):
	case <-c.tree.Done():
		ended = true
	}
	close(stopOps)
	c.calmed.Store(true)
	close(c.calm)
	if !ended {
		select {
		case <-time.After(calmFor):
		case <-c.tree.Done():
			ended = true
		}
	}
	close(stopSampler)
	wg.Wait()
	c.stats.log(c, time.Since(begin))
	if !ended {
		c.checkPoolsCalm()
		c.t.Logf("calm: %d restarted instances checked to run their own run function", c.stats.pool.rerunChecked.Load())
	}

	// The final shutdown: note which attempts it will cancel, then cancel.
	c.final.Store(true)
	c.mu.Lock()
	c.scanAt = time.Now()
	for _, r := range c.live {
		if r.ctx.Err() == nil {
			c.scan = append(c.scan, r)
		}
	}
	c.mu.Unlock()
	c.cancelAt = time.Now()
	cancel()
	err := <-runErr
	c.doneAt = time.Now()
	if ended {
		c.violate("tree ends only when cancelled", "Run returned before the end of the run: %v", err)
	} else if err != nil {
		c.violate("tree ends only when cancelled", "Run returned %v after cancellation; want nil", err)
	}
	c.afterRun()
}

// runFunc is every worker's RunFunc: it records the attempt and plays the
// attempt's plan.
func (c *chaos) runFunc(s *chaosSlot) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		rec := c.begin(s, a, ctx)
		defer c.end(rec) // also after a panic or runtime.Goexit
		return c.play(ctx, a, rec, s.plan(c.seed, a.Generation()))
	}
}

// chaosFault is what an attempt does of its own accord.
type chaosFault uint8

const (
	faultNone         chaosFault = iota // run until cancelled
	faultError                          // return an error
	faultPanic                          // panic
	faultNil                            // return nil
	faultGoexit                         // call runtime.Goexit
	faultDoNotRestart                   // return an error wrapping ErrDoNotRestart
	faultStopBeating                    // stop calling Beat
	faultHostile                        // return or panic with a value that breaks careless code
)

var faultNames = [...]string{"none", "error", "panic", "nil", "goexit", "do-not-restart", "stop-beating", "hostile"}

// chaosPlan is what one attempt will do.
type chaosPlan struct {
	fault   chaosFault
	at      time.Duration // when the fault strikes
	readyIn time.Duration // when it calls Ready; negative: never
	linger  time.Duration // how long it ignores cancellation
	beat    time.Duration // time between beats
}

// plan draws what generation gen of s does; the same seed gives the same plan.
func (s *chaosSlot) plan(seed, gen uint64) chaosPlan {
	r := rand.New(rand.NewPCG(seed^uint64(s.id+1)*0x9e3779b97f4a7c15, gen))
	p := chaosPlan{at: min(8*s.life, max(10*time.Millisecond, time.Duration(r.ExpFloat64()*float64(s.life))))}
	switch x := r.IntN(100); {
	case x < 28:
		p.fault = faultNone
	case x < 48:
		p.fault = faultError
	case x < 58:
		p.fault = faultPanic
	case x < 70:
		p.fault = faultNil
	case x < 76:
		p.fault = faultGoexit
	case x < 78:
		p.fault = faultDoNotRestart
	case x < 90:
		p.fault = faultStopBeating
		if s.child.Heartbeat == nil {
			p.fault = faultNone
		}
	default:
		p.fault = faultHostile
	}
	if rd := s.child.Ready; rd != nil {
		switch x := r.IntN(100); {
		case x < 85:
			p.readyIn = time.Duration(r.IntN(20)) * time.Millisecond
		case x < 95 || rd.Timeout == 0:
			p.readyIn = time.Duration((0.3 + 0.6*r.Float64()) * float64(max(rd.Timeout, 200*time.Millisecond)))
		default:
			p.readyIn = -1
		}
	}
	switch x := r.IntN(100); {
	case x < 8:
		p.linger = s.child.Shutdown + time.Duration(20+r.IntN(380))*time.Millisecond // abandoned
	case x < 14:
		p.linger = time.Duration(r.Int64N(int64(s.child.Shutdown / 2))) // slow, within its grace
	}
	if hb := s.child.Heartbeat; hb != nil {
		p.beat = hb.Timeout / 5
	}
	return p
}

var errChaos = errors.New("chaos: injected failure")

// play runs one attempt's plan.
func (c *chaos) play(ctx context.Context, a *runtime.Attempt, rec *attemptRec, p chaosPlan) error {
	var fault, ready, beat <-chan time.Time
	if p.fault != faultNone {
		t := time.NewTimer(p.at)
		defer t.Stop()
		fault = t.C
	}
	if rec.slot.child.Ready != nil {
		switch {
		case p.readyIn == 0:
			c.ready(rec, a)
		case p.readyIn > 0:
			t := time.NewTimer(p.readyIn)
			defer t.Stop()
			ready = t.C
		}
	}
	if p.beat > 0 {
		rec.beat(a)
		t := time.NewTicker(p.beat)
		defer t.Stop()
		beat = t.C
	}
	calm := c.calm
	for {
		select {
		case <-ctx.Done():
			c.cancelled(rec, ctx)
			return c.linger(ctx, p)
		case <-calm: // no more faults; what was held back happens now
			calm, fault = nil, nil
			rec.stopBeating = false
			if rec.slot.child.Ready != nil {
				c.ready(rec, a)
			}
		case <-ready:
			c.ready(rec, a)
		case <-beat:
			if !rec.stopBeating {
				rec.beat(a)
			}
		case <-fault:
			if c.calmed.Load() {
				continue
			}
			c.stats.faults[p.fault].Add(1)
			switch p.fault {
			case faultError:
				return fmt.Errorf("%s generation %d: %w", rec.slot.path, rec.key.gen, errChaos)
			case faultPanic:
				panic(fmt.Sprintf("chaos: %s generation %d", rec.slot.path, rec.key.gen))
			case faultNil:
				return nil
			case faultGoexit:
				goruntime.Goexit()
			case faultDoNotRestart:
				return fmt.Errorf("chaos: done: %w", runtime.ErrDoNotRestart)
			case faultStopBeating:
				rec.stopBeating = true
			case faultHostile:
				switch rec.key.gen % 3 {
				case 0:
					return &hostileError{}
				case 1:
					var typedNil *typedNilError
					return typedNil
				default:
					panic(&hostileError{})
				}
			}
		case <-c.kill:
			return errKilled
		}
	}
}

// linger ignores cancellation for the plan's linger.
func (c *chaos) linger(ctx context.Context, p chaosPlan) error {
	if p.linger > 0 {
		c.stats.lingered.Add(1)
		t := time.NewTimer(p.linger)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.kill:
			return errKilled
		}
	}
	return ctx.Err()
}

var errKilled = errors.New("chaos: killed after the checks")

// hostileError is an error whose Is method panics.
type hostileError struct{}

func (*hostileError) Error() string   { return "chaos: hostile error" }
func (*hostileError) Is(error) bool   { panic("chaos: hostile Is") }
func (*hostileError) Unwrap() []error { return []error{errChaos} }

// typedNilError panics in Error when nil.
type typedNilError struct{ msg string }

func (e *typedNilError) Error() string { return e.msg }

func (c *chaos) ready(r *attemptRec, a *runtime.Attempt) {
	if r.readyAt.Load() == 0 {
		r.readyAt.Store(c.since(time.Now()))
		a.Ready()
	}
}

// since and at convert between times and int64, for atomics.
func (c *chaos) since(t time.Time) int64 { return int64(t.Sub(c.epoch)) }
func (c *chaos) at(n int64) time.Time    { return c.epoch.Add(time.Duration(n)) }

func (r *attemptRec) beat(a *runtime.Attempt) {
	now := time.Now()
	if r.firstBeat.IsZero() {
		r.firstBeat = now
	} else {
		r.maxGap = max(r.maxGap, now.Sub(r.lastBeat))
	}
	r.lastBeat = now
	r.beats++
	if !a.Current() {
		r.notCurrent++ // the runtime fences it: to explain a stale verdict
	}
	a.Beat()
}

// operate gives Restart and Stop orders on random paths, about 100 a second,
// and reads snapshots and health every 20ms, until stop is closed.
func (c *chaos) operate(stop <-chan struct{}) {
	r := rand.New(rand.NewPCG(c.seed, 0x0be7a70))
	handles := make([]*runtime.Handle, len(c.ct.slots))
	for i, s := range c.ct.slots {
		handles[i] = c.tree.Handle(s.path)
	}
	var held []int // stopped by an order, not restarted since
	prev := make([]runtime.ChildStatus, len(c.ct.slots))
	reads := time.NewTicker(20 * time.Millisecond)
	defer reads.Stop()
	order := time.NewTimer(0)
	defer order.Stop()
	for {
		select {
		case <-stop:
			return
		case <-reads.C:
			c.checkSnapshot(prev)
			c.checkHealth()
			c.checkPools(false)
		case <-order.C:
			order.Reset(time.Duration(r.ExpFloat64() * float64(10*time.Millisecond)))
			if r.IntN(5) == 0 {
				c.poolOrder(r)
				continue
			}
			var i int
			restart, release := true, false
			switch x := r.IntN(100); {
			case x < 8 && len(held) > 0: // a hold lasts about five seconds
				k := r.IntN(len(held))
				i, release = held[k], true
				held = append(held[:k], held[k+1:]...)
			case x < 70 || len(held) >= 40:
				i = c.pickSlot(r)
			default:
				i, restart = c.pickSlot(r), false
			}
			var err error
			if restart {
				if err = handles[i].Restart(); err == nil {
					c.mu.Lock()
					delete(c.held, i)
					c.mu.Unlock()
				}
			} else if err = handles[i].Stop(); err == nil {
				held = append(held, i)
				c.mu.Lock()
				if _, ok := c.held[i]; !ok {
					c.held[i] = time.Now()
				}
				c.mu.Unlock()
			}
			switch {
			case err == nil:
				c.stats.ordersOK.Add(1)
			case errors.Is(err, runtime.ErrNotRunning):
				c.stats.ordersNotRun.Add(1) // its supervisor is restarting
				if release {
					held = append(held, i) // try again later
				}
			default:
				c.violate("orders", "%s: order returned %v; want nil or ErrNotRunning", c.ct.slots[i].path, err)
			}
		}
	}
}

// chaosSample is one reading of the process.
type chaosSample struct {
	at         time.Time
	heap       uint64 // live heap after a GC
	goroutines int
	live       int // run functions that have not returned, abandoned ones included
}

// sample reads the heap and goroutines every interval until stop is closed,
// and settles overlap suspicions as their explanations arrive.
func (c *chaos) sample(stop <-chan struct{}, interval time.Duration) {
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		goruntime.GC()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		n := goruntime.NumGoroutine()
		c.mu.Lock()
		live := len(c.live)
		for k, at := range c.orphans {
			if time.Since(at) > time.Minute {
				delete(c.orphans, k)
			}
		}
		for k, at := range c.instOrphans {
			if time.Since(at) > time.Minute {
				delete(c.instOrphans, k)
			}
		}
		c.mu.Unlock()
		c.checkPools(true)
		c.settleStartSuspects(false)
		c.samples = append(c.samples, chaosSample{at: time.Now(), heap: ms.HeapAlloc, goroutines: n, live: live})
		c.settleSuspects(false)
		c.checkHeld()
	}
}

// log reports what the run did, per second, so a reader can judge whether it
// was meaningful on this machine.
func (s *chaosStats) log(c *chaos, d time.Duration) {
	per := func(n int64) string { return fmt.Sprintf("%d (%.0f/s)", n, float64(n)/d.Seconds()) }
	ev := func(k runtime.EventKind) int64 { return c.events[k].Load() }
	var all int64
	for k := range c.events {
		all += c.events[k].Load()
	}
	var faults string
	for f := faultError; f <= faultHostile; f++ {
		faults += fmt.Sprintf(" %s=%d", faultNames[f], s.faults[f].Load())
	}
	c.t.Logf("in %v: attempts %s, restarts %s, events %s (dropped %d; observed at most %v late)", d.Round(time.Millisecond),
		per(s.starts.Load()), per(s.restarts.Load()), per(all), c.tree.Snapshot().DroppedEvents, time.Duration(s.observerLag.Load()).Round(time.Millisecond))
	c.t.Logf("faults:%s; stale %d, not ready in time %d, lingered %d, abandoned %d, fenced %d, overlaps %d, gave up %d",
		faults, s.staleCancels.Load(), s.readyLates.Load(), s.lingered.Load(), ev(runtime.EventAbandoned), ev(runtime.EventFenced),
		s.overlaps.Load(), ev(runtime.EventGaveUp))
	c.t.Logf("orders %s (ErrNotRunning %d), snapshots %s, health reads %d",
		per(s.ordersOK.Load()+s.ordersNotRun.Load()), s.ordersNotRun.Load(), per(s.snapshots.Load()), s.healthReads.Load())
	c.t.Logf("pools: %v", &s.pool)
	states := map[string]int{}
	for _, st := range c.tree.Snapshot().Children {
		kind := "worker"
		if st.Instance {
			kind = "instance"
		} else if st.Supervisor {
			kind = "supervisor"
		}
		states[kind+" "+st.State.String()]++
	}
	c.t.Logf("states at the end: %v", states)
	if n := len(c.samples); n > 0 {
		first, last := c.samples[0], c.samples[n-1]
		c.t.Logf("samples: %d; goroutines %d→%d (run functions %d→%d), heap %.1f→%.1f MB",
			n, first.goroutines, last.goroutines, first.live, last.live, mb(first.heap), mb(last.heap))
	}
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// describe summarises the tree's shape for the log.
func (ct *chaosTree) describe() string {
	perLevel := map[int]int{}
	strategies := map[runtime.Strategy]int{}
	var ready, hb, timeout, after, significant, ownLimit int
	for _, sv := range ct.sups {
		if sv.pool != nil {
			continue // counted apart
		}
		perLevel[sv.level]++
		strategies[sv.strategy]++
	}
	for _, s := range ct.slots {
		c := s.child
		if c.Ready != nil {
			ready++
		}
		if c.Heartbeat != nil {
			hb++
		}
		if c.Timeout > 0 {
			timeout++
		}
		if len(c.After) > 0 {
			after++
		}
		if c.Significant {
			significant++
		}
		if c.RestartLimit != nil {
			ownLimit++
		}
	}
	return fmt.Sprintf("supervisors per level %v, strategies %v; ready %d, heartbeat %d, timeout %d, after %d, significant %d, own limit %d",
		perLevel, strategies, ready, hb, timeout, after, significant, ownLimit)
}
