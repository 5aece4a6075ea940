package metrics_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/metrics"
)

// TestTwoTreesOneRegistry: a program with two trees exports both on one
// registry; each series carries its tree's name.
func TestTwoTreesOneRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	for _, name := range []string{"shop", "admin"} {
		tr, err := runtime.New(runtime.Spec{Name: name, Children: []runtime.Child{
			{Name: "db", Run: func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Register(metrics.New(tr)); err != nil {
			t.Fatalf("register tree %s: %v", name, err)
		}
	}
	n, err := testutil.GatherAndCount(reg, "arbor_child_restarts_total")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d restart series, want one per tree", n)
	}
}

// TestRegisterTwice: a tree registered twice, or two trees of one name,
// are refused at registration, not at every scrape.
func TestRegisterTwice(t *testing.T) {
	newTree := func() *runtime.Tree {
		tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Run: func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	reg := prometheus.NewPedanticRegistry()
	tr := newTree()
	reg.MustRegister(metrics.New(tr))
	if err := reg.Register(metrics.New(tr)); err == nil {
		t.Fatal("the same tree registered twice")
	}
	if err := reg.Register(metrics.New(newTree())); err == nil {
		t.Fatal("two trees named shop registered on one registry")
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather after refused registrations: %v", err)
	}
}
