package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/metrics"
)

// Register a tree's collector and serve it; every child's series exists
// from the start, at zero, so an alert on restarts fires on the first one.
func Example() {
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }},
	}})
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(tree))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// go http.ListenAndServe(":9090", mux)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	<-tree.Ready()

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil)) // what a scrape reads
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "arbor_child_restarts_total{") || strings.HasPrefix(line, "arbor_child_up{") {
			fmt.Print(line)
		}
	}

	cancel()
	<-done
	// Output:
	// arbor_child_restarts_total{child="shop/db",tree="shop"} 0
	// arbor_child_up{child="shop/db",tree="shop"} 1
}
