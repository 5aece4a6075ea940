package otel_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/otel"
)

var (
	chaosDuration = flag.Duration("otelchaos.duration", 5*time.Second, "how long TestOtelChaos runs its tree (2s with -short)")
	chaosSeed     = flag.Uint64("otelchaos.seed", 0, "seed of TestOtelChaos (0: from the clock)")
)

// openSpans is a span processor that keeps only the spans still open,
// and is slow now and then, and stuck for a while once, as an exporter
// behind a synchronous processor is when its collector is.
type openSpans struct {
	mu            sync.Mutex
	open          map[trace.SpanID]string // the span's name
	names         map[string]bool         // the names spans may have
	started, ends atomic.Int64
	stuck         atomic.Bool
	bad           []string
}

func (p *openSpans) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	n := p.started.Add(1)
	for p.stuck.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	if n%300 == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	p.mu.Lock()
	p.open[s.SpanContext().SpanID()] = s.Name()
	p.mu.Unlock()
}

func (p *openSpans) OnEnd(s sdktrace.ReadOnlySpan) {
	p.ends.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.open[s.SpanContext().SpanID()]; !ok {
		p.bad = append(p.bad, "a span ended twice or was never started: "+s.Name())
	}
	delete(p.open, s.SpanContext().SpanID())
	if !p.names[s.Name()] {
		p.bad = append(p.bad, "a span named neither after a static child nor a pool's instances: "+s.Name())
	}
}

func (p *openSpans) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.open)
}

func (*openSpans) Shutdown(context.Context) error   { return nil }
func (*openSpans) ForceFlush(context.Context) error { return nil }

// TestOtelChaos: the adapter of a nested tree whose run functions fail,
// panic, hang and ignore cancellation, and whose pools' instances churn,
// while metrics are collected without pause, the exporter is slow and
// once stuck (so that the observer loses events), and the tree is
// cancelled under it all. Spans stay bounded (those of instances that are
// gone are swept), none is named after an instance, and every span ends
// once Run returned unless its end was lost at the very end; the series
// stay bounded; the heap stays flat; Run keeps its budget.
//
//	go test -race -run 'TestOtelChaos$' -v . -otelchaos.seed=N                          # replay a seed
//	go test -race -run 'TestOtelChaos$' -v -timeout 30m . -otelchaos.duration=5m        # the long form
func TestOtelChaos(t *testing.T) {
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	d := *chaosDuration
	if testing.Short() && d == 5*time.Second {
		d = 2 * time.Second
	}
	t.Logf("seed %d, %v (replay: -otelchaos.seed=%d)", seed, d, seed)
	r := rand.New(rand.NewPCG(seed, 1))

	c := &chaos{seed: seed}
	budget := time.Duration(300+r.IntN(700)) * time.Millisecond
	spec := runtime.Spec{Name: "oc", Shutdown: budget,
		RestartLimit: &runtime.RestartLimit{Max: 1 << 20, Window: time.Second},
		Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond, Multiplier: 2},
		Children:     c.children(r, "oc", 1)}
	tr, err := runtime.New(spec, runtime.WithEventBuffer(512))
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	c.tree = tr
	sp := &openSpans{open: map[trace.SpanID]string{}, names: map[string]bool{}}
	for _, p := range c.static {
		sp.names[p] = true
	}
	for _, p := range c.pools {
		sp.names[p+"/*"] = true
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())
	if err := otel.Instrument(tr, otel.WithTracerProvider(tp), otel.WithMeterProvider(mp)); err != nil {
		t.Fatal(err)
	}
	// Bounds: a span per static child and per live instance, and as many
	// again whose ends were lost and wait for a sweep (it runs at twice
	// the open spans); a series per static child and exit kind.
	maxSpans := 4*(len(c.static)+c.instances) + 64
	maxSeries := len(c.static)*8 + 64

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range c.pools {
		wg.Go(func() { c.churn(rand.New(rand.NewPCG(seed, uint64(10+i))), p, quit) })
	}
	var series, spans atomic.Int64
	wg.Go(func() {
		for {
			select {
			case <-quit:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				c.violate("collect: %v", err)
				continue
			}
			n := 0
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					n += points(c, m)
				}
			}
			series.Store(max(series.Load(), int64(n)))
			spans.Store(max(spans.Load(), int64(sp.count())))
		}
	})
	var heap [2]uint64 // the most in the second quarter, the most in the last
	for at := time.Duration(0); at < d; at += 250 * time.Millisecond {
		time.Sleep(250 * time.Millisecond)
		if at > d/3 && at < d/3+time.Second && !sp.stuck.Load() {
			sp.stuck.Store(true) // stuck for a second: events are lost
			time.AfterFunc(time.Second, func() { sp.stuck.Store(false) })
		}
		if at > d/4 {
			goruntime.GC()
			var m goruntime.MemStats
			goruntime.ReadMemStats(&m)
			i := 0
			if at > d*3/4 {
				i = 1
			} else if at > d/2 {
				continue
			}
			heap[i] = max(heap[i], m.HeapAlloc)
		}
	}
	if heap[0] > 0 && heap[1] > heap[0]*3/2+8<<20 {
		c.violate("heap: %d MB in the second quarter, %d MB in the last", heap[0]>>20, heap[1]>>20)
	}

	lostBefore := tr.Snapshot().DroppedEvents
	cancelAt := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			c.violate("Run: %v", err)
		}
	case <-time.After(budget + 20*time.Second):
		t.Fatalf("seed %d: Run has not returned", seed)
	}
	if took := time.Since(cancelAt); took > budget+runtime.DeliveryMargin+time.Second {
		c.violate("Run returned %v after cancel; budget %v", took, budget)
	}
	close(quit)
	wg.Wait()

	left := sp.count()
	dropped := tr.Snapshot().DroppedEvents
	if dropped == lostBefore && left > 0 {
		c.violate("%d spans still open after Run, and no event was lost as it stopped", left)
	}
	if n := spans.Load(); n > int64(maxSpans) {
		c.violate("up to %d spans open at once; bound %d", n, maxSpans)
	}
	if n := series.Load(); n > int64(maxSeries) {
		c.violate("up to %d series; bound %d", n, maxSeries)
	}
	sp.mu.Lock()
	for _, b := range sp.bad[:min(len(sp.bad), 10)] {
		c.violate("%s", b)
	}
	sp.mu.Unlock()
	t.Logf("seed %d: %d spans started, %d ended, up to %d open (bound %d), %d open after Run with %d events lost (%d as it stopped); up to %d series (bound %d); %d Pool.Start",
		seed, sp.started.Load(), sp.ends.Load(), spans.Load(), maxSpans, left, dropped, dropped-lostBefore, series.Load(), maxSeries, c.starts.Load())
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.bad {
		t.Error(v)
	}
	if t.Failed() {
		t.Logf("replay: -otelchaos.seed=%d", seed)
	}
}

// points counts m's data points, and checks that none names an instance.
func points(c *chaos, m metricdata.Metrics) int {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	for _, s := range sets {
		if v, ok := s.Value("arbor.child.path"); ok && !c.isStatic(v.AsString()) {
			c.violate("%s: a series for %s", m.Name, v.AsString())
		}
	}
	return len(sets)
}

type chaos struct {
	seed      uint64
	tree      *runtime.Tree
	static    []string
	pools     []string
	instances int // the pools' Max, summed
	starts    atomic.Int64

	mu  sync.Mutex
	bad []string
}

func (c *chaos) violate(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) < 30 {
		c.bad = append(c.bad, fmt.Sprintf(format, args...))
	}
}

func (c *chaos) isStatic(p string) bool {
	for _, s := range c.static {
		if s == p {
			return true
		}
	}
	return false
}

// children draws three levels: workers, nested supervisors of every
// strategy with tight limits, and pools.
func (c *chaos) children(r *rand.Rand, parent string, depth int) []runtime.Child {
	kinds := "wsp"
	if depth == 2 {
		kinds = "wwsp"
	} else if depth == 3 {
		kinds = "ww"
	}
	var cs []runtime.Child
	for i, k := range kinds {
		ch := runtime.Child{Name: fmt.Sprintf("%c%d", k, i), Shutdown: time.Duration(10+r.IntN(50)) * time.Millisecond}
		path := parent + "/" + ch.Name
		c.static = append(c.static, path)
		switch k {
		case 's':
			ch.Shutdown = 0
			ch.Supervisor = &runtime.Spec{
				Strategy:     []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne}[r.IntN(3)],
				RestartLimit: &runtime.RestartLimit{Max: 2 + r.IntN(5), Window: time.Second},
				Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond, Multiplier: 2},
				Shutdown:     time.Duration(50+r.IntN(200)) * time.Millisecond,
				Children:     c.children(r, path, depth+1),
			}
		case 'p':
			ch.Pool = &runtime.PoolSpec{Max: 5 + r.IntN(20)}
			ch.Restart = []runtime.Restart{runtime.Permanent, runtime.Transient, runtime.Temporary}[r.IntN(3)]
			ch.RestartLimit = &runtime.RestartLimit{Max: 10 + r.IntN(20), Window: time.Second}
			ch.Backoff = &runtime.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond, Multiplier: 2}
			c.pools = append(c.pools, path)
			c.instances += ch.Pool.Max
		default:
			ch.Restart = []runtime.Restart{runtime.Permanent, runtime.Transient, runtime.Temporary}[r.IntN(3)]
			ch.Significant = depth > 1 && ch.Restart != runtime.Permanent && r.IntN(4) == 0
			if r.IntN(2) == 0 {
				ch.Ready = &runtime.Ready{Timeout: time.Duration(50+r.IntN(200)) * time.Millisecond}
			}
			if r.IntN(3) == 0 {
				ch.Heartbeat = &runtime.Heartbeat{Timeout: time.Duration(30+r.IntN(100)) * time.Millisecond}
			}
			ch.Run = c.run(fnv(path))
		}
		cs = append(cs, ch)
	}
	return cs
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// run is a run function: each attempt draws what it does from the seed,
// n and its generation.
func (c *chaos) run(n uint64) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		r := rand.New(rand.NewPCG(c.seed^n, a.Generation()))
		wait := func(d time.Duration) bool {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(d):
				return true
			}
		}
		short := time.Duration(r.IntN(100)) * time.Millisecond
		switch k := r.IntN(10); k {
		case 0, 1, 2, 3: // works: ready, beats, ends after a while or when cancelled
			a.Ready()
			for end := time.Now().Add(time.Duration(20+r.IntN(800)) * time.Millisecond); time.Now().Before(end); {
				a.Beat()
				if !wait(10 * time.Millisecond) {
					return nil
				}
			}
			return errors.New("gave out")
		case 4, 5:
			wait(short)
			return errors.New(strings.Repeat("long error ", 1+r.IntN(1000)))
		case 6:
			wait(short)
			panic("boom")
		case 7: // hangs past its grace once cancelled
			<-ctx.Done()
			time.Sleep(time.Duration(r.IntN(150)) * time.Millisecond)
			return nil
		case 8:
			wait(short)
			return nil
		}
		goruntime.Goexit()
		return nil
	}
}

// churn starts instances of pool, with colliding names, and stops and
// restarts some.
func (c *chaos) churn(r *rand.Rand, pool string, quit chan struct{}) {
	var kept []*runtime.Handle
	for {
		select {
		case <-quit:
			return
		case <-time.After(time.Duration(r.IntN(5)) * time.Millisecond):
		}
		name := ""
		if r.IntN(2) == 0 {
			name = fmt.Sprintf("i%d", r.IntN(40))
		}
		h, err := c.tree.Pool(pool).Start(name, c.run(r.Uint64()))
		c.starts.Add(1)
		switch {
		case err == nil:
			if len(kept) < 8 {
				kept = append(kept, h)
			}
		case errors.Is(err, runtime.ErrPoolFull), errors.Is(err, runtime.ErrNameTaken),
			errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrTreeEnded):
		default:
			c.violate("%s: Start: %v", pool, err)
		}
		if len(kept) > 0 && r.IntN(3) == 0 {
			i := r.IntN(len(kept))
			if r.IntN(2) == 0 {
				kept[i].Stop()
				kept = append(kept[:i], kept[i+1:]...)
			} else {
				kept[i].Restart()
			}
		}
	}
}
