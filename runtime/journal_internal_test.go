package runtime

import (
	"context"
	"testing"
	"time"
)

// BenchmarkEmit is the cost of one event on the supervisor's side: made,
// numbered and kept in the journal (no observer).
func BenchmarkEmit(b *testing.B) {
	t, err := New(Spec{Name: "bench", Children: []Child{{Name: "a", Run: func(ctx context.Context, _ *Attempt) error { return nil }}}})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		t.emit(&Event{Kind: EventStarting, Time: now, Path: "bench/a", Generation: uint64(i), Attempt: 1, Restarts: i})
	}
}
