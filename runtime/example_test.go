package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// A tree by hand: a store that reports readiness, an API that starts only
// once the store is ready, and a one-shot job whose end, being significant,
// shuts the tree down cleanly. arbor gen writes the same Spec from a .cue
// file.
func ExampleNew() {
	tree, err := runtime.New(runtime.Spec{
		Name: "shop",
		Children: []runtime.Child{
			{Name: "store", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				a.Ready() // connected: the API may start
				<-ctx.Done()
				return nil
			}},
			{Name: "api", After: []string{"store"}, Run: runtime.Func(func(ctx context.Context) error {
				<-ctx.Done()
				return nil
			})},
			{
				Name: "report", After: []string{"api"}, Restart: runtime.Transient, Significant: true,
				Run: runtime.Func(func(ctx context.Context) error { return nil }), // done: the tree stops
			},
		},
	})
	if err != nil {
		fmt.Println(err) // every invalid field, each naming the child's path
		return
	}
	fmt.Println("Run:", tree.Run(context.Background()))
	for _, c := range tree.Snapshot().Children {
		fmt.Println(c.Path, c.State, c.LastExit)
	}
	// Output:
	// Run: <nil>
	// shop/store stopped cancelled
	// shop/api stopped cancelled
	// shop/report done success
}

// New checks the whole spec and reports every problem, each naming the
// child and field it concerns; errors.Is tells an invalid spec apart.
func ExampleNew_invalid() {
	_, err := runtime.New(runtime.Spec{
		Name: "shop",
		Children: []runtime.Child{
			{Name: "db"},
			{Name: "api", Run: runtime.Func(func(context.Context) error { return nil }), After: []string{"dbb"}},
		},
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, runtime.ErrInvalidSpec))
	// Output:
	// arbor: invalid spec: shop/db: Run: nil: a child needs Run, Supervisor or Pool
	// arbor: invalid spec: shop/api: After: unknown sibling "dbb"
	// true
}

// A root whose child keeps failing gives up after its restart limit: Run
// returns a *GiveUpError that wraps ErrRestartLimit and the last failure,
// which exit.With turns into exit status 1.
func ExampleTree_Run_giveUp() {
	errDial := errors.New("dial tcp: connection refused")
	tree, err := runtime.New(runtime.Spec{
		Name:         "shop",
		RestartLimit: &runtime.RestartLimit{Max: 2, Window: runtime.DefaultRestartWindow},
		Backoff:      &runtime.Backoff{ResetAfter: time.Hour}, // restart at once
		Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(context.Context) error { return errDial })},
		},
	})
	if err != nil {
		panic(err)
	}
	err = tree.Run(context.Background())
	fmt.Println(err)
	fmt.Println(errors.Is(err, runtime.ErrRestartLimit), errors.Is(err, errDial))
	var giveUp *runtime.GiveUpError
	if errors.As(err, &giveUp) {
		fmt.Println("failing child:", giveUp.Child)
	}
	// Output:
	// arbor: shop gave up: restart limit (2 in 10s) exceeded; last failure: shop/db (generation 3, attempt 3): error: dial tcp: connection refused
	// true true
	// failing child: shop/db
}

// A pool starts instances at run time, each with its own run function
// (arbor gen's typed Start passes each its argument). Start fails, for
// errors.Is, with ErrPoolFull at the cap.
func ExamplePool_Start() {
	tree, err := runtime.New(runtime.Spec{
		Name: "server",
		Children: []runtime.Child{
			{Name: "conns", Pool: &runtime.PoolSpec{Max: 2}, Restart: runtime.Temporary},
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	<-tree.Ready()

	serve := func(conn string) runtime.RunFunc {
		return func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done() // serve conn until the pool stops
			return nil
		}
	}
	pool := tree.Pool("server/conns")
	h, err := pool.Start("", serve("10.0.0.1:5000")) // the pool names it
	fmt.Println(h.Path(), err)
	h, err = pool.Start("alice", serve("10.0.0.2:5000"))
	fmt.Println(h.Path(), err)
	_, err = pool.Start("", serve("10.0.0.3:5000"))
	fmt.Println(err, errors.Is(err, runtime.ErrPoolFull))
	fmt.Println(pool.Len())

	cancel()
	fmt.Println("Run:", <-done)
	fmt.Println(pool.Len())
	// Output:
	// server/conns/i1 <nil>
	// server/conns/alice <nil>
	// arbor: pool is full: server/conns has 2 instances true
	// 2
	// Run: <nil>
	// 0
}

// A Handle reads one child and gives it orders: Stop keeps it stopped,
// whatever its restart type, until Restart, and StopAndWait also waits
// until its attempt has returned.
func ExampleHandle() {
	started := make(chan int, 2)
	tree, err := runtime.New(runtime.Spec{
		Name: "shop",
		Children: []runtime.Child{
			{Name: "worker", Run: func(ctx context.Context, a *runtime.Attempt) error {
				started <- a.Number()
				<-ctx.Done()
				return nil
			}},
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	<-started

	worker := tree.Handle("shop/worker")
	if err := worker.StopAndWait(ctx); err != nil {
		panic(err)
	}
	fmt.Println(worker.State(), tree.Health().State)
	if err := worker.Restart(); err != nil { // returns once the order is taken
		panic(err)
	}
	<-started // the new attempt runs

	cancel()
	<-done
	fmt.Println(worker.Status().Restarts, worker.Restart())
	// Output:
	// stopped degraded
	// 1 arbor: tree has ended
}
