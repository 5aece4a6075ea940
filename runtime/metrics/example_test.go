package metrics_test

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/metrics"
)

func Example() {
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }},
	}})
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(tree))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// go http.ListenAndServe(":9090", nil); tree.Run(ctx)
}
