// Package escape holds run functions that hand their attempt to a
// goroutine.
package escape

import (
	"context"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var hb = &runtime.Heartbeat{Timeout: 3 * time.Second}

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "sleeps", Run: Sleeps, Heartbeat: hb},
		{Name: "ticks", Run: Ticks, Heartbeat: hb},
		{Name: "helper", Run: Helper, Heartbeat: hb},
		{Name: "forgets", Run: Forgets, Heartbeat: hb},

		{Name: "stops", Run: Stops, Heartbeat: hb},
		{Name: "once", Run: Once, Ready: &runtime.Ready{}},
		{Name: "other", Run: Other},
	},
}

func work() {}

func Sleeps(ctx context.Context, a *runtime.Attempt) error {
	go func() { // want `sleeps: this goroutine uses the attempt and never returns: it outlives Sleeps, so every attempt leaves one behind, and what it reports once its attempt has ended is fenced and does nothing \(escape\)`
		for {
			a.Beat()
			time.Sleep(time.Second)
		}
	}()
	<-ctx.Done()
	return nil
}

func Ticks(ctx context.Context, a *runtime.Attempt) error {
	go func() { // want `ticks: this goroutine uses the attempt and never returns`
		for range time.Tick(time.Second) {
			a.Beat()
		}
	}()
	<-ctx.Done()
	return nil
}

func Helper(ctx context.Context, a *runtime.Attempt) error {
	go beatForever(a) // want `helper: this goroutine uses the attempt and never returns`
	<-ctx.Done()
	return nil
}

func beatForever(a *runtime.Attempt) {
	t := time.NewTicker(time.Second)
	for range t.C {
		a.Beat()
	}
}

// Forgets to return when the context is done.
func Forgets(ctx context.Context, a *runtime.Attempt) error {
	go func() { // want `forgets: this goroutine uses the attempt and never returns`
		t := time.NewTicker(time.Second)
		for {
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
				a.Beat()
			}
		}
	}()
	<-ctx.Done()
	return nil
}

// Silent from here on.

func Stops(ctx context.Context, a *runtime.Attempt) error {
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.Beat()
			}
		}
	}()
	<-ctx.Done()
	return nil
}

func Once(ctx context.Context, a *runtime.Attempt) error {
	go func() {
		work()
		a.Ready()
	}()
	<-ctx.Done()
	return nil
}

// Other's endless goroutine does not use the attempt: it is left behind
// all the same.
func Other(ctx context.Context, a *runtime.Attempt) error {
	go func() { // want `other: this goroutine never returns: it outlives Other, so every attempt leaves one behind, which nothing supervises or stops, at shutdown either \(escape\)`
		for {
			work()
			time.Sleep(time.Second)
		}
	}()
	<-ctx.Done()
	return nil
}
