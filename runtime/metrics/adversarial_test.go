package metrics_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

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

// TestCountersNeverGoDown: the supervisor of a pool and of a restarting
// child is itself restarted; no counter of the collector goes down (which
// Prometheus would take for a restart of the process).
func TestCountersNeverGoDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{}, 1)
		tr, err := runtime.New(runtime.Spec{Name: "srv", Backoff: &runtime.Backoff{}, Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Backoff: &runtime.Backoff{}, Children: []runtime.Child{
				{Name: "conns", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary},
				{Name: "w", Run: runtime.Func(func(ctx context.Context) error {
					select {
					case <-fail:
						return errors.New("boom")
					case <-ctx.Done():
						return nil
					}
				})},
			}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.New(tr))
		last := map[string]float64{}
		check := func() {
			t.Helper()
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetType().String() != "COUNTER" {
					continue
				}
				for _, m := range mf.GetMetric() {
					k := mf.GetName()
					for _, l := range m.GetLabel() {
						k += "," + l.GetName() + "=" + l.GetValue()
					}
					v := m.GetCounter().GetValue()
					if v < last[k] {
						t.Errorf("%s went down from %v to %v", k, last[k], v)
					}
					last[k] = v
				}
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tr.Run(ctx) }()
		synctest.Wait()
		for range 3 {
			p := tr.Pool("srv/n/conns")
			for range 5 {
				if _, err := p.Start("", runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })); err != nil {
					t.Fatal(err)
				}
			}
			fail <- struct{}{}
			synctest.Wait()
			check()
			if err := tr.Handle("srv/n").Restart(); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			check()
		}
		if last["arbor_pool_instances_started_total,pool=srv/n/conns,tree=srv"] != 15 {
			t.Errorf("started: %v", last)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		check()
	})
}

// TestNilTree: New of a nil tree says what is wrong, as console.Handler
// does, rather than dereferencing it.
func TestNilTree(t *testing.T) {
	defer func() {
		if v := recover(); v != "metrics: New needs a tree, not nil" {
			t.Fatalf("panic %v", v)
		}
	}()
	metrics.New(nil)
}
