// Echo is a TCP echo server declared in echo.cue: a listener, and a pool
// that serves each connection in an instance of its own, started with the
// connection as its typed argument (EchoConns.Start(net.Conn)). Try it
// with nc:
//
//	go run ./examples/echo
//	nc 127.0.0.1 7007
//
// Ctrl-C (or SIGTERM) stops it cleanly, open connections and all: the
// listener stops accepting, then the pool cancels every connection at once
// and each one closes its socket.
package main

//go:generate go tool arbor gen

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/exit"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7007", "address to listen on")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C ends the process at once

	// Logs what the tree does at Info: readiness, each connection's end,
	// failures and the shutdown.
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv := &Server{Addr: *addr, Tick: time.Second}
	tree := NewEcho(srv, runtime.WithLogger(log))
	srv.conns = tree.Conns()

	err := tree.Run(ctx)
	report := tree.Tree().ShutdownReport()
	fmt.Printf("echo: stopped after %d connections; clean shutdown: %t\n", srv.served.Load(), report.Clean())
	exit.With(err)
}
