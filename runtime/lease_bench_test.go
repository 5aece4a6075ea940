package runtime_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/arbor-go/arbor/runtime"
)

// BenchmarkRestartLeased is BenchmarkRestart for a child that holds a
// lease: a restart keeps the lease, so ns/op is what a lease adds to a
// restart (the attempt's context carries its token).
func BenchmarkRestartLeased(b *testing.B) {
	b.ReportAllocs()
	n := int64(b.N)
	var calls atomic.Int64
	reached := make(chan struct{})
	run := func(ctx context.Context, _ *runtime.Attempt) error {
		if calls.Add(1) <= n {
			return errBenchFail
		}
		close(reached)
		<-ctx.Done()
		return nil
	}
	tree, err := runtime.New(runtime.Spec{
		Name:         "bench",
		RestartLimit: benchNoLimit,
		Backoff:      &runtime.Backoff{},
		Children:     []runtime.Child{{Name: "flaky", Run: run, Lease: &runtime.LeaseSpec{}}},
	}, runtime.WithLeaser(newFakeLeaser()))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cancel, done := benchRun(tree)
	benchAwait(b, reached, done)
	b.StopTimer()
	benchStop(b, cancel, done)
}

// BenchmarkLeaseLost measures one cycle of a lost lease in the runtime,
// with an in-memory Leaser: the loss is seen, the attempt stopped, the
// lease released, acquired again and the next attempt started. ns/op is
// the runtime's own cost of a handover, without any store's.
func BenchmarkLeaseLost(b *testing.B) {
	b.ReportAllocs()
	f := newFakeLeaser()
	started := make(chan uint64)
	run := func(ctx context.Context, a *runtime.Attempt) error {
		select {
		case started <- a.Token():
		case <-ctx.Done():
			return nil
		}
		<-ctx.Done()
		return nil
	}
	tree, err := runtime.New(runtime.Spec{Name: "bench", Children: []runtime.Child{
		{Name: "single", Run: run, Lease: &runtime.LeaseSpec{}},
	}}, runtime.WithLeaser(f))
	if err != nil {
		b.Fatal(err)
	}
	cancel, done := benchRun(tree)
	<-started
	b.ResetTimer()
	for range b.N {
		f.lose("bench/single")
		<-started
	}
	b.StopTimer()
	benchStop(b, cancel, done)
}
