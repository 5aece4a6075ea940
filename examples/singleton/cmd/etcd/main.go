// Command etcd runs an etcd server for the singleton example, embedded, so
// that nothing needs installing: go run ./cmd/etcd, then Ctrl-C to stop it
// (its data stays in -dir, so that it can come back as it was; with clients
// connected, stopping takes seconds, and a second Ctrl-C ends it at once).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2379", "the client address")
	peer := flag.String("peer", "127.0.0.1:2380", "the peer address")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "arbor-singleton-etcd"), "the data directory")
	flag.Parse()
	cfg := embed.NewConfig()
	cfg.Dir = *dir
	cu, pu := url.URL{Scheme: "http", Host: *addr}, url.URL{Scheme: "http", Host: *peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd:", err)
		os.Exit(1)
	}
	defer e.Close()
	<-e.Server.ReadyNotify()
	fmt.Printf("etcd serving at %s (data in %s); Ctrl-C to stop\n", *addr, *dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		// Connected clients hold the server's stop up for seconds: say so,
		// and let a second Ctrl-C end it at once.
		stop()
		fmt.Println("etcd: stopping (seconds with clients connected; Ctrl-C again to end it now)")
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcd:", err)
	}
}
