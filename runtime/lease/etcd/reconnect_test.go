package etcd_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/arbor-go/arbor/runtime"
)

// TestServerBackAfterLongOutage: etcd is down long enough for the clients'
// reconnection backoff to have grown (gRPC's grows to two minutes; here it
// starts at 30s, as after a few minutes down). When etcd is back, a replica
// runs the child again within a few TTLs all the same: a campaign asks the
// client to reconnect now, rather than when its backoff ends.
func TestServerBackAfterLongOutage(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	slow := func() *clientv3.Client {
		c, err := clientv3.New(clientv3.Config{
			Endpoints: []string{srv.client}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
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
	startReplica(t, "a", slow(), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", slow(), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)

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
