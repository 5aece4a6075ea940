package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/thejerf/suture/v4"

	"github.com/arbor-go/arbor/runtime"
)

// StartStop is one start and stop of a flat tree of idle children.
type StartStop struct {
	N                 int
	Start             time.Duration // building the tree, then running it until every child runs
	Stop              time.Duration // cancelling it until its Run (Serve) returns
	StartCPU, StopCPU time.Duration // the process's CPU time in each
	StartGCs, StopGCs uint64        // garbage collections completed in each
}

// ArborStartStop builds a flat tree of n idle children, runs it until every
// child has started, then cancels it and waits for Run to return. The spec
// is made before the clock starts.
func ArborStartStop(n int) (StartStop, error) {
	w := newIdle(n)
	children := make([]runtime.Child, n)
	for i := range children {
		children[i] = runtime.Child{Name: childName(i), Run: runtime.Func(w.run)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0, cpu0, gc0 := time.Now(), cpuTime(), gcCycles()
	tree, err := runtime.New(runtime.Spec{Name: "bench", Children: children})
	if err != nil {
		return StartStop{}, err
	}
	done := make(chan error, 1)
	go func() { done <- tree.Run(ctx) }()
	select {
	case <-w.all:
	case err := <-done:
		return StartStop{}, fmt.Errorf("arbor: Run returned early: %v", err)
	}
	t1, cpu1, gc1 := time.Now(), cpuTime(), gcCycles()
	cancel()
	if err := <-done; err != nil {
		return StartStop{}, err
	}
	return StartStop{N: n, Start: t1.Sub(t0), Stop: time.Since(t1), StartCPU: cpu1 - cpu0, StopCPU: cpuTime() - cpu1,
		StartGCs: gc1 - gc0, StopGCs: gcCycles() - gc1}, nil
}

// SutureStartStop is ArborStartStop for suture: New, Add for each service,
// ServeBackground until every service runs; then cancel until Serve returns.
func SutureStartStop(n int) (StartStop, error) {
	w := newIdle(n)
	services := make([]service, n)
	for i := range services {
		services[i] = service{name: childName(i), run: w.run}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0, cpu0, gc0 := time.Now(), cpuTime(), gcCycles()
	sup := suture.New("bench", suture.Spec{EventHook: func(suture.Event) {}})
	for _, s := range services {
		sup.Add(s)
	}
	done := sup.ServeBackground(ctx)
	select {
	case <-w.all:
	case err := <-done:
		return StartStop{}, fmt.Errorf("suture: Serve returned early: %v", err)
	}
	t1, cpu1, gc1 := time.Now(), cpuTime(), gcCycles()
	cancel()
	<-done
	return StartStop{N: n, Start: t1.Sub(t0), Stop: time.Since(t1), StartCPU: cpu1 - cpu0, StopCPU: cpuTime() - cpu1,
		StartGCs: gc1 - gc0, StopGCs: gcCycles() - gc1}, nil
}
