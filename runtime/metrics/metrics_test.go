package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCountersStartAtZeroAndCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr, err := runtime.New(runtime.Spec{Name: "shop", Backoff: &runtime.Backoff{}, Children: []runtime.Child{
			{Name: "db", Run: func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }},
			{Name: "worker", Run: func(ctx context.Context, a *runtime.Attempt) error {
				if a.Generation() == 1 {
					select {
					case <-fail:
						return errors.New("boom")
					case <-ctx.Done():
					}
				}
				<-ctx.Done()
				return nil
			}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.New(tr))

		want := func(text string, names ...string) {
			t.Helper()
			if err := testutil.GatherAndCompare(reg, strings.NewReader(text), names...); err != nil {
				t.Fatal(err)
			}
		}
		const restartsHead = "# HELP arbor_child_restarts_total Restarts of the child since the tree was built.\n# TYPE arbor_child_restarts_total counter\n"
		want(restartsHead+`arbor_child_restarts_total{child="shop/db",tree="shop"} 0
arbor_child_restarts_total{child="shop/worker",tree="shop"} 0
`, "arbor_child_restarts_total")

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tr.Run(ctx) }()
		synctest.Wait()
		close(fail)
		synctest.Wait()
		want(restartsHead+`arbor_child_restarts_total{child="shop/db",tree="shop"} 0
arbor_child_restarts_total{child="shop/worker",tree="shop"} 1
`, "arbor_child_restarts_total")
		want(`# HELP arbor_child_up 1 when the child is well, as Tree.Health says: running and ready, ended for good, or standing by for its lease; else 0.
# TYPE arbor_child_up gauge
arbor_child_up{child="shop/db",tree="shop"} 1
arbor_child_up{child="shop/worker",tree="shop"} 1
`, "arbor_child_up")
		if n, err := testutil.GatherAndCount(reg, "arbor_child_state"); err != nil || n != 18 {
			t.Fatalf("arbor_child_state: %d series, %v; want 9 states for 2 children", n, err)
		}
		time.Sleep(time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		want(`# HELP arbor_tree_health 1 for the tree's current health state, 0 for the others.
# TYPE arbor_tree_health gauge
arbor_tree_health{state="degraded",tree="shop"} 0
arbor_tree_health{state="failed",tree="shop"} 0
arbor_tree_health{state="ready",tree="shop"} 0
arbor_tree_health{state="starting",tree="shop"} 0
arbor_tree_health{state="stopped",tree="shop"} 1
arbor_tree_health{state="stopping",tree="shop"} 0
`, "arbor_tree_health")
	})
}

// TestPoolsHaveNoSeriesPerInstance: a pool that ran many instances has the
// same series as one that ran none; its counters say what happened.
func TestPoolsHaveNoSeriesPerInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := runtime.New(runtime.Spec{Name: "srv", Children: []runtime.Child{
			{Name: "conns", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary},
		}})
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.New(tr))
		count := func() int {
			n, err := testutil.GatherAndCount(reg)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tr.Run(ctx) }()
		synctest.Wait()
		p := tr.Pool("srv/conns")
		for range 1000 {
			if _, err := p.Start("", runtime.Func(func(context.Context) error { return nil })); err != nil {
				t.Fatal(err)
			}
		}
		block := make(chan struct{})
		for range 3 {
			p.Start("", runtime.Func(func(context.Context) error { <-block; return nil }))
		}
		synctest.Wait()
		if after := count(); after != before {
			t.Fatalf("%d series after 1,003 instances, %d before", after, before)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(`# HELP arbor_pool_instances_started_total Instances the pool was asked to start.
# TYPE arbor_pool_instances_started_total counter
arbor_pool_instances_started_total{pool="srv/conns",tree="srv"} 1003
# HELP arbor_pool_instances_removed_total Instances removed from the pool: ended for good, stopped, or dropped with a run of the pool.
# TYPE arbor_pool_instances_removed_total counter
arbor_pool_instances_removed_total{pool="srv/conns",tree="srv"} 1000
`), "arbor_pool_instances_started_total", "arbor_pool_instances_removed_total"); err != nil {
			t.Fatal(err)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(`# HELP arbor_pool_instances Live instances of the pool by state.
# TYPE arbor_pool_instances gauge
arbor_pool_instances{pool="srv/conns",state="backoff",tree="srv"} 0
arbor_pool_instances{pool="srv/conns",state="running",tree="srv"} 3
arbor_pool_instances{pool="srv/conns",state="starting",tree="srv"} 0
arbor_pool_instances{pool="srv/conns",state="stopped",tree="srv"} 0
arbor_pool_instances{pool="srv/conns",state="stopping",tree="srv"} 0
`), "arbor_pool_instances"); err != nil {
			t.Fatal(err)
		}
		close(block)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// running registers tr's collector and runs tr until stop, in a synctest
// bubble, once every child has started.
func running(t *testing.T, tr *runtime.Tree) (reg *prometheus.Registry, stop func()) {
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.New(tr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	synctest.Wait()
	return reg, func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

const upHead = "# HELP arbor_child_up 1 when the child is well, as Tree.Health says: running and ready, ended for good, or standing by for its lease; else 0.\n# TYPE arbor_child_up gauge\n"

// neverLeaser grants no lease: its children stand by for ever.
type neverLeaser struct{}

func (neverLeaser) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A child standing by for its lease is well, for the metrics as for
// Health: the singleton runs in another replica, and an alert on
// arbor_child_up == 0 must not fire on every standby replica. What runs
// below a standing-by supervisor is well too.
func TestStandbyIsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		idle := func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }
		tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "web", Run: idle},
			{Name: "cron", Run: idle, Lease: &runtime.LeaseSpec{Name: "cron"}},
			{Name: "jobs", Lease: &runtime.LeaseSpec{Name: "jobs"}, Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "a", Run: idle}}}},
		}}, runtime.WithLeaser(neverLeaser{}))
		if err != nil {
			t.Fatal(err)
		}
		reg, stop := running(t, tr)
		if err := testutil.GatherAndCompare(reg, strings.NewReader(upHead+`arbor_child_up{child="shop/cron",tree="shop"} 1
arbor_child_up{child="shop/jobs",tree="shop"} 1
arbor_child_up{child="shop/jobs/a",tree="shop"} 1
arbor_child_up{child="shop/web",tree="shop"} 1
`), "arbor_child_up"); err != nil {
			t.Fatal(err)
		}
		stop()
	})
}

// up and state come from Health, whose list has a pool's live instances
// between the declared children: the children after a pool keep theirs,
// not an instance's.
func TestUpAfterAPoolWithInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		idle := func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }
		tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "conns", Pool: &runtime.PoolSpec{}},
			{Name: "web", Run: idle, Ready: &runtime.Ready{}}, // never ready
		}})
		if err != nil {
			t.Fatal(err)
		}
		reg, stop := running(t, tr)
		for range 3 {
			if _, err := tr.Pool("shop/conns").Start("", idle); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if err := testutil.GatherAndCompare(reg, strings.NewReader(upHead+`arbor_child_up{child="shop/conns",tree="shop"} 1
arbor_child_up{child="shop/web",tree="shop"} 0
`), "arbor_child_up"); err != nil {
			t.Fatal(err)
		}
		stop()
	})
}
