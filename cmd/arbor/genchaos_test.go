package main

// TestGenChaos soaks a tree through the code arbor gen wrote for it. The
// tree is testdata/chaos: five levels declared in CUE, whose arbor_gen.go
// TestGolden (./gen) keeps current. The other chaos tests build their trees
// as runtime.Spec values; this one starts it with the generated NewSoak,
// orders it through the generated typed handles, starts pool instances
// with the generated typed Start and StartNamed, and checks that each
// instance runs with the argument it was started with, while the console's
// clients and arbor ctl of TestOpsChaos read it and order it over HTTP.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
	"github.com/arbor-go/arbor/runtime/metrics"
	"github.com/arbor-go/arbor/runtime/probe"
	"github.com/arbor-go/arbor/testdata/chaos"
)

var (
	genDuration = flag.Duration("genchaos.duration", 6*time.Second, "how long TestGenChaos runs lifecycles of its tree (3s with -short)")
	genSeed     = flag.Uint64("genchaos.seed", 0, "seed of TestGenChaos (0: from the clock)")
	genLife     = flag.Int("genchaos.life", -1, "run only this lifecycle of the seed, to replay it")
)

// genChild is what the test knows of a child of testdata/chaos's spec.cue:
// its path, its grace, its ready and heartbeat timeouts, and for a pool
// its max (-1 for a worker or a supervisor).
type genChild struct {
	path             string
	grace, ready, hb time.Duration
	poolMax          int
}

const ms = time.Millisecond

// genChildren is spec.cue's tree, by the name each run method passes Act.
var genChildren = map[string]genChild{
	"store":   {"soak/store", 40 * ms, 300 * ms, 150 * ms, -1},
	"api":     {"soak/api", 30 * ms, 300 * ms, 0, -1},
	"conns":   {"soak/conns", 30 * ms, 0, 150 * ms, 12},
	"jobs":    {"soak/jobs", 20 * ms, 0, 0, 0},
	"migrate": {"soak/setup/migrate", 30 * ms, 0, 0, -1},
	"warm":    {"soak/setup/warm", 30 * ms, 200 * ms, 0, -1},
	"fetch":   {"soak/ingest/fetch", 30 * ms, 200 * ms, 0, -1},
	"parse":   {"soak/ingest/parse", 30 * ms, 0, 100 * ms, -1},
	"leader":  {"soak/ingest/shards/leader", 30 * ms, 200 * ms, 100 * ms, -1},
	"tenants": {"soak/ingest/shards/tenants", 30 * ms, 200 * ms, 0, 6},
	"a":       {"soak/ingest/shards/deep/a", 20 * ms, 0, 0, -1},
	"b":       {"soak/ingest/shards/deep/b", 20 * ms, 0, 0, -1},
	"x":       {"soak/ingest/shards/deep/leaf/x", 20 * ms, 150 * ms, 80 * ms, -1},
	"once":    {"soak/ingest/shards/deep/leaf/once", 20 * ms, 0, 0, -1},
	"cells":   {"soak/ingest/shards/deep/leaf/cells", 20 * ms, 0, 0, 4},
}

// genStatic is every path of the spec, in the snapshot's order.
var genStatic = []string{
	"soak/store", "soak/api", "soak/conns", "soak/jobs",
	"soak/setup", "soak/setup/migrate", "soak/setup/warm",
	"soak/ingest", "soak/ingest/fetch", "soak/ingest/parse",
	"soak/ingest/shards", "soak/ingest/shards/leader", "soak/ingest/shards/tenants",
	"soak/ingest/shards/deep", "soak/ingest/shards/deep/a", "soak/ingest/shards/deep/b",
	"soak/ingest/shards/deep/leaf", "soak/ingest/shards/deep/leaf/x", "soak/ingest/shards/deep/leaf/once", "soak/ingest/shards/deep/leaf/cells",
}

// TestGenChaos runs lifecycles of the generated tree one after the other,
// each cancelled at a random moment: before Run, during its start, or
// after up to a few seconds. Its run functions fail, panic, call Goexit,
// return nil or ErrDoNotRestart, hang past their grace, stop beating,
// report readiness late, start instances of the pools through the typed
// Start, and order their own supervisors and siblings through the typed
// handles. Operators order every handle the generated code gives (nested
// supervisors' included) with Restart, Stop and StopAndWait, pools churn
// through typed Start and StartNamed (colliding and invalid names), and
// the console's clients, ctl, a scrape and the probes run beside. It
// checks, as it runs: no two attempts of a slot at once unless the older
// was abandoned, no attempt started twice, each attempt runs the method
// of its own path, each instance the argument its Start was given and no
// other, Start and orders fail only with documented errors, a pool never
// has more than its max, the console's answers (TestOpsChaos's checks);
// and at the end: Run within the root's budget, every attempt still
// running listed in ShutdownReport and cancelled, typed starts and orders
// say ErrTreeEnded, the console, ctl, probes and scrape say it ended, an
// argument Start refused never ran, and no goroutine is left.
//
//	go test -race -run 'TestGenChaos$' -v ./cmd/arbor -genchaos.seed=N -genchaos.life=K     # replay a lifecycle
//	go test -race -run 'TestGenChaos$' -v -timeout 30m ./cmd/arbor -genchaos.duration=5m   # the long form
func TestGenChaos(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	seed := *genSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	d := *genDuration
	if testing.Short() && d == 6*time.Second {
		d = 3 * time.Second
	}
	t.Logf("seed %d, %v (replay: -genchaos.seed=%d)", seed, d, seed)
	begin := time.Now()
	lives := 0
	for life := 0; ; life++ {
		if *genLife >= 0 {
			life = *genLife
		}
		lives++
		g := &genChaos{life: life, seed: seed}
		g.lifecycle(t, d-time.Since(begin))
		if t.Failed() {
			t.Logf("replay: -genchaos.seed=%d -genchaos.life=%d", seed, life)
			return
		}
		goleak.VerifyNone(t, leaks)
		if *genLife >= 0 || time.Since(begin) >= d {
			break
		}
	}
	t.Logf("seed %d: %d lifecycles in %v", seed, lives, time.Since(begin).Round(time.Millisecond))
}

// genKey names an attempt: its path and generation, and for an instance
// the ID of its argument, as a name can be reused by a new instance, whose
// generations start again; for a run method without an attempt (b and
// jobs), a number of the test's.
type genKey struct {
	path string
	gen  uint64
	arg  uint64
}

type genLive struct {
	ctx   context.Context
	child string
}

// genChaos is one lifecycle of TestGenChaos.
type genChaos struct {
	life int
	seed uint64
	o    *ops
	soak *chaos.Soak

	attempts, ids, live             atomic.Int64
	full, taken, down, ended, named atomic.Int64  // Starts refused: ErrPoolFull, ErrNameTaken, ErrNotRunning, ErrTreeEnded, invalid name
	observed                        atomic.Uint64 // the latest event's Seq the observer saw

	mu        sync.Mutex
	running   map[genKey]genLive
	ever      map[genKey]bool
	overlaps  [][2]genKey       // an attempt that started while the older one of its slot ran
	abandoned map[genKey]bool   // from EventAbandoned
	ran       map[uint64]string // an argument's ID: the path of the instance that ran with it
	given     map[uint64]string // an argument's ID: the path of the handle Start returned
	refused   map[uint64]bool   // the arguments of Starts that failed
}

func (g *genChaos) lifecycle(t *testing.T, left time.Duration) {
	r := rand.New(rand.NewPCG(g.seed, uint64(g.life)))
	o := &ops{name: "soak", seed: g.seed ^ uint64(g.life), token: "genchaos-token", quit: make(chan struct{}), budget: 1500 * time.Millisecond}
	g.o = o
	g.running, g.ever, g.abandoned = map[genKey]genLive{}, map[genKey]bool{}, map[genKey]bool{}
	g.ran, g.given, g.refused = map[uint64]string{}, map[uint64]string{}, map[uint64]bool{}
	o.static = genStatic
	o.pspecs = map[string]runtime.Child{}
	for _, c := range genChildren {
		if c.poolMax >= 0 {
			o.pools = append(o.pools, c.path)
			o.pspecs[c.path] = runtime.Child{Pool: &runtime.PoolSpec{Max: c.poolMax}}
		}
	}
	slices.Sort(o.pools)

	rig := &chaos.Rig{Act: g.act}
	g.soak = chaos.NewSoak(rig, runtime.WithObserver(func(e runtime.Event) {
		if prev := g.observed.Swap(e.Seq); e.Seq <= prev {
			o.violate("observer: event %d after %d", e.Seq, prev)
		}
		if e.Kind == runtime.EventAbandoned {
			g.mu.Lock()
			g.abandoned[genKey{path: e.Path, gen: e.Generation}] = true
			g.mu.Unlock()
		}
	}))
	tree := g.soak.Tree()
	o.tree = tree
	var paths []string
	for _, c := range tree.Snapshot().Children {
		paths = append(paths, c.Path)
	}
	if !slices.Equal(paths, genStatic) {
		t.Fatalf("the generated tree's paths: %q; spec.cue's: %q", paths, genStatic)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(tree))
	metricsSrv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	probeSrv := httptest.NewServer(probe.Handler(tree))
	srvCtx, srvCancel := context.WithCancel(context.Background())
	defer srvCancel()
	con, err := console.Listen(srvCtx, "127.0.0.1:0", tree, console.WithToken(o.token), console.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	o.console, o.probeURL, o.metricsURL = strings.TrimSuffix(con.URL, "/"), probeSrv.URL, metricsSrv.URL
	o.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 20 * time.Second}

	// How long the tree runs: in one lifecycle of ten, it is cancelled
	// before Run; in two, as it starts.
	var runFor time.Duration
	switch k := r.IntN(10); {
	case k == 0:
		runFor = -1
	case k < 3:
		runFor = time.Duration(r.IntN(300)) * ms
	default:
		runFor = time.Duration(500+r.IntN(3000)) * ms
	}
	runFor = min(runFor, max(left, 200*ms))
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if runFor < 0 {
		cancel()
	}
	runErr := make(chan error, 1)
	go func() { runErr <- g.soak.Run(runCtx) }()

	var wg sync.WaitGroup
	goes := func(n int, f func(r *rand.Rand)) {
		for range n {
			r := rand.New(rand.NewPCG(g.seed, uint64(g.life)<<16|uint64(100+o.workers.Add(1))))
			wg.Go(func() { f(r) })
		}
	}
	goes(2, o.readTree)
	goes(1, o.readEvents)
	goes(1, o.order)
	goes(1, o.slowRead)
	goes(1, o.scrape)
	goes(1, o.probe)
	goes(1, o.ctl)
	goes(1, func(r *rand.Rand) { o.stream(r, false, 0) })
	goes(1, func(r *rand.Rand) { o.stream(r, true, time.Second) })
	goes(2, g.operate)
	again := time.Duration(r.IntN(100)) * ms
	wg.Go(func() {
		// Run once more while it runs, or has ended: once the first Run
		// has begun (it emitted an event), lest this one be the first.
		time.Sleep(again)
		for deadline := time.Now().Add(2 * time.Second); tree.LastEvent() == 0 && !o.ended(); time.Sleep(ms) {
			if time.Now().After(deadline) {
				return
			}
		}
		ended := o.ended()
		err := g.soak.Run(runCtx)
		if !errors.Is(err, runtime.ErrAlreadyRunning) && !errors.Is(err, runtime.ErrTreeEnded) || ended && !errors.Is(err, runtime.ErrTreeEnded) {
			o.violate("Run while it runs (ended before: %v): %v", ended, err)
		}
	})
	for range 2 {
		goes(1, g.churn)
	}
	var ctlFollow lineChecker
	ctlFollow.o = o
	follow := make(chan int, 1)
	wg.Go(func() {
		var stderr bytes.Buffer
		follow <- run([]string{"ctl", "-addr", con.URL, "events", "-f", "-json"}, &ctlFollow, &stderr)
		for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if line != "" && !strings.Contains(line, "events lost: no longer in the journal") {
				o.violate("ctl events -f: stderr %q", line)
			}
		}
	})
	heap := o.monitor(max(runFor, 0))

	select {
	case <-time.After(max(runFor, 0)):
	case <-tree.Done():
	}
	cancelAt := time.Now()
	cancel()
	var took time.Duration
	select {
	case <-tree.Done():
		took = time.Since(cancelAt)
	case <-time.After(o.budget + 20*time.Second):
		buf := make([]byte, 1<<22)
		t.Fatalf("life %d: Run has not returned %v after its context was cancelled\n%s", g.life, time.Since(cancelAt), buf[:goruntime.Stack(buf, true)])
	}
	if took > o.budget+runtime.DeliveryMargin+opsSlack {
		o.violate("Run returned %v after its context was cancelled; budget %v", took, o.budget)
	}
	if err := <-runErr; err != tree.Err() || err != nil && !errors.As(err, new(*runtime.GiveUpError)) {
		o.violate("Run: %v; the tree's Err: %v", err, tree.Err())
	}
	g.checkReport()
	g.afterEnd()
	time.Sleep(100 * ms)
	o.afterEnd(t)
	select {
	case code := <-follow:
		if code != 0 {
			o.violate("ctl events -f exited %d at the end of the tree", code)
		}
	case <-time.After(10 * time.Second):
		o.violate("ctl events -f still follows 10s after the tree ended")
	}
	close(o.quit)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<22)
		t.Fatalf("life %d: the clients have not ended 30s after quit\n%s", g.life, buf[:goruntime.Stack(buf, true)])
	}
	ctlFollow.finish()
	heap()
	if err := con.Close(); err != nil {
		o.violate("console Close: %v", err)
	}
	metricsSrv.Close()
	probeSrv.Close()
	o.client.CloseIdleConnections()
	httpClient.CloseIdleConnections()
	g.checkEnd()

	t.Logf("life %d: ran %v, %d attempts, %d overlaps with abandoned attempts, Run returned %v after cancel (err %v); Start refused: %d full, %d name taken, %d not running, %d invalid names, %d after the end; %s",
		g.life, max(runFor, 0), g.attempts.Load(), len(g.overlaps), took.Round(ms), tree.Err() != nil, g.full.Load(), g.taken.Load(), g.down.Load(), g.named.Load(), g.ended.Load(), o.summary())
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.bad {
		t.Errorf("life %d: %s", g.life, v)
	}
	if o.nbad > len(o.bad) {
		t.Errorf("... and %d more violations", o.nbad-len(o.bad))
	}
}

// act is every run method's: it checks the attempt against the others,
// then does what the seed says.
// overlap records the attempts of key's slot that still run as key's
// starts, older first: on a loaded machine the goroutine of an attempt
// that was cancelled and abandoned may begin to run its method only after
// the next attempt of its slot started. The older of two must have been
// cancelled (and, checked at the end, abandoned). g.mu is held.
func (g *genChaos) overlap(ctx context.Context, key genKey) {
	for k, l := range g.running {
		if k.path != key.path {
			continue
		}
		older, newer, olderCtx := k, key, l.ctx
		if key.arg < k.arg || key.arg == k.arg && key.gen < k.gen { // an instance's arguments are numbered in Start order
			older, newer, olderCtx = key, k, ctx
		}
		if olderCtx.Err() == nil {
			g.o.violate("%s generation %d still runs, not even cancelled, beside generation %d", older.path, older.gen, newer.gen)
		}
		g.overlaps = append(g.overlaps, [2]genKey{older, newer})
	}
}

func (g *genChaos) act(ctx context.Context, a *runtime.Attempt, child string, arg any) error {
	n := g.attempts.Add(1)
	g.live.Add(1)
	defer g.live.Add(-1)
	key := genKey{gen: uint64(n)}
	if a != nil {
		key = genKey{path: a.Path(), gen: a.Generation()}
		if id, ok := g.argID(child, arg); ok {
			key.arg = id
		}
	}
	g.enter(ctx, a, key, child, arg)
	defer func() {
		g.mu.Lock()
		delete(g.running, key)
		g.mu.Unlock()
	}()
	r := rand.New(rand.NewPCG(g.seed^fnv64(key.path)^uint64(g.life)<<32, key.gen^key.arg<<20))
	return g.behave(ctx, a, r, child)
}

// argID returns the ID an instance's argument carries, checking the rest
// of it.
func (g *genChaos) argID(child string, arg any) (uint64, bool) {
	switch v := arg.(type) {
	case *chaos.Conn:
		if child == "conns" && v != nil {
			return v.ID, true
		}
	case chaos.Job:
		if child == "jobs" && slices.Equal(v.Tags, []string{"job", strconv.FormatUint(v.ID, 10)}) {
			return v.ID, true
		}
	case chaos.Tenant:
		if child == "tenants" {
			return uint64(v), true
		}
	case uint64:
		if child == "cells" {
			return v, true
		}
	}
	return 0, false
}

func (g *genChaos) enter(ctx context.Context, a *runtime.Attempt, key genKey, child string, arg any) {
	o := g.o
	c := genChildren[child]
	g.mu.Lock()
	defer g.mu.Unlock()
	if a != nil {
		want := c.path
		if c.poolMax >= 0 {
			want = c.path + "/"
		}
		if a.Path() != want && !(c.poolMax >= 0 && strings.HasPrefix(a.Path(), want) && !strings.Contains(a.Path()[len(want):], "/")) {
			o.violate("%s runs the method of %s", a.Path(), child)
		}
		if g.ever[key] {
			o.violate("%s generation %d started twice", key.path, key.gen)
		}
		g.ever[key] = true
		g.overlap(ctx, key)
	}
	g.running[key] = genLive{ctx, child}
	if c.poolMax < 0 {
		if arg != nil {
			o.violate("%s: worker %s got an argument %v", key.path, child, arg)
		}
		return
	}
	id, ok := g.argID(child, arg)
	if !ok {
		o.violate("%s: instance of %s got %T %v", key.path, child, arg, arg)
		return
	}
	if g.refused[id] {
		o.violate("%s runs with argument %d, whose Start failed", key.path, id)
	}
	path := child // jobs have no attempt, hence no path
	if a != nil {
		path = a.Path()
	}
	if p, ok := g.ran[id]; ok && p != path {
		o.violate("argument %d runs in %s and in %s", id, p, path)
	}
	g.ran[id] = path
}

func (g *genChaos) behave(ctx context.Context, a *runtime.Attempt, r *rand.Rand, child string) error {
	c := genChildren[child]
	if r.IntN(6) == 0 {
		g.start(r) // an attempt starts an instance of a pool
	}
	if r.IntN(25) == 0 {
		// An attempt orders a handle: its own, its supervisor's, any.
		g.orderOne(ctx, r)
	}
	life := time.Duration(20+r.IntN(1200)) * ms
	short := time.Duration(r.IntN(80)) * ms
	switch k := r.IntN(100); {
	case k < 40:
		return steady(ctx, a, r, life, c.hb, life)
	case k < 52:
		if !sleep(ctx, short) {
			return ctx.Err()
		}
		if r.IntN(3) == 0 {
			return hostile{}
		}
		return fmt.Errorf("%s: %s failed", a.Path(), child)
	case k < 60:
		sleep(ctx, short)
		if r.IntN(2) == 0 {
			panic(errors.New("boom"))
		}
		panic(nil)
	case k < 70: // hangs: no ready, no beat, and past its grace once cancelled
		<-ctx.Done()
		time.Sleep(min(c.grace*time.Duration(1+r.IntN(4)), 300*ms))
		return nil
	case k < 80: // ready late, beats for a while only
		if c.ready > 0 && !sleep(ctx, c.ready+short) {
			return ctx.Err()
		}
		return steady(ctx, a, r, life, c.hb, life/3)
	case k < 88:
		sleep(ctx, short)
		return nil
	case k < 94:
		return fmt.Errorf("retired: %w", runtime.ErrDoNotRestart)
	}
	sleep(ctx, short)
	goruntime.Goexit()
	return nil
}

// start starts an instance of a random pool through the generated typed
// Start or StartNamed, and checks the answer.
func (g *genChaos) start(r *rand.Rand) *runtime.Handle {
	id := uint64(g.ids.Add(1))
	name := ""
	switch r.IntN(6) {
	case 0, 1:
		name = fmt.Sprintf("i%d", r.IntN(8))
	case 2:
		name = []string{"Bad Name", "a/b", "..", "x\x00"}[r.IntN(4)]
	}
	var h *runtime.Handle
	var err error
	var pool *runtime.Pool
	child := []string{"conns", "jobs", "tenants", "cells"}[r.IntN(4)]
	switch child {
	case "conns":
		p := g.soak.Conns()
		pool = p.Pool()
		if name == "" && r.IntN(2) == 0 {
			h, err = p.Start(&chaos.Conn{ID: id})
		} else {
			h, err = p.StartNamed(name, &chaos.Conn{ID: id})
		}
	case "jobs":
		p := g.soak.Jobs()
		pool = p.Pool()
		j := chaos.Job{ID: id, Tags: []string{"job", strconv.FormatUint(id, 10)}}
		if name == "" && r.IntN(2) == 0 {
			h, err = p.Start(j)
		} else {
			h, err = p.StartNamed(name, j)
		}
	case "tenants":
		p := g.soak.Ingest().Shards().Tenants()
		pool = p.Pool()
		if name == "" && r.IntN(2) == 0 {
			h, err = p.Start(chaos.Tenant(id))
		} else {
			h, err = p.StartNamed(name, chaos.Tenant(id))
		}
	case "cells":
		p := g.soak.Ingest().Shards().Deep().Leaf().Cells()
		pool = p.Pool()
		if name == "" && r.IntN(2) == 0 {
			h, err = p.Start(id)
		} else {
			h, err = p.StartNamed(name, id)
		}
	}
	c := genChildren[child]
	o := g.o
	o.starts.Add(1)
	if c.poolMax > 0 {
		if n := pool.Len(); n > c.poolMax {
			o.violate("%s: %d live instances, more than its max %d", c.path, n, c.poolMax)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		o.refused.Add(1)
		g.refused[id] = true
		if p, ok := g.ran[id]; ok {
			o.violate("%s: Start of argument %d failed (%v), and it ran in %s", c.path, id, err, p)
		}
		var se *runtime.SpecError
		switch {
		case errors.As(err, &se):
			g.named.Add(1)
			if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == "" && name[0] >= 'a' && name[0] <= 'z' {
				o.violate("%s: StartNamed(%q): %v", c.path, name, err)
			}
		case errors.Is(err, runtime.ErrPoolFull):
			g.full.Add(1)
			if c.poolMax <= 0 {
				o.violate("%s: uncapped, and Start says %v", c.path, err)
			}
		case errors.Is(err, runtime.ErrNameTaken):
			g.taken.Add(1)
			if name == "" {
				o.violate("%s: Start of a name it chooses: %v", c.path, err)
			}
		case errors.Is(err, runtime.ErrTreeEnded):
			g.ended.Add(1)
		case errors.Is(err, runtime.ErrNotRunning):
			g.down.Add(1)
		default:
			o.violate("%s: Start: undocumented error %v", c.path, err)
		}
		return nil
	}
	if !strings.HasPrefix(h.Path(), c.path+"/") || name != "" && h.Path() != c.path+"/"+name {
		o.violate("%s: StartNamed(%q) gave a handle of %s", c.path, name, h.Path())
	}
	g.given[id] = h.Path()
	if child == "jobs" {
		g.given[id] = child
	}
	return h
}

// handles are the generated typed handles, every one of them; each call
// goes through the generated accessors again.
func (g *genChaos) handles() []func() *runtime.Handle {
	s := g.soak
	return []func() *runtime.Handle{
		s.Store, s.API,
		func() *runtime.Handle { return s.Setup().Handle() },
		func() *runtime.Handle { return s.Setup().Migrate() },
		func() *runtime.Handle { return s.Setup().Warm() },
		func() *runtime.Handle { return s.Ingest().Handle() },
		func() *runtime.Handle { return s.Ingest().Fetch() },
		func() *runtime.Handle { return s.Ingest().Parse() },
		func() *runtime.Handle { return s.Ingest().Shards().Handle() },
		func() *runtime.Handle { return s.Ingest().Shards().Leader() },
		func() *runtime.Handle { return s.Ingest().Shards().Deep().Handle() },
		func() *runtime.Handle { return s.Ingest().Shards().Deep().A() },
		func() *runtime.Handle { return s.Ingest().Shards().Deep().B() },
		func() *runtime.Handle { return s.Ingest().Shards().Deep().Leaf().Handle() },
		func() *runtime.Handle { return s.Ingest().Shards().Deep().Leaf().X() },
		func() *runtime.Handle { return s.Ingest().Shards().Deep().Leaf().Once() },
	}
}

// orderOne gives one order on a random typed handle and checks the answer.
func (g *genChaos) orderOne(ctx context.Context, r *rand.Rand) {
	hs := g.handles()
	h := hs[r.IntN(len(hs))]()
	if !slices.Contains(genStatic, h.Path()) {
		g.o.violate("a generated handle of %s", h.Path())
	}
	var err error
	switch k := r.IntN(20); {
	case k < 12:
		err = h.Restart()
	case k < 15:
		err = h.Stop()
	case k < 17:
		ctx, cancel := context.WithTimeout(ctx, time.Duration(r.IntN(400))*ms)
		err = h.StopAndWait(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = nil
		}
	default:
		st := h.Status()
		if st.Path != h.Path() {
			g.o.violate("%s: Status of %s", h.Path(), st.Path)
		}
	}
	if err != nil && !errors.Is(err, runtime.ErrNotRunning) {
		g.o.violate("%s: order: undocumented error %v", h.Path(), err)
	}
}

// operate orders the typed handles while the tree runs and after it.
func (g *genChaos) operate(r *rand.Rand) {
	for !g.o.stop(time.Duration(r.IntN(40)) * ms) {
		g.orderOne(context.Background(), r)
	}
}

// churn starts instances through the typed Start and StartNamed, and
// stops and restarts some of them through their handles.
func (g *genChaos) churn(r *rand.Rand) {
	var kept []*runtime.Handle
	for !g.o.stop(time.Duration(1+r.IntN(15)) * ms) {
		n := 1
		if r.IntN(10) == 0 {
			n = 10 // a burst, to fill a pool
		}
		for range n {
			if h := g.start(r); h != nil && len(kept) < 16 {
				kept = append(kept, h)
			}
		}
		if len(kept) > 0 && r.IntN(4) == 0 {
			i := r.IntN(len(kept))
			h := kept[i]
			var err error
			if r.IntN(2) == 0 {
				err = h.Stop()
				kept = slices.Delete(kept, i, i+1)
			} else {
				err = h.Restart()
			}
			if err != nil && !errors.Is(err, runtime.ErrNotRunning) && !errors.Is(err, runtime.ErrRemoved) {
				g.o.violate("%s: order through a handle: undocumented error %v", h.Path(), err)
			}
		}
	}
}

// checkReport checks the shutdown guarantee once Run has returned: every
// attempt that still runs is cancelled and listed in ShutdownReport.
func (g *genChaos) checkReport() {
	rep := g.soak.Tree().ShutdownReport()
	listed := map[genKey]bool{}
	for _, a := range rep.Abandoned {
		listed[genKey{path: a.Path, gen: a.Generation}] = true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, l := range g.running {
		if l.ctx.Err() == nil {
			g.o.violate("%s (%s) generation %d runs, not cancelled, after Run returned", k.path, l.child, k.gen)
		}
		if k.path != "" && !listed[genKey{path: k.path, gen: k.gen}] {
			g.o.violate("%s generation %d runs after Run returned, and ShutdownReport does not list it", k.path, k.gen)
		}
	}
	if len(g.running) > 0 && rep.Clean() {
		g.o.violate("%d attempts run after Run returned, and ShutdownReport is clean", len(g.running))
	}
}

// afterEnd checks the typed API once the tree has ended.
func (g *genChaos) afterEnd() {
	r := rand.New(rand.NewPCG(g.seed, uint64(g.life)+1<<40))
	for range 8 {
		before := g.o.refused.Load()
		if h := g.start(r); h != nil || g.o.refused.Load() == before {
			g.o.violate("a typed Start after the end succeeded")
		}
	}
	if err := g.soak.Run(context.Background()); !errors.Is(err, runtime.ErrTreeEnded) {
		g.o.violate("Run again after the end: %v", err)
	}
	for _, h := range g.handles() {
		if err := h().Restart(); !errors.Is(err, runtime.ErrTreeEnded) {
			g.o.violate("%s: Restart after the end: %v", h().Path(), err)
		}
	}
}

// checkEnd waits for the attempts left running (none hangs for long), then
// checks what needs them all ended.
func (g *genChaos) checkEnd() {
	o := g.o
	for deadline := time.Now().Add(5 * time.Second); g.live.Load() > 0; time.Sleep(5 * ms) {
		if time.Now().After(deadline) {
			o.violate("%d attempts still run 5s after the end", g.live.Load())
			return
		}
	}
	// An instance Start accepted always runs (Pool.Start), even one whose
	// pool stopped or was abandoned before it started: it may do so after
	// Run returned.
	notRun := func() (ids []string) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for id, p := range g.given {
			if _, ok := g.ran[id]; !ok {
				ids = append(ids, fmt.Sprintf("%d (%s)", id, p))
			}
		}
		return ids
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(5 * ms) {
		ids := notRun()
		if len(ids) == 0 && g.live.Load() == 0 {
			break
		}
		if time.Now().After(deadline) {
			slices.Sort(ids)
			for _, id := range ids[:min(len(ids), 5)] {
				o.violate("argument %s: Start accepted it, and it never ran", id)
			}
			break
		}
	}
	tree := g.soak.Tree()
	for deadline := time.Now().Add(2 * time.Second); g.observed.Load() < tree.LastEvent() && time.Now().Before(deadline); {
		time.Sleep(5 * ms)
	}
	rep := tree.ShutdownReport()
	listed := map[genKey]bool{}
	for _, a := range rep.Abandoned {
		listed[genKey{path: a.Path, gen: a.Generation}] = true
	}
	complete := g.observed.Load() == tree.LastEvent() && tree.Snapshot().DroppedEvents == 0
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, ov := range g.overlaps {
		if old := (genKey{path: ov[0].path, gen: ov[0].gen}); complete && !g.abandoned[old] && !listed[old] {
			o.violate("%s generation %d started while generation %d ran, which was never abandoned", ov[1].path, ov[1].gen, old.gen)
		}
	}
	for id, p := range g.ran {
		if g.refused[id] {
			o.violate("argument %d: Start failed, and it ran in %s", id, p)
		}
		if q, ok := g.given[id]; ok && q != p {
			o.violate("argument %d: Start gave a handle of %s, and it ran in %s", id, q, p)
		}
	}
}

// TestGenChaosLateOlderAttempt: on a loaded machine, the goroutine of an
// attempt that its supervisor cancelled and abandoned may begin to run its
// method only after the next attempt of the slot started. TestGenChaos must
// hold the older attempt, not the newer, to having been cancelled and
// abandoned, and take nothing amiss when it was.
func TestGenChaosLateOlderAttempt(t *testing.T) {
	g := &genChaos{o: &ops{}, running: map[genKey]genLive{}}
	newer := genKey{path: "soak/ingest/shards/deep/a", gen: 2}
	older := genKey{path: newer.path, gen: 1}
	g.running[newer] = genLive{ctx: context.Background(), child: "a"} // runs, as it should
	cancelled, cancel := context.WithCancel(context.Background())
	cancel() // the older attempt, abandoned before its goroutine ran
	g.overlap(cancelled, older)
	if g.o.nbad != 0 {
		t.Errorf("violations for an abandoned attempt that began late: %q", g.o.bad)
	}
	if want := [][2]genKey{{older, newer}}; !slices.Equal(g.overlaps, want) {
		t.Errorf("overlaps %v, want the older attempt first: %v", g.overlaps, want)
	}

	g = &genChaos{o: &ops{}, running: map[genKey]genLive{}}
	g.running[newer] = genLive{ctx: context.Background(), child: "a"}
	g.overlap(context.Background(), older) // not even cancelled: the runtime started a second attempt
	if g.o.nbad != 1 {
		t.Errorf("%d violations for an older attempt that runs uncancelled beside a newer one, want 1: %q", g.o.nbad, g.o.bad)
	}
}
