package etcd_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

// TestManyAcquiresAtStart: a program's first campaigns, many at once on a
// client just made, as a tree with many lease children starts. Each asks
// the client to reconnect if its connection is not up (see
// TestServerBackAfterLongOutage), which must not race with the client
// setting the connection up (gRPC's ResetConnectBackoff reads the
// connections without its lock).
func TestManyAcquiresAtStart(t *testing.T) {
	srv := startServer(t)
	for range 3 {
		l := etcd.New(connect(t, srv.client))
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				le, err := l.Acquire(ctx, fmt.Sprintf("start/%d", i), ttl)
				if assert.NoError(t, err) {
					assert.NoError(t, le.Release(ctx))
				}
			})
		}
		wg.Wait()
	}
}
