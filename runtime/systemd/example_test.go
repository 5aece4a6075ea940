package systemd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/exit"
	"github.com/arbor-go/arbor/runtime/systemd"
)

// The main function of a service: SIGTERM (what systemctl stop sends)
// stops the tree within its shutdown budget, systemd hears about every
// step, and a tree that gives up ends the process with a failure status so
// that Restart=on-failure starts it again.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		})},
	}})
	if err != nil {
		exit.With(err)
	}
	// With a generated tree: systemd.Run(ctx, shop.NewShop(...)).
	exit.With(systemd.Run(ctx, systemd.TreeRunner(tree)))
}

// What systemd hears: here a socket of the example's own stands in for the
// service manager's, which systemd names in $NOTIFY_SOCKET.
func ExampleRun_notifications() {
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	addr := &net.UnixAddr{Name: filepath.Join(dir, "notify.sock"), Net: "unixgram"}
	manager, err := net.ListenUnixgram("unixgram", addr)
	if err != nil {
		panic(err)
	}
	defer manager.Close()
	os.Setenv("NOTIFY_SOCKET", addr.Name)
	defer os.Unsetenv("NOTIFY_SOCKET")

	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		})},
	}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- systemd.Run(ctx, systemd.TreeRunner(tree)) }()

	buf := make([]byte, 4096)
	for {
		n, err := manager.Read(buf)
		if err != nil {
			panic(err)
		}
		msg := string(buf[:n])
		fmt.Printf("%q\n", msg)
		if strings.Contains(msg, "READY=1") {
			cancel() // systemctl stop
		}
		if strings.HasPrefix(msg, "STATUS=stopped") { // sent as Run returns
			break
		}
	}
	fmt.Println("Run:", <-done)
	// Output:
	// "STATUS=starting: not started"
	// "READY=1\nSTATUS=ready"
	// "STOPPING=1\nSTATUS=stopping"
	// "STATUS=stopped"
	// Run: <nil>
}
