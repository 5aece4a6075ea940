package runtime_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestLeaseGrace: Acquire's context says how long the child may take to
// stop once its lease is lost, so that the provider can report the loss
// that much earlier: a worker's shutdown grace (its default too), a
// nested supervisor's budget, a pool's instance grace.
func TestLeaseGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "dflt", Run: nop, Lease: &runtime.LeaseSpec{}},
			{Name: "short", Run: nop, Shutdown: 2 * time.Second, Lease: &runtime.LeaseSpec{}},
			{Name: "sup", Lease: &runtime.LeaseSpec{}, Supervisor: &runtime.Spec{Shutdown: 7 * time.Second,
				Children: []runtime.Child{{Name: "x", Run: nop}}}},
			{Name: "supdflt", Lease: &runtime.LeaseSpec{}, Supervisor: &runtime.Spec{
				Children: []runtime.Child{{Name: "x", Run: nop}}}},
			{Name: "pool", Pool: &runtime.PoolSpec{}, Shutdown: 3 * time.Second, Lease: &runtime.LeaseSpec{}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		f.mu.Lock()
		assert.Equal(t, map[string]time.Duration{
			"t/dflt":    runtime.DefaultChildShutdown,
			"t/short":   2 * time.Second,
			"t/sup":     7 * time.Second,
			"t/supdflt": runtime.DefaultTreeShutdown,
			"t/pool":    3 * time.Second,
		}, f.graces)
		f.mu.Unlock()
		assert.Zero(t, runtime.LeaseGrace(context.Background()))
		var none context.Context // a provider's own test may call it so
		assert.Zero(t, runtime.LeaseGrace(none), "nil is any other context too")
		require.NoError(t, stop())
	})
}

// TestLeaseAcquireErrorsShortTTL: with a TTL far shorter than a round trip
// ("1ms", which vet accepts and etcd rounds up to a second), a failing
// Acquire is still tried no more often than every 100ms: a store that
// refuses at once (a permission denied, an overloaded server) is not
// asked a thousand times a second.
func TestLeaseAcquireErrorsShortTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		f.setFail(errors.New("permission denied"))
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{TTL: time.Millisecond}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		f.mu.Lock()
		n := f.acquires
		f.mu.Unlock()
		assert.LessOrEqual(t, n, 10*10*5/4, "Acquire calls in 10s")
		require.NoError(t, stop())
	})
}
