package runtime

import (
	"sync"
	"time"
)

// watchdog finds attempts that stopped calling Beat. One goroutine serves the
// whole tree: every tick it advances the coarse clock that Beat stores and
// compares each watched attempt's last beat with its timeout. Beat is thus a
// plain atomic store, and no timer exists per beat or per child.
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
	a.staleAt = int64(a.slot.spec.Heartbeat.Timeout + w.tick) // kept here: scans touch only the attempt
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
		var stale []*Attempt
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
			}
			now := int64(time.Since(begin))
			t.clock.Store(now)
			stale = w.scan(now, stale[:0])
			for _, a := range stale {
				a.slot.sup.post(a.done, message{kind: msgStale, slot: a.slot, gen: a.gen})
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// scan appends the attempts whose last beat is older than their timeout. The
// clock Beat stores lags real time by up to a tick, so an attempt is stale
// only once a whole tick more has passed: it is never flagged early, and is
// flagged within timeout plus two ticks.
func (w *watchdog) scan(now int64, stale []*Attempt) []*Attempt {
	w.mu.Lock()
	for _, a := range w.watched {
		if a.staleSent {
			continue
		}
		if now-a.lastBeat.Load() >= a.staleAt {
			a.staleSent = true
			stale = append(stale, a)
		}
	}
	w.mu.Unlock()
	return stale
}
