package runtime_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// holdPool makes the supervisor at path wait, before it handles its next
// message, until the returned release is called; entered is closed once it
// waits. It undoes itself with the test.
func holdPool(t *testing.T, path string) (entered <-chan struct{}, release func()) {
	t.Helper()
	in, gate := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	runtime.SetTestHook(func(p string) {
		if p == path && once.CompareAndSwap(false, true) {
			close(in)
			<-gate
		}
	})
	t.Cleanup(func() { runtime.SetTestHook(nil) })
	var released atomic.Bool
	release = func() {
		if released.CompareAndSwap(false, true) {
			close(gate)
		}
	}
	t.Cleanup(release)
	return in, release
}

// TestPoolStartAcceptedBeforeShutdownRuns: an instance that Start accepted
// runs, even if its pool begins to stop before it got to start it: Start
// returned a handle, and the run function (and the argument it closes
// over, such as a connection to close) is the caller's only way to clean
// up. It sees its context cancelled at once. OTP's start_child either
// starts the child or fails; it never accepts a child and drops it.
func TestPoolStartAcceptedBeforeShutdownRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Restart: runtime.Temporary})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		entered, release := holdPool(t, "t/p")

		_, err := p.Start("first", blockUntilCancelled)
		require.NoError(t, err)
		<-entered // the pool is busy with the first instance

		var ran, sawCancel atomic.Bool
		h, err := p.Start("second", func(ctx context.Context, a *runtime.Attempt) error {
			ran.Store(true)
			<-ctx.Done()
			sawCancel.Store(true)
			return nil
		})
		require.NoError(t, err, "the pool runs: Start accepts the instance")

		stopped := make(chan error, 1)
		go func() { stopped <- stop() }()
		synctest.Wait() // the tree's context is cancelled; the pool is still busy
		release()
		require.NoError(t, <-stopped)

		assert.True(t, ran.Load(), "the instance Start accepted ran")
		assert.True(t, sawCancel.Load(), "and was cancelled with its pool")
		assert.Equal(t, runtime.StateDone, h.State())
		assert.Equal(t, 0, p.Len())
	})
}

func blockUntilCancelled(ctx context.Context, _ *runtime.Attempt) error {
	<-ctx.Done()
	return nil
}
