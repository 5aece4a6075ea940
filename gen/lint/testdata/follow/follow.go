// Package follow holds run functions whose work is in functions they
// call, and run functions the Analyzer finds without a runtime.Child.
package follow

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
	"lintdata/follow/sub"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "field", Run: (&Service{}).Run},
		{Name: "lit", Run: runtime.Func(Lit)},
		{Name: "deferred", Run: Deferred, Ready: &runtime.Ready{}},

		{Name: "generic", Run: runtime.Func(Generic)},
		{Name: "mutual", Run: runtime.Func(Mutual)},
		{Name: "iface", Run: runtime.Func(Iface)},
		{Name: "other-package", Run: sub.Spin, Ready: &runtime.Ready{}},
		{Name: "value", Run: runFunc},
	},
}

func work() {}

type Service struct{ db *DB }

type DB struct{}

func (s *Service) Run(ctx context.Context, a *runtime.Attempt) error { // want `field: \(\*Service\).Run never uses its context, yet it waits in a loop`
	return s.db.run(ctx)
}

func (db *DB) run(_ context.Context) error {
	for {
		work()
	}
}

// Lit loops in a function literal it calls on the spot.
func Lit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	func() {
		for { // want `lit: this loop never ends`
			work()
		}
	}()
	return nil
}

// Deferred reports ready in a deferred call: too late.
func Deferred(ctx context.Context, a *runtime.Attempt) error {
	defer func() {
		a.Ready() // want `deferred: Deferred calls a.Ready\(\) only after <-ctx.Done\(\)`
	}()
	<-ctx.Done()
	return nil
}

// Orphan is named by no runtime.Child here, but it takes an attempt: it
// is checked, without a child's requirements.
func Orphan(ctx context.Context, a *runtime.Attempt) error { // want `^Orphan never uses its context, yet it waits in a loop`
	for {
		work()
	}
}

// Held is named through the variable runFunc.
func Held(ctx context.Context, a *runtime.Attempt) error { // want `value: Held never uses its context, yet it waits in a loop`
	for {
		work()
	}
}

// Mutual recursion ends the walk, which has seen ping's select {} by then.
func Mutual(ctx context.Context) error { return ping(ctx, 3) }

func ping(ctx context.Context, n int) error {
	if n == 0 {
		select {} // want `mutual: select {} never ends: cancellation cannot stop Mutual`
	}
	return pong(ctx, n-1)
}

func pong(ctx context.Context, n int) error { return ping(ctx, n) }

// Silent from here on.

func Generic(ctx context.Context) error { return wait(ctx, 1) }

func wait[T any](ctx context.Context, _ T) error {
	<-ctx.Done()
	return nil
}

type server interface{ Serve(context.Context) error }

type impl struct{}

func (impl) Serve(context.Context) error { select {} }

// Iface hands its context to a method of an interface: that is a use.
func Iface(ctx context.Context) error {
	var s server = impl{}
	return s.Serve(ctx)
}

// runFunc holds a function: the child "value" names it.
var runFunc runtime.RunFunc = Held
