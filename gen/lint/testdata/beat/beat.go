// Package beat holds run functions of children with heartbeat.
package beat

import (
	"context"
	"net/http"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var hb = &runtime.Heartbeat{Timeout: time.Second}

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "never", Run: Never, Heartbeat: hb},
		{Name: "nil-checked", Run: NilChecked, Heartbeat: hb},
		{Name: "func", Run: runtime.Func(Plain), Heartbeat: hb},
		{Name: "once", Run: Once, Heartbeat: hb},
		{Name: "warmup", Run: Warmup, Heartbeat: hb},
		{Name: "serve", Run: Serve, Heartbeat: hb},
		{Name: "jobs", Run: Jobs, Heartbeat: hb},

		{Name: "ticker", Run: Ticker, Heartbeat: hb},
		{Name: "helper", Run: Helper, Heartbeat: hb},
		{Name: "goroutine", Run: Goroutine, Heartbeat: hb},
		{Name: "value", Run: Value, Heartbeat: hb},
		{Name: "handler", Run: Handler, Heartbeat: hb},
		{Name: "short", Run: Short, Heartbeat: hb},
		{Name: "no-heartbeat", Run: Never},
		{Name: "select-case", Run: SelectCase, Heartbeat: hb},
		{Name: "only-done", Run: OnlyDone, Heartbeat: hb},
		{Name: "batch", Run: Batch, Heartbeat: hb},
		{Name: "goto", Run: Goto, Heartbeat: hb},
		{Name: "recursive", Run: Recursive, Heartbeat: hb},
		{Name: "mutual", Run: Mutual, Heartbeat: hb},
		{Name: "generic", Run: Generic[int], Heartbeat: hb},
		{Name: "generic-func", Run: runtime.Func(GenericPlain[string]), Heartbeat: hb},
		{Name: "warm-helper", Run: WarmHelper, Heartbeat: hb},
		{Name: "late-helper", Run: LateHelper, Heartbeat: hb},
	},
}

var jobs = make(chan int)

func work() {}

// NilChecked compares its attempt with nil: that hands it to no one.
func NilChecked(ctx context.Context, a *runtime.Attempt) error { // want `nil-checked: the child has heartbeat, but NilChecked never calls a.Beat\(\)`
	if a != nil {
		a.Ready()
	}
	<-ctx.Done()
	return nil
}

func Never(ctx context.Context, a *runtime.Attempt) error { // want `never: the child has heartbeat, but Never never calls a.Beat\(\): the watchdog cancels every attempt one heartbeat timeout after it starts \(beat\)`
	a.Ready()
	<-ctx.Done()
	return nil
}

func Plain(ctx context.Context) error { // want `func: the child has heartbeat, but Plain takes no \*runtime.Attempt`
	<-ctx.Done()
	return nil
}

func Once(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	<-ctx.Done() // want `once: Once calls a.Beat\(\) only outside <-ctx.Done\(\), which never beats: the watchdog cancels the attempt once it has waited here for one heartbeat timeout \(beat\)`
	return nil
}

// Warmup beats while it warms up, then serves jobs without beating.
func Warmup(ctx context.Context, a *runtime.Attempt) error {
	for range 3 {
		work()
		a.Beat()
	}
	for { // want `warmup: Warmup calls a.Beat\(\) only outside a loop`
		select {
		case <-ctx.Done():
			return nil
		case <-jobs:
			work()
		}
	}
}

func Serve(ctx context.Context, a *runtime.Attempt) error {
	srv := &http.Server{}
	context.AfterFunc(ctx, func() { srv.Close() })
	a.Beat()
	return srv.ListenAndServe() // want `serve: Serve calls a.Beat\(\) only outside srv.ListenAndServe\(...\)`
}

func Jobs(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	context.AfterFunc(ctx, func() { close(jobs) })
	for range jobs { // want `jobs: Jobs calls a.Beat\(\) only outside a loop`
		work()
	}
	return nil
}

// SelectCase checks for cancellation first: the wait that never beats
// is the receive after it, not the select's case.
func SelectCase(ctx context.Context, a *runtime.Attempt) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
	}
	a.Beat()
	<-ctx.Done() // want `select-case: SelectCase calls a.Beat\(\) only outside <-ctx.Done\(\), which never beats`
	return nil
}

func OnlyDone(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	select { // want `only-done: OnlyDone calls a.Beat\(\) only outside a select, which never beats`
	case <-ctx.Done():
	}
	return nil
}

// Generic is named instantiated: the child's heartbeat still applies.
func Generic[T any](ctx context.Context, a *runtime.Attempt) error { // want `generic: the child has heartbeat, but Generic never calls a.Beat\(\)`
	<-ctx.Done()
	return nil
}

func GenericPlain[T any](ctx context.Context) error { // want `generic-func: the child has heartbeat, but GenericPlain takes no \*runtime.Attempt`
	<-ctx.Done()
	return nil
}

// LateHelper beats once, then waits for its end in a helper.
func LateHelper(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	until(ctx)
	return nil
}

func until(ctx context.Context) {
	<-ctx.Done() // want `late-helper: LateHelper calls a.Beat\(\) only outside <-ctx.Done\(\)`
}

// Silent from here on.

// WarmHelper beats once, then waits a second in a helper, on a context of
// its own.
func WarmHelper(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	until(wctx)
	return nil
}

var items []int

// Batch beats before each send: a select that also waits for the
// context's end does not wait long without a beat.
func Batch(ctx context.Context, a *runtime.Attempt) error {
	for _, it := range items {
		a.Beat()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case jobs <- it:
		}
	}
	return nil
}

// Goto beats in a loop written with goto.
func Goto(ctx context.Context, a *runtime.Attempt) error {
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
again:
	a.Beat()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	goto again
}

// Recursive beats in a loop written as recursion.
func Recursive(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(300 * time.Millisecond):
	}
	return Recursive(ctx, a)
}

// Mutual beats in a loop written as mutual recursion.
func Mutual(ctx context.Context, a *runtime.Attempt) error { return ping(ctx, a) }

func ping(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(300 * time.Millisecond):
	}
	return pong(ctx, a)
}

func pong(ctx context.Context, a *runtime.Attempt) error {
	work()
	return ping(ctx, a)
}

func Ticker(ctx context.Context, a *runtime.Attempt) error {
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			a.Beat()
		}
	}
}

// Helper beats in a function it calls in its loop.
func Helper(ctx context.Context, a *runtime.Attempt) error {
	for {
		if err := step(ctx, a); err != nil {
			return err
		}
	}
}

func step(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	return ctx.Err()
}

// Goroutine beats from a goroutine that stops with the context.
func Goroutine(ctx context.Context, a *runtime.Attempt) error {
	go func() {
		t := time.NewTicker(300 * time.Millisecond)
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

// Value hands a.Beat to code the check cannot follow.
func Value(ctx context.Context, a *runtime.Attempt) error {
	beat := a.Beat
	return consume(ctx, beat)
}

func consume(ctx context.Context, beat func()) error {
	beat()
	<-ctx.Done()
	return nil
}

// Handler beats on each request.
func Handler(ctx context.Context, a *runtime.Attempt) error {
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { a.Beat() })}
	context.AfterFunc(ctx, func() { srv.Close() })
	return srv.ListenAndServe()
}

// Short beats once and returns.
func Short(ctx context.Context, a *runtime.Attempt) error {
	a.Beat()
	work()
	return ctx.Err()
}
