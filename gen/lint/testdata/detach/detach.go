// Package detach holds run functions that start their work in a
// goroutine and return.
package detach

import (
	"context"
	"log"
	"net/http"

	"github.com/arbor-go/arbor/runtime"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "serve", Run: runtime.Func(Serve)},
		{Name: "logs", Run: (&Worker{}).Run, Ready: &runtime.Ready{}},

		{Name: "closer", Run: runtime.Func(Closer)},
		{Name: "waits", Run: runtime.Func(Waits)},
		{Name: "nested", Run: runtime.Func(Nested)},
		{Name: "computes", Run: runtime.Func(Computes)},
	},
}

func Serve(ctx context.Context) error {
	srv := &http.Server{}
	context.AfterFunc(ctx, func() { srv.Close() })
	go srv.ListenAndServe() // want `serve: Serve starts a goroutine and returns at once: the supervisor sees the child end while the goroutine runs on unsupervised, neither stopped at shutdown nor restarted when it fails; do the work in Serve, or wait for it \(detach\)`
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
