package probe_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/probe"
)

// Mount the probes on the mux of an admin or metrics port, next to the
// tree they report on.
func ExampleHandler() {
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: func(ctx context.Context, a *runtime.Attempt) error {
			a.Ready() // connected
			<-ctx.Done()
			return nil
		}, Ready: &runtime.Ready{}},
	}})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /livez", probe.Handler(tree))
	mux.Handle("GET /healthz", probe.Handler(tree))
	mux.Handle("GET /readyz", probe.Handler(tree))
	// go http.ListenAndServe(":8081", mux)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	<-tree.Ready()

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz?verbose", nil))
	fmt.Print(rec.Code, "\n", rec.Body)

	cancel()
	<-done
	// Output:
	// 200
	// [+]shop/db ok
	// readyz check passed
}
