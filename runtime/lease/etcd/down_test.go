package etcd_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

// TestServerDownAtStart: etcd is not up when the replica starts. The tree
// is ready, its lease child stands by with the error it met, and it runs
// once etcd is up: its first Acquire then does not win a lease that it
// has already given up for lost, as one granted a TTL after it was asked
// for would be.
func TestServerDownAtStart(t *testing.T) {
	srv := &server{t: t, dir: t.TempDir(), client: freePort(t), peer: freePort(t)}
	t.Cleanup(srv.stop)
	w := newWorld()
	a := startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	time.Sleep(2 * ttl)
	assert.Equal(t, runtime.StateStandby, a.state())
	assert.Equal(t, runtime.HealthReady, a.tree.Health().State)
	assert.Empty(t, w.holder(t))
	c, _ := a.tree.Snapshot().Child("app/sched")
	assert.ErrorContains(t, c.LeaseError, "grant", "the standby child says why it waits")
	srv.start()
	up := time.Now()
	within(t, 10*time.Second, "a runs the child once etcd is up", func() bool { return w.holder(t) == "a" })
	t.Logf("running %v after etcd came up", time.Since(up))
	runs, _ := w.history()
	require.Len(t, runs, 1)
	assert.NotZero(t, runs[0].token)
	for _, e := range a.of(runtime.EventStandby) {
		assert.NotErrorIs(t, e.Err, etcd.ErrLostWhileCampaigning, "a lease granted late is not lost on arrival")
	}
	require.NoError(t, a.stop())
}

// TestTwoTreesOneClient: two trees of one process, on one etcd client,
// contend for one lease as two processes do: one runs the child, and the
// other takes over when it stops, under a larger token.
func TestTwoTreesOneClient(t *testing.T) {
	srv := startServer(t)
	cli := connect(t, srv.client)
	w := newWorld()
	a := startReplica(t, "a", cli, runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	b := startReplica(t, "b", cli, runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	time.Sleep(ttl)
	assert.Equal(t, "a", w.holder(t))
	assert.Equal(t, runtime.StateStandby, b.state())
	require.NoError(t, a.stop())
	within(t, ttl/4, "b takes over", func() bool { return w.holder(t) == "b" })
	runs, overlap := w.history()
	assert.Empty(t, overlap)
	require.Len(t, runs, 2)
	assert.Greater(t, runs[1].token, runs[0].token)
}

// TestServerQuickRestart: etcd restarts at once, within the TTL. Whatever
// the holder makes of it, no two replicas run the child at once, and a
// replica runs it again afterwards, under a larger token.
func TestServerQuickRestart(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	srv.stop()
	srv.start()
	time.Sleep(2 * ttl)
	within(t, 10*time.Second, "a replica runs the child", func() bool { return w.holder(t) != "" })
	runs, overlap := w.history()
	assert.Empty(t, overlap)
	for i := 1; i < len(runs); i++ {
		assert.Greater(t, runs[i].token, runs[i-1].token)
	}
	t.Logf("%d runs", len(runs))
}
