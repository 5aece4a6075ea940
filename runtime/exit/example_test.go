package exit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/exit"
)

// The end of a main function: With returns when the tree stopped cleanly,
// so the deferred stop runs; otherwise it prints the reason and exits with
// the code for it.
func ExampleWith() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		})},
	}})
	if err != nil {
		exit.With(err) // exit status 78: fix the spec, restarting will not help
	}
	exit.With(tree.Run(ctx)) // 0 after SIGTERM; 1 if the tree gave up
}

func ExampleCode() {
	_, invalid := runtime.New(runtime.Spec{})
	gaveUp := fmt.Errorf("shop: %w", runtime.ErrRestartLimit)

	fmt.Println(exit.Code(nil))
	fmt.Println(exit.Code(invalid))
	fmt.Println(exit.Code(gaveUp))
	fmt.Println(exit.Code(errors.New("anything else")))
	// Output:
	// 0
	// 78
	// 1
	// 1
}

func ExampleReason() {
	err := errors.Join(errors.New("db: dial tcp: connection refused"), errors.New("cache: timeout"))
	fmt.Println(exit.Reason(err))
	// Output: db: dial tcp: connection refused; cache: timeout
}
