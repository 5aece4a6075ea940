// Package sleep holds run functions that sleep past their grace.
package sleep

import (
	"context"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var grace = 30 * time.Second

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "loop", Run: runtime.Func(Loop)},
		{Name: "after", Run: runtime.Func(After)},
		{Name: "short-grace", Run: runtime.Func(Two), Shutdown: time.Second},
		{Name: "helper", Run: runtime.Func(Helper)},
		{Name: "one-case", Run: runtime.Func(OneCase)},

		{Name: "short", Run: runtime.Func(Short)},
		{Name: "variable", Run: runtime.Func(Variable)},
		{Name: "select", Run: runtime.Func(Select)},
		{Name: "long-grace", Run: runtime.Func(Loop), Shutdown: time.Minute},
		{Name: "unknown-grace", Run: runtime.Func(Two), Shutdown: grace},
	},
}

func poll(ctx context.Context) error { return ctx.Err() }

func Loop(ctx context.Context) error {
	for {
		if err := poll(ctx); err != nil {
			return err
		}
		time.Sleep(10 * time.Second) // want `loop: time.Sleep\(10 \* time.Second\) waits 10s without watching the context: a shutdown or restart during it waits that long, past the child's 5s grace, and the attempt is abandoned; select on ctx.Done\(\) and a timer instead \(sleep\)`
	}
}

func After(ctx context.Context) error {
	<-time.After(time.Minute) // want `after: <-time.After\(time.Minute\) waits 1m0s without watching the context`
	return poll(ctx)
}

// OneCase waits in a select of one case: a receive all the same.
func OneCase(ctx context.Context) error {
	select {
	case <-time.After(time.Minute): // want `one-case: <-time.After\(time.Minute\) waits 1m0s without watching the context`
	}
	return poll(ctx)
}

func Two(ctx context.Context) error {
	time.Sleep(2 * time.Second) // want `short-grace: time.Sleep\(2 \* time.Second\) waits 2s without watching the context: a shutdown or restart during it waits that long, past the child's 1s grace`
	return poll(ctx)
}

func Helper(ctx context.Context) error { return backoff(ctx) }

func backoff(ctx context.Context) error {
	time.Sleep(5 * time.Second) // want `helper: time.Sleep\(5 \* time.Second\) waits 5s`
	return poll(ctx)
}

// Silent from here on.

func Short(ctx context.Context) error {
	for {
		if err := poll(ctx); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var interval = time.Minute

func Variable(ctx context.Context) error {
	time.Sleep(interval)
	return poll(ctx)
}

func Select(ctx context.Context) error {
	select {
	case <-time.After(time.Minute):
	case <-ctx.Done():
	}
	return nil
}
