package runtime

import (
	"testing"
	"time"
)

// TestTimerHeapShrinksAfterBurst: once a burst of timers is over (a pool
// of 100k instances, each with a ready timeout or a grace, that became
// ready or stopped), the supervisor's timer heap gives back what the burst
// grew, as its inbox and the pool's index do; and a run's end keeps none of
// it for the next run. A heap entry is 32 bytes: 3.2 MB for 100k.
func TestTimerHeapShrinksAfterBurst(t *testing.T) {
	const burst = 16 * shrinkFrom
	for _, atEnd := range []bool{false, true} {
		sv := &supervisor{tree: &Tree{epoch: time.Now()}, path: "t/p"}
		slots := make([]slot, burst)
		for i := range slots {
			s := &slots[i]
			s.sup = sv
			s.arm(timerReady, time.Hour)
		}
		if atEnd {
			sv.stopTimers() // the run ends with every timer set
		} else {
			for i := range slots {
				slots[i].disarm() // ready, or returned: detach disarms, then drops the stale entries
				sv.dropStaleTimers()
			}
		}
		if len(sv.timers.heap) != 0 {
			t.Fatalf("atEnd=%t: %d entries left", atEnd, len(sv.timers.heap))
		}
		if c := cap(sv.timers.heap); c > shrinkFrom {
			t.Errorf("atEnd=%t: the timer heap keeps room for %d entries after a burst of %d", atEnd, c, burst)
		}
		sv.stopTimers()
	}
}

// TestWatchdogListShrinksAfterBurst: once a burst of attempts with a
// heartbeat has ended (a pool's instances), the watchdog's list of them
// gives back what the burst grew.
func TestWatchdogListShrinksAfterBurst(t *testing.T) {
	const burst, kept = 16 * shrinkFrom, 10
	tr := &Tree{wd: &watchdog{}}
	spec := &Child{Heartbeat: &Heartbeat{Timeout: time.Second}}
	as := make([]*Attempt, burst)
	for i := range as {
		as[i] = &Attempt{slot: &slot{spec: spec}}
		tr.watch(as[i])
	}
	for _, a := range as[kept:] {
		tr.unwatch(a)
	}
	if c := cap(tr.wd.watched); c > shrinkFrom {
		t.Errorf("the watchdog keeps room for %d attempts, %d watched, after a burst of %d", c, len(tr.wd.watched), burst)
	}
	// The rest are still found where they are.
	for i, a := range as[:kept] {
		if tr.wd.watched[a.beat.index] != a.beat {
			t.Fatalf("attempt %d lost its place", i)
		}
		tr.unwatch(a)
	}
	if len(tr.wd.watched) != 0 {
		t.Fatalf("%d left", len(tr.wd.watched))
	}
}

// TestWaitersShrinkAfterBurst: once the StopAndWait callers of a burst (a
// pool's instances, each stopped this way) have been told, the supervisor
// keeps nothing of their list: a Go map never shrinks.
func TestWaitersShrinkAfterBurst(t *testing.T) {
	const burst = 100_000
	sv := &supervisor{path: "t/p"}
	slots := make([]slot, burst)
	for i := range slots {
		if sv.waiters == nil {
			sv.waiters = map[*slot][]chan struct{}{}
		}
		sv.waiters[&slots[i]] = append(sv.waiters[&slots[i]], make(chan struct{}))
	}
	for i := range slots {
		sv.stopped(&slots[i])
	}
	withMap := heapAlloc()
	sv.waiters = nil
	if grown := int64(withMap) - int64(heapAlloc()); grown > 64<<10 {
		t.Errorf("the list of StopAndWait callers, all told, takes %d bytes", grown)
	}
}
