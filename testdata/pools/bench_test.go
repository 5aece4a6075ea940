package main

import (
	"context"
	"testing"

	"github.com/arbor-go/arbor/runtime"
)

// The cost of the generated Start over the runtime's Pool.Start, which the
// runtime's benchmarks measure (BENCHMARKS.md):
//
//	go test -run '^$' -bench . -benchtime 100000x -count 5 ./testdata/pools/

// BenchmarkGeneratedStart starts instances through the generated typed API,
// srv.Idle().Start(n): a closure over the receiver and the argument.
func BenchmarkGeneratedStart(b *testing.B) {
	srv, stop := benchServer(b)
	defer stop()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := srv.Idle().Start(i); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuntimeStart starts the same instances with Pool.Start and a
// run function that closes over nothing.
func BenchmarkRuntimeStart(b *testing.B) {
	srv, stop := benchServer(b)
	defer stop()
	p := srv.Idle().Pool()
	run := func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Start("", run); err != nil {
			b.Fatal(err)
		}
	}
}

// benchServer runs the tree until stop.
func benchServer(b *testing.B) (*Server, func()) {
	srv := NewServer(&Handler{}, Shard{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	<-srv.Tree().Ready()
	return srv, func() {
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
