package etcd_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestServerDownAtStart: etcd is not up when the replica starts. The tree
// is ready, its lease child stands by with the error it met, and it runs
// once etcd is up.
func TestServerDownAtStart(t *testing.T) {
	srv := &server{t: t, dir: t.TempDir(), client: freePort(t), peer: freePort(t)}
	t.Cleanup(srv.stop)
	w := newWorld()
	a := startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	time.Sleep(2 * ttl)
	assert.Equal(t, runtime.StateStandby, a.state())
	assert.Equal(t, runtime.HealthReady, a.tree.Health().State)
	assert.Empty(t, w.holder(t))
	srv.start()
	up := time.Now()
	within(t, 10*time.Second, "a runs the child once etcd is up", func() bool { return w.holder(t) == "a" })
	t.Logf("running %v after etcd came up", time.Since(up))
	runs, _ := w.history()
	require.Len(t, runs, 1)
	assert.NotZero(t, runs[0].token)
	require.NoError(t, a.stop())
}
