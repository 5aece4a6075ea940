package probe_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/probe"
)

// BenchmarkReadyz100k answers /readyz for a tree with a pool of 100k idle
// instances: a passing answer reads the tree's channels only, a verbose one
// the tree's health, a snapshot of every instance.
func BenchmarkReadyz100k(b *testing.B) {
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
	h := probe.Handler(tr)
	for _, target := range []string{"/readyz", "/readyz?verbose"} {
		b.Run(target[1:], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
