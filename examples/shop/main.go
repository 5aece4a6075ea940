// Shop is a realistic service supervised by Arbor: a store that warms up, an
// API that waits for it and serves Kubernetes probes, an ingest pipeline under
// rest_for_one, a worker watched by heartbeats, and a one-shot migration in a
// nested supervisor. It prints a timeline of what the tree does and stops
// after -for (or on Ctrl-C). Its operator's console (runtime/console) is on
// -console, with the token in $ARBOR_TOKEN or a new one; it prints both at
// start, for a browser and for arbor ctl.
package main

//go:generate go tool arbor gen

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
	"github.com/arbor-go/arbor/runtime/exit"
	"github.com/arbor-go/arbor/runtime/systemd"
)

func main() {
	runFor := flag.Duration("for", 8*time.Second, "stop after this long; 0 waits for a signal")
	consoleAddr := flag.String("console", "127.0.0.1:0", "where to serve the console (0: a free port; a host other than 127.0.0.1 serves beyond this machine)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C ends the process at once
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}

	api := &API{Addr: "127.0.0.1:0"}
	shop := NewShop(&Store{}, api, &Pipeline{}, &Worker{}, runtime.WithObserver(timeline(time.Now())))
	api.Tree = shop.Tree()

	// The console lives beside the tree, not in it: it outlives every
	// child's restart, and tells its clients when the tree has stopped.
	token := os.Getenv("ARBOR_TOKEN")
	if token == "" {
		token = rand.Text()
	}
	srv, err := console.Listen(context.Background(), *consoleAddr, shop.Tree(), console.WithToken(token))
	if err != nil {
		exit.With(err)
	}
	defer srv.Close()
	fmt.Printf("console: %s (token %s)\n", srv.URL, token)
	fmt.Printf("         export ARBOR_ADDR=%s ARBOR_TOKEN=%s; go tool arbor ctl status\n\n", srv.URL, token)

	// Under systemd (Type=notify) this reports READY=1, watchdog pings and
	// status lines; elsewhere it just runs the tree.
	err = systemd.Run(ctx, shop)
	report(shop.Tree())
	srv.Close()
	exit.With(err) // a tree that gave up exits non-zero, for the next supervisor up
}

// timeline prints the events worth reading.
func timeline(start time.Time) func(runtime.Event) {
	return func(e runtime.Event) {
		var what string
		switch e.Kind {
		case runtime.EventStarting:
			what = fmt.Sprintf("started (generation %d)", e.Generation)
		case runtime.EventReady:
			what = "ready"
		case runtime.EventWaiting:
			what = "waiting for " + strings.Join(e.Waiting, ", ")
		case runtime.EventExited:
			what = fmt.Sprintf("exited: %s", e.Exit)
			if e.Err != nil {
				what += fmt.Sprintf(" (%v)", e.Err)
			}
		case runtime.EventRestartScheduled:
			what = fmt.Sprintf("restarts in %v", e.Delay.Round(time.Millisecond))
		case runtime.EventStopped:
			what = "stopped"
		case runtime.EventAbandoned:
			what = fmt.Sprintf("abandoned after %v", e.Delay)
		case runtime.EventShuttingDown:
			what = "shutting down"
			if e.Err != nil {
				what += ": " + e.Err.Error()
			}
		case runtime.EventGaveUp:
			what = "gave up: " + e.Err.Error()
		case runtime.EventOrder:
			what = "ordered to " + e.Order.String()
			if e.From != "" {
				what += " by " + e.From
			}
		default:
			return
		}
		fmt.Printf("%5.2fs  %-22s %s\n", time.Since(start).Seconds(), e.Path, what)
	}
}

// report prints the final state of every child.
func report(t *runtime.Tree) {
	fmt.Println()
	fmt.Println("final state:")
	for _, c := range t.Snapshot().Children {
		fmt.Printf("  %-22s %-8s generation=%d restarts=%d last=%s\n", c.Path, c.State, c.Generation, c.Restarts, c.LastExit)
	}
	if r := t.ShutdownReport(); !r.Clean() {
		fmt.Println("abandoned:", r.Abandoned)
	}
}
