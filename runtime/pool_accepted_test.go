package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

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

// TestPoolStartAcceptedAlwaysRunsUnderRestarts: goroutines start
// instances while the pool is restarted over and over with its group (a
// one_for_all sibling crashes), and an operator stops and restarts them by
// path, as the console does, as soon as Start has named them: every Start
// that returned a handle ran its run function once Run returns (Run waits
// for every attempt), and no Start that failed ever ran. Real concurrency:
// the races are between Start's goroutines, the operator's and the pool's.
func TestPoolStartAcceptedAlwaysRunsUnderRestarts(t *testing.T) {
	loop := &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}
	tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, RestartLimit: loop, Children: []runtime.Child{
		{Name: "p", Pool: &runtime.PoolSpec{Max: 20}, Restart: runtime.Temporary},
		{Name: "crash", Run: func(ctx context.Context, _ *runtime.Attempt) error {
			select {
			case <-time.After(100 * time.Microsecond):
				return errBoom
			case <-ctx.Done():
				return nil
			}
		}},
	}})
	stop, _ := start(t, tr)
	<-tr.Ready()
	p := tr.Pool("t/p")
	var accepted, ran, refusedRan atomic.Int64
	var next [4]atomic.Pointer[string] // the path each starter is about to start
	var starters, operator sync.WaitGroup
	for g := range 4 {
		starters.Go(func() {
			for i := range 2000 {
				var ok, first atomic.Bool
				decided := make(chan struct{})
				name := fmt.Sprintf("g%d-%d", g, i)
				path := "t/p/" + name
				next[g].Store(&path)
				_, err := p.Start(name, func(ctx context.Context, _ *runtime.Attempt) error {
					<-decided
					switch {
					case !ok.Load():
						refusedRan.Add(1)
					case first.CompareAndSwap(false, true): // a Restart runs it again
						ran.Add(1)
					}
					<-ctx.Done()
					return nil
				})
				ok.Store(err == nil)
				close(decided)
				switch {
				case err == nil:
					accepted.Add(1)
				case !errors.Is(err, runtime.ErrPoolFull) && !errors.Is(err, runtime.ErrNotRunning):
					t.Errorf("Start: %v", err)
				}
			}
		})
	}
	done := make(chan struct{})
	operator.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			path := next[i%4].Load()
			if path == nil {
				continue
			}
			if h := tr.Handle(*path); h != nil {
				if i%3 == 0 {
					h.Restart()
				} else {
					h.Stop()
				}
			}
		}
	})
	starters.Wait()
	close(done)
	operator.Wait()
	require.NoError(t, stop())
	assert.Zero(t, refusedRan.Load(), "a Start that failed never runs")
	assert.Equal(t, accepted.Load(), ran.Load(), "every Start that returned a handle ran")
	t.Logf("accepted %d, restarts of the pool %d", accepted.Load(), status(t, tr, "t/p").Restarts)
}

// TestPoolKilledWithAcceptedInstanceRunsIt: a pool abandoned with its
// parent (the root's budget ran out while a sibling ignored its
// cancellation) before it took an instance that Start had accepted still
// runs that instance's run function, cancelled, so that it can release
// what Start handed it; it is listed in the report like the pool's other
// instances.
func TestPoolKilledWithAcceptedInstanceRunsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Second, Children: []runtime.Child{
			{Name: "a", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "p", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary},
				{Name: "slow", Shutdown: time.Hour, Run: lingering(time.Hour, release)},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/a/p")
		entered, unhold := holdPool(t, "t/a/p")
		_, err := p.Start("first", blockUntilCancelled)
		require.NoError(t, err)
		<-entered // the pool is busy with the first instance

		var ran, cancelled atomic.Bool
		h, err := p.Start("x", func(ctx context.Context, _ *runtime.Attempt) error {
			ran.Store(true)
			cancelled.Store(ctx.Err() != nil)
			<-ctx.Done()
			return nil
		})
		require.NoError(t, err, "accepted: the instance must run")
		require.NoError(t, stop()) // the root's budget runs out on slow: a and its pool are abandoned
		unhold()
		synctest.Wait()
		assert.True(t, ran.Load(), "the run function of an instance Start accepted never ran")
		assert.True(t, cancelled.Load(), "it ran with its context not cancelled")
		var paths []string
		for _, a := range tr.ShutdownReport().Abandoned {
			paths = append(paths, a.Path)
		}
		assert.Contains(t, paths, h.Path())
		assert.Equal(t, 0, p.Len())
	})
}
