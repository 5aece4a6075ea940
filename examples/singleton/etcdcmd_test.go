package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestEtcdCommandCtrlC: the README has the reader stop ./cmd/etcd with
// Ctrl-C while replicas are connected, which takes it seconds. It says
// so at once, and a second Ctrl-C ends it without waiting.
func TestEtcdCommandCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ./cmd/etcd")
	}
	bin := filepath.Join(t.TempDir(), "etcd")
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/etcd").CombinedOutput(); err != nil {
		t.Fatalf("build ./cmd/etcd: %v\n%s", err, b)
	}
	addr := freeAddr(t)
	p := startProcess(t, "etcd", bin, "-addr", addr, "-peer", freeAddr(t), "-dir", filepath.Join(t.TempDir(), "data"))
	p.wait(t, `etcd serving`)

	// A connected client, as a replica is: its watch stream holds up
	// the server's stop.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := cli.Watch(ctx, "k")
	if _, err := cli.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	<-watch

	exited := make(chan struct{})
	p.signal(t, syscall.SIGINT)
	start := time.Now()
	p.wait(t, `etcd: stopping`)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("etcd said it was stopping %v after Ctrl-C, want at once", d)
	}
	go func() { p.cmd.Wait(); close(exited) }()
	p.signal(t, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		t.Errorf("etcd still runs 3s after a second Ctrl-C")
	}
}
