// Package donotrestart holds run functions that return
// runtime.ErrDoNotRestart when their context is done.
package donotrestart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var hb = &runtime.Heartbeat{Timeout: time.Second}

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "wraps", Run: runtime.Func(Wraps)},
		{Name: "joins", Run: runtime.Func(Joins)},
		{Name: "heartbeat", Run: Heartbeat, Heartbeat: hb},
		{Name: "timeout", Run: runtime.Func(Timeout), Timeout: time.Minute},
		{Name: "ready", Run: Ready, Ready: &runtime.Ready{}},
		{Name: "closure", Run: runtime.Func(Closure)},
		{Name: "panics", Run: runtime.Func(Panics)},

		{Name: "config", Run: runtime.Func(Config), Timeout: time.Minute},
		{Name: "plain", Run: runtime.Func(Heartless)},
		{Name: "canceled", Run: runtime.Func(Canceled), Timeout: time.Minute},
		{Name: "not-done", Run: runtime.Func(NotDone), Timeout: time.Minute},
		{Name: "rethrows", Run: runtime.Func(Rethrows)},
	},
}

var jobs = make(chan int)

func Wraps(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", runtime.ErrDoNotRestart, ctx.Err()) // want `wraps: runtime.ErrDoNotRestart wrapped with the context's error never takes effect: once the context is done, the supervisor that cancelled it decides whether the child restarts, not this error; and while it is not done, the context's error is nil \(donotrestart\)`
		case <-jobs:
		}
	}
}

func Joins(ctx context.Context) error {
	<-ctx.Done()
	return errors.Join(runtime.ErrDoNotRestart, context.Cause(ctx)) // want `joins: runtime.ErrDoNotRestart wrapped with the context's error never takes effect`
}

func Heartbeat(ctx context.Context, a *runtime.Attempt) error {
	t := time.NewTicker(100 * time.Millisecond)
	for {
		select {
		case <-ctx.Done():
			return runtime.ErrDoNotRestart // want `heartbeat: returning runtime.ErrDoNotRestart once the context is done ends the child for good when the supervisor cancels it for a missed deadline \(ready, heartbeat or timeout\), instead of restarting it \(donotrestart\)`
		case <-t.C:
			a.Beat()
		}
	}
}

func Timeout(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return fmt.Errorf("stopping: %w", runtime.ErrDoNotRestart) // want `timeout: returning runtime.ErrDoNotRestart once the context is done`
		}
		<-jobs
	}
}

func Ready(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	if err := wait(ctx); errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: stopped", runtime.ErrDoNotRestart) // want `ready: returning runtime.ErrDoNotRestart once the context is done`
	}
	return nil
}

func wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// Closure wraps in a function literal whose error it returns.
func Closure(ctx context.Context) error {
	stop := func() error {
		return fmt.Errorf("%w (%w)", runtime.ErrDoNotRestart, ctx.Err()) // want `closure: runtime.ErrDoNotRestart wrapped`
	}
	<-ctx.Done()
	return stop()
}

// Panics means to end the child for good, but a panic is a failure.
func Panics(ctx context.Context) error {
	if err := load(); err != nil {
		panic(fmt.Errorf("config: %w: %w", runtime.ErrDoNotRestart, err)) // want `panics: a panic with runtime.ErrDoNotRestart is a failure like any other panic: the child is restarted; return the error to end the child for good \(donotrestart\)`
	}
	<-ctx.Done()
	return nil
}

// Silent from here on, but for the timeout check: with a timeout, a wait
// until the context ends runs into the deadline.

func Config(ctx context.Context) error {
	if err := load(); err != nil {
		return fmt.Errorf("config: %w: %w", runtime.ErrDoNotRestart, err)
	}
	<-ctx.Done() // want `config: the child has a timeout, but \w+ ends only when its context does`
	return nil
}

func load() error { return nil }

// Rethrows panics with a value of its own, which says nothing of
// ErrDoNotRestart.
func Rethrows(ctx context.Context) error {
	if err := load(); errors.Is(err, runtime.ErrDoNotRestart) {
		panic(err)
	}
	<-ctx.Done()
	return nil
}

// Heartless has no deadline: the supervisor ignores its error once it
// has cancelled it, so the error makes no difference.
func Heartless(ctx context.Context) error {
	<-ctx.Done()
	select {
	case <-ctx.Done():
		return runtime.ErrDoNotRestart
	}
}

func Canceled(ctx context.Context) error {
	<-ctx.Done() // want `canceled: the child has a timeout, but \w+ ends only when its context does`
	return ctx.Err()
}

func NotDone(ctx context.Context) error {
	if ctx.Err() == nil {
		if err := load(); err != nil {
			return fmt.Errorf("%w: %w", runtime.ErrDoNotRestart, err)
		}
	}
	<-ctx.Done() // want `not-done: the child has a timeout, but \w+ ends only when its context does`
	return nil
}
