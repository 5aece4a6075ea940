// Package timeout holds run functions of children with a timeout: a
// service waits until its context ends, so each attempt runs into the
// deadline and fails.
package timeout

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "service", Run: runtime.Func(Service), Timeout: time.Minute},
		{Name: "server", Run: Server, Timeout: time.Minute, Ready: &runtime.Ready{Timeout: time.Second}},
		{Name: "once", Run: runtime.Func(Once), Timeout: time.Minute, Restart: runtime.Transient},

		{Name: "job", Run: runtime.Func(Job), Timeout: time.Minute},
		{Name: "derived", Run: runtime.Func(Derived), Timeout: time.Minute},
		{Name: "no-timeout", Run: runtime.Func(Service)},
		{Name: "deaf", Run: runtime.Func(Deaf), Timeout: time.Minute},
	},
}

func Service(ctx context.Context) error {
	<-ctx.Done() // want `service: the child has a timeout, but Service ends only when its context does \(<-ctx.Done\(\)\): every attempt runs until its deadline and fails; a timeout bounds one attempt of a job: leave it out for a service \(ready bounds its start\) \(timeout\)`
	return nil
}

// Once is one-shot, and still ends only at its deadline.
func Once(ctx context.Context) error {
	<-ctx.Done() // want `once: the child has a timeout, but Once ends only when its context does`
	return ctx.Err()
}

func Server(ctx context.Context, a *runtime.Attempt) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{}
	go func() { <-ctx.Done(); srv.Close() }()
	a.Ready()
	return srv.Serve(ln) // want `server: the child has a timeout, but Server ends only when its context does`
}

// Job does its work and returns: the timeout bounds it.
func Job(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
		return nil
	}
}

// Derived waits on a context of its own that ends first.
func Derived(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	<-sctx.Done()
	return nil
}

// Deaf never looks at its context: it does not end when the context does,
// nor at all. That is what ctxunused says; the timeout check, which would
// say it ends only when its context does, says nothing.
func Deaf(ctx context.Context) error { // want `deaf: Deaf never uses its context, yet it waits in a loop`
	for {
		time.Sleep(time.Second)
	}
}
