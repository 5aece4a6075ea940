package runtime

import (
	"math/rand/v2"
	"testing"
)

// TestWatchdogNeverEarlyModel interleaves ticks (store, then the time read)
// and beats (load, then store) at random, with random delays between every
// step, and checks scan's promise: an attempt is reported stale only when
// its last stored beat loaded the clock at least staleAt before the scan's
// time.
func TestWatchdogNeverEarlyModel(t *testing.T) {
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 1))
		const staleAt = 100
		w := &watchdog{}
		b := &beat{staleAt: staleAt}
		var clock, k int64
		var T int64 = 1
		b.last.Store(clock) // watch
		w.watched = []*beat{b}
		lastLoadAt := T // the Load time of the beat whose value is in b.last (watch's)
		var pendingVal, pendingAt int64 = -1, 0
		tickPhase := 0 // 1: stored, time not read yet
		for step := 0; step < 400; step++ {
			T += int64(r.IntN(1 + int(seed%7)*30))
			switch x := r.IntN(4); {
			case x == 0 && tickPhase == 0:
				k++
				clock = k
				tickPhase = 1
			case x == 1 && tickPhase == 1:
				tickPhase = 0
				stale := w.scan(k, T, nil)
				if len(stale) > 0 {
					if T-lastLoadAt < staleAt {
						t.Fatalf("seed %d step %d: stale at %d, but the last beat loaded the clock at %d", seed, step, T, lastLoadAt)
					}
					b.sent = false
				}
			case x == 2 && pendingVal < 0:
				pendingVal, pendingAt = clock, T
			case x == 3 && pendingVal >= 0:
				b.last.Store(pendingVal)
				lastLoadAt = pendingAt
				pendingVal = -1
			}
		}
	}
}
