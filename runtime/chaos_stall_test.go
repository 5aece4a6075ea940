package runtime_test

import (
	"sync"
	"time"
)

// stallMeter measures how long the process was not scheduled: a goroutine
// that sleeps a millisecond at a time records every wake-up later than
// minStall. On a loaded 2-core machine under -race, the whole process
// stops now and then for hundreds of milliseconds; a deadline check
// excuses the stalls within its interval, and no more.
type stallMeter struct {
	mu     sync.Mutex
	stalls []stall
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type stall struct{ from, to time.Time }

const minStall = 20 * time.Millisecond

func startStallMeter() *stallMeter {
	m := &stallMeter{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		last := time.Now()
		for {
			select {
			case <-m.stop:
				return
			case <-tk.C:
				now := time.Now() // not the tick's time, which is when it was due
				if now.Sub(last) > minStall {
					m.mu.Lock()
					m.stalls = append(m.stalls, stall{last, now})
					m.mu.Unlock()
				}
				last = now
			}
		}
	}()
	return m
}

func (m *stallMeter) end() {
	m.once.Do(func() { close(m.stop) })
	<-m.done
}

// within returns how long the process stalled between from and to.
func (m *stallMeter) within(from, to time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var d time.Duration
	for _, s := range m.stalls {
		a, b := s.from, s.to
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}
