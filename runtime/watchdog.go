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
	watched []*beat
}

// consider makes the tick short enough for a heartbeat timeout.
func (w *watchdog) consider(timeout time.Duration) {
	if t := timeout / 4; w.tick == 0 || t < w.tick {
		w.tick = t
	}
}

// notStarted is a beat record's last value until its attempt's goroutine
// runs: the timeout counts from then, since a goroutine the Go scheduler
// starts late has missed no beat of its own.
const notStarted = -1

// watch gives a, not yet running, its beat record and watches it.
func (t *Tree) watch(a *Attempt) {
	w := t.wd
	b := &beat{a: a, staleAt: int64(a.slot.spec.Heartbeat.Timeout)}
	b.last.Store(notStarted)
	a.beat = b
	w.mu.Lock()
	b.index = int32(len(w.watched))
	w.watched = append(w.watched, b)
	w.mu.Unlock()
}

func (t *Tree) unwatch(a *Attempt) {
	w := t.wd
	w.mu.Lock()
	last := len(w.watched) - 1
	moved := w.watched[last]
	w.watched[a.beat.index] = moved
	moved.index = a.beat.index
	w.watched[last] = nil
	w.watched = w.watched[:last]
	if c := cap(w.watched); c > shrinkFrom && last < c/4 {
		w.watched = append(make([]*beat, 0, 2*last), w.watched...) // what a burst grew; the order, and so each index, is kept
	}
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
		var notify []*beat
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
func (w *watchdog) scan(k, now int64, stale []*beat) []*beat {
	w.mu.Lock()
	for _, b := range w.watched {
		if b.sent {
			continue
		}
		last := b.last.Load()
		if last == notStarted {
			continue
		}
		if last != b.seen || b.before == 0 {
			b.seen = last
			if last >= k {
				b.before = 0 // read the newest value: no bound yet
				continue
			}
			b.before = now
		}
		if now-b.before >= b.staleAt {
			b.sent = true
			stale = append(stale, b)
		}
	}
	w.mu.Unlock()
	return stale
}

// tell hands each stale attempt to its supervisor without waiting, and
// without the inbox: the watchdog must keep the clock going however busy a
// supervisor is, and a flood of exits must not keep a notice out.
func (w *watchdog) tell(stale []*beat) {
	for _, b := range stale {
		a := b.a
		sv := a.slot.sup
		sv.staleMu.Lock()
		sv.stale = append(sv.stale, message{kind: msgStale, slot: a.slot, gen: a.gen})
		sv.staleMu.Unlock()
		sv.inbox.raise(alarmStale)
	}
}
