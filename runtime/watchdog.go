package runtime

import (
	"sync"
	"time"
)

// watchdog finds attempts that stopped calling Beat. One goroutine serves the
// whole tree: every tick it advances a counter, the tree's clock, which Beat
// stores with one atomic write, and compares each watched attempt's last
// beat with its timeout. No timer exists per beat or per child.
//
// A beat records the counter value it read, not a time, and the watchdog
// notes when each value was replaced: a beat that read value k happened
// before k+1 was published. An attempt is stale only when even that upper
// bound of its last beat lies a whole timeout in the past, so it is never
// flagged early, however late the watchdog's goroutine runs or however
// busy the supervisors are. It is flagged within its timeout plus two ticks
// when the watchdog runs on time.
type watchdog struct {
	tick time.Duration // a quarter of the shortest heartbeat timeout

	mu      sync.Mutex
	watched []*Attempt
}

// consider makes the tick short enough for a heartbeat timeout.
func (w *watchdog) consider(timeout time.Duration) {
	if t := timeout / 4; w.tick == 0 || t < w.tick {
		w.tick = t
	}
}

func (t *Tree) watch(a *Attempt) {
	w := t.wd
	a.staleAt = int64(a.slot.spec.Heartbeat.Timeout) // kept here: scans touch only the attempt
	w.mu.Lock()
	a.wdIndex = int32(len(w.watched))
	w.watched = append(w.watched, a)
	w.mu.Unlock()
}

func (t *Tree) unwatch(a *Attempt) {
	w := t.wd
	w.mu.Lock()
	last := len(w.watched) - 1
	moved := w.watched[last]
	w.watched[a.wdIndex] = moved
	moved.wdIndex = a.wdIndex
	w.watched[last] = nil
	w.watched = w.watched[:last]
	w.mu.Unlock()
}

// start runs the watchdog until the returned function is called.
func (w *watchdog) start(t *Tree) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		begin := time.Now()
		tk := time.NewTicker(w.tick)
		defer tk.Stop()
		var notify []*Attempt
		for k := t.clock.Load(); ; {
			select {
			case <-quit:
				return
			case <-tk.C:
			}
			k++
			t.clock.Store(k)
			published := int64(time.Since(begin)) // after the store: an upper bound for beats that read k-1
			notify = w.scan(k, published, notify[:0])
			w.tell(notify)
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// scan appends the attempts that are stale now that clock value k was
// published at time now.
func (w *watchdog) scan(k, now int64, stale []*Attempt) []*Attempt {
	w.mu.Lock()
	for _, a := range w.watched {
		if a.staleSent {
			continue
		}
		if b := a.lastBeat.Load(); b != a.seenBeat || a.beatBefore == 0 {
			a.seenBeat = b
			if b >= k {
				a.beatBefore = 0 // read the newest value: no bound yet
				continue
			}
			a.beatBefore = now
		}
		if now-a.beatBefore >= a.staleAt {
			a.staleSent = true
			stale = append(stale, a)
		}
	}
	w.mu.Unlock()
	return stale
}

// tell hands each stale attempt to its supervisor without waiting, and
// without the inbox: the watchdog must keep the clock going however busy a
// supervisor is, and a flood of exits must not keep a notice out.
func (w *watchdog) tell(stale []*Attempt) {
	for _, a := range stale {
		sv := a.slot.sup
		sv.staleMu.Lock()
		sv.stale = append(sv.stale, message{kind: msgStale, slot: a.slot, gen: a.gen})
		sv.staleMu.Unlock()
		select {
		case sv.staleWake <- struct{}{}:
		default:
		}
	}
}
