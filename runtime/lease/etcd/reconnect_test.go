package etcd_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/arbor-go/arbor/runtime"
)

// connectSlow returns a client of the server through addr whose
// reconnection backoff is 30s from the first failure: as gRPC's (which
// grows to two minutes) after a few minutes of an outage.
func connectSlow(t *testing.T, addr string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{
		Endpoints: []string{addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 30 * time.Second, Multiplier: 1, MaxDelay: 30 * time.Second},
			MinConnectTimeout: time.Second,
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServerBackAfterLongOutage: etcd is down long enough for the clients'
// reconnection backoff to have grown. When etcd is back, a replica runs
// the child again within a few TTLs all the same: a campaign asks the
// client to reconnect now, rather than when its backoff ends.
func TestServerBackAfterLongOutage(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	startReplica(t, "a", connectSlow(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connectSlow(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)

	srv.stop()
	within(t, ttl, "a stops", func() bool { return w.holder(t) == "" })
	time.Sleep(2 * ttl) // the clients fail to reconnect, and back off
	srv.start()
	up := time.Now()
	within(t, 5*ttl, "a replica runs the child again", func() bool { return w.holder(t) != "" })
	t.Logf("running again %v after etcd came back", time.Since(up))
	runs, overlap := w.history()
	assert.Empty(t, overlap)
	assert.Len(t, runs, 2)
}

// TestHolderBackoffAcrossRestart: etcd restarts, and is back well within
// the holder's window, but the holder's client failed to reach it meanwhile
// and backs off for longer than the TTL. The holder keeps its lease all
// the same: a renewal asks the client to reconnect now.
func TestHolderBackoffAcrossRestart(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	const ttl = 4 * time.Second
	const window = ttl - ttl/10 - 100*time.Millisecond // less the child's grace: renewed every 1.2s
	lease := &runtime.LeaseSpec{TTL: ttl}
	pa, pb := newProxy(t, srv.client), newProxy(t, srv.client)
	a := startReplica(t, "a", connectSlow(t, pa.addr()), runtime.Child{Run: w.singleton("a", 0, nil), Lease: lease}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connectSlow(t, pb.addr()), runtime.Child{Run: w.singleton("b", 0, nil), Lease: lease}, nil)
	time.Sleep(ttl / 3)

	// Cut the clients off first, so that etcd need not wait for their
	// streams to end, and stops at once; keep it down for a renewal or
	// two, which fail and make the client back off.
	down := time.Now()
	pa.block()
	pb.block()
	dials := pa.dialed()
	srv.stop()
	time.Sleep(ttl / 4)
	srv.start()
	dials = pa.dialed() - dials
	pa.unblock()
	pb.unblock()
	t.Logf("etcd was down for %v; a's client tried to connect %d times", time.Since(down), dials)
	// One try as the connection fails, one per renewal attempt (a sixth
	// of the window apart while the connection is down): no hammering.
	assert.LessOrEqual(t, dials, 2+int(time.Since(down)/(window/6)))
	for end := time.Now().Add(ttl); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		require.Equal(t, "a", w.holder(t), "a keeps the lease")
	}
	assert.Empty(t, a.of(runtime.EventLeaseLost))
	assert.Len(t, checkRuns(t, w), 1)
}
