package runtime_test

// TestChaosExact runs short lifecycles of deep trees inside testing/synctest
// bubbles, where time is exact: no stall of a loaded machine has to be
// excused, so it holds the runtime to its timing promises to the instant,
// which the chaos tests on the real clock can only check with a margin.
// Trees have six or seven levels of supervisors (every strategy, nested
// budgets shorter and longer than their parents'), pools at any level
// whose instances are started by workers and instances anywhere in the
// tree, after lists at every level, and workers with ready, heartbeat and
// attempt timeouts that fail, panic, call runtime.Goexit, return, stop
// beating, are never ready, overrun their timeout, ignore cancellation
// past their grace and StopAndWait themselves or a supervisor above them,
// while an operator gives Restart, Stop and StopAndWait orders on any
// child. In one lifecycle of three, children at any level hold leases on
// an in-memory store that loses them now and then, while a rival takes a
// free one for a moment. Each lifecycle ends by a cancellation at a random
// moment, a significant child or the root giving up. It checks, as
// attempts see it:
//
//   - a heartbeat timeout comes no earlier than the timeout after the last
//     beat (or the run function's start) and no later than half a timeout
//     more, and only to an attempt that stopped beating;
//   - a readiness timeout comes exactly its timeout after the start, and
//     only to an attempt that was not ready;
//   - an attempt timeout comes exactly at its deadline;
//   - a lost lease cancels the attempts of its worker or pool at the
//     instant it is lost, and those below its nested supervisor while that
//     stops within its budget; no attempt starts while the rival holds a
//     lease above it, and the rival takes none while an attempt under it
//     runs, unless abandoned;
//
// and from the event stream and Run:
//
//   - an attempt is abandoned no later than its grace after it was
//     cancelled;
//   - a restart's delay is within what its backoff allows, and the restart
//     starts no earlier than that delay, and exactly then when nothing
//     else holds it (a child of a one_for_one supervisor or a pool's
//     instance, without an order, After list or lease to wait for);
//   - each nested supervisor and pool stops within its own budget once it
//     began to;
//   - at random instants when every goroutine of the bubble is blocked,
//     nothing is overdue: no child that restarts by itself in backoff past
//     its delay, none starting past its ready timeout, none stopping past
//     its grace or budget, none of a one_for_one supervisor waiting for
//     an After list whose siblings are all ready; and no child that a
//     stopping supervisor stops (rather than one that failed by itself
//     meanwhile) stopping while a sibling started after it still runs;
//   - StopAndWait returns nil only once the attempt it stopped has returned
//     or been abandoned;
//   - Run returns within the root's budget plus DeliveryMargin of its
//     cancellation or of the root giving up;
//   - when Run returns, every attempt still running is listed in
//     ShutdownReport, and the snapshot shows no child live; when it
//     returns within its budget, the tree holds no lease.
//
// It runs for 3 s in go test (1 s with -short) and prints its seed:
//
//	for i in 1 2 3 4 5; do go test -race -run 'TestChaosExact$' -v ./runtime/ -exact.duration=1m; done
//	go test -race -run 'TestChaosExact$' -v ./runtime/ -exact.seed=N -exact.life=K   # replay one lifecycle
//
// A seed fixes the tree and the moment of cancellation, and the draws of
// the attempts in the order they are made; goroutines still interleave
// differently from one run to the next.
//
// Under -race, a run of half a minute or more now and then ends in a
// crash of the race detector's own runtime ("ThreadSanitizer: CHECK
// failed: tsan_rtl.cpp:346"), which looks like golang/go#78156
// (testing/synctest under the race detector); 30 runs of the default 3 s
// never did. Hence the long form above, in processes of a minute each,
// so that a crash costs little (-count would run them all in one).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var (
	exactDuration = flag.Duration("exact.duration", 3*time.Second, "how long TestChaosExact runs (1s with -short)")
	exactSeed     = flag.Uint64("exact.seed", 0, "base seed of TestChaosExact (0: from the clock)")
	exactOnly     = flag.Int("exact.life", -1, "run only this lifecycle of the seed, to replay it")
)

func TestChaosExact(t *testing.T) {
	seed := *exactSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	d := *exactDuration
	if testing.Short() && !flagGiven("exact.duration") {
		d = time.Second
	}
	t.Logf("exact seed %d, duration %v", seed, d)
	end := time.Now().Add(d)
	var st exactStats
	for life := 0; ; life++ {
		if *exactOnly >= 0 {
			life = *exactOnly
		} else if time.Now().After(end) {
			break
		}
		failed := false
		synctest.Test(t, func(t *testing.T) {
			runExactLife(t, seed, life, &st)
			if failed = t.Failed(); failed {
				t.Errorf("lifecycle %d failed: replay with -exact.seed=%d -exact.life=%d", life, seed, life)
			}
		})
		if failed {
			t.FailNow()
		}
		if *exactOnly >= 0 {
			break
		}
	}
	t.Logf("%d lifecycles, %d attempts, %d heartbeat, %d ready and %d attempt timeouts, %d abandoned, "+
		"%d restarts on time to the instant, %d settled instants checked (%d pairs of siblings held to their stop order, %d waiting children to their After lists), %d orders (%d StopAndWait returned nil), %d gave up at the root, %d ended by a significant child; leases in %d lifecycles, %d attempts cancelled by a lost lease, %d taken by the rival",
		st.lives, st.attempts, st.heartbeat, st.ready, st.timeout, st.abandoned, st.onTime, st.probes, st.orderChecks, st.waitChecks, st.orders, st.waited, st.gaveUp, st.significant, st.leased, st.leaseCut, st.rivals)
}

type exactStats struct {
	lives, attempts, heartbeat, ready, timeout, abandoned, gaveUp, significant, orders, waited int
	leased, leaseCut, rivals, onTime, probes, orderChecks, waitChecks                          int
}

// exactChild is what the test knows of a child's spec, by path.
type exactChild struct {
	spec   runtime.Child
	sup    *runtime.Spec // a supervisor's (the root's too)
	budget time.Duration // a nested supervisor's or pool's
	pool   bool
	super  bool
}

type exactLife struct {
	t     *testing.T
	tree  *runtime.Tree
	kids  map[string]*exactChild // by path; pool instances by their pool's path
	pools []string

	// In one lifecycle of three, some children hold leases on f, which
	// loses them now and then, while a rival takes a free one for a moment.
	f      *fakeLeaser
	leases []string // the leased children's paths, which name their leases

	mu          sync.Mutex
	rng         *rand.Rand // the attempts' draws
	events      []runtime.Event
	cancelAt    map[string]time.Time       // path#gen → when the attempt saw its cancellation
	causes      map[string]error           // path#gen → the cause of its cancellation
	live        map[string]context.Context // path#gen → its context, while its run function has not returned
	attempts    int
	hb, rdy     int
	tmo         int
	orders      int
	waited      int                    // StopAndWait that returned nil
	lost        map[string][]time.Time // lease name → when it was lost
	rival       map[uint64]bool        // tokens the rival held
	leaseCut    int                    // attempts cancelled by a lost lease
	onTime      int                    // restarts held to the instant their delay ends
	probes      int                    // settled instants checked for overdue states
	orderChecks int                    // pairs of siblings held to their stop order
	waitChecks  int                    // waiting children held to their After lists
}

// operate gives orders on random children until the tree ends: Restart,
// Stop and StopAndWait, which must not return nil before the attempt it
// stopped has returned or been abandoned.
func (l *exactLife) operate(r *rand.Rand) {
	for {
		select {
		case <-l.tree.Done():
			return
		case <-time.After(time.Duration(1+r.IntN(800)) * time.Millisecond):
		}
		kids := l.tree.Snapshot().Children
		c := kids[r.IntN(len(kids))]
		h := l.tree.Handle(c.Path)
		if h == nil {
			continue // an instance removed since
		}
		l.mu.Lock()
		l.orders++
		l.mu.Unlock()
		var err error
		switch r.IntN(4) {
		case 0, 1:
			err = h.Restart()
		case 2:
			err = h.Stop()
		default:
			st := h.Status()
			k := l.kid(c.Path)
			if c.Supervisor || k == nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err = h.StopAndWait(ctx)
				cancel()
				break
			}
			err = h.StopAndWait(context.Background())
			if err == nil {
				l.mu.Lock()
				l.waited++
				l.mu.Unlock()
				key := exactKey(c.Path, st.Generation)
				l.mu.Lock()
				_, running := l.live[key]
				l.mu.Unlock()
				if running && !l.abandoned(key) {
					l.t.Errorf("StopAndWait(%s) returned nil while attempt %s still runs, not abandoned", c.Path, key)
				}
			}
		}
		if err != nil && !errors.Is(err, runtime.ErrNotRunning) && !errors.Is(err, runtime.ErrRemoved) {
			l.t.Errorf("order on %s: %v", c.Path, err)
		}
	}
}

// abandoned reports whether ShutdownReport lists the attempt key.
func (l *exactLife) abandoned(key string) bool {
	for _, a := range l.tree.ShutdownReport().Abandoned {
		if exactKey(a.Path, a.Generation) == key {
			return true
		}
	}
	return false
}

func exactKey(path string, gen uint64) string { return fmt.Sprintf("%s#%d", path, gen) }

func runExactLife(t *testing.T, seed uint64, life int, st *exactStats) {
	tr := rand.New(rand.NewPCG(seed, uint64(life)))
	l := &exactLife{t: t, kids: map[string]*exactChild{}, rng: rand.New(rand.NewPCG(seed, uint64(life)+1<<32)),
		cancelAt: map[string]time.Time{}, causes: map[string]error{}, live: map[string]context.Context{}, lost: map[string][]time.Time{}, rival: map[uint64]bool{}}
	var opts []runtime.Option
	if tr.IntN(3) == 0 {
		l.f = newFakeLeaser()
		opts = append(opts, runtime.WithLeaser(l.f))
	}
	depth := 6 + tr.IntN(2)
	spec := l.supervisor(tr, "x", 1, depth)
	spec.Name = "x"
	l.kids["x"] = &exactChild{super: true, budget: spec.Shutdown, sup: &spec}
	opts = append(opts, runtime.WithEventBuffer(1<<20), runtime.WithObserver(func(e runtime.Event) {
		l.mu.Lock()
		l.events = append(l.events, e)
		l.mu.Unlock()
	}))
	tree, err := runtime.New(spec, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	l.tree = tree

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cmu sync.Mutex
	var cancelledAt time.Time
	lifetime := time.Duration(tr.IntN(20000)) * time.Millisecond
	go func() {
		time.Sleep(lifetime)
		cmu.Lock()
		cancelledAt = time.Now()
		cmu.Unlock()
		cancel()
	}()
	opDone := make(chan struct{})
	go func() {
		defer close(opDone)
		l.operate(rand.New(rand.NewPCG(seed, uint64(life)+2<<32)))
	}()
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		if len(l.leases) > 0 {
			l.leaseChaos(rand.New(rand.NewPCG(seed, uint64(life)+3<<32)))
		}
	}()
	start := time.Now()
	var runErr error
	var returned time.Time
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		runErr = tree.Run(ctx)
		returned = time.Now()
	}()
	// At random instants, once every goroutine of the bubble is blocked,
	// nothing may be overdue.
	pr := rand.New(rand.NewPCG(seed, uint64(life)+4<<32))
	for probing := true; probing; {
		select {
		case <-ran:
			probing = false
		case <-time.After(time.Duration(1+pr.IntN(300)) * time.Millisecond):
			synctest.Wait()
			l.settled()
		}
	}
	<-opDone
	<-leaseDone
	cmu.Lock()
	cancelled := cancelledAt
	cmu.Unlock()

	// Run's budget, from its cancellation or the root's giving up.
	from := cancelled
	l.mu.Lock()
	evs := append([]runtime.Event(nil), l.events...)
	l.mu.Unlock()
	for _, e := range evs {
		if e.Kind == runtime.EventShuttingDown && e.Path == "x" {
			if from.IsZero() || e.Time.Before(from) {
				from = e.Time
			}
			break
		}
	}
	if from.IsZero() {
		t.Fatalf("Run returned %v after %v without being cancelled or the root stopping", runErr, returned.Sub(start))
	}
	if limit := from.Add(spec.Shutdown + runtime.DeliveryMargin); returned.After(limit) {
		t.Errorf("Run returned %v after its root began to stop, more than its budget %v plus DeliveryMargin", returned.Sub(from), spec.Shutdown)
	}
	if l.f != nil && returned.Sub(from) < spec.Shutdown {
		l.f.mu.Lock()
		for name, fl := range l.f.held {
			l.mu.Lock()
			if !l.rival[fl.token] {
				t.Errorf("lease %s (token %d) still held after Run returned within its budget", name, fl.token)
			}
			l.mu.Unlock()
		}
		l.f.mu.Unlock()
	}
	switch {
	case errors.Is(runErr, runtime.ErrRestartLimit):
		st.gaveUp++
	case runErr == nil && cancelled.IsZero():
		st.significant++
	case runErr != nil:
		t.Errorf("Run: %v", runErr)
	}

	// Every attempt still running is cancelled and listed.
	rep := tree.ShutdownReport()
	listed := map[string]bool{}
	for _, a := range rep.Abandoned {
		listed[exactKey(a.Path, a.Generation)] = true
	}
	l.mu.Lock()
	for k, ctx := range l.live {
		if !listed[k] {
			t.Errorf("attempt %s still runs after Run returned and is not in ShutdownReport", k)
		}
		if ctx.Err() == nil {
			t.Errorf("attempt %s still runs after Run returned, not cancelled", k)
		}
	}
	l.mu.Unlock()
	for _, c := range tree.Snapshot().Children {
		switch c.State {
		case runtime.StateIdle, runtime.StateStopped, runtime.StateDone:
		default:
			t.Errorf("after Run: %s is %v", c.Path, c.State)
		}
	}

	// Let the abandoned attempts return, and every goroutine of the bubble end.
	time.Sleep(time.Minute)
	synctest.Wait()
	l.mu.Lock()
	evs = append([]runtime.Event(nil), l.events...)
	l.mu.Unlock()
	l.checkEvents(evs)

	l.mu.Lock()
	st.lives++
	st.attempts += l.attempts
	st.heartbeat += l.hb
	st.ready += l.rdy
	st.timeout += l.tmo
	st.abandoned += len(rep.Abandoned) + rep.Forgotten
	st.orders += l.orders
	st.leaseCut += l.leaseCut
	st.onTime += l.onTime
	st.probes += l.probes
	st.orderChecks += l.orderChecks
	st.waitChecks += l.waitChecks
	st.rivals += len(l.rival)
	if l.f != nil {
		st.leased++
	}
	st.waited += l.waited
	l.mu.Unlock()
}

// supervisor draws a supervisor at level (1 is the root) with nested ones
// down to depth.
func (l *exactLife) supervisor(r *rand.Rand, path string, level, depth int) runtime.Spec {
	strategies := []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne}
	s := runtime.Spec{
		Strategy:     strategies[r.IntN(3)],
		RestartLimit: &runtime.RestartLimit{Max: 1 + r.IntN(8), Window: time.Duration(1+r.IntN(10)) * time.Second},
		Backoff: &runtime.Backoff{Initial: time.Duration(1+r.IntN(200)) * time.Millisecond, Max: time.Duration(1+r.IntN(3)) * time.Second,
			Multiplier: 1 + r.Float64()*2, Jitter: r.Float64() * 0.4, ResetAfter: time.Duration(1+r.IntN(5)) * time.Second},
		Shutdown: time.Duration(20+r.IntN(3000)) * time.Millisecond,
	}
	n := 2 + r.IntN(2)
	nested := -1
	if level < depth {
		nested = r.IntN(n)
	}
	var names []string
	for i := range n {
		name := fmt.Sprintf("c%d", i)
		cpath := path + "/" + name
		c := runtime.Child{Name: name}
		switch {
		case i == nested || (level < depth-1 && r.IntN(6) == 0):
			sub := l.supervisor(r, cpath, level+1, depth)
			c.Supervisor = &sub
			l.kids[cpath] = &exactChild{super: true, budget: sub.Shutdown, sup: &sub}
		case r.IntN(4) == 0:
			c.Pool = &runtime.PoolSpec{Max: r.IntN(4)}
			l.worker(r, &c)
			c.RestartLimit = &runtime.RestartLimit{Max: 1 + r.IntN(8), Window: time.Duration(1+r.IntN(5)) * time.Second}
			l.kids[cpath] = &exactChild{pool: true, budget: c.Shutdown}
			l.pools = append(l.pools, cpath)
		default:
			l.worker(r, &c)
		}
		restarts := []runtime.Restart{runtime.Permanent, runtime.Transient, runtime.Temporary}
		c.Restart = restarts[r.IntN(3)]
		if c.Restart != runtime.Permanent && c.Pool == nil && r.IntN(12) == 0 {
			c.Significant = true
		}
		if i > 0 && r.IntN(2) == 0 {
			c.After = []string{names[r.IntN(len(names))]}
			if r.IntN(3) == 0 {
				c.After = append(c.After, names[r.IntN(len(names))])
				if c.After[0] == c.After[1] {
					c.After = c.After[:1]
				}
			}
		}
		if l.f != nil && r.IntN(5) == 0 {
			c.Lease = &runtime.LeaseSpec{}
			l.leases = append(l.leases, cpath)
		}
		names = append(names, name)
		if k := l.kids[cpath]; k != nil {
			k.spec = c
		} else {
			l.kids[cpath] = &exactChild{spec: c}
		}
		if c.Pool == nil && c.Supervisor == nil {
			cp := cpath
			c.Run = func(ctx context.Context, a *runtime.Attempt) error { return l.attempt(ctx, a, cp) }
		}
		s.Children = append(s.Children, c)
	}
	return s
}

// worker draws the timing of a worker (or of a pool's instances).
func (l *exactLife) worker(r *rand.Rand, c *runtime.Child) {
	c.Shutdown = time.Duration(1+r.IntN(300)) * time.Millisecond
	if r.IntN(5) == 0 {
		c.Timeout = time.Duration(50+r.IntN(3000)) * time.Millisecond
	}
	if r.IntN(5) < 2 {
		c.Ready = &runtime.Ready{Timeout: time.Duration(10+r.IntN(1000)) * time.Millisecond}
	}
	if r.IntN(5) < 2 {
		c.Heartbeat = &runtime.Heartbeat{Timeout: time.Duration(20+r.IntN(800)) * time.Millisecond}
	}
}

// draw returns a number below n from the attempts' source.
func (l *exactLife) draw(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rng.IntN(n)
}

// attempt is every worker's and instance's run function: spec is the path
// of the child (for an instance, of its pool) whose timing it has.
func (l *exactLife) attempt(ctx context.Context, a *runtime.Attempt, spec string) error {
	start := time.Now()
	c := l.kids[spec].spec
	key := exactKey(a.Path(), a.Generation())
	if l.f != nil {
		for _, name := range l.leasesAbove(a.Path()) {
			tok := l.f.holder(name)
			l.mu.Lock()
			rival := l.rival[tok]
			l.mu.Unlock()
			if rival {
				l.t.Errorf("%s started while the rival holds lease %s (token %d)", key, name, tok)
			}
		}
	}
	l.mu.Lock()
	l.attempts++
	l.live[key] = ctx
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.live, key)
		l.mu.Unlock()
	}()

	life := time.Duration(1+l.draw(4000)) * time.Millisecond
	// 0 error, 1 nil, 2 panic, 3 ErrDoNotRestart, 4 run until cancelled,
	// 5 runtime.Goexit, 6 StopAndWait on itself or a supervisor above it
	ending := l.draw(7)
	stubborn := l.draw(6) == 0
	stopBeats := time.Duration(-1) // when it stops beating
	if c.Heartbeat != nil && l.draw(3) == 0 {
		stopBeats = time.Duration(l.draw(2000)) * time.Millisecond
	}
	readyAt := time.Duration(-1)
	if c.Ready != nil && l.draw(4) != 0 {
		readyAt = time.Duration(l.draw(int(c.Ready.Timeout/time.Millisecond))) * time.Millisecond
	} else if c.Ready == nil {
		readyAt = 0
	}
	spawn := len(l.pools) > 0 && l.draw(3) == 0
	spawnAt := time.Duration(l.draw(1000)) * time.Millisecond

	var beat <-chan time.Time
	if c.Heartbeat != nil {
		tk := time.NewTicker(c.Heartbeat.Timeout / 3)
		defer tk.Stop()
		beat = tk.C
	}
	lastBeat := start
	ready := false
	tick := func(at time.Duration) <-chan time.Time {
		if at < 0 {
			return nil
		}
		return time.After(at - time.Since(start))
	}
	readyC, spawnC, endC := tick(readyAt), tick(spawnAt), tick(life)
	if !spawn {
		spawnC = nil
	}
	for {
		if ctx.Err() != nil {
			// First: after a StopAndWait, its ready time may have passed too.
			return l.cancelled(ctx, a, c, key, start, lastBeat, ready, stopBeats >= 0, stubborn)
		}
		select {
		case <-beat:
			if stopBeats < 0 || time.Since(start) < stopBeats {
				a.Beat()
				lastBeat = time.Now()
			}
		case <-readyC:
			readyC = nil
			a.Ready()
			ready = true
		case <-spawnC:
			spawnC = nil
			pool := l.pools[l.draw(len(l.pools))]
			name := ""
			if l.draw(2) == 0 {
				name = fmt.Sprintf("i%d", l.draw(4))
			}
			_, err := l.tree.Pool(pool).Start(name, func(ctx context.Context, a *runtime.Attempt) error {
				return l.attempt(ctx, a, pool)
			})
			if err != nil && !errors.Is(err, runtime.ErrPoolFull) && !errors.Is(err, runtime.ErrNameTaken) &&
				!errors.Is(err, runtime.ErrNotRunning) && !errors.Is(err, runtime.ErrTreeEnded) {
				l.t.Errorf("%s: Start in %s: %v", a.Path(), pool, err)
			}
		case <-endC:
			if ending == 4 {
				endC = nil
				continue
			}
			switch ending {
			case 5:
				goruntime.Goexit()
			case 6:
				endC = nil
				p := a.Path()
				for up := l.draw(3); up > 0 && strings.Count(p, "/") > 1; up-- {
					p = p[:strings.LastIndexByte(p, '/')]
				}
				if c.Heartbeat != nil {
					stopBeats = time.Since(start) // it cannot beat while it waits
				}
				err := l.tree.Handle(p).StopAndWait(ctx) // its own context, which the stop cancels
				if err != nil && ctx.Err() == nil && !errors.Is(err, runtime.ErrNotRunning) &&
					!errors.Is(err, runtime.ErrRemoved) && !errors.Is(err, runtime.ErrNoChild) {
					l.t.Errorf("%s: StopAndWait(%s) on itself: %v", key, p, err)
				}
				continue
			case 0:
				return errors.New("failed")
			case 1:
				return nil
			case 2:
				panic("exact chaos")
			default:
				return fmt.Errorf("finished: %w", runtime.ErrDoNotRestart)
			}
		case <-ctx.Done():
			return l.cancelled(ctx, a, c, key, start, lastBeat, ready, stopBeats >= 0, stubborn)
		}
	}
}

// cancelled checks the cancellation of an attempt against its cause.
func (l *exactLife) cancelled(ctx context.Context, a *runtime.Attempt, c runtime.Child, key string, start, lastBeat time.Time, ready, stoppedBeating, stubborn bool) error {
	now := time.Now()
	cause := context.Cause(ctx)
	l.mu.Lock()
	l.cancelAt[key] = now
	l.causes[key] = cause
	l.mu.Unlock()
	switch {
	case errors.Is(cause, runtime.ErrHeartbeatTimeout):
		l.mu.Lock()
		l.hb++
		l.mu.Unlock()
		to := c.Heartbeat.Timeout
		since := now.Sub(lastBeat)
		if !stoppedBeating {
			l.t.Errorf("%s: heartbeat timeout (%v since its last beat) though it beats every %v", key, since, to/3)
		}
		if since < to || since > to+to/2 {
			l.t.Errorf("%s: heartbeat timeout %v after its last beat, outside [%v, %v]", key, since, to, to+to/2)
		}
	case errors.Is(cause, runtime.ErrReadyTimeout):
		l.mu.Lock()
		l.rdy++
		l.mu.Unlock()
		if ready {
			l.t.Errorf("%s: ready timeout though it called Ready", key)
		}
		if since := now.Sub(start); since != c.Ready.Timeout {
			l.t.Errorf("%s: ready timeout %v after its start, want exactly %v", key, since, c.Ready.Timeout)
		}
	case errors.Is(cause, runtime.ErrLeaseLost):
		l.mu.Lock()
		l.leaseCut++
		at := false
		var losses []string
		for _, name := range l.leasesAbove(a.Path()) {
			// A worker's or a pool's own lease cancels at once; a nested
			// supervisor's stops its subtree in order, within its budget.
			k := l.kids[name]
			for _, lt := range l.lost[name] {
				at = at || lt.Equal(now) || k.super && !now.Before(lt) && !now.After(lt.Add(k.budget))
				losses = append(losses, fmt.Sprintf("%s at %v", name, lt.Sub(start)))
			}
		}
		l.mu.Unlock()
		if !at {
			l.t.Errorf("%s: cancelled for a lost lease %v after its start, not when one above it was lost (at once) or while its nested supervisor stopped for it (losses, from its start: %v)", key, now.Sub(start), losses)
		}
	case errors.Is(cause, runtime.ErrAttemptTimeout):
		l.mu.Lock()
		l.tmo++
		l.mu.Unlock()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			l.t.Errorf("%s: attempt timeout with ctx.Err() %v", key, ctx.Err())
		}
		if since := now.Sub(start); since != c.Timeout {
			l.t.Errorf("%s: attempt timeout %v after its start, want exactly %v", key, since, c.Timeout)
		}
	}
	if c.Timeout > 0 {
		if dl, ok := ctx.Deadline(); !ok || dl.After(start.Add(c.Timeout)) {
			l.t.Errorf("%s: deadline %v (set %v), want at most %v after its start", key, dl.Sub(start), ok, c.Timeout)
		}
	}
	if stubborn {
		time.Sleep(c.Shutdown + time.Duration(1+l.draw(2000))*time.Millisecond)
	} else if l.draw(3) == 0 {
		time.Sleep(time.Duration(l.draw(int(c.Shutdown/time.Millisecond))) * time.Millisecond)
	}
	return ctx.Err()
}

// checkEvents holds the event stream to its timing.
func (l *exactLife) checkEvents(evs []runtime.Event) {
	t := l.t
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Errorf("events %d then %d: lost events", evs[i-1].Seq, evs[i].Seq)
			return
		}
	}
	type pending struct {
		e runtime.Event
		// Something else happened to the child since (an order, waiting
		// for its After list or its lease): its restart may come later.
		disturbed bool
	}
	sched := map[string]*pending{}     // path → its pending RestartScheduled
	stopping := map[string]time.Time{} // supervisor path → when it began to stop
	forget := func(sup string) {
		for p := range sched {
			if strings.HasPrefix(p, sup+"/") {
				delete(sched, p)
			}
		}
	}
	for _, e := range evs {
		if p := sched[e.Path]; p != nil && e.Kind != runtime.EventRestartScheduled && e.Kind != runtime.EventStarting {
			p.disturbed = true
		}
		switch e.Kind {
		case runtime.EventRestartScheduled:
			sched[e.Path] = &pending{e: e}
			if b := l.backoffOf(e.Path); b != nil {
				lo := time.Duration(float64(min(b.Initial, b.Max)) * (1 - b.Jitter))
				hi := time.Duration(float64(b.Max) * (1 + b.Jitter))
				if e.Delay < lo-time.Microsecond || e.Delay > hi+time.Microsecond {
					t.Errorf("%s: restart delay %v outside [%v, %v] that its backoff %+v allows (event %d)", e.Path, e.Delay, lo, hi, *b, e.Seq)
				}
			}
		case runtime.EventStarting:
			forget(e.Path) // a new run of a supervisor starts its children afresh
			if p, ok := sched[e.Path]; ok {
				delete(sched, e.Path)
				s := p.e
				due := s.Time.Add(s.Delay)
				if e.Time.Before(due) {
					t.Errorf("%s: restarted %v after its exit, before the delay %v it was given (events %d, %d)", e.Path, e.Time.Sub(s.Time), s.Delay, s.Seq, e.Seq)
				}
				if !p.disturbed && l.alone(e.Path) {
					l.onTime++
				}
				if !p.disturbed && l.alone(e.Path) && e.Time.After(due) {
					t.Errorf("%s: restarted %v after its exit, later than the delay %v it was given (events %d, %d)", e.Path, e.Time.Sub(s.Time), s.Delay, s.Seq, e.Seq)
				}
			}
			delete(stopping, e.Path)
		case runtime.EventOrder: // Restart starts at once, and Stop holds it
			delete(sched, e.Path)
			forget(e.Path)
		case runtime.EventAbandoned:
			forget(e.Path) // abandoned with its subtree
			l.mu.Lock()
			at, ok := l.cancelAt[exactKey(e.Path, e.Generation)]
			l.mu.Unlock()
			k := l.kid(e.Path)
			if ok && k != nil && !k.super && !k.pool {
				if grace := k.spec.Shutdown; e.Time.Sub(at) > grace {
					t.Errorf("%s#%d: abandoned %v after it was cancelled, more than its grace %v (event %d)", e.Path, e.Generation, e.Time.Sub(at), grace, e.Seq)
				}
			}
		case runtime.EventShuttingDown:
			forget(e.Path) // a supervisor that stops restarts nothing more
			if _, ok := stopping[e.Path]; !ok {
				stopping[e.Path] = e.Time
			}
		case runtime.EventStopped, runtime.EventExited:
			if began, ok := stopping[e.Path]; ok {
				delete(stopping, e.Path)
				if k := l.kids[e.Path]; k != nil && (k.super || k.pool) {
					if took := e.Time.Sub(began); took > k.budget {
						t.Errorf("%s: stopped %v after it began to, more than its budget %v (event %d)", e.Path, took, k.budget, e.Seq)
					}
				}
			}
		}
	}
	if t.Failed() {
		var b strings.Builder
		paths := make([]string, 0, len(l.kids))
		for p := range l.kids {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			k := l.kids[p]
			fmt.Fprintf(&b, "  %s super=%v pool=%v budget=%v grace=%v timeout=%v ready=%v hb=%v after=%v restart=%s\n", p, k.super, k.pool, k.budget,
				k.spec.Shutdown, k.spec.Timeout, k.spec.Ready, k.spec.Heartbeat, k.spec.After, k.spec.Restart)
		}
		t.Logf("tree:\n%s", b.String())
		n := len(evs)
		if n > 400 {
			evs = evs[n-400:]
		}
		for _, e := range evs {
			t.Logf("  %v", e)
		}
	}
}

// kid returns the spec of the child at path, or of the pool of an instance.
func (l *exactLife) kid(path string) *exactChild {
	if k := l.kids[path]; k != nil {
		return k
	}
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		if k := l.kids[path[:i]]; k != nil && k.pool {
			return k
		}
	}
	return nil
}

// leasesAbove returns the names of the leases of path and of its
// ancestors (an instance's pool among them).
func (l *exactLife) leasesAbove(path string) []string {
	var names []string
	for p := path; ; {
		if k := l.kids[p]; k != nil && k.spec.Lease != nil {
			names = append(names, p)
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return names
		}
		p = p[:i]
	}
}

// leaseChaos loses leases now and then, as a provider that is not sure
// does (Lost closes, the name stays held until the tree releases it), and
// has a rival take a free one for a moment: when it does, nothing of the
// tree may run under it unless abandoned.
func (l *exactLife) leaseChaos(r *rand.Rand) {
	var rivals sync.WaitGroup
	defer rivals.Wait()
	for {
		select {
		case <-l.tree.Done():
			return
		case <-time.After(time.Duration(1+r.IntN(1500)) * time.Millisecond):
		}
		name := l.leases[r.IntN(len(l.leases))]
		if r.IntN(3) != 0 {
			f := l.f
			f.mu.Lock()
			if fl := f.held[name]; fl != nil {
				select {
				case <-fl.lost:
				default:
					l.mu.Lock()
					l.lost[name] = append(l.lost[name], time.Now())
					l.mu.Unlock()
					close(fl.lost)
				}
			}
			f.mu.Unlock()
			continue
		}
		hold := time.Duration(r.IntN(1000)) * time.Millisecond
		rivals.Add(1)
		go func() {
			defer rivals.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			ls, err := l.f.Acquire(ctx, name, time.Second)
			if err != nil {
				return
			}
			l.mu.Lock()
			l.rival[ls.Token()] = true
			var running []string
			for k := range l.live {
				if i := strings.LastIndexByte(k, '#'); i > 0 && slices.Contains(l.leasesAbove(k[:i]), name) {
					running = append(running, k)
				}
			}
			l.mu.Unlock()
			for _, k := range running {
				if !l.abandoned(k) {
					l.t.Errorf("the rival took lease %s (token %d) while %s runs under it, not abandoned", name, ls.Token(), k)
				}
			}
			time.Sleep(hold)
			ls.Release(context.Background())
		}()
	}
}

// backoffOf returns the backoff of the child at path (of its pool, for an
// instance): its own, or its supervisor's.
func (l *exactLife) backoffOf(path string) *runtime.Backoff {
	k := l.kid(path)
	if k == nil {
		return nil
	}
	if k.spec.Backoff != nil {
		return k.spec.Backoff
	}
	if l.kids[path] != k { // an instance: its pool's path
		path = path[:strings.LastIndexByte(path, '/')]
	}
	if p := l.kids[path[:max(0, strings.LastIndexByte(path, '/'))]]; p != nil && p.sup != nil {
		return p.sup.Backoff
	}
	return nil
}

// alone reports whether the child at path restarts by itself, when its
// delay is over: a pool's instance, or a child of a one_for_one supervisor.
func (l *exactLife) alone(path string) bool {
	k := l.kid(path)
	if k == nil {
		return false
	}
	if l.kids[path] != k {
		return true
	}
	p := l.kids[path[:max(0, strings.LastIndexByte(path, '/'))]]
	return p != nil && p.sup != nil && (p.sup.Strategy == runtime.OneForOne || p.sup.Strategy == "")
}

// settled checks, at an instant when every goroutine of the bubble is
// blocked, that no child is overdue: none that restarts by itself in
// backoff past its restart's delay, none starting past its ready timeout
// (but in its supervisor's shutdown, where it waits for its turn), and no worker, nested
// supervisor or pool stopping past its grace or budget.
func (l *exactLife) settled() {
	now := time.Now()
	snap := l.tree.Snapshot()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probes++
	last := map[string]runtime.Event{} // path → its latest RestartScheduled
	stopping := map[string]time.Time{} // supervisor → when its run began to stop
	for _, e := range l.events {
		if e.Seq > snap.LastEvent {
			break
		}
		switch e.Kind {
		case runtime.EventRestartScheduled:
			last[e.Path] = e
		case runtime.EventShuttingDown:
			if _, ok := stopping[e.Path]; !ok {
				stopping[e.Path] = e.Time
			}
		case runtime.EventStarting:
			delete(stopping, e.Path)
		}
	}
	l.stopOrder(snap, stopping)
	l.notHeld(snap, stopping)
	for _, c := range snap.Children {
		k := l.kid(c.Path)
		if k == nil {
			continue
		}
		in := now.Sub(c.Since)
		switch c.State {
		case runtime.StateBackoff:
			// A group restart waits for every member to stop first.
			if e, ok := last[c.Path]; ok && l.alone(c.Path) && !now.Before(e.Time.Add(e.Delay)) {
				l.t.Errorf("%s: still in backoff %v after its exit, its delay %v over (event %d)", c.Path, now.Sub(e.Time), e.Delay, e.Seq)
			}
		case runtime.StateStarting:
			// In its supervisor's shutdown it waits for its turn instead.
			_, waits := stopping[c.Path[:strings.LastIndexByte(c.Path, '/')]]
			if r := k.spec.Ready; r != nil && !c.Supervisor && in >= r.Timeout && !waits {
				l.t.Errorf("%s: still starting %v after its start, past its ready timeout %v", c.Path, in, r.Timeout)
			}
		case runtime.StateStopping:
			limit := k.spec.Shutdown
			if k.super || c.Pool {
				limit = k.budget
			}
			if in >= limit && limit > 0 {
				l.t.Errorf("%s: still stopping %v after it began to, past its grace or budget %v", c.Path, in, limit)
			}
		}
	}
}

// stopOrder checks, in a settled snapshot, that each supervisor that is
// stopping stops its children in the reverse of their start order (which
// is their declaration order here, as After lists name earlier siblings
// only): none that its shutdown is stopping while a later sibling still
// runs, unless that one failed on its own (a missed deadline) or holds a
// lease (which its loss stops at once).
func (l *exactLife) stopOrder(snap runtime.Snapshot, stopping map[string]time.Time) {
	bySup := map[string][]runtime.ChildStatus{}
	for _, c := range snap.Children {
		if c.Instance {
			continue
		}
		parent := c.Path[:strings.LastIndexByte(c.Path, '/')]
		bySup[parent] = append(bySup[parent], c)
	}
	for sup, began := range stopping {
		kids := bySup[sup]
		for i, x := range kids {
			if x.State != runtime.StateStopping || x.Since.Before(began) {
				continue
			}
			if k := l.kids[x.Path]; k != nil && k.spec.Lease != nil {
				continue // a lost lease stops it at once
			}
			if !x.Supervisor {
				if cause, ok := l.causes[exactKey(x.Path, x.Generation)]; !ok || !errors.Is(cause, runtime.ErrStopped) {
					continue
				}
			}
			for _, y := range kids[i+1:] {
				l.orderChecks++
				if y.State == runtime.StateRunning || y.State == runtime.StateStarting {
					l.t.Errorf("%s stopping since %v, as %s stops, while %s, started after it, is still %v", x.Path, x.Since, sup, y.Path, y.State)
				}
			}
		}
	}
}

// notHeld checks, in a settled snapshot, that no child of a one_for_one
// supervisor that is not stopping still waits for its After list once
// every sibling in it is ready (running, or done after a success).
func (l *exactLife) notHeld(snap runtime.Snapshot, stopping map[string]time.Time) {
	byPath := map[string]runtime.ChildStatus{}
	for _, c := range snap.Children {
		byPath[c.Path] = c
	}
	for _, c := range snap.Children {
		if c.State != runtime.StateWaiting || c.Instance || !l.alone(c.Path) {
			continue
		}
		parent := c.Path[:strings.LastIndexByte(c.Path, '/')]
		if _, ok := stopping[parent]; ok {
			continue
		}
		if p, ok := byPath[parent]; ok && p.State != runtime.StateRunning && p.State != runtime.StateStarting {
			continue
		}
		ready := true
		for _, dep := range c.After {
			d := byPath[parent+"/"+dep]
			ready = ready && (d.State == runtime.StateRunning || d.State == runtime.StateDone && d.LastExit == runtime.ExitSuccess)
		}
		l.waitChecks++
		if ready {
			l.t.Errorf("%s: still waiting for %v, which are ready", c.Path, c.After)
		}
	}
}
