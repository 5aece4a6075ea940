// Command niltree calls the methods of the generated types on nil
// pointers, which the constructors never return: each panics with a
// message that names the type and the constructor, not with a nil
// dereference.
package main

//go:generate go tool arbor gen

import (
	"context"
	"fmt"
)

// Serve runs until cancelled.
func Serve(ctx context.Context) error { <-ctx.Done(); return nil }

// Job runs a job.
func Job(ctx context.Context, n int) error { return nil }

// Handler handles connections.
type Handler struct{}

// Handle handles one.
func (h *Handler) Handle(ctx context.Context, conn string) error { return nil }

// try calls f and prints what it panicked with.
func try(name string, f func()) {
	defer func() { fmt.Printf("%s: %v\n", name, recover()) }()
	f()
}

func main() {
	var shop *Shop
	var ingest *ShopIngest
	var conns *ShopIngestConns
	var jobs *ShopJobs
	var other *Other
	try("Shop.Run", func() { _ = shop.Run(context.Background()) })
	try("Shop.Tree", func() { shop.Tree() })
	try("Shop.API", func() { shop.API() })
	try("Shop.Ingest", func() { shop.Ingest() })
	try("Shop.Jobs", func() { shop.Jobs() })
	try("ShopIngest.Handle", func() { ingest.Handle() })
	try("ShopIngest.Fetch", func() { ingest.Fetch() })
	try("ShopIngest.Conns", func() { ingest.Conns() })
	try("ShopIngestConns.Start", func() { _, _ = conns.Start("c") })
	try("ShopIngestConns.StartNamed", func() { _, _ = conns.StartNamed("c", "c") })
	try("ShopIngestConns.Pool", func() { conns.Pool() })
	try("ShopJobs.Start", func() { _, _ = jobs.Start(1) })
	try("ShopJobs.StartNamed", func() { _, _ = jobs.StartNamed("j", 1) })
	try("ShopJobs.Pool", func() { jobs.Pool() })
	try("Other.Job", func() { other.Job() })

	// A built tree is unaffected.
	s := NewShop(&Handler{})
	fmt.Println(s.Ingest().Conns().Pool().Path(), s.Tree() != nil)
}
