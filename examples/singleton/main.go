// Command singleton is a service run as several replicas against one etcd:
// every replica serves, and exactly one runs the scheduler, whose writes a
// ledger in etcd accepts only with the latest fencing token.
//
//	go run ./cmd/etcd                 # an etcd server at 127.0.0.1:2379
//	go run . -name a                  # in a second terminal
//	go run . -name b -console 127.0.0.1:8091  # in a third; arbor ctl -addr http://127.0.0.1:8091 status
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

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
	"github.com/arbor-go/arbor/runtime/exit"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

func main() {
	host, _ := os.Hostname()
	addr := flag.String("etcd", "127.0.0.1:2379", "the etcd server")
	name := flag.String("name", fmt.Sprintf("%s-%d", host, os.Getpid()), "this replica's name")
	tick := flag.Duration("tick", time.Second, "how often the scheduler writes to the ledger")
	consoleAddr := flag.String("console", "", "serve the console (and arbor ctl) at this address, such as 127.0.0.1:8091")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C ends the process at once
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		exit.With(err)
	}
	defer cli.Close()

	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // shorter lines for the terminal
			}
			return a
		},
	}))
	app := &Replica{name: *name, tick: *tick, ledger: &Ledger{cli: cli, key: "app/ledger"}}
	tree := NewApp(app,
		runtime.WithLeaser(etcd.New(cli, etcd.WithValue(*name))),
		runtime.WithLogger(log.With("replica", *name)))
	if *consoleAddr != "" {
		srv, err := console.Listen(ctx, *consoleAddr, tree.Tree())
		if err != nil {
			exit.With(err)
		}
		defer srv.Close()
		log.Info("console at " + srv.URL)
	}
	exit.With(tree.Run(ctx))
}
