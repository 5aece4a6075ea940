// Package ctxloop holds run functions with loops that never end and never
// look at the context.
package ctxloop

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"lintdata/ctxloop/logs"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "poll", Run: runtime.Func(Poll)},
		{Name: "helper", Run: runtime.Func(Helper)},
		{Name: "tick", Run: runtime.Func(Tick)},
		{Name: "select", Run: runtime.Func(Select)},
		{Name: "label", Run: runtime.Func(Label)},
		{Name: "goto-own", Run: runtime.Func(GotoOwn)},
		{Name: "break-done", Run: runtime.Func(BreakDone)},
		{Name: "forgot", Run: runtime.Func(Forgot)},
		{Name: "err-no-return", Run: runtime.Func(ErrNoReturn)},
		{Name: "derived", Run: runtime.Func(Derived)},
		{Name: "takes", Run: runtime.Func(Takes)},
		{Name: "tick-var", Run: runtime.Func(TickVar)},
		{Name: "ticks", Run: runtime.Func(Ticks)},
		{Name: "stored", Run: (&Stored{}).Run},
		{Name: "blocks", Run: runtime.Func(Blocks)},
		{Name: "break-switch", Run: runtime.Func(BreakSwitch)},
		{Name: "listens", Run: runtime.Func(Listens)},
		{Name: "listens-helper", Run: runtime.Func(ListensHelper)},

		{Name: "accept", Run: runtime.Func(Accept)},
		{Name: "debug-server", Run: runtime.Func(DebugServer)},
		{Name: "shuts-down", Run: runtime.Func(ShutsDown)},
		{Name: "done", Run: runtime.Func(Done)},
		{Name: "goroutine", Run: runtime.Func(Goroutine)},
		{Name: "breaks", Run: runtime.Func(Breaks)},
		{Name: "panics", Run: runtime.Func(Panics)},
		{Name: "cond", Run: runtime.Func(Cond)},
		{Name: "dies", Run: runtime.Func(Dies)},
		{Name: "logger", Run: runtime.Func(Logger)},
		{Name: "syscall", Run: runtime.Func(Syscall)},
		{Name: "must", Run: runtime.Func(Must)},
		{Name: "must-done", Run: runtime.Func(MustDone)},
	},
}

var (
	jobs    = make(chan int)
	stopped atomic.Bool
)

func work()                             {}
func connect(ctx context.Context) error { return ctx.Err() }
func step(ctx context.Context) error    { return ctx.Err() }

func Poll(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	for { // want `poll: this loop never ends and never looks at the context: cancellation cannot stop Poll, so at every shutdown and restart it is abandoned after its grace \(ctxloop\)`
		work()
		time.Sleep(time.Second)
	}
}

// Helper loops in a function it calls.
func Helper(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	return loop()
}

func loop() error {
	for { // want `helper: this loop never ends`
		work()
	}
}

func Tick(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	for range time.Tick(time.Second) { // want `tick: this loop never ends`
		work()
	}
	return nil
}

// Select breaks out of its select, not of its loop.
func Select(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	t := time.NewTicker(time.Second)
	for { // want `select: this loop never ends`
		select {
		case <-jobs:
			work()
		case <-t.C:
			break
		}
	}
}

// Label continues its own loop from an inner one.
func Label(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
outer:
	for { // want `label: this loop never ends`
		for i := 0; i < 3; i++ {
			if i == 1 {
				continue outer
			}
		}
	}
}

// GotoOwn jumps back to its own loop's label: that starts the loop
// again, it does not leave it.
func GotoOwn(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
again:
	for { // want `goto-own: this loop never ends`
		if stopped.Load() {
			goto again
		}
		work()
	}
}

// Blocks hands its context to a goroutine and waits for ever itself.
func Blocks(ctx context.Context) error {
	go func() { _ = connect(ctx) }()
	select {} // want `blocks: select {} never ends: cancellation cannot stop Blocks, so at every shutdown and restart it is abandoned after its grace; wait for <-ctx.Done\(\) and return \(ctxloop\)`
}

// BreakDone breaks out of its select on cancellation, not out of its loop:
// once the context is done, it spins.
func BreakDone(ctx context.Context) error {
	for { // want `break-done: this loop watches the context, but nothing leaves it: once the context is done it spins \(a break in a select leaves only the select\), and cancellation cannot stop BreakDone, so at every shutdown and restart it is abandoned after its grace \(ctxloop\)`
		select {
		case <-ctx.Done():
			break
		case <-jobs:
			work()
		}
	}
}

// Listens uses its context for the requests, but serves with
// http.ListenAndServe, whose server nothing can shut down.
func Listens(ctx context.Context) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = connect(ctx)
	})
	return http.ListenAndServe("localhost:0", h) // want `listens: http.ListenAndServe serves with a server of its own, which nothing can shut down: it never returns, cancellation cannot stop Listens, and at every shutdown and restart it is abandoned after its grace; make an http.Server, and call its Shutdown once the context is done \(ctxloop\)`
}

// ListensHelper does so in a helper.
func ListensHelper(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	return listen()
}

func listen() error {
	return http.ListenAndServeTLS("localhost:0", "cert", "key", nil) // want `listens-helper: http.ListenAndServeTLS serves with a server of its own`
}

// BreakSwitch breaks out of its switch on cancellation, not out of its
// loop.
func BreakSwitch(ctx context.Context) error {
	for { // want `break-switch: this loop watches the context, but nothing leaves it: once the context is done it spins \(a break in a switch leaves only the switch\), and`
		switch {
		case ctx.Err() != nil:
			break
		}
		work()
	}
}

// Forgot logs the cancellation and forgets to return.
func Forgot(ctx context.Context) error {
	for { // want `forgot: this loop watches the context, but nothing leaves it: once the context is done it spins, and cancellation`
		select {
		case <-ctx.Done():
			log.Print("stopping")
		case <-jobs:
		}
	}
}

func ErrNoReturn(ctx context.Context) error {
	for { // want `err-no-return: this loop watches the context, but nothing leaves it`
		if ctx.Err() != nil {
			log.Print("stopping")
		}
		work()
	}
}

// Derived waits for a context of its own in each round: once the
// attempt's is done, each round ends at once.
func Derived(ctx context.Context) error {
	for { // want `derived: this loop watches the context, but nothing leaves it`
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		<-rctx.Done()
		cancel()
	}
}

// Takes hands the context to a function in each round, but nothing leaves
// the loop: once the context is done, each round ends at once.
func Takes(ctx context.Context) error {
	for { // want `takes: this loop never ends: nothing leaves it \(no return, break or panic\), so once the context is done it goes on, and cancellation cannot stop Takes, so at every shutdown and restart it is abandoned after its grace \(ctxloop\)`
		step(ctx)
	}
}

// TickVar ranges over a ticker's channel held in a variable.
func TickVar(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	ticks := time.Tick(time.Second)
	for range ticks { // want `tick-var: this loop never ends and never looks at the context`
		work()
	}
	return nil
}

// Ticks polls with the context on each tick.
func Ticks(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range t.C { // want `ticks: this loop never ends: nothing leaves it`
		if err := step(ctx); err != nil {
			log.Print(err)
		}
	}
	return nil
}

// Stored looks at a context it keeps.
type Stored struct{ ctx context.Context }

func (s *Stored) Run(ctx context.Context, a *runtime.Attempt) error {
	s.ctx = ctx
	for { // want `stored: this loop never ends: nothing leaves it`
		s.step()
	}
}

func (s *Stored) step() { <-s.ctx.Done() }

// Silent from here on.

// Accept is an accept loop closed by context.AfterFunc: it ends on the
// listener's error.
func Accept(ctx context.Context) error {
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		c.Close()
	}
}

func Done(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-jobs:
			work()
		}
	}
}

// DebugServer's http.ListenAndServe is on a goroutine of its own (a
// debug server for the whole process, say): not the run function's.
func DebugServer(ctx context.Context) error {
	go func() { _ = http.ListenAndServe("localhost:0", nil) }()
	<-ctx.Done()
	return nil
}

// ShutsDown serves with a server it shuts down.
func ShutsDown(ctx context.Context) error {
	srv := &http.Server{Addr: "localhost:0"}
	context.AfterFunc(ctx, func() { _ = srv.Shutdown(context.Background()) })
	return srv.ListenAndServe()
}

// Goroutine's loop is not on the run function's goroutine: not ctxloop's
// business, but escape's.
func Goroutine(ctx context.Context) error {
	go func() { // want `goroutine: this goroutine never returns: .* \(escape\)`
		for {
			work()
		}
	}()
	<-ctx.Done()
	return nil
}

func Breaks(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
outer:
	for {
		for {
			if stopped.Load() {
				break outer
			}
		}
	}
	for {
		if stopped.Load() {
			break
		}
	}
	return nil
}

func Panics(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	for {
		if stopped.Load() {
			panic("stopped")
		}
	}
}

func die(msg string) {
	log.Print(msg)
	os.Exit(1)
}

// Dies leaves its loop by a function that ends the process.
//
//arbor:nolint exit -- on purpose, for ctxloop
func Dies(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	for {
		if stopped.Load() {
			die("stopped")
		}
	}
}

// Syscall leaves its loop by syscall.Exit, which ends the process.
//
//arbor:nolint exit -- on purpose, for ctxloop
func Syscall(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	for {
		if stopped.Load() {
			syscall.Exit(1)
		}
	}
}

// Logger leaves its loop by the Fatal of another package's logger.
//
//arbor:nolint exit -- on purpose, for ctxloop
func Logger(ctx context.Context) error {
	var l logs.Logger
	for {
		select {
		case <-ctx.Done():
			l.Fatal("stopped")
		case <-jobs:
		}
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Must panics in a helper once the context is done.
func Must(ctx context.Context) error {
	for {
		must(step(ctx))
	}
}

// MustDone panics in a helper once the context is done.
func MustDone(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			must(ctx.Err())
		case <-jobs:
		}
	}
}

func Cond(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		return err
	}
	for !stopped.Load() {
		work()
	}
	return nil
}
