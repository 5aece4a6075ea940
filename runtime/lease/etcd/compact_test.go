package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// compact writes a key and compacts etcd's history up to that write:
// every revision a watch started before is gone.
func compact(t *testing.T, srv *server) {
	t.Helper()
	admin := connect(t, srv.client)
	put, err := admin.Put(context.Background(), "unrelated", "x")
	require.NoError(t, err)
	_, err = admin.Compact(context.Background(), put.Header.Revision)
	require.NoError(t, err)
}

// TestCompactedThenReconnected: etcd's history is compacted (as its
// auto-compaction does) while a replica holds the lease and another waits
// for it; then both lose their connection for a moment, well within the
// TTL. Their watches resume from revisions that are gone; the holder keeps
// the lease all the same, and the other still takes over at once when the
// holder stops.
func TestCompactedThenReconnected(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	pa, pb := newProxy(t, srv.client), newProxy(t, srv.client)
	a := startReplica(t, "a", connect(t, pa.addr()), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	b := startReplica(t, "b", connect(t, pb.addr()), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	within(t, 5*time.Second, "b campaigns", func() bool { return len(keys(t, connect(t, srv.client), "app/sched")) == 2 })
	time.Sleep(ttl / 2) // b watches a's key

	compact(t, srv)
	pa.reset()
	pb.reset()
	for end := time.Now().Add(2 * ttl); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		require.Equal(t, "a", w.holder(t), "a keeps the lease")
	}
	assert.Empty(t, a.of(runtime.EventLeaseLost))
	assert.Len(t, b.of(runtime.EventStandby), 1, "b's campaign did not fail")

	require.NoError(t, a.stop())
	within(t, ttl/2, "b takes over", func() bool { return w.holder(t) == "b" })
	checkRuns(t, w)
}
