package main

import (
	"context"
	"fmt"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/testdata/wiring/tools"
)

// Store is ready once warm.
type Store struct{}

// Run warms up, then serves until cancelled.
func (s *Store) Run(ctx context.Context, a *runtime.Attempt) error {
	fmt.Println("store: warm")
	a.Ready()
	<-ctx.Done()
	return nil
}

// Audit runs until cancelled.
func (s *Store) Audit(ctx context.Context) error { <-ctx.Done(); return nil }

// API serves once the store is ready.
type API struct{}

// Serve reports ready once serving, and runs until cancelled.
func (*API) Serve(ctx context.Context, a *runtime.Attempt) error {
	fmt.Println("api: serving")
	a.Ready() // job waits for this, so "job: done" always comes after
	<-ctx.Done()
	return nil
}

// Clock is a value receiver.
type Clock struct{}

// Tick runs until cancelled.
func (Clock) Tick(ctx context.Context) error { <-ctx.Done(); return nil }

// Job is significant: when it is done, so is the tree.
func Job(ctx context.Context) error {
	fmt.Println("job: done")
	return nil
}

func main() {
	shop := NewShop(&Store{}, &API{}, Clock{}, &tools.Formatter{})
	err := shop.Run(context.Background())
	fmt.Println("run:", err)
	for _, c := range shop.Tree().Snapshot().Children {
		fmt.Println(c.Path, c.State, c.Restarts)
	}
	fmt.Println("fmt-check handle:", shop.Tools().FmtCheck().Path())
}
