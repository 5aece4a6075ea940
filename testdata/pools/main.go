// Command pools starts instances of each pool of its tree with typed
// arguments, checks the cap and the name errors, and stops.
package main

//go:generate go tool arbor gen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/testdata/pools/work"
)

// net is a name of the package's own: the generated file imports the
// package net under another name.
var net = "net"

// out carries what the instances report, so that main prints it in order.
var out = make(chan string, 16)

// report sends s to main, unless the instance is cancelled first.
func report(ctx context.Context, s string) {
	select {
	case out <- s:
	case <-ctx.Done():
	}
}

// Listen is the static child the pool of connections waits for.
func Listen(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	<-ctx.Done()
	return nil
}

// Handler serves connections.
type Handler struct{ Prefix string }

// Serve answers each line of conn with it in capitals, until conn or ctx
// is closed.
func (h *Handler) Serve(ctx context.Context, a *runtime.Attempt, conn stdnet.Conn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewScanner(conn)
	for r.Scan() {
		a.Beat()
		fmt.Fprintf(conn, "%s%s\n", h.Prefix, strings.ToUpper(r.Text()))
	}
	return nil
}

// Idle waits until cancelled: an instance of the benchmarks.
func (h *Handler) Idle(ctx context.Context, a *runtime.Attempt, n int) error {
	<-ctx.Done()
	return nil
}

// Job is a struct argument.
type Job struct{ Name string }

// RunJob reports the job.
func RunJob(ctx context.Context, j Job) error {
	report(ctx, "job "+j.Name)
	return nil
}

// Counter is a pointer argument.
type Counter struct{ N int }

// Count counts.
func Count(ctx context.Context, c *Counter) error {
	c.N++
	report(ctx, fmt.Sprint("counted ", c.N))
	return nil
}

// Batch takes a composite argument.
func Batch(ctx context.Context, a *runtime.Attempt, items map[string][]int) error {
	report(ctx, fmt.Sprint("batch ", items))
	return nil
}

// Shard is a value receiver in a nested supervisor.
type Shard struct{ Region string }

// Run reports the shard, and serves it until cancelled.
func (s Shard) Run(ctx context.Context, n int) error {
	report(ctx, fmt.Sprintf("shard %s-%d", s.Region, n))
	<-ctx.Done()
	return nil
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	srv := NewServer(&Handler{Prefix: "> "}, Shard{Region: "eu"})
	_, err := srv.Jobs().Start(Job{Name: "early"})
	fmt.Println("before Run:", errors.Is(err, runtime.ErrNotRunning))
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	<-srv.Tree().Ready()

	// Connections: a pipe per connection, echoed by an instance.
	var clients []stdnet.Conn
	for i := range 2 {
		client, server := stdnet.Pipe()
		clients = append(clients, client)
		h, err := srv.Conns().Start(server)
		if err != nil {
			fmt.Println("start conn:", err)
			return
		}
		fmt.Fprintf(client, "hello %d\n", i)
		reply, _ := bufio.NewReader(client).ReadString('\n')
		fmt.Printf("conn %d (%t): %s", i, strings.HasPrefix(h.Path(), "server/conns/"), reply)
	}
	_, server := stdnet.Pipe()
	_, err = srv.Conns().Start(server)
	fmt.Println("third conn is refused:", errors.Is(err, runtime.ErrPoolFull), "live:", srv.Conns().Pool().Len())

	// Named instances.
	if _, err := srv.Jobs().StartNamed("build", Job{Name: "build"}); err != nil {
		fmt.Println("start job:", err)
	}
	fmt.Println(<-out)

	c := &Counter{}
	srv.Counters().Start(c)
	fmt.Println(<-out)
	srv.Tasks().Start(work.Task{ID: 7, Out: out})
	fmt.Println(<-out)
	srv.Redo().Start(&work.Task{ID: 8, Out: out})
	fmt.Println(<-out)
	srv.Batches().Start(map[string][]int{"a": {1, 2}})
	fmt.Println(<-out)
	shards := srv.Tenants().Shards()
	h, _ := shards.StartNamed("s1", 1)
	fmt.Println(<-out, "at", h.Path())
	_, err = shards.StartNamed("s1", 2)
	fmt.Println("s1 again:", errors.Is(err, runtime.ErrNameTaken), "live:", shards.Pool().Len())

	cancel()
	fmt.Println("run:", <-done)
	for _, c := range clients {
		c.Close()
	}
}
