package main

//go:generate go tool arbor gen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Probe holds the run functions and what they saw.
type Probe struct {
	mu      sync.Mutex
	readyAt time.Time
	apiAt   time.Time
	starts  atomic.Int32
	second  chan struct{} // closed when the second attempt runs
	release chan struct{} // lets the zombie return
}

func newProbe() *Probe { return &Probe{second: make(chan struct{}), release: make(chan struct{})} }

func (p *Probe) WarmDB(ctx context.Context, a *runtime.Attempt) error {
	time.Sleep(50 * time.Millisecond)
	p.mu.Lock()
	p.readyAt = time.Now()
	p.mu.Unlock()
	a.Ready()
	<-ctx.Done()
	return nil
}

func (p *Probe) API(ctx context.Context) error {
	p.mu.Lock()
	p.apiAt = time.Now()
	p.mu.Unlock()
	<-ctx.Done()
	return nil
}

func (p *Probe) Done(ctx context.Context) error { return nil }

func (p *Probe) SlowDB(ctx context.Context, a *runtime.Attempt) error {
	if p.starts.Add(1) > 1 {
		a.Ready()
	}
	<-ctx.Done()
	return ctx.Err()
}

// Hang stops beating after three beats, for the watchdog to cancel it.
//
//arbor:nolint beat -- the stale tree shows the watchdog at work
func (p *Probe) Hang(ctx context.Context, a *runtime.Attempt) error {
	if p.starts.Add(1) == 2 {
		close(p.second)
	}
	for range 3 {
		time.Sleep(10 * time.Millisecond)
		a.Beat()
	}
	<-ctx.Done() // hangs without beating
	return ctx.Err()
}

func (p *Probe) AfterRestart(ctx context.Context) error {
	select {
	case <-p.second:
	case <-ctx.Done():
	}
	return nil
}

func (p *Probe) Zombie(ctx context.Context, a *runtime.Attempt) error {
	if p.starts.Add(1) == 1 {
		<-p.release // ignores cancellation
		a.Beat()
		return errors.New("late")
	}
	if p.starts.Load() == 2 {
		close(p.second)
	}
	for {
		select {
		case <-time.After(5 * time.Millisecond):
			a.Beat()
		case <-ctx.Done():
			return nil
		}
	}
}

// AfterZombie releases the zombie once it has been abandoned and
// restarted, and waits for its late exit.
//
//arbor:nolint ctxunused -- it ends once Zombie has started twice
func (p *Probe) AfterZombie(ctx context.Context) error {
	<-p.second
	close(p.release)
	time.Sleep(100 * time.Millisecond) // the late exit arrives and is fenced
	return nil
}

// exits collects the exit classes and errors of one child.
type exits struct {
	mu    sync.Mutex
	path  string
	kinds []runtime.ExitKind
	errs  []error
}

func (x *exits) observe(e runtime.Event) {
	if e.Kind == runtime.EventExited && e.Path == x.path {
		x.mu.Lock()
		x.kinds = append(x.kinds, e.Exit)
		x.errs = append(x.errs, e.Err)
		x.mu.Unlock()
	}
}

func main() {
	ctx := context.Background()

	p := newProbe()
	fmt.Println("gating: run:", NewGating(p).Run(ctx))
	fmt.Println("gating: api started after db was ready:", !p.apiAt.Before(p.readyAt))

	p = newProbe()
	x := &exits{path: "ready-timeout/db"}
	fmt.Println("ready-timeout: run:", NewReadyTimeout(p, runtime.WithObserver(x.observe)).Run(ctx))
	fmt.Println("ready-timeout: db exits:", x.kinds, "ready timeout:", errors.Is(x.errs[0], runtime.ErrReadyTimeout))

	p = newProbe()
	x = &exits{path: "stale/worker"}
	fmt.Println("stale: run:", NewStale(p, runtime.WithObserver(x.observe)).Run(ctx))
	fmt.Println("stale: worker exits:", x.kinds, "heartbeat missed:", errors.Is(x.errs[0], runtime.ErrHeartbeatTimeout))

	p = newProbe()
	late := NewLateExit(p)
	fmt.Println("late-exit: run:", late.Run(ctx))
	w := late.Worker().Status()
	fmt.Println("late-exit: starts:", p.starts.Load(), "restarts:", w.Restarts, "fenced:", w.Fenced, "abandoned:", len(late.Tree().ShutdownReport().Abandoned))
}
