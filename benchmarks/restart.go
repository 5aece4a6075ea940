package benchmarks

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/thejerf/suture/v4"

	"github.com/arbor-go/arbor/runtime"
)

// Restarts is one measurement of a child that fails n times at once.
type Restarts struct {
	N       int           // restarts
	Elapsed time.Duration // from the start of the tree to the n-th restart
	CPU     time.Duration // the process's CPU time (user and system) meanwhile
	Events  uint64        // events the observer received
	Dropped uint64        // events lost because the observer fell behind (Arbor)
}

// PerSecond is the restart rate.
func (r Restarts) PerSecond() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// CPUPerRestart is the CPU time the whole process spent per restart: the
// supervisor, the attempts, the observer and the garbage collector. Unlike
// the rate, it hardly depends on what else the machine runs.
func (r Restarts) CPUPerRestart() time.Duration { return r.CPU / time.Duration(r.N) }

// ArborRestarts restarts one failing child n times with zero backoff and no
// restart limit. With observe, an observer counts every event it receives.
func ArborRestarts(n int, observe bool) (Restarts, error) {
	c := newCrashLoop(n)
	var events atomic.Uint64
	var opts []runtime.Option
	if observe {
		opts = append(opts, runtime.WithObserver(func(runtime.Event) { events.Add(1) }))
	}
	tree, err := runtime.New(runtime.Spec{
		Name: "bench",
		// A window of 1ns never holds more than one restart.
		RestartLimit: &runtime.RestartLimit{Max: math.MaxInt, Window: time.Nanosecond},
		Backoff:      &runtime.Backoff{},
		Children:     []runtime.Child{{Name: "flaky", Run: runtime.Func(c.run)}},
	}, opts...)
	if err != nil {
		return Restarts{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	t0, cpu0 := time.Now(), cpuTime()
	go func() { done <- tree.Run(ctx) }()
	select {
	case <-c.reached:
	case err := <-done:
		return Restarts{}, fmt.Errorf("arbor: Run returned early: %v", err)
	}
	r := Restarts{N: n, Elapsed: time.Since(t0), CPU: cpuTime() - cpu0}
	cancel()
	if err := <-done; err != nil {
		return Restarts{}, err
	}
	r.Events, r.Dropped = events.Load(), tree.Snapshot().DroppedEvents
	return r, nil
}

// SutureRestarts is ArborRestarts for suture: its failure threshold is
// switched off, and its event hook is always set (without one suture logs
// every failure); with observe the hook counts the events.
func SutureRestarts(n int, observe bool) (Restarts, error) {
	c := newCrashLoop(n)
	var events atomic.Uint64
	hook := func(suture.Event) {}
	if observe {
		hook = func(suture.Event) { events.Add(1) }
	}
	sup := suture.New("bench", suture.Spec{EventHook: hook, FailureThreshold: math.Inf(1)})
	sup.Add(service{name: "flaky", run: c.run})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0, cpu0 := time.Now(), cpuTime()
	done := sup.ServeBackground(ctx)
	select {
	case <-c.reached:
	case err := <-done:
		return Restarts{}, fmt.Errorf("suture: Serve returned early: %v", err)
	}
	r := Restarts{N: n, Elapsed: time.Since(t0), CPU: cpuTime() - cpu0}
	cancel()
	<-done
	r.Events = events.Load()
	return r, nil
}

// service is a suture service that runs a function; String gives it its name
// (otherwise suture formats the value with %#v).
type service struct {
	name string
	run  func(context.Context) error
}

func (s service) Serve(ctx context.Context) error { return s.run(ctx) }
func (s service) String() string                  { return s.name }
