// Package gotoloop holds run functions whose loops are written with goto:
// a label, and an unconditional goto back to it further down the same
// block, is for {} to every check.
package gotoloop

import (
	"context"
	"log"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var hb = &runtime.Heartbeat{Timeout: time.Second}

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "deaf", Run: runtime.Func(Deaf)},
		{Name: "spins", Run: runtime.Func(Spins)},
		{Name: "beats-once", Run: BeatsOnce, Heartbeat: hb},
		{Name: "escapes", Run: Escapes},
		{Name: "forever", Run: runtime.Func(Forever)},

		{Name: "returns", Run: runtime.Func(Returns)},
		{Name: "conditional", Run: runtime.Func(Conditional)},
		{Name: "leaves", Run: runtime.Func(Leaves)},
		{Name: "continues", Run: runtime.Func(Continues)},
		{Name: "beats", Run: Beats, Heartbeat: hb},
	},
}

func work() {}

func step(ctx context.Context) error { return ctx.Err() }

// Deaf loops without ever looking at its context.
func Deaf(ctx context.Context) error { // want `deaf: Deaf never uses its context, yet it waits in a loop`
again:
	work()
	time.Sleep(time.Millisecond)
	goto again
}

// Spins hands its context on, but logs the cancellation and goes on.
func Spins(ctx context.Context) error {
again: // want `spins: this loop never ends: nothing leaves it`
	if err := step(ctx); err != nil {
		log.Print(err)
	}
	goto again
}

// BeatsOnce beats before its loop, never in it.
func BeatsOnce(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
again: // want `beats-once: BeatsOnce calls a.Beat\(\) only outside a loop, which never beats`
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(time.Millisecond):
	}
	goto again
}

// Escapes leaves behind a goroutine that beats forever.
func Escapes(ctx context.Context, a *runtime.Attempt) error {
	go func() { // want `escapes: this goroutine uses the attempt and never returns`
	again:
		a.Beat()
		time.Sleep(time.Millisecond)
		goto again
	}()
	<-ctx.Done()
	return nil
}

// Forever calls a helper that loops with goto and never returns.
func Forever(ctx context.Context) error {
	if err := step(ctx); err != nil {
		return err
	}
	spin()
	return nil
}

func spin() {
again: // want `forever: this loop never ends and never looks at the context`
	work()
	goto again
}

// Returns leaves its loop on cancellation.
func Returns(ctx context.Context) error {
again:
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Millisecond):
	}
	goto again
}

// Conditional jumps back only while the context lives.
func Conditional(ctx context.Context) error {
again:
	work()
	if ctx.Err() == nil {
		goto again
	}
	return nil
}

// Leaves jumps out of its loop to a label after it.
func Leaves(ctx context.Context) error {
again:
	if ctx.Err() != nil {
		goto out
	}
	work()
	goto again
out:
	return nil
}

// Continues leaves its goto loop with a continue of the loop around it.
func Continues(ctx context.Context) error {
	for ctx.Err() == nil {
	again:
		if ctx.Err() != nil {
			continue
		}
		work()
		goto again
	}
	return nil
}

// Beats beats in its goto loop.
func Beats(ctx context.Context, a *runtime.Attempt) error {
again:
	a.Beat()
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(time.Millisecond):
	}
	goto again
}
