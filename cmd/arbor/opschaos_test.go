package main

// TestOpsChaos runs a nested tree whose run functions fail, panic and hang
// while every operator surface is in use at once: the console's API and
// stream, arbor ctl, the Prometheus collector, the probes, systemd's notify
// socket, a logger and an observer; then it shuts the tree down under all
// of that. It lives here because this package can import every adapter and
// run ctl in-process. The OpenTelemetry adapter, a module of its own, has
// its own: TestOtelChaos in runtime/otel.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
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
	"github.com/arbor-go/arbor/runtime/systemd"
)

var (
	opsDuration = flag.Duration("opschaos.duration", 10*time.Second, "how long TestOpsChaos runs its tree before shutting it down (3s with -short)")
	opsSeed     = flag.Uint64("opschaos.seed", 0, "seed of TestOpsChaos (0: from the clock)")
)

// opsSlack is how late past the root's budget plus DeliveryMargin Run may
// return: scheduling on a loaded 2-core machine under -race.
const opsSlack = time.Second

// opsWatchdog is the WatchdogSec the test plays systemd with: a longer gap
// between two pings would have the service killed. The pings are half as
// far apart; the test allows three times as much, for the scheduling of a
// loaded machine under -race (it reports how late goroutines woke up).
const opsWatchdog = time.Second

// TestOpsChaos: a tree of four levels (every strategy, pools whose
// instances churn, heartbeats, ready, after edges, significant children)
// whose run functions fail, panic, hang and ignore cancellation, while
// clients hammer the console (snapshots, events, streams that follow,
// read slowly, reconnect or never read, restart and stop orders on random
// paths, pool instances among them), arbor ctl runs status, events, events
// -f and orders, Prometheus scrapes, the probes are polled, systemd reads
// its notify socket, and a slow logger and a slow observer are attached.
// Then the tree is cancelled while all of that goes on (in one seed of
// four, its root gives up before, and the clients go on). It checks: every
// answer is well-formed JSON whose counts agree (health with the snapshot,
// a pool's counts with its instances, event pages and streams with their
// sequence numbers), orders get documented codes, the series count never
// changes, the heap and goroutines stay flat, watchdog pings keep coming,
// Run returns within its budget, and after the end: everything says
// stopped (or failed), orders give 409, ctl fails cleanly, streams end, the servers
// close, and no goroutine is left (with -race, no race).
//
//	go test -race -run 'TestOpsChaos$' -v ./cmd/arbor -opschaos.seed=N                         # replay a seed
//	go test -race -run 'TestOpsChaos$' -v -timeout 30m ./cmd/arbor -opschaos.duration=5m      # the long form
func TestOpsChaos(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	seed := *opsSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	d := *opsDuration
	if testing.Short() && d == 10*time.Second {
		d = 3 * time.Second
	}
	t.Logf("seed %d, %v (replay: -opschaos.seed=%d)", seed, d, seed)

	o := &ops{name: "ops", seed: seed, token: "opschaos-token", quit: make(chan struct{})}
	spec := o.build(rand.New(rand.NewPCG(seed, 1)))
	sock := o.notifySocket(t)
	t.Setenv("WATCHDOG_USEC", strconv.FormatInt(opsWatchdog.Microseconds(), 10))
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	logs := &slowHandler{h: slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})}
	var lastSeen atomic.Uint64
	tree, err := runtime.New(spec, runtime.WithLogger(slog.New(logs)), runtime.WithObserver(func(e runtime.Event) {
		if prev := lastSeen.Swap(e.Seq); e.Seq <= prev {
			o.violate("observer: event %d after %d", e.Seq, prev)
		}
		switch {
		case e.Kind == runtime.EventShuttingDown && e.Path == "ops":
			time.Sleep(3 * time.Second) // blocked as the tree stops
		case e.Seq%512 == 0:
			time.Sleep(50 * time.Millisecond) // slow
		}
		_ = e.String()
	}))
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	o.tree = tree

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(tree))
	metricsSrv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	probeSrv := httptest.NewServer(probe.Handler(tree))
	srvCtx, srvCancel := context.WithCancel(context.Background())
	defer srvCancel()
	con, err := console.Listen(srvCtx, "127.0.0.1:0", tree, console.WithToken(o.token), console.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	o.console, o.probeURL, o.metricsURL = strings.TrimSuffix(con.URL, "/"), probeSrv.URL, metricsSrv.URL
	o.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 20 * time.Second}

	if doom := d / time.Duration(2+rand.IntN(3)); slices.Contains(o.static, "ops/doom") {
		t.Logf("ops/doom fails from %v on: the root will give up", doom)
		o.doom.Store(time.Now().Add(doom).UnixNano())
	}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- systemd.Run(runCtx, systemd.TreeRunner(tree)) }()

	// Everything that goes on while the tree runs, and on after it ended
	// until quit.
	var wg sync.WaitGroup
	goes := func(n int, f func(r *rand.Rand)) {
		for i := range n {
			r := rand.New(rand.NewPCG(seed, uint64(100+o.workers.Add(1)+int64(i))))
			wg.Go(func() { f(r) })
		}
	}
	goes(3, o.readTree)
	goes(2, o.readEvents)
	goes(3, o.order)
	goes(1, o.slowRead)
	goes(1, o.scrape)
	goes(1, o.probe)
	goes(2, o.ctl)
	for _, p := range o.pools {
		goes(1, func(r *rand.Rand) { o.churn(r, p) })
	}
	goes(1, func(r *rand.Rand) { o.stream(r, false, 0) })
	goes(2, func(r *rand.Rand) { o.stream(r, true, 3*time.Second) })
	goes(1, func(r *rand.Rand) { o.stream(r, false, 100*time.Millisecond) }) // comes and goes
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
	stalled := o.stalledStream(t)
	heap := o.monitor(d)

	began := time.Now()
	select {
	case <-time.After(d):
	case <-tree.Done(): // the root gave up: the clients go on a while
		t.Logf("seed %d: the tree failed after %v: %v", seed, time.Since(began).Round(time.Millisecond), tree.Err())
		time.Sleep(min(d-time.Since(began), 2*time.Second))
	}

	// The shutdown, with everything still going on.
	cancelAt := time.Now()
	cancel()
	var took time.Duration
	select {
	case <-tree.Done():
		took = time.Since(cancelAt)
	case <-time.After(o.budget + 20*time.Second):
		buf := make([]byte, 1<<22)
		t.Fatalf("seed %d: Run has not returned %v after its context was cancelled (budget %v)\n%s", seed, time.Since(cancelAt), o.budget, buf[:goruntime.Stack(buf, true)])
	}
	if took > o.budget+runtime.DeliveryMargin+opsSlack {
		o.violate("Run returned %v after its context was cancelled; budget %v", took, o.budget)
	}
	select {
	case err := <-runErr:
		var gu *runtime.GiveUpError
		if err != tree.Err() || err != nil && !errors.As(err, &gu) {
			o.violate("systemd.Run: %v; the tree's Err: %v", err, tree.Err())
		}
	case <-time.After(5 * systemd.NotifyTimeout):
		o.violate("systemd.Run has not returned %v after the tree", 5*systemd.NotifyTimeout)
	}

	// Orders, reads, streams and ctl against the ended tree, while the
	// goroutines above still hammer it.
	time.Sleep(300 * time.Millisecond)
	checkAt := time.Now()
	o.afterEnd(t)
	checked := time.Since(checkAt)
	select {
	case code := <-follow:
		if code != 0 {
			o.violate("ctl events -f exited %d at the end of the tree", code)
		}
	case <-time.After(10 * time.Second):
		o.violate("ctl events -f still follows 10s after the tree ended")
	}
	close(o.quit)
	quitAt := time.Now()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<22)
		t.Fatalf("seed %d: the clients have not ended 30s after quit\n%s", seed, buf[:goruntime.Stack(buf, true)])
	}
	quitted := time.Since(quitAt)
	ctlFollow.finish()
	heap()

	closeAt := time.Now()
	if err := con.Close(); err != nil {
		o.violate("console Close: %v", err)
	}
	closed := time.Since(closeAt)
	if closed > 3*time.Second {
		o.violate("console Close took %v with a client that never reads", closed)
	}
	stalled()
	// ctl against the console that is gone: one line, exit 1.
	for _, args := range [][]string{{"status"}, {"events", "-f"}, {"restart", o.static[0]}} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"ctl", "-addr", con.URL, "-token", o.token}, args...), &stdout, &stderr)
		if msg := stderr.String(); code != 1 || stdout.Len() > 0 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "cannot reach the console") {
			o.violate("ctl %s once the console closed: exit %d, %q %q", args[0], code, stdout.String(), msg)
		}
	}
	sock.close()
	metricsSrv.Close()
	probeSrv.Close()
	o.client.CloseIdleConnections()
	httpClient.CloseIdleConnections()
	sock.check(o)

	t.Logf("seed %d: %s; watchdog pings up to %v apart; Run returned %v after cancel (budget %v); checks after the end %v, clients ended %v after quit, console closed in %v",
		seed, o.summary(), sock.maxGap.Round(time.Millisecond), took, o.budget, checked.Round(time.Millisecond), quitted.Round(time.Millisecond), closed.Round(time.Millisecond))
	o.mu.Lock()
	for _, v := range o.bad {
		t.Error(v)
	}
	if o.nbad > len(o.bad) {
		t.Errorf("... and %d more violations", o.nbad-len(o.bad))
	}
	o.mu.Unlock()
	if t.Failed() {
		t.Logf("replay: -opschaos.seed=%d", seed)
	}
	goleak.VerifyNone(t, leaks)
}

// ops is one run of TestOpsChaos.
type ops struct {
	name                 string // the tree's
	seed                 uint64
	tree                 *runtime.Tree
	budget               time.Duration
	static               []string // the paths of the spec's children, pools and supervisors included
	pools                []string
	pspecs               map[string]runtime.Child
	token                string
	quit                 chan struct{} // closed when the clients should end
	client               *http.Client
	console              string // without a trailing slash
	probeURL, metricsURL string
	workers              atomic.Int64
	doom                 atomic.Int64 // when ops/doom, if any, begins to fail, in Unix ns

	paths atomic.Pointer[[]string] // the paths of the latest /api/tree, instances included

	requests, orders, accepted, conflicts, notFound, streamed, gaps, ctls, scrapes, probes, starts, refused atomic.Int64

	mu                 sync.Mutex
	bad                []string
	nbad               int
	maxLate, maxHealth time.Duration // the latest wake-up, the longest Health
}

func (o *ops) violate(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nbad++
	if len(o.bad) < 40 {
		o.bad = append(o.bad, fmt.Sprintf(format, args...))
	}
}

func (o *ops) summary() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("woke up to %v late, Health took up to %v; %d requests, %d orders (%d accepted, %d 409, %d 404), %d events streamed (%d gaps), %d ctl runs, %d scrapes, %d probes, %d Pool.Start (%d refused), %d violations",
		o.maxLate.Round(time.Millisecond), o.maxHealth.Round(time.Millisecond), o.requests.Load(), o.orders.Load(), o.accepted.Load(), o.conflicts.Load(), o.notFound.Load(), o.streamed.Load(), o.gaps.Load(),
		o.ctls.Load(), o.scrapes.Load(), o.probes.Load(), o.starts.Load(), o.refused.Load(), o.nbad)
}

// stop reports whether the clients should end, after waiting up to d.
func (o *ops) stop(d time.Duration) bool {
	select {
	case <-o.quit:
		return true
	case <-time.After(d):
		return false
	}
}

func (o *ops) ended() bool {
	select {
	case <-o.tree.Done():
		return true
	default:
		return false
	}
}

// The tree.

func (o *ops) build(r *rand.Rand) runtime.Spec {
	o.budget = time.Duration(500+r.IntN(1500)) * time.Millisecond
	o.pspecs = map[string]runtime.Child{}
	doomed := r.IntN(4) == 0
	spec := runtime.Spec{
		Name: "ops", Shutdown: o.budget,
		RestartLimit: &runtime.RestartLimit{Max: 1 << 20, Window: time.Second}, // the root never gives up
		Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2, Jitter: 0.2, ResetAfter: 500 * time.Millisecond},
		Children:     o.children(r, "ops", 1),
	}
	if doomed {
		// Unless it does: from o.doom on, a child fails at once at each
		// start, and the tree fails under the clients, which go on.
		spec.Children = append(spec.Children, runtime.Child{Name: "doom", RestartLimit: &runtime.RestartLimit{Max: 3, Window: time.Second}, Run: func(ctx context.Context, a *runtime.Attempt) error {
			if sleep(ctx, time.Until(time.Unix(0, o.doom.Load()))) {
				return errors.New("doomed")
			}
			return nil
		}})
		o.static = append(o.static, "ops/doom")
	}
	return spec
}

func (o *ops) children(r *rand.Rand, parent string, depth int) []runtime.Child {
	var kinds []byte
	switch depth {
	case 1:
		kinds = []byte("wwssp")
	case 2:
		kinds = []byte("ws" + strings.Repeat("w", r.IntN(2)) + strings.Repeat("p", r.IntN(2)))
	case 3:
		kinds = []byte("w" + strings.Repeat("w", r.IntN(2)) + strings.Repeat("s", r.IntN(2)) + strings.Repeat("p", r.IntN(2)))
	default:
		kinds = []byte("ww" + strings.Repeat("w", r.IntN(2)))
	}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	cs := make([]runtime.Child, len(kinds))
	for i, k := range kinds {
		c := runtime.Child{Name: fmt.Sprintf("%c%d", k, i)}
		path := parent + "/" + c.Name
		o.static = append(o.static, path)
		for j := range i {
			if r.IntN(5) == 0 {
				c.After = append(c.After, cs[j].Name)
			}
		}
		switch k {
		case 's':
			c.Supervisor = &runtime.Spec{
				Strategy:     []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne}[r.IntN(3)],
				RestartLimit: &runtime.RestartLimit{Max: 2 + r.IntN(6), Window: time.Second},
				Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: 30 * time.Millisecond, Multiplier: 2, Jitter: 0.2, ResetAfter: 300 * time.Millisecond},
				Shutdown:     time.Duration(100+r.IntN(400)) * time.Millisecond,
				Children:     o.children(r, path, depth+1),
			}
		case 'p':
			c.Pool = &runtime.PoolSpec{Max: 5 + r.IntN(20)}
			c.RestartLimit = &runtime.RestartLimit{Max: 10 + r.IntN(30), Window: time.Second}
			o.liveness(r, &c)
			o.pools = append(o.pools, path)
			o.pspecs[path] = c
		default:
			o.liveness(r, &c)
			if depth > 1 && c.Restart != runtime.Permanent && r.IntN(6) == 0 {
				c.Significant = true
			}
			c.Run = o.work(path, c)
		}
		cs[i] = c
	}
	return cs
}

// liveness draws a worker's or a pool instance's restart type, grace,
// readiness, heartbeat and timeout.
func (o *ops) liveness(r *rand.Rand, c *runtime.Child) {
	c.Restart = []runtime.Restart{runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary}[r.IntN(4)]
	c.Shutdown = time.Duration(10+r.IntN(70)) * time.Millisecond
	if r.IntN(2) == 0 {
		c.Ready = &runtime.Ready{Timeout: time.Duration(50+r.IntN(250)) * time.Millisecond}
	}
	if r.IntN(5) < 2 {
		c.Heartbeat = &runtime.Heartbeat{Timeout: time.Duration(30+r.IntN(170)) * time.Millisecond}
	}
	if r.IntN(7) == 0 {
		c.Timeout = time.Duration(200+r.IntN(800)) * time.Millisecond
	}
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// work is a worker's run function: each attempt draws what it does from
// the seed, its path and its generation.
func (o *ops) work(path string, c runtime.Child) runtime.RunFunc {
	h := fnv64(path)
	return func(ctx context.Context, a *runtime.Attempt) error {
		return o.behave(ctx, a, rand.New(rand.NewPCG(o.seed^h, a.Generation())), c, "")
	}
}

// instance is the run function of an instance of pool.
func (o *ops) instance(pool string, n uint64) runtime.RunFunc {
	c := o.pspecs[pool]
	return func(ctx context.Context, a *runtime.Attempt) error {
		return o.behave(ctx, a, rand.New(rand.NewPCG(o.seed^n, a.Generation())), c, pool)
	}
}

// hostile is an error whose Error method panics.
type hostile struct{}

func (hostile) Error() string { panic("hostile error text") }

var longText = strings.Repeat("long error text ", 1000) // 16 KB, above console.MaxText

func (o *ops) behave(ctx context.Context, a *runtime.Attempt, r *rand.Rand, c runtime.Child, pool string) error {
	if r.IntN(4) == 0 {
		a.Logger().Info("attempt", "n", a.Number())
	}
	if pool != "" && r.IntN(8) == 0 {
		// An instance starts a sibling.
		_, err := o.tree.Pool(pool).Start("", o.instance(pool, r.Uint64()))
		o.started(pool, err)
	}
	var hb time.Duration
	if c.Heartbeat != nil {
		hb = c.Heartbeat.Timeout
	}
	life := time.Duration(20+r.IntN(1500)) * time.Millisecond
	short := time.Duration(r.IntN(100)) * time.Millisecond
	switch k := r.IntN(100); {
	case k < 40:
		return steady(ctx, a, r, life, hb, life)
	case k < 52:
		if !sleep(ctx, short) {
			return ctx.Err()
		}
		switch r.IntN(16) {
		case 0: // rare: every answer that lists it grows by 8 KB
			return errors.New(longText)
		case 1, 2, 3:
			return errors.New("bad\x1b[31m \u202etext\xff\n\tnewline")
		case 4, 5, 6:
			return hostile{}
		}
		return fmt.Errorf("%s: failed", a.Path())
	case k < 62:
		sleep(ctx, short)
		switch r.IntN(4) {
		case 0:
			panic(hostile{})
		case 1:
			panic(nil)
		case 2:
			panic(errors.New("boom"))
		}
		panic("boom")
	case k < 72: // hangs: no ready, no beat, and past its grace once cancelled
		<-ctx.Done()
		time.Sleep(min(c.Shutdown*time.Duration(1+r.IntN(3)), 300*time.Millisecond))
		return nil
	case k < 82: // ready late, beats for a while only
		if c.Ready != nil && !sleep(ctx, c.Ready.Timeout+short) {
			return ctx.Err()
		}
		return steady(ctx, a, r, life, hb, life/3)
	case k < 90:
		sleep(ctx, short)
		return nil
	case k < 95:
		return fmt.Errorf("retired: %w", runtime.ErrDoNotRestart)
	}
	goruntime.Goexit()
	return nil
}

// steady is ready at once, beats for beatFor, and returns after life or
// when cancelled.
func steady(ctx context.Context, a *runtime.Attempt, r *rand.Rand, life, hb, beatFor time.Duration) error {
	a.Ready()
	var tick <-chan time.Time
	if hb > 0 {
		tk := time.NewTicker(hb / 3)
		defer tk.Stop()
		tick = tk.C
	}
	end := time.NewTimer(life)
	defer end.Stop()
	stopBeat := time.Now().Add(beatFor)
	for {
		select {
		case <-ctx.Done():
			if r.IntN(2) == 0 {
				return nil
			}
			return ctx.Err()
		case <-tick:
			if time.Now().Before(stopBeat) {
				a.Beat()
			}
		case <-end.C:
			if r.IntN(3) == 0 {
				return nil
			}
			return errors.New("gave out")
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// started checks Pool.Start's error: only the documented ones.
func (o *ops) started(pool string, err error) {
	o.starts.Add(1)
	if err == nil {
		return
	}
	o.refused.Add(1)
	for _, e := range []error{runtime.ErrPoolFull, runtime.ErrNameTaken, runtime.ErrNotRunning, runtime.ErrTreeEnded} {
		if errors.Is(err, e) {
			return
		}
	}
	o.violate("%s: Pool.Start: undocumented error %v", pool, err)
}

// churn starts instances of pool, with generated and colliding names, and
// stops and restarts some of them through their handles.
func (o *ops) churn(r *rand.Rand, pool string) {
	var kept []*runtime.Handle
	for !o.stop(time.Duration(1+r.IntN(15)) * time.Millisecond) {
		name := ""
		if r.IntN(2) == 0 {
			name = fmt.Sprintf("i%d", r.IntN(30))
		}
		h, err := o.tree.Pool(pool).Start(name, o.instance(pool, r.Uint64()))
		o.started(pool, err)
		if h != nil && len(kept) < 16 {
			kept = append(kept, h)
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
			if err != nil && !errors.Is(err, runtime.ErrNotRunning) && !errors.Is(err, runtime.ErrTreeEnded) && !errors.Is(err, runtime.ErrRemoved) {
				o.violate("%s: order through a handle: undocumented error %v", h.Path(), err)
			}
		}
	}
}
