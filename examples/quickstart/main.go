// Quickstart runs a small supervision tree declared in quickstart.cue: a
// store that warms up, an HTTP API that starts once the store is ready, and a
// worker that crashes now and then. It prints the tree's timeline and stops
// cleanly on Ctrl-C (or SIGTERM) or after -for.
package main

//go:generate go tool arbor gen

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/exit"
)

func main() {
	runFor := flag.Duration("for", 6*time.Second, "stop after this long; 0 waits for Ctrl-C")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C ends the process at once
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}

	start := time.Now()
	timeline := func(e runtime.Event) {
		fmt.Printf("%6.2fs  %s\n", time.Since(start).Seconds(), e)
	}
	store := &Store{}
	tree := NewQuickstart(store, &API{Addr: "127.0.0.1:0", Store: store}, runtime.WithObserver(timeline))
	err := tree.Run(ctx)
	for _, c := range tree.Tree().Snapshot().Children {
		fmt.Printf("%-20s %-8s restarts=%d last=%s\n", c.Path, c.State, c.Restarts, c.LastExit)
	}
	// Exit 0 after a clean stop; if the tree gave up, print why and exit 1,
	// so that the process's own supervisor (systemd, Kubernetes) restarts it.
	exit.With(err)
}
