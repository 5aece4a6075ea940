package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	goruntime "runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Benchmarks for the targets in BENCHMARKS.md. Run them with
//
//	go test -run '^$' -bench 'Restart|IdleChildMemory|StartStop100k|AttemptIdentity|Beat' -count 3 ./runtime/

var errBenchFail = errors.New("bench: fail")

// benchNoLimit disables the restart limit in effect: a window of 1ns never holds
// more than one restart.
var benchNoLimit = &runtime.RestartLimit{Max: math.MaxInt, Window: time.Nanosecond}

// benchRun runs t in a goroutine and returns its cancel function and a channel
// that yields Run's result.
func benchRun(t *runtime.Tree) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- t.Run(ctx) }()
	return cancel, done
}

// benchAwait waits until ch is closed; Run must not return before.
func benchAwait(b *testing.B, ch <-chan struct{}, done <-chan error) {
	b.Helper()
	select {
	case <-ch:
	case err := <-done:
		b.Fatalf("Run returned early: %v", err)
	}
}

func benchStop(b *testing.B, cancel context.CancelFunc, done <-chan error) {
	b.Helper()
	cancel()
	if err := <-done; err != nil {
		b.Fatalf("Run: %v", err)
	}
}

// BenchmarkRestart measures one restart of a child that fails at once, with
// zero backoff and no observer: ns/op is the time per restart.
func BenchmarkRestart(b *testing.B) { benchRestart(b) }

// BenchmarkRestartNoJournal is BenchmarkRestart without the journal, which
// is on by default: the difference is what keeping it costs a restart.
func BenchmarkRestartNoJournal(b *testing.B) { benchRestart(b, runtime.WithJournal(0)) }

// BenchmarkRestartObserver is BenchmarkRestart with an observer that does
// nothing, to show the cost of the events (three per restart).
func BenchmarkRestartObserver(b *testing.B) {
	benchRestart(b, runtime.WithObserver(func(runtime.Event) {}))
}

func benchRestart(b *testing.B, opts ...runtime.Option) {
	b.ReportAllocs()
	n := int64(b.N)
	var calls atomic.Int64
	reached := make(chan struct{})
	run := func(ctx context.Context, _ *runtime.Attempt) error {
		// Call 1 is the first start; calls 2..n+1 are the n restarts.
		if calls.Add(1) <= n {
			return errBenchFail
		}
		close(reached)
		<-ctx.Done()
		return nil
	}
	tree, err := runtime.New(runtime.Spec{
		Name:         "bench",
		RestartLimit: benchNoLimit,
		Backoff:      &runtime.Backoff{},
		Children:     []runtime.Child{{Name: "flaky", Run: run}},
	}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cancel, done := benchRun(tree)
	benchAwait(b, reached, done)
	b.StopTimer()
	if dropped := tree.Snapshot().DroppedEvents; dropped > 0 || b.Name() == "BenchmarkRestartObserver" {
		b.ReportMetric(float64(dropped)/float64(b.N), "dropped-events/op")
	}
	benchStop(b, cancel, done)
	if got := calls.Load(); got != n+1 {
		b.Fatalf("run called %d times, want %d", got, n+1)
	}
}

// benchIdleChildren returns a flat spec of n children that wait for cancellation,
// and a function that re-arms the start counter: the channel it returns is
// closed once all n have started.
func benchIdleChildren(n int) (runtime.Spec, func() <-chan struct{}) {
	run, rearm := benchIdleRun(n)
	children := make([]runtime.Child, n)
	for i := range children {
		children[i] = runtime.Child{Name: "c" + strconv.Itoa(i), Run: run}
	}
	return runtime.Spec{Name: "bench", Children: children}, rearm
}

// benchIdleRun returns a run function that waits for cancellation, and a
// function that re-arms its start counter: the channel it returns is closed
// once n attempts have started.
func benchIdleRun(n int) (runtime.RunFunc, func() <-chan struct{}) {
	return benchSharedRun(n, nil)
}

// benchSharedRun is benchIdleRun with run functions that wait on stop, a
// channel they share, instead of their contexts' Done; nil means Done.
func benchSharedRun(n int, stop <-chan struct{}) (runtime.RunFunc, func() <-chan struct{}) {
	var started atomic.Int64
	var all chan struct{}
	run := func(ctx context.Context, _ *runtime.Attempt) error {
		if started.Add(1) == int64(n) {
			close(all)
		}
		if stop == nil {
			<-ctx.Done()
		} else {
			<-stop
		}
		return nil
	}
	rearm := func() <-chan struct{} {
		started.Store(0)
		all = make(chan struct{})
		return all
	}
	return run, rearm
}

// benchPoolSpec is a tree of one pool, "bench/p", without a cap.
var benchPoolSpec = runtime.Spec{Name: "bench", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary}}}

// benchStartInstances starts n instances of run in the pool of tree, once it
// runs.
func benchStartInstances(tree *runtime.Tree, n int, run runtime.RunFunc) error {
	<-tree.Ready()
	p := tree.Pool("bench/p")
	for range n {
		if _, err := p.Start("", run); err != nil {
			return err
		}
	}
	return nil
}

// benchMemClasses are the runtime/metrics classes counted as the children's
// memory: heap spans in use (live objects, goroutine descriptors among them,
// and the free space inside those spans), goroutine stacks, and the runtime
// metadata that grows with them (span structures, GC bitmaps and the like).
// Free pages, memory released to the OS, and profiling and trace buffers are
// not counted.
var benchMemClasses = [...]string{
	"/memory/classes/heap/objects:bytes",         // 0: heap
	"/memory/classes/heap/unused:bytes",          // 1: heap
	"/memory/classes/heap/stacks:bytes",          // 2: stack
	"/memory/classes/os-stacks:bytes",            // 3: stack
	"/memory/classes/metadata/mspan/inuse:bytes", // 4: metadata
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/other:bytes",
	"/gc/heap/allocs:bytes",   // 7: allocated in total
	"/gc/heap/allocs:objects", // 8
}

type benchMemSample [len(benchMemClasses)]uint64

func benchReadMem() benchMemSample {
	// Two cycles: the first frees the stacks of dead goroutines, the second
	// returns the emptied stack spans to the heap.
	goruntime.GC()
	goruntime.GC()
	samples := make([]metrics.Sample, len(benchMemClasses))
	for i, name := range benchMemClasses {
		samples[i].Name = name
	}
	metrics.Read(samples)
	var m benchMemSample
	for i, s := range samples {
		m[i] = s.Value.Uint64()
	}
	return m
}

// benchIdleMemory is one measurement of BenchmarkIdleChildMemory, per child.
type benchIdleMemory struct {
	Heap, Stack, Meta     float64 // bytes in use
	AllocBytes, AllocObjs float64 // allocated while building and starting
}

func (m benchIdleMemory) total() float64 { return m.Heap + m.Stack + m.Meta }

// benchMeasureIdle builds and runs a tree of n idle children, or of one pool
// of n idle instances, and returns the memory it holds once all have
// started, per child. The spec given to New is built before the first
// sample and is not counted; all that New, Run and Pool.Start allocate is.
func benchMeasureIdle(n int, pool bool) (benchIdleMemory, error) {
	spec, rearm := benchIdleChildren(n)
	run, rearmRun := benchIdleRun(n)
	if pool {
		spec, rearm = benchPoolSpec, rearmRun
	}
	all := rearm()
	before := benchReadMem()
	tree, err := runtime.New(spec)
	if err != nil {
		return benchIdleMemory{}, err
	}
	cancel, done := benchRun(tree)
	if pool {
		if err := benchStartInstances(tree, n, run); err != nil {
			return benchIdleMemory{}, err
		}
	}
	select {
	case <-all:
	case err := <-done:
		return benchIdleMemory{}, fmt.Errorf("Run returned early: %v", err)
	}
	after := benchReadMem()
	goruntime.KeepAlive(spec) // else the GC frees it between the samples
	cancel()
	if err := <-done; err != nil {
		return benchIdleMemory{}, err
	}
	d := func(i ...int) float64 {
		var sum float64
		for _, j := range i {
			sum += float64(after[j]) - float64(before[j])
		}
		return sum / float64(n)
	}
	return benchIdleMemory{Heap: d(0, 1), Stack: d(2, 3), Meta: d(4, 5, 6), AllocBytes: d(7), AllocObjs: d(8)}, nil
}

const benchIdleEnv = "ARBOR_BENCH_IDLE_CHILDREN"

// TestIdleChildMemoryProcess is the child process of BenchmarkIdleChildMemory;
// it skips unless that benchmark started it.
func TestIdleChildMemoryProcess(t *testing.T) {
	arg := os.Getenv(benchIdleEnv)
	if arg == "" {
		t.Skip("the child process of BenchmarkIdleChildMemory")
	}
	arg, pool := strings.CutPrefix(arg, "pool:")
	n, err := strconv.Atoi(arg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := benchMeasureIdle(n, pool)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%s\n", benchIdleEnv, out)
}

// BenchmarkIdleChildMemory measures the memory of a running tree of N idle
// children, per child: the memory classes in benchMemClasses once all have
// started, minus the same before the tree was built, over N.
//
// Each measurement runs in a fresh process (this test binary, re-executed):
// the Go runtime never frees a goroutine's descriptor and reuses the
// descriptors of dead goroutines, so a second tree in the same process would
// not pay for them and would look about 480 B per child cheaper than a
// program's real tree does. ns/op, B/op and allocs/op are those of the
// benchmark process and mean nothing here; alloc-B/child and allocs/child are
// what building and starting the tree allocated, per child.
func BenchmarkIdleChildMemory(b *testing.B) { benchIdleMemoryOf(b, "") }

// BenchmarkPoolIdleMemory is BenchmarkIdleChildMemory for the instances of
// one pool, started with Pool.Start.
func BenchmarkPoolIdleMemory(b *testing.B) { benchIdleMemoryOf(b, "pool:") }

func benchIdleMemoryOf(b *testing.B, kind string) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			b.ReportAllocs()
			var sum benchIdleMemory
			for range b.N {
				m := benchIdleInProcess(b, kind+strconv.Itoa(n))
				sum.Heap += m.Heap
				sum.Stack += m.Stack
				sum.Meta += m.Meta
				sum.AllocBytes += m.AllocBytes
				sum.AllocObjs += m.AllocObjs
			}
			k := float64(b.N)
			b.ReportMetric(sum.total()/k, "B/child")
			b.ReportMetric(sum.Heap/k, "heap-B/child")
			b.ReportMetric(sum.Stack/k, "stack-B/child")
			b.ReportMetric(sum.Meta/k, "meta-B/child")
			b.ReportMetric(sum.AllocBytes/k, "alloc-B/child")
			b.ReportMetric(sum.AllocObjs/k, "allocs/child")
		})
	}
}

// benchIdleInProcess runs benchMeasureIdle in a child process; arg is n,
// or pool: and n.
func benchIdleInProcess(b *testing.B, arg string) benchIdleMemory {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleChildMemoryProcess$", "-test.bench=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchIdleEnv+"="+arg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child process: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if js, ok := strings.CutPrefix(line, benchIdleEnv); ok {
			var m benchIdleMemory
			if err := json.Unmarshal([]byte(js), &m); err != nil {
				b.Fatalf("child process: %v\n%s", err, out)
			}
			return m
		}
	}
	b.Fatalf("child process printed no measurement:\n%s", out)
	return benchIdleMemory{}
}

// BenchmarkStartStop100k starts a flat tree of 100k idle children, waits
// until every one runs, then cancels it and waits for Run to return. One op
// is the whole cycle; start-ms (New, then Run until every child runs) and
// stop-ms (cancel until Run returns) split it, and new-ms is the part of
// start-ms spent in New.
func BenchmarkStartStop100k(b *testing.B) {
	const n = 100_000
	b.ReportAllocs()
	spec, rearm := benchIdleChildren(n)
	var build, start, stop time.Duration
	b.ResetTimer()
	for range b.N {
		all := rearm()
		t0 := time.Now()
		tree, err := runtime.New(spec)
		if err != nil {
			b.Fatal(err)
		}
		build += time.Since(t0)
		cancel, done := benchRun(tree)
		benchAwait(b, all, done)
		t1 := time.Now()
		benchStop(b, cancel, done)
		start += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(build.Seconds()*1000/float64(b.N), "new-ms")
	b.ReportMetric(start.Seconds()*1000/float64(b.N), "start-ms")
	b.ReportMetric(stop.Seconds()*1000/float64(b.N), "stop-ms")
}

// benchAttempt runs a one-child tree whose run function hands out its
// *Attempt and waits; it returns the attempt and a function that stops the
// tree.
func benchAttempt(b *testing.B, child runtime.Child) (*runtime.Attempt, func()) {
	b.Helper()
	got := make(chan *runtime.Attempt, 1)
	child.Name = "worker"
	child.Run = func(ctx context.Context, a *runtime.Attempt) error {
		got <- a
		<-ctx.Done()
		return nil
	}
	tree, err := runtime.New(runtime.Spec{Name: "bench", Children: []runtime.Child{child}})
	if err != nil {
		b.Fatal(err)
	}
	cancel, done := benchRun(tree)
	select {
	case a := <-got:
		return a, func() { benchStop(b, cancel, done) }
	case err := <-done:
		b.Fatalf("Run returned early: %v", err)
		return nil, nil
	}
}

var (
	benchSinkPath string
	benchSinkGen  uint64
	benchSinkNum  int
)

// BenchmarkAttemptIdentity reads an attempt's identity: it must not allocate.
func BenchmarkAttemptIdentity(b *testing.B) {
	b.ReportAllocs()
	a, stop := benchAttempt(b, runtime.Child{})
	defer stop()
	var path string
	var gen uint64
	var num int
	for b.Loop() {
		path = a.Path()
		gen += a.Generation()
		num += a.Number()
	}
	benchSinkPath, benchSinkGen, benchSinkNum = path, gen, num
	if path != "bench/worker" {
		b.Fatalf("Path() = %q", path)
	}
}

// BenchmarkBeat calls Beat on the current attempt of a child with a
// heartbeat: it must not allocate.
func BenchmarkBeat(b *testing.B) {
	b.ReportAllocs()
	a, stop := benchAttempt(b, runtime.Child{Heartbeat: &runtime.Heartbeat{Timeout: time.Hour}})
	defer stop()
	for b.Loop() {
		a.Beat()
	}
	if !a.Current() {
		b.Fatal("the attempt is no longer current: the beats were fenced")
	}
}

// BenchmarkHealthWaiting reads Health of a tree whose 4,000 children all
// wait for a sibling that is never ready: each waiting child names it, and
// the cost must stay linear in the children (metrics scrapes, systemd and
// the console call Health).
func BenchmarkHealthWaiting(b *testing.B) {
	const n = 4000
	children := []runtime.Child{{Name: "db", Run: nop, Ready: &runtime.Ready{}}}
	for i := range n {
		children = append(children, runtime.Child{Name: "w" + strconv.Itoa(i), Run: nop, After: []string{"db"}})
	}
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: children})
	if err != nil {
		b.Fatal(err)
	}
	cancel, done := benchRun(tr)
	for tr.Handle("t/w0").State() != runtime.StateWaiting || tr.Handle("t/db").State() != runtime.StateStarting {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		if h := tr.Health(); h.Children[1].Reason != "waiting for db (starting: not ready yet)" {
			b.Fatal(h.Children[1].Reason)
		}
	}
	b.StopTimer()
	benchStop(b, cancel, done)
}

// BenchmarkHealthStandbyChain reads Health of a tree whose 4,000 children
// wait in a chain of after edges for a singleton on standby: each is well,
// and the cost must stay linear in the children, not in the square of the
// chain's length.
func BenchmarkHealthStandbyChain(b *testing.B) {
	const n = 4000
	children := []runtime.Child{{Name: "c0", Run: nop, Lease: &runtime.LeaseSpec{}}}
	for i := 1; i < n; i++ {
		children = append(children, runtime.Child{Name: "c" + strconv.Itoa(i), Run: nop, After: []string{"c" + strconv.Itoa(i-1)}})
	}
	f := newFakeLeaser()
	if _, err := f.Acquire(context.Background(), "t/c0", time.Minute); err != nil {
		b.Fatal(err)
	}
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: children}, runtime.WithLeaser(f))
	if err != nil {
		b.Fatal(err)
	}
	cancel, done := benchRun(tr)
	<-tr.Ready()
	b.ReportAllocs()
	for b.Loop() {
		if h := tr.Health(); h.State != runtime.HealthReady {
			b.Fatal(h.Reason)
		}
	}
	b.StopTimer()
	benchStop(b, cancel, done)
}
