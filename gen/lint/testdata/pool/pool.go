// Package pool holds the run functions of pools: arbor_gen.go starts each
// instance with a function literal that calls the pool's run function, and
// a hand-written program passes its own to Pool.Start.
package pool

import (
	"context"
	"net"

	"github.com/arbor-go/arbor/runtime"
)

type Job struct{ ID int }

func work() {}

// Spin is the run function of the pool spin, which never looks at its
// context.
func Spin(ctx context.Context, j Job) error { // want `Spin never uses its context, yet it waits in a loop`
	for {
		work()
	}
}

// Handle is the run function of the pool conns.
func Handle(ctx context.Context, a *runtime.Attempt, c net.Conn) error {
	go func() { // want `this goroutine uses the attempt and never returns`
		for {
			a.Beat()
		}
	}()
	<-ctx.Done()
	return c.Close()
}

// Serve starts an instance per connection.
func Serve(ctx context.Context, p *runtime.Pool, ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		p.Start("", func(ctx context.Context, a *runtime.Attempt) error { // want `the function literal never uses its context, yet it waits in a loop`
			for {
				work()
			}
		})
		_ = c
	}
}

// Silent from here on.

// Fine is the run function of the pool fine.
func Fine(ctx context.Context, a *runtime.Attempt, j Job) error {
	a.Ready()
	<-ctx.Done()
	return nil
}
