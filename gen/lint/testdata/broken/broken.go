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
}}
