package etcd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

// keys returns the election's keys of the lease name, oldest first.
func keys(t *testing.T, admin *clientv3.Client, name string) []string {
	t.Helper()
	resp, err := admin.Get(context.Background(), etcd.DefaultPrefix+name+"#", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	require.NoError(t, err)
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

// checkRuns fails the test if two runs overlapped, or if a run's token is
// not larger than the one before it.
func checkRuns(t *testing.T, w *world) []run {
	t.Helper()
	runs, overlap := w.history()
	assert.Empty(t, overlap)
	for i := 1; i < len(runs); i++ {
		assert.Greater(t, runs[i].token, runs[i-1].token, "run %d's token", i)
		if !runs[i-1].end.IsZero() {
			assert.False(t, runs[i].start.Before(runs[i-1].end), "run %d started before %d returned", i, i-1)
		}
	}
	return runs
}

// TestHolderFrozen: the holder's traffic to etcd is held back (a stalled
// link, or a process paused longer than the TTL), then delivered late. The
// holder stops its child before the other replica starts it, and once its
// traffic flows again, it stands by: its late renewals do not give it the
// lease back.
func TestHolderFrozen(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	p := newProxy(t, srv.client)
	a := startReplica(t, "a", connect(t, p.addr()), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	time.Sleep(ttl / 2)

	frozen := time.Now()
	p.freeze()
	within(t, 5*ttl, "b takes over", func() bool { return w.holder(t) == "b" })
	runs := checkRuns(t, w)
	assert.Equal(t, runtime.ErrLeaseLost, runs[0].cause)
	assert.Less(t, runs[0].end.Sub(frozen), ttl, "a gave up within the TTL")
	time.Sleep(ttl)
	p.thaw()
	within(t, 5*ttl, "a campaigns again", func() bool {
		return a.state() == runtime.StateStandby && len(a.of(runtime.EventLeaseReleased)) == 1
	})
	for end := time.Now().Add(2 * ttl); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		require.Equal(t, "b", w.holder(t))
	}
	runs = checkRuns(t, w)
	assert.Len(t, runs, 2)
}

// TestShutdownCutOff: a tree stops while etcd cannot be reached (its
// traffic is held back, so that every call hangs rather than fails): the
// holder's Release, or the campaign of a replica that stands by, cannot
// complete. Run returns within its budget all the same, and when the
// holder was cut off, the other replica takes over once the lease has
// expired.
func TestShutdownCutOff(t *testing.T) {
	for _, holder := range []bool{true, false} {
		t.Run(fmt.Sprintf("holder=%v", holder), func(t *testing.T) {
			srv := startServer(t)
			w := newWorld()
			p := newProxy(t, srv.client)
			if !holder {
				startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
				within(t, 5*time.Second, "b runs the child", func() bool { return w.holder(t) == "b" })
			}
			const budget = 2 * time.Second
			tree, err := runtime.New(runtime.Spec{Name: "app", Shutdown: budget, Children: []runtime.Child{
				{Name: "sched", Run: w.singleton("a", 0, nil), Lease: &runtime.LeaseSpec{TTL: ttl}},
			}}, runtime.WithLeaser(etcd.New(connect(t, p.addr()))))
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tree.Run(ctx) }()
			if holder {
				within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
				startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
			} else {
				within(t, 5*time.Second, "a stands by", func() bool {
					c, _ := tree.Snapshot().Child("app/sched")
					return c.State == runtime.StateStandby
				})
			}
			time.Sleep(ttl / 2)

			p.freeze()
			stopped := time.Now()
			cancel()
			select {
			case <-done:
				assert.Less(t, time.Since(stopped), budget+runtime.DeliveryMargin)
				t.Logf("Run returned %v after it was told to stop", time.Since(stopped))
			case <-time.After(budget + runtime.DeliveryMargin + 5*time.Second):
				t.Fatal("Run did not return")
			}
			within(t, 5*ttl, "b runs the child", func() bool { return w.holder(t) == "b" })
			checkRuns(t, w)
			p.sever()
		})
	}
}

// TestManyReplicas: eight replicas, each on its own client, contend for
// one lease. One runs the child at a time; a holder that stops hands over
// at once, and one that dies (its link cut, no release) once its lease has
// expired; the tokens grow with every holder.
func TestManyReplicas(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	admin := connect(t, srv.client)
	reps := map[string]*replica{}
	proxies := map[string]*proxy{}
	for i := range 8 {
		name := fmt.Sprint("r", i)
		proxies[name] = newProxy(t, srv.client)
		reps[name] = startReplica(t, name, connect(t, proxies[name].addr()), runtime.Child{Run: w.singleton(name, 0, nil)}, nil)
	}
	within(t, 5*time.Second, "a replica runs the child", func() bool { return w.holder(t) != "" })
	for i := range 7 {
		h := w.holder(t)
		begin := time.Now()
		if i%2 == 0 {
			require.NoError(t, reps[h].stop())
			within(t, ttl/2, "a clean handover", func() bool { r := w.holder(t); return r != "" && r != h })
		} else {
			proxies[h].sever()
			reps[h].cancel()
			within(t, 4*ttl, "a handover after the lease expired", func() bool { r := w.holder(t); return r != "" && r != h })
		}
		t.Logf("%s to %s in %v", h, w.holder(t), time.Since(begin))
		// The attempt runs under the lease that etcd says is held.
		value, token, err := etcd.New(admin).Holder(context.Background(), "app/sched")
		require.NoError(t, err)
		w.mu.Lock()
		assert.Equal(t, w.running[value], token, "the token of %s's attempt", value)
		w.mu.Unlock()
	}
	runs := checkRuns(t, w)
	assert.Len(t, runs, 8)
}

// TestHolderSlowOrStalled: a slow link to etcd (a round trip of a fifth
// of the TTL), and then a stall of a quarter of the TTL, do not cost the
// holder its lease: it renews in time.
func TestHolderSlowOrStalled(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	p := newProxy(t, srv.client)
	a := startReplica(t, "a", connect(t, p.addr()), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)

	p.slow(ttl / 10)
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		require.Equal(t, "a", w.holder(t), "a keeps the lease over a slow link")
	}
	p.slow(0)
	time.Sleep(ttl / 2)
	p.freeze()
	time.Sleep(ttl / 4)
	p.thaw()
	for end := time.Now().Add(2 * ttl); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		require.Equal(t, "a", w.holder(t), "a keeps the lease across a short stall")
	}
	assert.Empty(t, a.of(runtime.EventLeaseLost))
	assert.Len(t, checkRuns(t, w), 1)
}

// TestServerRestartWithinTTL: etcd restarts, and is back well within the
// TTL (the client's reconnection backoff, a second at first, counts too).
// etcd keeps the lease across its restart, and the holder, renewing it as
// soon as it reaches etcd again, keeps it too: its child runs on, and no
// one else's starts.
func TestServerRestartWithinTTL(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	const ttl = 4 * time.Second
	lease := &runtime.LeaseSpec{TTL: ttl}
	pa, pb := newProxy(t, srv.client), newProxy(t, srv.client)
	a := startReplica(t, "a", connect(t, pa.addr()), runtime.Child{Run: w.singleton("a", 0, nil), Lease: lease}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, pb.addr()), runtime.Child{Run: w.singleton("b", 0, nil), Lease: lease}, nil)
	time.Sleep(ttl / 3)

	// Cut the clients off first, so that etcd need not wait for their
	// streams to end, and stops at once.
	down := time.Now()
	pa.block()
	pb.block()
	srv.stop()
	srv.start()
	pa.unblock()
	pb.unblock()
	t.Logf("etcd was down for %v", time.Since(down))
	for end := time.Now().Add(ttl); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		require.Equal(t, "a", w.holder(t), "a keeps the lease")
	}
	assert.Empty(t, a.of(runtime.EventLeaseLost))
	assert.Len(t, checkRuns(t, w), 1)
}
