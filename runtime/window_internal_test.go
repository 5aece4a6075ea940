package runtime

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestRestartWindowAgainstModel: the restart window answers as a plain list
// of the restarts in the window would, for random limits and paces, and its
// array stays within a few times Max+1 however long it runs.
func TestRestartWindowAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		l := RestartLimit{Max: r.IntN(50), Window: time.Duration(1+r.IntN(100)) * time.Millisecond}
		var w restartWindow
		var model []time.Time
		now := time.Unix(0, 0)
		for i := range 5000 {
			now = now.Add(time.Duration(r.IntN(int(l.Window) / max(1, l.Max) * 2)))
			var in []time.Time
			for _, t := range model {
				if !t.Before(now.Add(-l.Window)) {
					in = append(in, t)
				}
			}
			want := len(in) >= l.Max
			if !want {
				in = append(in, now)
			}
			model = in
			if got := w.exceeded(l, now); got != want {
				t.Fatalf("round %d, restart %d (%v): exceeded %v, want %v", round, i, l, got, want)
			}
			if n := len(w.times) - w.head; n != len(model) {
				t.Fatalf("round %d, restart %d: %d in the window, want %d", round, i, n, len(model))
			}
			if c := cap(w.times); c > 5*(l.Max+1)+16 { // doubled below half full, and rounded up to a size class
				t.Fatalf("round %d, restart %d: array of %d for a Max of %d", round, i, c, l.Max)
			}
		}
	}
}

// BenchmarkRestartWindow: a steady rate at a large Max, where each restart
// lets one leave the window: constant time per restart, no allocation.
func BenchmarkRestartWindow(b *testing.B) {
	l := RestartLimit{Max: 100_000, Window: time.Hour}
	var w restartWindow
	now := time.Unix(0, 0)
	step := l.Window / time.Duration(l.Max-1)
	for range l.Max {
		now = now.Add(step)
		w.exceeded(l, now)
	}
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(step)
		if w.exceeded(l, now) {
			b.Fatal("over the limit")
		}
	}
}
