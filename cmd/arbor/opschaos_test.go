package main

// TestOpsChaos runs a nested tree whose run functions fail, panic and hang
// while every operator surface is in use at once: the console's API and
// stream, arbor ctl, the Prometheus collector, the probes, systemd's notify
// socket, a logger and an observer; then it shuts the tree down under all
// of that. It lives here because this package can import every adapter and
// run ctl in-process. The OpenTelemetry adapter is a module of its own and
// takes no part.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
// between two pings would have the service killed.
const opsWatchdog = time.Second

// TestOpsChaos: a tree of four levels (every strategy, pools whose
// instances churn, heartbeats, ready, after edges, significant children)
// whose run functions fail, panic, hang and ignore cancellation, while
// clients hammer the console (snapshots, events, streams that follow,
// read slowly, reconnect or never read, restart and stop orders on random
// paths, pool instances among them), arbor ctl runs status, events, events
// -f and orders, Prometheus scrapes, the probes are polled, systemd reads
// its notify socket, and a slow logger and a slow observer are attached.
// Then the tree is cancelled while all of that goes on. It checks: every
// answer is well-formed JSON whose counts agree (health with the snapshot,
// a pool's counts with its instances, event pages and streams with their
// sequence numbers), orders get documented codes, the series count never
// changes, the heap and goroutines stay flat, watchdog pings keep coming,
// Run returns within its budget, and after the end: everything says
// stopped, orders give 409, ctl fails cleanly, streams end, the servers
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

	o := &ops{seed: seed, token: "opschaos-token", quit: make(chan struct{})}
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
	goes(1, func(r *rand.Rand) { o.stream(r, false) })
	goes(2, func(r *rand.Rand) { o.stream(r, true) })
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

	time.Sleep(d)

	// The shutdown, with everything still going on.
	cancelAt := time.Now()
	cancel()
	var doneAt time.Time
	select {
	case <-tree.Done():
		doneAt = time.Now()
	case <-time.After(o.budget + 20*time.Second):
		buf := make([]byte, 1<<22)
		t.Fatalf("seed %d: Run has not returned %v after its context was cancelled (budget %v)\n%s", seed, time.Since(cancelAt), o.budget, buf[:goruntime.Stack(buf, true)])
	}
	took := doneAt.Sub(cancelAt)
	if took > o.budget+runtime.DeliveryMargin+opsSlack {
		o.violate("Run returned %v after its context was cancelled; budget %v", took, o.budget)
	}
	select {
	case err := <-runErr:
		if err != nil {
			o.violate("Run: %v", err)
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
	return runtime.Spec{
		Name: "ops", Shutdown: o.budget,
		RestartLimit: &runtime.RestartLimit{Max: 1 << 20, Window: time.Second}, // the root never gives up
		Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2, Jitter: 0.2, ResetAfter: 500 * time.Millisecond},
		Children:     o.children(r, "ops", 1),
	}
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

// HTTP clients.

// get fetches url and returns the status and body; a failure to get an
// answer is a violation.
func (o *ops) get(url string, hdr ...string) (int, http.Header, []byte) {
	o.requests.Add(1)
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := o.client.Do(req)
	if err != nil {
		o.violate("GET %s: %v", url, err)
		return 0, nil, nil
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		o.violate("GET %s: reading: %v", url, err)
	}
	return res.StatusCode, res.Header, body
}

var states = []string{"idle", "waiting", "starting", "running", "stopping", "backoff", "stopped", "done", "standby"}

// readTree reads /api/tree and checks it.
func (o *ops) readTree(r *rand.Rand) {
	var last uint64
	for !o.stop(time.Duration(r.IntN(10)) * time.Millisecond) {
		url, limit := o.console+"/api/tree", -1
		if r.IntN(3) == 0 {
			limit = r.IntN(5)
			url += "?instances=" + strconv.Itoa(limit)
		}
		code, _, body := o.get(url)
		if code == 0 {
			continue
		}
		if code != http.StatusOK {
			o.violate("GET %s: %d %s", url, code, body)
			continue
		}
		var tr console.Tree
		if err := json.Unmarshal(body, &tr); err != nil {
			o.violate("GET %s: not JSON: %v", url, err)
			continue
		}
		if tr.LastEvent < last {
			o.violate("GET %s: lastEvent %d after %d", url, tr.LastEvent, last)
		}
		last = tr.LastEvent
		o.checkTree(tr, limit)
		if limit < 0 && r.IntN(4) == 0 {
			paths := make([]string, len(tr.Children))
			for i, c := range tr.Children {
				paths[i] = c.Path
			}
			o.paths.Store(&paths)
		}
	}
}

// checkTree checks a /api/tree answer on its own: known states, pools'
// counts against their instances, and health against the children.
func (o *ops) checkTree(tr console.Tree, limit int) {
	bad := func(format string, args ...any) {
		o.violate("/api/tree (health %s, %q): %s", tr.Health, tr.Reason, fmt.Sprintf(format, args...))
	}
	if tr.Tree != "ops" || !tr.Control {
		bad("tree %q, control %v", tr.Tree, tr.Control)
	}
	byPath := map[string]console.Child{}
	var pool *console.Child
	listed, live := 0, 0 // the instances of pool listed, and those of them live
	flush := func() {
		if pool != nil && pool.Pool != nil && pool.Pool.Listed != listed {
			bad("pool %s lists %d instances and says %d", pool.Path, listed, pool.Pool.Listed)
		}
		if pool != nil && pool.Pool != nil && limit < 0 && live != pool.Pool.Live {
			bad("pool %s says %d live and lists %d live instances", pool.Path, pool.Pool.Live, live)
		}
	}
	static := 0
	for i := range tr.Children {
		c := tr.Children[i]
		if _, dup := byPath[c.Path]; dup {
			bad("%s listed twice", c.Path)
		}
		byPath[c.Path] = c
		if !slices.Contains(states, c.State) {
			bad("%s: state %q", c.Path, c.State)
		}
		if c.Ready != (c.State == "running") {
			bad("%s: ready %v in state %s", c.Path, c.Ready, c.State)
		}
		switch c.Kind {
		case "instance":
			if pool == nil || !strings.HasPrefix(c.Path, pool.Path+"/") {
				bad("instance %s not after its pool", c.Path)
			}
			listed++
			if c.State != "stopped" && c.State != "done" && c.State != "waiting" {
				live++
			}
			continue
		case "pool":
			flush()
			pool, listed, live = &tr.Children[i], 0, 0
			p := c.Pool
			if p == nil {
				bad("pool %s without counts", c.Path)
				continue
			}
			if p.Live != p.Starting+p.Running+p.Backoff+p.Stopping || p.Live < 0 {
				bad("pool %s: live %d is not the sum of its states %+v", c.Path, p.Live, *p)
			}
			if max := o.pspecs[c.Path].Pool.Max; p.Live > max {
				bad("pool %s: %d live instances, more than its max %d", c.Path, p.Live, max)
			}
			if limit >= 0 && p.Listed > limit {
				bad("pool %s lists %d instances, asked for %d", c.Path, p.Listed, limit)
			}
			if p.Removed > p.Started {
				bad("pool %s: %d removed of %d started", c.Path, p.Removed, p.Started)
			}
		case "worker", "supervisor":
			flush()
			pool = nil
		default:
			bad("%s: kind %q", c.Path, c.Kind)
		}
		if !slices.Contains(o.static, c.Path) {
			bad("%s is not in the spec", c.Path)
		}
		static++
	}
	flush()
	if static != len(o.static) {
		bad("%d of the spec's %d children", static, len(o.static))
	}
	// Health against the children of the same walk.
	ok := func(c console.Child) bool { return c.State == "running" || c.State == "done" || c.State == "standby" }
	underDone := func(path string) bool {
		for p := path; strings.Count(p, "/") > 1; {
			p = p[:strings.LastIndexByte(p, '/')]
			if byPath[p].State == "done" {
				return true
			}
		}
		return false
	}
	switch tr.Health {
	case "ready":
		if tr.Reason != "" {
			bad("a reason when ready")
		}
		for _, c := range tr.Children {
			if !ok(c) && !underDone(c.Path) {
				bad("ready, and %s is %s", c.Path, c.State)
			}
		}
	case "starting", "degraded":
		path, _, _ := strings.Cut(tr.Reason, ": ")
		c, found := byPath[path]
		switch {
		case !found && limit < 0:
			bad("the reason names no child listed")
		case found && ok(c):
			bad("the reason names %s, which is %s", path, c.State)
		}
	case "stopping":
	case "stopped":
		for _, c := range tr.Children {
			switch c.State {
			case "running", "starting", "stopping", "waiting", "backoff":
				bad("stopped, and %s is %s", c.Path, c.State)
			}
			if c.Pool != nil && c.Pool.Live != 0 {
				bad("stopped, and pool %s has %d live instances", c.Path, c.Pool.Live)
			}
		}
	default:
		bad("unknown health")
	}
	if (tr.Health == "stopped" || tr.Health == "failed") && !o.endsSoon() {
		bad("before the end")
	}
}

// endsSoon reports whether the tree's Run returns within a second: the
// tree says it ended just before Done is closed.
func (o *ops) endsSoon() bool {
	select {
	case <-o.tree.Done():
		return true
	case <-time.After(time.Second):
		return false
	}
}

// readEvents pages through /api/events and checks each page.
func (o *ops) readEvents(r *rand.Rand) {
	var after uint64
	for !o.stop(time.Duration(r.IntN(20)) * time.Millisecond) {
		url := o.console + "/api/events"
		asked := r.IntN(3) != 0
		if asked {
			url += "?after=" + strconv.FormatUint(after, 10)
		}
		code, hdr, body := o.get(url)
		if code == 0 {
			continue
		}
		if code != http.StatusOK || hdr.Get(console.RunHeader) == "" {
			o.violate("GET %s: %d (run %q) %s", url, code, hdr.Get(console.RunHeader), body)
			continue
		}
		var evs console.Events
		if err := json.Unmarshal(body, &evs); err != nil {
			o.violate("GET %s: not JSON: %v", url, err)
			continue
		}
		prev := uint64(0)
		if len(evs.Events) > 0 {
			prev = evs.Events[0].Seq - 1
		}
		for _, e := range evs.Events {
			if e.Seq != prev+1 || e.Kind == "" || e.Text == "" || !strings.HasPrefix(e.Path, "ops") {
				o.violate("GET %s: event %d after %d: %+v", url, e.Seq, prev, e)
				break
			}
			prev = e.Seq
		}
		switch {
		case len(evs.Events) > console.MaxEvents:
			o.violate("GET %s: %d events", url, len(evs.Events))
		case len(evs.Events) > 0 && evs.LastEvent != prev:
			o.violate("GET %s: lastEvent %d, last listed %d", url, evs.LastEvent, prev)
		case evs.More != (evs.Latest > evs.LastEvent) || evs.Latest < evs.LastEvent:
			o.violate("GET %s: more %v, latest %d, lastEvent %d", url, evs.More, evs.Latest, evs.LastEvent)
		case asked && len(evs.Events) > 0 && evs.Events[0].Seq != after+evs.Missed+1:
			o.violate("GET %s: first event %d, missed %d", url, evs.Events[0].Seq, evs.Missed)
		}
		if asked {
			after = evs.LastEvent
			if !evs.More && r.IntN(5) == 0 {
				after = 0
			}
		}
	}
}

// order gives restart and stop orders on random paths, and checks the
// answers' codes and bodies.
func (o *ops) order(r *rand.Rand) {
	for !o.stop(time.Duration(r.IntN(30)) * time.Millisecond) {
		kind := []string{"restart", "restart", "stop"}[r.IntN(3)]
		path, token, want := "", o.token, []int{http.StatusAccepted, http.StatusConflict}
		paths := o.paths.Load()
		switch k := r.IntN(20); {
		case k == 0:
			path, want = "ops/nope/x", []int{http.StatusNotFound}
		case k == 1:
			token, want = "wrong", []int{http.StatusUnauthorized}
		case k < 4 || paths == nil:
			path = o.static[r.IntN(len(o.static))]
		default:
			path = (*paths)[r.IntN(len(*paths))]
		}
		if path == "" {
			path = o.static[r.IntN(len(o.static))]
		}
		instance := !slices.Contains(o.static, path) && want[0] != http.StatusNotFound
		if instance {
			want = append(want, http.StatusNotFound)
		}
		var body io.Reader
		url := o.console + "/api/" + kind
		hdr := "application/json"
		if r.IntN(2) == 0 {
			url += "?path=" + path
		} else {
			b, _ := json.Marshal(map[string]string{"path": path})
			body = bytes.NewReader(b)
		}
		ended := o.ended()
		req, _ := http.NewRequest("POST", url, body)
		req.Header.Set("Content-Type", hdr)
		req.Header.Set("Authorization", "Bearer "+token)
		o.orders.Add(1)
		res, err := o.client.Do(req)
		if err != nil {
			o.violate("POST %s %s: %v", url, path, err)
			continue
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			o.violate("POST %s %s: reading: %v", url, path, err)
			continue
		}
		if ended && want[0] == http.StatusAccepted && !instance {
			want = []int{http.StatusConflict}
		}
		switch res.StatusCode {
		case http.StatusAccepted:
			o.accepted.Add(1)
			var or console.OrderResult
			if err := json.Unmarshal(b, &or); err != nil || or.Path != path || or.Order != kind {
				o.violate("POST %s %s: 202 %s (%v)", url, path, b, err)
			}
		case http.StatusConflict:
			o.conflicts.Add(1)
		case http.StatusNotFound:
			o.notFound.Add(1)
		}
		if !slices.Contains(want, res.StatusCode) {
			o.violate("POST %s %s (ended before: %v): %d %s; want one of %v", url, path, ended, res.StatusCode, b, want)
			continue
		}
		if res.StatusCode != http.StatusAccepted {
			var e console.Error
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				o.violate("POST %s %s: %d %q is not an error in JSON", url, path, res.StatusCode, b)
			}
		}
	}
}

// slowRead reads /api/tree and /api/events a few bytes at a time.
func (o *ops) slowRead(r *rand.Rand) {
	for !o.stop(0) {
		url := o.console + []string{"/api/tree", "/api/events"}[r.IntN(2)]
		o.requests.Add(1)
		client := &http.Client{Transport: o.client.Transport} // no timeout: it takes its time
		res, err := client.Get(url)
		if err != nil {
			o.violate("GET %s: %v", url, err)
			continue
		}
		var body []byte
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				o.violate("GET %s slowly: after %d bytes: %v", url, len(body), err)
				break
			}
			if o.stop(time.Millisecond) {
				break
			}
		}
		res.Body.Close()
		if select1(o.quit) {
			return
		}
		if !json.Valid(body) {
			o.violate("GET %s slowly: %d bytes, not JSON", url, len(body))
		}
	}
}

func select1(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// stream follows the event stream and checks it: ids in order, a gap
// message for each gap, events as JSON, the end. A slow one reads a
// message at a time, and reconnects now and then with Last-Event-ID.
func (o *ops) stream(r *rand.Rand, slow bool) {
	var last uint64
	for {
		req, _ := http.NewRequest("GET", o.console+"/api/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		if last > 0 {
			req.Header.Set("Last-Event-ID", strconv.FormatUint(last, 10))
		}
		ctx, cancel := context.WithCancel(context.Background())
		req = req.WithContext(ctx)
		if slow && !select1(o.quit) {
			// Until quit: then it reads on to the end message.
			time.AfterFunc(time.Duration(500+r.IntN(2500))*time.Millisecond, cancel)
		}
		client := &http.Client{Transport: o.client.Transport} // no timeout: a stream
		res, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil { // not its own impatience
				o.violate("stream: %v", err)
			}
			cancel()
			if o.stop(100 * time.Millisecond) {
				return
			}
			continue
		}
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
			o.violate("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var kind, id string
		var data []byte
		var missed uint64
		end := false
		for !end && sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "event: "):
				kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = append(data, line[6:]...)
			case line == "":
				switch kind {
				case "gap":
					var g console.Gap
					if err := json.Unmarshal(data, &g); err != nil || g.Missed == 0 {
						o.violate("stream: gap %q", data)
					}
					missed += g.Missed
					o.gaps.Add(1)
				case "end":
					end = true
				case "":
					if id == "" {
						break // retry:
					}
					var e console.Event
					seq, _ := strconv.ParseUint(id, 10, 64)
					if err := json.Unmarshal(data, &e); err != nil || e.Seq != seq || e.Text == "" {
						o.violate("stream: event %s: %q (%v)", id, data, err)
					}
					if seq != last+missed+1 && !(last == 0 && missed == 0) {
						o.violate("stream: event %d after %d with %d missed", seq, last, missed)
					}
					last, missed = seq, 0
					o.streamed.Add(1)
				default:
					o.violate("stream: message %q", kind)
				}
				kind, id, data = "", "", nil
				if slow {
					time.Sleep(time.Duration(r.IntN(4)) * time.Millisecond)
				}
			}
		}
		err = sc.Err()
		res.Body.Close()
		cancelled := ctx.Err() != nil
		cancel()
		if end {
			if !o.ended() {
				o.violate("stream: end before the tree ended")
			}
			return
		}
		if !cancelled {
			o.violate("stream broke before its end: %v", err)
			return
		}
	}
}

// stalledStream opens a stream that it never reads: the console must
// neither hold the tree nor fail to close for it. The returned function
// closes it.
func (o *ops) stalledStream(t *testing.T) func() {
	conn, err := net.Dial("tcp", strings.TrimPrefix(o.console, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// Tiny buffers, so that the console blocks writing to it soon.
	conn.(*net.TCPConn).SetReadBuffer(1024)
	fmt.Fprintf(conn, "GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	// And an order whose body never comes.
	order, err := net.Dial("tcp", strings.TrimPrefix(o.console, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(order, "POST /api/restart HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa", o.token)
	return func() {
		conn.Close()
		order.Close()
	}
}

// scrape scrapes the collector and checks that the number of series never
// changes (instances have none) and that one health state is set.
func (o *ops) scrape(r *rand.Rand) {
	series := 0
	for !o.stop(time.Duration(r.IntN(20)) * time.Millisecond) {
		code, _, body := o.get(o.metricsURL)
		if code != http.StatusOK {
			if code != 0 {
				o.violate("scrape: %d %s", code, body)
			}
			continue
		}
		o.scrapes.Add(1)
		n, health := 0, 0
		for _, line := range strings.Split(string(body), "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			n++
			if strings.HasPrefix(line, "arbor_tree_health{") && strings.HasSuffix(line, " 1") {
				health++
			}
		}
		if series == 0 {
			series = n
		}
		if n != series || health != 1 {
			o.violate("scrape: %d series (first %d), %d health states set", n, series, health)
		}
	}
}

// probe polls the probes.
func (o *ops) probe(r *rand.Rand) {
	for !o.stop(time.Duration(r.IntN(20)) * time.Millisecond) {
		p := []string{"/livez", "/healthz", "/readyz", "/readyz?verbose", "/livez?verbose"}[r.IntN(5)]
		ended := o.ended()
		code, hdr, body := o.get(o.probeURL + p)
		if code == 0 {
			continue
		}
		o.probes.Add(1)
		text := string(body)
		live := strings.HasPrefix(p, "/livez") || p == "/healthz"
		switch {
		case code != http.StatusOK && code != http.StatusServiceUnavailable,
			!strings.HasPrefix(hdr.Get("Content-Type"), "text/plain"), hdr.Get("Cache-Control") != "no-store",
			!strings.HasSuffix(text, "\n"):
			o.violate("probe %s: %d %q %q", p, code, hdr, text)
		case live && code != http.StatusOK && !o.endsSoon():
			o.violate("probe %s: %d before the end: %q", p, code, text)
		case ended && code != http.StatusServiceUnavailable:
			o.violate("probe %s: %d after the end: %q", p, code, text)
		case !strings.Contains(p, "verbose") && code == http.StatusOK && text != "ok\n":
			o.violate("probe %s: 200 %q", p, text)
		}
	}
}

// ctl runs arbor ctl in-process: status, events and orders.
func (o *ops) ctl(r *rand.Rand) {
	for !o.stop(time.Duration(r.IntN(50)) * time.Millisecond) {
		path := o.static[r.IntN(len(o.static))]
		if paths := o.paths.Load(); paths != nil && r.IntN(2) == 0 {
			path = (*paths)[r.IntN(len(*paths))]
		}
		args := [][]string{{"status"}, {"status", "-json"}, {"events"}, {"events", "-json"}, {"restart", path}, {"restart", path}, {"stop", path}}[r.IntN(7)]
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"ctl", "-addr", o.console, "-token", o.token}, args...), &stdout, &stderr)
		o.ctls.Add(1)
		cmd := strings.Join(args, " ")
		switch args[0] {
		case "status", "events":
			if code != 0 || stderr.Len() > 0 && !strings.Contains(stderr.String(), "no longer in the journal") {
				o.violate("ctl %s: exit %d: %s", cmd, code, stderr.String())
			}
			if args[0] == "status" && len(args) > 1 {
				var tr console.Tree
				if err := json.Unmarshal(stdout.Bytes(), &tr); err != nil {
					o.violate("ctl %s: %v", cmd, err)
				}
			}
		default:
			msg := stderr.String()
			switch code {
			case 0:
				if stdout.Len()+stderr.Len() > 0 {
					o.violate("ctl %s: exit 0, not silent: %q %q", cmd, stdout.String(), msg)
				}
			case 1:
				if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "arbor ctl: ") ||
					!strings.Contains(msg, "(409 Conflict)") && !strings.Contains(msg, "(404 Not Found)") {
					o.violate("ctl %s: exit 1: %q", cmd, msg)
				}
			default:
				o.violate("ctl %s: exit %d: %q", cmd, code, msg)
			}
		}
	}
}

// lineChecker takes ctl events -f -json's output and checks each line as
// it comes, keeping nothing: a long run prints millions.
type lineChecker struct {
	o     *ops
	part  []byte
	last  uint64
	lines int
}

func (l *lineChecker) Write(p []byte) (int, error) {
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		var e console.Event
		if err := json.Unmarshal(l.part[:i], &e); err != nil || e.Seq <= l.last {
			l.o.violate("ctl events -f: line %q after event %d (%v)", l.part[:i], l.last, err)
		}
		l.last = e.Seq
		l.lines++
		l.part = l.part[i+1:]
	}
	l.part = slices.Clip(l.part)
	return len(p), nil
}

func (l *lineChecker) finish() {
	if len(l.part) > 0 || l.lines == 0 {
		l.o.violate("ctl events -f: %d lines, then %q", l.lines, l.part)
	}
}

// monitor samples the heap and the goroutines after a GC twice a second
// until quit; the returned function checks that the last quarter of the
// run is no higher than its second quarter, with some room.
func (o *ops) monitor(d time.Duration) func() {
	type sample struct {
		at         time.Duration
		heap       uint64
		goroutines int
	}
	var samples []sample
	begin := time.Now()
	done := make(chan struct{})
	go func() {
		// How late a goroutine wakes, and how long Health takes: what
		// the watchdog's pinger does.
		for !o.ended() {
			at := time.Now()
			time.Sleep(50 * time.Millisecond)
			late := time.Since(at) - 50*time.Millisecond
			at = time.Now()
			o.tree.Health()
			took := time.Since(at)
			o.mu.Lock()
			o.maxLate, o.maxHealth = max(o.maxLate, late), max(o.maxHealth, took)
			o.mu.Unlock()
		}
	}()
	go func() {
		defer close(done)
		for !o.ended() && !o.stop(500*time.Millisecond) {
			goruntime.GC()
			var m goruntime.MemStats
			goruntime.ReadMemStats(&m)
			samples = append(samples, sample{time.Since(begin), m.HeapAlloc, goruntime.NumGoroutine()})
		}
	}()
	return func() {
		<-done
		var second, last sample
		for _, s := range samples {
			switch {
			case s.at > d*3/4 && s.at <= d:
				last.heap, last.goroutines = max(last.heap, s.heap), max(last.goroutines, s.goroutines)
			case s.at > d/4 && s.at <= d/2:
				second.heap, second.goroutines = max(second.heap, s.heap), max(second.goroutines, s.goroutines)
			}
		}
		if second.heap == 0 || last.heap == 0 {
			return // too short to say
		}
		if last.heap > second.heap*3/2+8<<20 || last.goroutines > second.goroutines*3/2+100 {
			o.violate("growth: heap %d MB, %d goroutines in the second quarter; %d MB, %d in the last",
				second.heap>>20, second.goroutines, last.heap>>20, last.goroutines)
		}
	}
}

// afterEnd checks the ended tree through every surface.
func (o *ops) afterEnd(t *testing.T) {
	if err := o.tree.Err(); err != nil {
		o.violate("Err after a cancelled Run: %v", err)
	}
	code, _, body := o.get(o.console + "/api/tree")
	var tr console.Tree
	if err := json.Unmarshal(body, &tr); code != http.StatusOK || err != nil || tr.Health != "stopped" {
		o.violate("/api/tree after the end: %d %v %.200s", code, err, body)
	}
	o.checkTree(tr, -1)
	for i, path := range o.static {
		if i%3 != 0 {
			continue // a third of them is enough, and quicker
		}
		for _, kind := range []string{"restart", "stop"} {
			req, _ := http.NewRequest("POST", o.console+"/api/"+kind+"?path="+path, nil)
			req.Header.Set("Authorization", "Bearer "+o.token)
			res, err := o.client.Do(req)
			if err != nil {
				o.violate("POST %s %s after the end: %v", kind, path, err)
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusConflict || !strings.Contains(string(b), "tree has ended") {
				o.violate("POST %s %s after the end: %d %s", kind, path, res.StatusCode, b)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"ctl", "-addr", o.console, "-token", o.token, "restart", o.static[0]}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "tree has ended (409 Conflict)") || strings.Count(stderr.String(), "\n") != 1 {
		o.violate("ctl restart after the end: exit %d, %q", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"ctl", "-addr", o.console, "status"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "ops: stopped") {
		o.violate("ctl status after the end: exit %d, %.200q %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	done := make(chan int, 1)
	go func() { done <- run([]string{"ctl", "-addr", o.console, "events", "-f"}, &stdout, &stderr) }()
	select {
	case code := <-done:
		if code != 0 || stdout.Len() == 0 {
			o.violate("ctl events -f after the end: exit %d, %d bytes, %q", code, stdout.Len(), stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ctl events -f after the end still follows after 10s")
	}
	for _, p := range []string{"/livez", "/readyz"} {
		if code, _, body := o.get(o.probeURL + p); code != http.StatusServiceUnavailable || !strings.HasPrefix(string(body), "stopped") {
			o.violate("probe %s after the end: %d %q", p, code, body)
		}
	}
	if code, _, body := o.get(o.metricsURL); code != http.StatusOK || !strings.Contains(string(body), `arbor_tree_health{state="stopped",tree="ops"} 1`) {
		o.violate("scrape after the end: %d %.300s", code, body)
	}
}

// notify plays systemd's end of NOTIFY_SOCKET: it reads every datagram
// and keeps what the checks need.
type notify struct {
	conn    *net.UnixConn
	dir     string
	done    chan struct{}
	ready   int
	stopped bool   // STOPPING=1 came
	last    string // the last datagram
	maxGap  time.Duration
	pings   int
	err     error
}

func (o *ops) notifySocket(t *testing.T) *notify {
	dir, err := os.MkdirTemp("", "sd") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	n := &notify{conn: conn, dir: dir, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		buf := make([]byte, 8192)
		var ping time.Time
		for {
			k, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					n.err = err
				}
				return
			}
			msg := string(buf[:k])
			n.last = msg
			for _, line := range strings.Split(msg, "\n") {
				switch line {
				case "READY=1":
					n.ready++
				case "STOPPING=1":
					n.stopped = true
				case "WATCHDOG=1":
					if !ping.IsZero() && !n.stopped {
						n.maxGap = max(n.maxGap, time.Since(ping))
					}
					ping = time.Now()
					n.pings++
				}
			}
		}
	}()
	return n
}

func (n *notify) close() {
	n.conn.Close()
	<-n.done
	os.RemoveAll(n.dir)
}

func (n *notify) check(o *ops) {
	ready := 0
	select {
	case <-o.tree.Ready():
		ready = 1
	default:
	}
	if n.err != nil || n.ready != ready || !n.stopped || !strings.Contains(n.last, "STATUS=stopped") || n.pings == 0 {
		o.violate("systemd: err %v, READY=1 %d times (tree ready: %d), STOPPING=1 %v, %d pings, last %q", n.err, n.ready, ready, n.stopped, n.pings, n.last)
	}
	if n.maxGap > opsWatchdog+opsSlack {
		o.violate("systemd: %v between two watchdog pings, WatchdogSec %v", n.maxGap, opsWatchdog)
	}
}

// slowHandler is a slog.Handler that is slow now and then.
type slowHandler struct {
	h slog.Handler
	n atomic.Int64
}

func (s *slowHandler) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (s *slowHandler) Handle(ctx context.Context, r slog.Record) error {
	if s.n.Add(1)%1000 == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	return s.h.Handle(ctx, r)
}
func (s *slowHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &slowHandler{h: s.h.WithAttrs(as)}
}
func (s *slowHandler) WithGroup(g string) slog.Handler { return &slowHandler{h: s.h.WithGroup(g)} }
