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
