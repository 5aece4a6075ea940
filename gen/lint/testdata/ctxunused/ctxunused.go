// Package ctxunused holds run functions that never use their context.
package ctxunused

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "spin", Run: runtime.Func(Spin)},
		{Name: "serve", Run: runtime.Func(Serve)},
		{Name: "unnamed", Run: runtime.Func(Unnamed)},
		{Name: "worker", Run: (&Worker{}).Run, Ready: &runtime.Ready{}},
		{Name: "pass", Run: runtime.Func(Pass)},
		{Name: "job", Run: runtime.Func(Job), Timeout: time.Minute},
		{Name: "accept", Run: runtime.Func(Accept)},
		{Name: "group", Run: runtime.Func(Group)},
		{Name: "literal", Run: func(ctx context.Context, a *runtime.Attempt) error { // want `literal: the function literal never uses its context, yet it waits in a loop`
			for {
				work()
			}
		}},

		{Name: "quick", Run: runtime.Func(Quick)},
		{Name: "watches", Run: runtime.Func(Watches)},
		{Name: "closes", Run: runtime.Func(Closes)},
		{Name: "helper", Run: runtime.Func(Helper)},
		{Name: "naps", Run: runtime.Func(Naps)},
		{Name: "polls", Run: runtime.Func(Polls)},
		{Name: "awaits", Run: runtime.Func(Awaits)},
		{Name: "await-loop", Run: runtime.Func(AwaitLoop)},
		{Name: "counts", Run: runtime.Func(Counts)},
		{Name: "job-ok", Run: runtime.Func(JobOK), Timeout: time.Minute},
		{Name: "parse", Run: runtime.Func(Parse)},
		{Name: "zero-timeout", Run: runtime.Func(Quick), Timeout: 0},
	},
}

var jobs = make(chan int)

func work() {}

func Spin(ctx context.Context) error { // want `spin: Spin never uses its context, yet it waits in a loop: cancellation cannot stop it, so at every shutdown and restart it is abandoned after its grace \(ctxunused\)$`
	for {
		work()
	}
}

func Serve(_ context.Context) error { // want `serve: Serve never uses its context, yet it waits in http.ListenAndServe\(...\)`
	return http.ListenAndServe("localhost:0", nil)
}

func Unnamed(context.Context) error { // want `unnamed: Unnamed never uses its context, yet it waits in <-jobs`
	<-jobs
	return nil
}

type Worker struct{ jobs chan int }

// Run waits in a method it calls.
func (w *Worker) Run(ctx context.Context, a *runtime.Attempt) error { // want `worker: \(\*Worker\).Run never uses its context, yet it waits in a loop`
	a.Ready()
	return w.loop()
}

func (w *Worker) loop() error {
	for range w.jobs {
		work()
	}
	return nil
}

// Pass hands its context to a helper that ignores it.
func Pass(ctx context.Context) error { // want `pass: Pass never uses its context, yet it waits in select {}`
	return ignore(ctx)
}

func ignore(_ context.Context) error {
	select {}
}

func Job(ctx context.Context) error { // want `job: Job never uses its context, so the child's timeout, which cancels that context, cannot stop it`
	return compute()
}

func compute() error { return nil }

func Accept(ctx context.Context) error { // want `accept: Accept never uses its context, yet it waits in ln.Accept\(...\)`
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		c.Close()
	}
}

func Group(ctx context.Context) error { // want `group: Group never uses its context, yet it waits in wg.Wait\(...\)`
	var wg sync.WaitGroup
	wg.Go(work)
	wg.Wait()
	return nil
}

// Silent from here on.

func Quick(ctx context.Context) error { return nil }

func Watches(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Closes uses its context only in a goroutine that stops the server.
func Closes(ctx context.Context) error {
	srv := &http.Server{}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return srv.ListenAndServe()
}

func Helper(ctx context.Context) error { return wait(ctx) }

func wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// Naps only waits on the time package, which ends by itself.
func Naps(ctx context.Context) error {
	time.Sleep(10 * time.Millisecond)
	<-time.After(10 * time.Millisecond)
	t := time.NewTimer(time.Millisecond)
	<-t.C
	return nil
}

// Polls never waits: its select has a default.
func Polls(ctx context.Context) error {
	select {
	case j := <-jobs:
		_ = j
	default:
	}
	return nil
}

// Awaits waits at most a second: its select has a case from the time
// package, which ends by itself.
func Awaits(ctx context.Context) error {
	select {
	case j := <-jobs:
		_ = j
	case <-time.After(time.Second):
	}
	return nil
}

// AwaitLoop waits in the same select again and again.
func AwaitLoop(ctx context.Context) error { // want `await-loop: AwaitLoop never uses its context, yet it waits in a loop`
	for {
		select {
		case j := <-jobs:
			_ = j
		case <-time.After(time.Second):
		}
	}
}

func Counts(ctx context.Context) error {
	for i := 0; i < 3; i++ {
		work()
	}
	for range 3 {
		work()
	}
	return nil
}

func JobOK(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return compute()
}

// Parse loops until its input ends: a loop with an exit and nothing that
// waits in it.
func Parse(ctx context.Context) error {
	r := bufio.NewReader(strings.NewReader("a\nb\n"))
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break
		}
		_ = line
	}
	return nil
}

// NotRun is named by no child and cannot report: it is not checked.
func NotRun(ctx context.Context) error {
	for {
		work()
	}
}
