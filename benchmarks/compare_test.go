package benchmarks

import (
	"os"
	"strings"
	"testing"
)

// Run single workloads with
//
//	go test -run '^$' -bench . -benchtime 3x
//
// Restart benchmarks report restarts/s; start/stop benchmarks report
// start-ms and stop-ms of 100k children; memory benchmarks report B/child,
// each measurement in a fresh process.

func TestMain(m *testing.M) {
	MeasureIfAsked()
	os.Exit(m.Run())
}

// TestCompareSmoke runs a small comparison: both libraries do the work, the
// observer's events add up, and the table shows every measure. CI runs it.
func TestCompareSmoke(t *testing.T) {
	res, err := Compare(Config{Rounds: 2, Restarts: 2000, Children: 2000, Memory: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for lib := range 2 {
		for i, r := range res.RestartObserved[lib] {
			if r.N != 2000 || r.Elapsed <= 0 {
				t.Errorf("library %d round %d: %+v", lib, i, r)
			}
		}
	}
	for _, r := range res.RestartObserved[0] {
		// Exited, restart scheduled and starting per restart; starting,
		// shutting down and stopped once.
		if got, want := r.Events+r.Dropped, uint64(3*r.N+3); got != want {
			t.Errorf("Arbor: %d events received + %d dropped = %d, want %d", r.Events, r.Dropped, got, want)
		}
	}
	for _, r := range res.RestartObserved[1] {
		if r.Events != uint64(r.N) {
			t.Errorf("suture: %d events, want one per restart (%d)", r.Events, r.N)
		}
	}
	for _, subject := range []string{Bare, Arbor, Suture} {
		m := res.Memory[subject]
		if len(m) != 1 || m[0].Stack < 2000 || m[0].Start <= 0 {
			t.Errorf("memory of %s: %+v (want a 2 KiB stack per child at least, and the start's time)", subject, m)
		}
	}
	out := res.String()
	for _, want := range []string{"restarts/s, no observer", "restarts/s, observer", "start 2k", "stop 2k", "start 2k, first in a fresh process", "bytes per idle child", "over a bare goroutine"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func benchRestarts(b *testing.B, f func(int, bool) (Restarts, error), observe bool) {
	const n = 200_000
	var rate, lost, cpu float64
	for range b.N {
		r, err := f(n, observe)
		if err != nil {
			b.Fatal(err)
		}
		rate += r.PerSecond()
		cpu += float64(r.CPUPerRestart())
		lost += float64(r.Dropped) / float64(n)
	}
	b.ReportMetric(rate/float64(b.N), "restarts/s")
	b.ReportMetric(cpu/float64(b.N), "cpu-ns/restart")
	if observe {
		b.ReportMetric(lost/float64(b.N), "lost-events/restart")
	}
}

func BenchmarkRestartArbor(b *testing.B)          { benchRestarts(b, ArborRestarts, false) }
func BenchmarkRestartSuture(b *testing.B)         { benchRestarts(b, SutureRestarts, false) }
func BenchmarkRestartObservedArbor(b *testing.B)  { benchRestarts(b, ArborRestarts, true) }
func BenchmarkRestartObservedSuture(b *testing.B) { benchRestarts(b, SutureRestarts, true) }

func benchStartStop(b *testing.B, f func(int) (StartStop, error)) {
	var start, stop float64
	for range b.N {
		r, err := f(100_000)
		if err != nil {
			b.Fatal(err)
		}
		start += r.Start.Seconds() * 1000
		stop += r.Stop.Seconds() * 1000
	}
	b.ReportMetric(start/float64(b.N), "start-ms")
	b.ReportMetric(stop/float64(b.N), "stop-ms")
}

func BenchmarkStartStop100kArbor(b *testing.B)  { benchStartStop(b, ArborStartStop) }
func BenchmarkStartStop100kSuture(b *testing.B) { benchStartStop(b, SutureStartStop) }

func benchMemory(b *testing.B, subject string) {
	var total float64
	for range b.N {
		m, err := MeasureIdleFresh(subject, 100_000)
		if err != nil {
			b.Fatal(err)
		}
		total += m.Total()
	}
	b.ReportMetric(total/float64(b.N), "B/child")
}

func BenchmarkIdleChildBare(b *testing.B)   { benchMemory(b, Bare) }
func BenchmarkIdleChildArbor(b *testing.B)  { benchMemory(b, Arbor) }
func BenchmarkIdleChildSuture(b *testing.B) { benchMemory(b, Suture) }
