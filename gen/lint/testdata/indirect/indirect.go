// Package indirect holds run functions that a runtime.Child names through
// a variable or a function that returns them, and run functions that call
// their work through a variable holding a function literal.
package indirect

import (
	"context"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var ready = &runtime.Ready{Timeout: time.Second}

func work() {}

// A literal in a package variable.
var serve = func(ctx context.Context, a *runtime.Attempt) error { // want `var-lit: the child has ready, but the function literal never calls a.Ready\(\)`
	<-ctx.Done()
	return nil
}

// A function in a variable of the type runtime.RunFunc.
var stored runtime.RunFunc = Stored

func Stored(ctx context.Context, a *runtime.Attempt) error { // want `var-func: the child has ready, but Stored never calls a.Ready\(\)`
	<-ctx.Done()
	return nil
}

type Pump struct{}

// runner returns the run function of a pump.
func (p *Pump) runner(n int) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error { // want `factory: the child has ready, but the function literal never calls a.Ready\(\)`
		<-ctx.Done()
		return nil
	}
}

func Local(ctx context.Context, a *runtime.Attempt) error { // want `local: the child has ready, but Local never calls a.Ready\(\)`
	<-ctx.Done()
	return nil
}

// Spin loops in a function literal it calls through a variable.
func Spin(ctx context.Context) error { // want `spin: Spin never uses its context, yet it waits in a loop`
	loop := func() {
		for {
			work()
		}
	}
	loop()
	return nil
}

// Leak starts, through a variable, a goroutine that never returns.
func Leak(ctx context.Context, a *runtime.Attempt) error {
	beat := func() {
		for {
			a.Beat()
			time.Sleep(time.Second)
		}
	}
	go beat() // want `leak: this goroutine uses the attempt and never returns`
	<-ctx.Done()
	return nil
}

// Silent from here on.

// Reassigned holds one function, then another: which one runs is not
// known.
var reassigned runtime.RunFunc = Never

func init() { reassigned = Ready }

func Ready(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	<-ctx.Done()
	return nil
}

// Exported may be set by another package.
var Exported runtime.RunFunc = Never

// Never is named only through variables that may hold another function.
func Never(ctx context.Context, a *runtime.Attempt) error {
	<-ctx.Done()
	return nil
}

// Notify calls a.Ready() through a variable.
func Notify(ctx context.Context, a *runtime.Attempt) error {
	up := func() { a.Ready() }
	up()
	<-ctx.Done()
	return nil
}

// Two returns the one or the other.
func two(fast bool) runtime.RunFunc {
	if fast {
		return Ready
	}
	return Never
}

func Tree() runtime.Spec {
	local := Local
	p := &Pump{}
	return runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "var-lit", Run: serve, Ready: ready},
		{Name: "var-func", Run: stored, Ready: ready},
		{Name: "factory", Run: p.runner(1), Ready: ready},
		{Name: "local", Run: local, Ready: ready},
		{Name: "spin", Run: runtime.Func(Spin)},
		{Name: "leak", Run: Leak},

		{Name: "reassigned", Run: reassigned, Ready: ready},
		{Name: "exported", Run: Exported, Ready: ready},
		{Name: "notify", Run: Notify, Ready: ready},
		{Name: "two", Run: two(true), Ready: ready},
	}}
}
