// Package detach holds run functions that start their work in a
// goroutine and return.
package detach

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"sync"

	"github.com/arbor-go/arbor/runtime"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "serve", Run: runtime.Func(Serve)},
		{Name: "logs", Run: (&Worker{}).Run, Ready: &runtime.Ready{}},
		{Name: "cancels", Run: runtime.Func(Cancels)},
		{Name: "returns-err", Run: runtime.Func(ReturnsErr)},
		{Name: "forever", Run: runtime.Func(Forever)},

		{Name: "closer", Run: runtime.Func(Closer)},
		{Name: "waits", Run: runtime.Func(Waits)},
		{Name: "nested", Run: runtime.Func(Nested)},
		{Name: "computes", Run: runtime.Func(Computes)},
		{Name: "receives", Run: runtime.Func(Receives)},
		{Name: "defer-wait", Run: runtime.Func(DeferWait)},
		{Name: "starts", Run: Starts, Ready: &runtime.Ready{}},
	},
}

func Serve(ctx context.Context) error {
	srv := &http.Server{}
	context.AfterFunc(ctx, func() { srv.Close() })
	go srv.ListenAndServe() // want `serve: Serve starts a goroutine and returns at once: the supervisor sees the child end while the goroutine runs on unsupervised, neither stopped at shutdown nor restarted when it fails; do the work in Serve, or wait for it \(detach\)`
	return nil
}

// Forever's goroutine never returns either: detach says it all, and
// escape, which would say so, stays silent.
func Forever(ctx context.Context) error {
	go func() { // want `forever: Forever starts a goroutine and returns at once`
		for {
			fmt.Println("tick")
		}
	}()
	return nil
}

type Worker struct{}

func (w *Worker) Run(ctx context.Context, a *runtime.Attempt) error {
	go w.loop(ctx) // want `logs: \(\*Worker\).Run starts a goroutine and returns at once`
	a.Ready()
	log.Print("worker started")
	a.Logger().Info("started")
	return nil
}

func (w *Worker) loop(ctx context.Context) { <-ctx.Done() }

// Cancels defers only a cancel, which does not wait for the goroutine.
func Cancels(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go (&Worker{}).loop(ctx) // want `cancels: Cancels starts a goroutine and returns at once`
	return nil
}

// ReturnsErr returns the context's error, which does not wait.
func ReturnsErr(ctx context.Context) error {
	go (&Worker{}).loop(ctx) // want `returns-err: ReturnsErr starts a goroutine and returns at once`
	return fmt.Errorf("started: %w", ctx.Err())
}

// Spawn is called by its tests only: it is still checked on its own.
func Spawn(ctx context.Context, a *runtime.Attempt) error {
	go (&Worker{}).loop(ctx) // want `Spawn starts a goroutine and returns at once`
	return nil
}

// Silent from here on.

func Closer(ctx context.Context) error {
	srv := &http.Server{}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return srv.ListenAndServe()
}

func Waits(ctx context.Context) error {
	go func() {}()
	<-ctx.Done()
	return nil
}

func Nested(ctx context.Context) error {
	if ctx.Err() == nil {
		go func() {}()
		return nil
	}
	return ctx.Err()
}

func Computes(ctx context.Context) error {
	go func() {}()
	return result(ctx)
}

func result(ctx context.Context) error { <-ctx.Done(); return nil }

// Receives waits for the goroutine's error: return <-errc is no return at
// once.
func Receives(ctx context.Context) error {
	srv := &http.Server{}
	context.AfterFunc(ctx, func() { srv.Close() })
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	return <-errc
}

// DeferWait waits for its goroutine in a deferred call.
func DeferWait(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
	}()
	return nil
}

// Starts starts its pumps in a helper, then waits.
func Starts(ctx context.Context, a *runtime.Attempt) error {
	if err := start(ctx, a, 4); err != nil {
		return err
	}
	a.Ready()
	<-ctx.Done()
	return nil
}

// start has the signature of a run function, but it is a helper that the
// package calls: it is checked as part of its callers, not on its own.
func start(ctx context.Context, a *runtime.Attempt, n int) error {
	go (&Worker{}).loop(ctx)
	return nil
}
