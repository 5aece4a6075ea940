package etcd_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestHolderCutOffGrace: the holder is cut off, and its child takes most
// of its shutdown grace to return once cancelled, as one that finishes a
// write would. It has returned before etcd can expire the lease, so
// before the other replica starts: the lease is reported lost a grace
// earlier.
func TestHolderCutOffGrace(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	const ttl, grace = 2 * time.Second, time.Second
	lease := &runtime.LeaseSpec{TTL: ttl}
	p := newProxy(t, srv.client)
	a := startReplica(t, "a", connect(t, p.addr()),
		runtime.Child{Run: w.singleton("a", grace*9/10, nil), Shutdown: grace, Lease: lease}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil), Lease: lease}, nil)
	time.Sleep(ttl)
	assert.Empty(t, a.of(runtime.EventLeaseLost), "a renews in time")

	cut := time.Now()
	p.freeze()
	within(t, 5*ttl, "b takes over", func() bool { return w.holder(t) == "b" })
	within(t, 5*ttl, "a's child returns", func() bool { runs, _ := w.history(); return !runs[0].end.IsZero() })
	runs := checkRuns(t, w)
	require.Len(t, runs, 2)
	assert.Equal(t, runtime.ErrLeaseLost, runs[0].cause)
	assert.Empty(t, a.of(runtime.EventAbandoned), "a's child returned within its grace")
	t.Logf("a stopped %v after the cut, b started %v after it", runs[0].end.Sub(cut), runs[1].start.Sub(cut))
	p.sever()
}
