// Package broken does not compile: arbor vet checks such packages all the
// same (a user's package often calls code that arbor gen has yet to write).
package broken

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
)

func Run(ctx context.Context, a *runtime.Attempt) error {
	t := NewTree(undefined)
	for {
		select {
		case v := <-missing.C:
			a.Beat(v)
		case <-ctx.Done():
			return ctx.Err(1)
		}
		go func() {
			for {
				a.Ready(undefined)
			}
		}()
		t.Run(ctx, a)
		helper(ctx, a, extra)
	}
}

func helper(ctx context.Context) error { <-nope; return ctx }

func (u *Unknown) Method(ctx context.Context, a *runtime.Attempt) error {
	for {
	}
}

func Generic[T any](ctx context.Context, a *runtime.Attempt) error { return Generic[T](ctx, a) }

var spec = runtime.Spec{Children: []runtime.Child{
	{Name: "a", Run: Run, Ready: &runtime.Ready{}, Heartbeat: &runtime.Heartbeat{}, Timeout: bad, Shutdown: "5s"},
	{Name: 1, Run: (*Unknown).Method, Ready: nope},
	{Name: "c", Run: Generic[int]},
	{Name: "e", Run: Run, Timeout: "1m", Shutdown: true},
	{Name: "f", Run: Run, Timeout: 1i, Shutdown: 1.5},
	{"positional", nil},
	{Name: "d", Run: func(ctx context.Context) error {
		for {
		}
	}},
	{Name: "v", Run: undefinedVar, Restart: 5},
	{Name: "w", Run: factory(undefined), Restart: runtime.Transient, Ready: &runtime.Ready{}},
	{Name: "x", Run: cyc1, Ready: &runtime.Ready{}},
	{Name: "y", Run: self(), Heartbeat: &runtime.Heartbeat{}},
}}

// Variables that hold each other, and a factory that returns itself.
var cyc1 = cyc2
var cyc2 = cyc1

var tick1 = tick2
var tick2 = tick1

func Ticks(ctx context.Context) error {
	for range tick1 {
	}
	return nil
}

func self() runtime.RunFunc { return self() }

func factory(n int) runtime.RunFunc { return undefinedFactory(n) }

func Pools(ctx context.Context, p *runtime.Pool) {
	p.Start("", undefinedRun)
	p.Start()
	p.Start("", func(ctx context.Context) error {
		for {
		}
	})
	p.Start("", func(ctx context.Context, a *runtime.Attempt) error { return missing(ctx, a) })
	loop := undefined
	loop()
	spin := func() {
		for {
		}
	}
	go spin()
	spin()
}
