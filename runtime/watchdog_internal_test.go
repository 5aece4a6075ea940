package runtime

import (
	"testing"
	"time"
)

// BenchmarkWatchdogScan100k is one watchdog tick over 100k watched attempts:
// a tree with a 1s heartbeat ticks every 250ms, so four of these a second.
func BenchmarkWatchdogScan100k(b *testing.B) {
	b.ReportAllocs()
	spec := &Child{Heartbeat: &Heartbeat{Timeout: time.Second}}
	w := &watchdog{tick: 250 * time.Millisecond}
	for range 100_000 {
		b := &beat{a: &Attempt{slot: &slot{spec: spec}}, staleAt: int64(spec.Heartbeat.Timeout)}
		b.last.Store(1000) // fresh: nothing is stale
		w.watched = append(w.watched, b)
	}
	var stale []*beat
	for b.Loop() {
		stale = w.scan(1000, int64(time.Hour), stale[:0])
	}
	if len(stale) != 0 {
		b.Fatal("fresh attempts taken for stale")
	}
}

// TestWatchdogCountsFromRunStart: an attempt whose goroutine has not run
// yet is not judged, however late the Go scheduler starts it; once it runs,
// its timeout counts from then.
func TestWatchdogCountsFromRunStart(t *testing.T) {
	const staleAt = 100
	w := &watchdog{}
	b := &beat{staleAt: staleAt}
	b.last.Store(notStarted) // as watch leaves it
	w.watched = []*beat{b}
	var k int64
	for now := int64(10); now <= 1000; now += 10 {
		k++
		if stale := w.scan(k, now, nil); len(stale) != 0 {
			t.Fatalf("at %d, before its goroutine ran: stale", now)
		}
	}
	b.last.Store(k) // the goroutine starts: slot.run stores the clock
	for now := int64(1010); now <= 1500; now += 10 {
		k++
		stale := w.scan(k, now, nil)
		// Its start read k before k+1 was published at 1010.
		if want := now-1010 >= staleAt; (len(stale) != 0) != want && !b.sent {
			t.Fatalf("at %d: stale %v, want %v", now, len(stale) != 0, want)
		}
		if len(stale) != 0 && now-1010 < staleAt {
			t.Fatalf("at %d: stale %d after its start, timeout %d", now, now-1010, staleAt)
		}
	}
	if !b.sent {
		t.Fatal("not stale 490 after its start, timeout 100")
	}
}
