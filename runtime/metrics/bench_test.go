package metrics_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/metrics"
)

// BenchmarkScrape100k gathers a registry with the collector of a tree with
// a pool of 100k idle instances: the instances have no series, but each
// scrape reads the tree's health, a snapshot of every instance.
func BenchmarkScrape100k(b *testing.B) {
	tr, err := runtime.New(runtime.Spec{Name: "big", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
		{Name: "conns", Pool: &runtime.PoolSpec{}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	<-tr.Ready()
	for range 100_000 {
		if _, err := tr.Pool("big/conns").Start("", runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(tr))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
