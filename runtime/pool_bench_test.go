package runtime_test

import (
	"context"
	"flag"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Benchmarks of pools, for the targets in BENCHMARKS.md:
//
//	go test -run '^$' -bench 'PoolStart$|BareStart' -benchtime 100000x -count 3 ./runtime/
//	go test -run '^$' -bench 'PoolIdleMemory|PoolStartStop100k' -count 3 ./runtime/
//	go test -run '^$' -bench 'PoolChurn' -benchtime 1x -churn 10s ./runtime/
//	go test -run '^$' -bench 'RootAbandon100k|PoolAbandon100k' -benchtime 3x ./runtime/

// BenchmarkPoolStart measures Pool.Start of an instance, until it runs: one
// op is one Start, and the time includes the pool's goroutine starting the
// attempt. allocs/op counts the goroutine descriptor too, when the Go
// runtime has none to reuse. In ctx, the instance waits for its context's
// Done, which makes a channel; in shared, it waits on a channel all share,
// so that allocs/op counts only Start's and the goroutine's.
func BenchmarkPoolStart(b *testing.B) {
	b.Run("ctx", func(b *testing.B) { benchPoolStart(b, false) })
	b.Run("shared", func(b *testing.B) { benchPoolStart(b, true) })
}

func benchPoolStart(b *testing.B, shared bool) {
	tree, err := runtime.New(benchPoolSpec)
	if err != nil {
		b.Fatal(err)
	}
	cancel, done := benchRun(tree)
	<-tree.Ready()
	p := tree.Pool("bench/p")
	run, rearm := benchIdleRun(b.N)
	if shared {
		run, rearm = benchSharedRun(b.N, tree.Stopping())
	}
	all := rearm()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := p.Start("", run); err != nil {
			b.Fatal(err)
		}
	}
	benchAwait(b, all, done)
	b.StopTimer()
	benchStop(b, cancel, done)
}

// BenchmarkBareStart is BenchmarkPoolStart's reference without Arbor: one
// op starts a goroutine that runs until the benchmark ends. In ctx, it gets
// a context.WithCancel of its own, as an attempt does, and waits for its
// Done; in shared, it waits on a channel all share.
func BenchmarkBareStart(b *testing.B) {
	b.Run("ctx", func(b *testing.B) { benchBareStart(b, false) })
	b.Run("shared", func(b *testing.B) { benchBareStart(b, true) })
}

func benchBareStart(b *testing.B, shared bool) {
	parent, cancel := context.WithCancel(context.Background())
	stop := parent.Done()
	var started atomic.Int64
	all := make(chan struct{})
	var wg sync.WaitGroup
	n := int64(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if started.Add(1) == n {
				close(all)
			}
			if shared {
				<-stop
				return
			}
			ctx, cancel := context.WithCancel(parent)
			defer cancel()
			<-ctx.Done()
		}()
	}
	<-all
	b.StopTimer()
	cancel()
	wg.Wait()
}

// BenchmarkPoolStartStop100k starts 100k idle instances in a pool, waits
// until all run, then cancels the tree: start-ms and stop-ms split the op.
func BenchmarkPoolStartStop100k(b *testing.B) {
	const n = 100_000
	b.ReportAllocs()
	run, rearm := benchIdleRun(n)
	var start, stop time.Duration
	for range b.N {
		all := rearm()
		t0 := time.Now()
		tree, err := runtime.New(benchPoolSpec)
		if err != nil {
			b.Fatal(err)
		}
		cancel, done := benchRun(tree)
		if err := benchStartInstances(tree, n, run); err != nil {
			b.Fatal(err)
		}
		benchAwait(b, all, done)
		t1 := time.Now()
		benchStop(b, cancel, done)
		start += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(start.Seconds()*1000/float64(b.N), "start-ms")
	b.ReportMetric(stop.Seconds()*1000/float64(b.N), "stop-ms")
}

var churnFor = flag.Duration("churn", 2*time.Second, "how long BenchmarkPoolChurn runs")

// BenchmarkPoolChurn starts instances that live about 1ms from two
// goroutines, without a pause, for -churn: instances/s is the throughput,
// and heap-growth-B how much the live heap grew from the first second to the
// end: a pool that ran millions of instances holds no more than one that ran
// a few.
func BenchmarkPoolChurn(b *testing.B) {
	for range b.N {
		tree, err := runtime.New(benchPoolSpec)
		if err != nil {
			b.Fatal(err)
		}
		cancel, done := benchRun(tree)
		<-tree.Ready()
		p := tree.Pool("bench/p")
		life := func(ctx context.Context, _ *runtime.Attempt) error {
			select {
			case <-time.After(time.Millisecond):
			case <-ctx.Done():
			}
			return nil
		}
		var started atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(*churnFor)
		for range 2 {
			wg.Go(func() {
				for time.Now().Before(end) {
					if _, err := p.Start("", life); err == nil {
						started.Add(1)
					}
				}
			})
		}
		time.Sleep(min(time.Second, *churnFor/2))
		var early goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&early)
		wg.Wait()
		time.Sleep(10 * time.Millisecond) // the last instances end
		var late goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&late)
		benchStop(b, cancel, done)
		b.ReportMetric(float64(started.Load())/churnFor.Seconds(), "instances/s")
		b.ReportMetric(float64(late.HeapAlloc)-float64(early.HeapAlloc), "heap-growth-B")
		b.ReportMetric(float64(p.Len()), "live-at-end")
	}
}

// BenchmarkPoolAbandon100k starts 100k instances that ignore their
// cancellation in a pool whose grace is 10ms, then cancels the tree:
// abandon-ms is how long past the grace the pool took to abandon them all
// and Run to return, with an observer that takes every event.
func BenchmarkPoolAbandon100k(b *testing.B) {
	const grace = 10 * time.Millisecond
	spec := runtime.Spec{Name: "bench", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary, Shutdown: grace}}}
	over, _ := benchAbandon(b, spec, grace, 0)
	b.ReportMetric(over.Seconds()*1000/float64(b.N), "abandon-ms")
}

// benchAbandon starts 100k instances that ignore their cancellation in
// the pool "bench/p" of spec, cancels the tree, checks that the report
// lists them and `more` attempts besides, and returns the total and the
// worst of how long Run took past limit.
func benchAbandon(b *testing.B, spec runtime.Spec, limit time.Duration, more int) (total, worst time.Duration) {
	const n = 100_000
	b.ReportAllocs()
	for range b.N {
		release := make(chan struct{})
		run, rearm := benchSharedRun(n, release)
		all := rearm()
		tree, err := runtime.New(spec, runtime.WithObserver(func(runtime.Event) {}))
		if err != nil {
			b.Fatal(err)
		}
		cancel, done := benchRun(tree)
		if err := benchStartInstances(tree, n, run); err != nil {
			b.Fatal(err)
		}
		benchAwait(b, all, done)
		t0 := time.Now()
		benchStop(b, cancel, done)
		d := time.Since(t0) - limit
		total += d
		worst = max(worst, d)
		if got := len(tree.ShutdownReport().Abandoned); got != n+more {
			b.Fatalf("%d abandoned, want %d", got, n+more)
		}
		close(release)
	}
	return total, worst
}

// BenchmarkRootAbandon100k starts 100k instances that ignore their
// cancellation in a pool whose grace (5s) outlasts the root's budget
// (1.2s), then cancels the tree: the root's budget runs out while the pool
// is stopping, and the pool is abandoned with all its instances. overrun-ms
// is how long Run took past the budget, with an observer that takes every
// event; the contract allows DeliveryMargin (100ms).
func BenchmarkRootAbandon100k(b *testing.B) {
	const budget = 1200 * time.Millisecond
	spec := runtime.Spec{Name: "bench", Shutdown: budget, Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary, Shutdown: 5 * time.Second}}}
	over, worst := benchAbandon(b, spec, budget, 1) // the pool is listed too
	b.ReportMetric(over.Seconds()*1000/float64(b.N), "overrun-ms")
	b.ReportMetric(worst.Seconds()*1000, "worst-overrun-ms")
}
