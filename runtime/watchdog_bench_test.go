package runtime_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// BenchmarkWatchdog100k runs 100k children that beat every 100ms, with a 1s
// heartbeat, and reports the process's CPU time per second of wall time. The
// same tree without heartbeats (the children still wake every 100ms) is the
// baseline: the difference is what beating and watching cost.
func BenchmarkWatchdog100k(b *testing.B) {
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprintf("heartbeat=%v", watched), func(b *testing.B) {
			b.ReportAllocs()
			const n = 100_000
			const wall = 3 * time.Second
			var cpu time.Duration
			for range b.N {
				cpu = beatingTree(b, n, watched, wall)
			}
			b.ReportMetric(float64(cpu.Milliseconds())/wall.Seconds(), "cpu-ms/s")
		})
	}
}

func beatingTree(b *testing.B, n int, watched bool, wall time.Duration) time.Duration {
	var started sync.WaitGroup
	started.Add(n)
	// gap is the longest any child went between two ticks it took: the
	// ticks' own times, so that watching for it costs no clock read. Late
	// ticks are dropped, so a child held off the CPU shows a long gap.
	var gap atomic.Int64
	beat := func(ctx context.Context, a *runtime.Attempt) error {
		started.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		prev, longest := time.Now(), time.Duration(0)
		for {
			select {
			case tick := <-t.C:
				a.Beat()
				if g := tick.Sub(prev); g > longest {
					longest = g
					for old := gap.Load(); int64(g) > old && !gap.CompareAndSwap(old, int64(g)); old = gap.Load() {
					}
				}
				prev = tick
			case <-ctx.Done():
				return nil
			}
		}
	}
	children := make([]runtime.Child, n)
	for i := range children {
		children[i] = runtime.Child{Name: fmt.Sprintf("c%d", i), Run: beat}
		if watched {
			children[i].Heartbeat = &runtime.Heartbeat{Timeout: time.Second}
		}
	}
	// The limit is out of reach: a machine that cannot keep the tickers on
	// time gets stale verdicts, which the end tells from false ones.
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: children, RestartLimit: &runtime.RestartLimit{Max: 10 * n, Window: time.Minute}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	started.Wait()
	time.Sleep(time.Second) // let the start settle
	before := cpuTime()
	time.Sleep(wall)
	used := cpuTime() - before
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	for _, c := range tr.Snapshot().Children {
		if c.Restarts == 0 {
			continue
		}
		if g := time.Duration(gap.Load()); g >= time.Second/2 {
			b.Skipf("the machine could not keep 100k tickers on time (a child went %v between ticks; the heartbeat timeout is 1s): %s restarted as stale", g.Round(time.Millisecond), c.Path)
		}
		b.Fatalf("%s restarted: a beating child was taken for stale", c.Path)
	}
	return used
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
