package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// bigPool runs a tree with a worker and a pool of n idle instances until
// b ends.
func bigPool(b *testing.B, n int) *runtime.Tree {
	tr, err := runtime.New(runtime.Spec{Name: "big", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(idle)},
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
	for range n {
		if _, err := tr.Pool("big/conns").Start("", runtime.Func(idle)); err != nil {
			b.Fatal(err)
		}
	}
	return tr
}

// BenchmarkTree100k answers GET /api/tree for a tree with a pool of 100k
// instances: as the page and arbor ctl status ask (?instances=20), and
// whole (arbor ctl status -json). Each answer reads the whole snapshot.
func BenchmarkTree100k(b *testing.B) {
	tr := bigPool(b, 100_000)
	h := console.Handler(tr)
	for _, c := range []struct{ name, url string }{{"instances=20", "/api/tree?instances=20"}, {"all", "/api/tree"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.url, nil))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "body-B")
		})
	}
}
