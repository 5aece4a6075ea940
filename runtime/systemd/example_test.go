package systemd_test

import (
	"context"
	"os"
	"os/signal"
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
