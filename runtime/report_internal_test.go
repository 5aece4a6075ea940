package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestAbandonLogAgainstModel: the report's list of running ones, with its
// lazy index, holes and compaction, says what a plain list would: the
// running ones in the order they were abandoned, then the latest
// ReportHistory of those returned, in the order they returned, with the
// older ones counted as forgotten; and what it holds stays bounded by the
// running ones.
func TestAbandonLogAgainstModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			var l abandonLog
			var running []*Attempt          // the model's, in order
			var returned []AbandonedAttempt // every one returned, in order
			listed := map[*Attempt]AbandonedAttempt{}
			clock := time.Unix(1e9, 0)
			n := 0
			for step := range 3000 {
				clock = clock.Add(time.Millisecond)
				switch r := rng.IntN(100); {
				case r < 1: // a kill lists many at once
					k := rng.IntN(100)
					l.reserve(k)
					for range k {
						n++
						a := &Attempt{slot: &slot{path: fmt.Sprintf("t/p/i%d", n)}, gen: uint64(n), number: int32(n % 7)}
						l.add(a, time.Duration(n), clock, false)
						running = append(running, a)
						listed[a] = AbandonedAttempt{Path: a.slot.path, Generation: a.gen, Attempt: int(a.number), Waited: time.Duration(n), At: clock}
					}
				case r < 45: // one abandoned
					n++
					a := &Attempt{slot: &slot{path: fmt.Sprintf("t/c%d", n)}, gen: uint64(n), number: 1}
					e := AbandonedAttempt{Path: a.slot.path, Generation: a.gen, Attempt: 1, Waited: time.Second, At: clock}
					if rng.IntN(10) == 0 { // it returned before its listing
						l.add(a, time.Second, clock, true)
						e.Returned = clock
						returned = append(returned, e)
						l.returned(a, clock) // its late report finds it listed as returned
						break
					}
					l.add(a, time.Second, clock, false)
					running = append(running, a)
					listed[a] = e
				case len(running) > 0: // one returns
					i := rng.IntN(len(running))
					if rng.IntN(3) == 0 {
						i = 0 // the oldest, as a pool's instances often do
					}
					a := running[i]
					running = slices.Delete(running, i, i+1)
					l.returned(a, clock)
					e := listed[a]
					e.Returned = clock
					returned = append(returned, e)
					delete(listed, a)
				}
				if step%50 != 0 && step != 2999 {
					continue
				}
				want := ShutdownReport{Forgotten: max(0, len(returned)-ReportHistory)}
				for _, a := range running {
					want.Abandoned = append(want.Abandoned, listed[a])
				}
				want.Abandoned = append(want.Abandoned, returned[want.Forgotten:]...)
				got := l.snapshot()
				if got.Forgotten != want.Forgotten || !slices.Equal(got.Abandoned, want.Abandoned) {
					t.Fatalf("step %d: report differs:\ngot  %d forgotten, %v\nwant %d forgotten, %v", step, got.Forgotten, got.Abandoned, want.Forgotten, want.Abandoned)
				}
				if live := len(running); len(l.running) > 2*live+64 {
					t.Fatalf("step %d: %d entries held for %d running", step, len(l.running), live)
				}
			}
			for _, a := range running {
				l.returned(a, clock)
			}
			if l.running != nil || l.index != nil {
				t.Fatalf("once every one returned, the list holds %d entries and the index %d", len(l.running), len(l.index))
			}
		})
	}
}
