package benchmarks

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
)

// The same work is given to both libraries: these run functions, with the
// signature func(context.Context) error that both accept.

var errFail = errors.New("benchmarks: fail")

// crashLoop fails n times at once, then closes reached and waits for
// cancellation: run under a supervisor, that is n restarts.
type crashLoop struct {
	n       int64
	calls   atomic.Int64
	reached chan struct{}
}

func newCrashLoop(n int) *crashLoop {
	return &crashLoop{n: int64(n), reached: make(chan struct{})}
}

func (c *crashLoop) run(ctx context.Context) error {
	if c.calls.Add(1) <= c.n {
		return errFail
	}
	close(c.reached)
	<-ctx.Done()
	return nil
}

// idle counts its starts, closes all when the n-th has started, and waits
// for cancellation: an idle child.
type idle struct {
	n       int64
	started atomic.Int64
	all     chan struct{}
}

func newIdle(n int) *idle {
	return &idle{n: int64(n), all: make(chan struct{})}
}

func (w *idle) run(ctx context.Context) error {
	if w.started.Add(1) == w.n {
		close(w.all)
	}
	<-ctx.Done()
	return nil
}

// childName names the i-th child of a flat tree, the same in both libraries.
func childName(i int) string { return "c" + strconv.Itoa(i) }
