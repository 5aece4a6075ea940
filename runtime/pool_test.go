package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// poolTree is a tree with one pool "p" of instances with the given policy.
func poolTree(t *testing.T, pool runtime.Child, opts ...runtime.Option) *runtime.Tree {
	t.Helper()
	pool.Name = "p"
	if pool.Pool == nil {
		pool.Pool = &runtime.PoolSpec{}
	}
	return mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{pool}}, opts...)
}

func TestPoolStartsInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{}, runtime.WithObserver(rec.observe))
		p := tr.Pool("t/p")
		require.NotNil(t, p)
		assert.Nil(t, tr.Pool("t"), "the root is not a pool")
		assert.Equal(t, "t/p", p.Path())
		stop, _ := start(t, tr)
		synctest.Wait()

		var got []string
		h1, err := p.Start("alpha", func(ctx context.Context, a *runtime.Attempt) error {
			got = append(got, a.Path())
			<-ctx.Done()
			return nil
		})
		require.NoError(t, err)
		h2, err := p.Start("", runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil }))
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, []string{"t/p/alpha"}, got)
		assert.Equal(t, "t/p/alpha", h1.Path())
		assert.Regexp(t, `^t/p/[a-z][a-z0-9_-]*$`, h2.Path())
		assert.Equal(t, 2, p.Len())
		assert.Equal(t, runtime.PoolCounts{Running: 2, Started: 2}, p.Counts())
		assert.Equal(t, runtime.StateRunning, h1.State())
		assert.Same(t, h1, tr.Handle("t/p/alpha"), "Handle finds a live instance by path")

		pool := status(t, tr, "t/p")
		assert.True(t, pool.Pool)
		assert.True(t, pool.Supervisor)
		inst := status(t, tr, "t/p/alpha")
		assert.True(t, inst.Instance)
		assert.Equal(t, uint64(1), inst.Generation)
		assert.Equal(t, runtime.HealthReady, tr.Health().State)

		require.NoError(t, stop())
		assert.Equal(t, []string{"t/p/alpha stopped", fmt.Sprintf("%s stopped", h2.Path())}, sortedTrace(rec, runtime.EventStopped, "t/p/"))
		_, err = p.Start("late", nop)
		assert.ErrorIs(t, err, runtime.ErrTreeEnded)
		// The pool of an ended tree is not running either: DESIGN.md lists
		// ErrNotRunning, not ErrTreeEnded, among Start's errors.
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.Equal(t, "arbor: tree has ended", err.Error())
	})
}

// sortedTrace is the "path kind" lines of events of kind under prefix, sorted.
func sortedTrace(rec *recorder, kind runtime.EventKind, prefix string) []string {
	var out []string
	for _, e := range rec.of(kind) {
		if len(e.Path) > len(prefix) && e.Path[:len(prefix)] == prefix {
			out = append(out, e.Path+" "+e.Kind.String())
		}
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestPoolRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 2}, Restart: runtime.Temporary})
		p := tr.Pool("t/p")
		_, err := p.Start("a", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning, "before Run")
		assert.EqualError(t, err, "arbor: supervisor is not running: pool t/p (the tree has not started: Run starts it)")
		stop, _ := start(t, tr)
		synctest.Wait()

		release := make(chan struct{})
		job := func(ctx context.Context, _ *runtime.Attempt) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}
		_, err = p.Start("a", job)
		require.NoError(t, err)
		_, err = p.Start("a", job)
		assert.ErrorIs(t, err, runtime.ErrNameTaken)
		_, err = p.Start("", job)
		require.NoError(t, err)
		_, err = p.Start("c", job)
		assert.ErrorIs(t, err, runtime.ErrPoolFull)
		assert.Contains(t, err.Error(), "t/p")
		_, err = p.Start("Bad Name", job)
		assert.ErrorIs(t, err, runtime.ErrInvalidSpec)
		_, err = p.Start("d", nil)
		assert.ErrorIs(t, err, runtime.ErrInvalidSpec)

		close(release) // both end for good: temporary
		synctest.Wait()
		assert.Equal(t, 0, p.Len(), "ended instances are removed")
		assert.Nil(t, tr.Handle("t/p/a"))
		h, err := p.Start("a", nop)
		require.NoError(t, err, "the name and the room are free again")
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		require.NoError(t, stop())
	})
}

// TestPoolInstancesEndForGood: temporary, transient after a success and
// ErrDoNotRestart remove an instance; a failure restarts it with the same
// run function.
func TestPoolInstancesEndForGood(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart runtime.Restart
		ret     error
		removed bool
	}{
		{"permanent success", runtime.Permanent, nil, false},
		{"permanent failure", runtime.Permanent, errBoom, false},
		{"transient success", runtime.Transient, nil, true},
		{"transient failure", runtime.Transient, errBoom, false},
		{"temporary failure", runtime.Temporary, errBoom, true},
		{"do not restart", runtime.Permanent, fmt.Errorf("done: %w", runtime.ErrDoNotRestart), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := poolTree(t, runtime.Child{Restart: tc.restart})
				stop, _ := start(t, tr)
				synctest.Wait()
				var runs atomic.Int32
				h, err := tr.Pool("t/p").Start("x", func(ctx context.Context, a *runtime.Attempt) error {
					if runs.Add(1) == 1 {
						return tc.ret
					}
					<-ctx.Done()
					return nil
				})
				require.NoError(t, err)
				synctest.Wait()
				if tc.removed {
					assert.EqualValues(t, 1, runs.Load())
					assert.Equal(t, 0, tr.Pool("t/p").Len())
					assert.Equal(t, runtime.StateDone, h.State())
					assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved)
					assert.NoError(t, h.Stop(), "stopped already")
				} else {
					assert.EqualValues(t, 2, runs.Load(), "restarted with the same run function")
					assert.Equal(t, uint64(2), h.Status().Generation)
					assert.Equal(t, runtime.StateRunning, h.State())
				}
				require.NoError(t, stop())
			})
		})
	}
}

func TestPoolHandleOrders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var runs atomic.Int32
		h, err := p.Start("x", func(ctx context.Context, a *runtime.Attempt) error {
			runs.Add(1)
			<-ctx.Done()
			return nil
		})
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.EqualValues(t, 2, runs.Load(), "Restart runs the same function again")
		assert.Equal(t, uint64(2), h.Status().Generation)

		require.NoError(t, h.StopAndWait(context.Background()))
		assert.Equal(t, 0, p.Len(), "Stop removes the instance, as terminate_child")
		assert.Nil(t, tr.Handle("t/p/x"))
		assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved)
		require.NoError(t, stop())
	})
}

// TestPoolIntensity: the pool's restart limit counts all its instances'
// restarts together; exceeding it fails the pool, which its supervisor
// restarts, empty.
func TestPoolIntensity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{RestartLimit: &runtime.RestartLimit{Max: 3, Window: time.Minute}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		fail := make(chan struct{})
		for _, name := range []string{"a", "b"} {
			_, err := p.Start(name, func(ctx context.Context, a *runtime.Attempt) error {
				select {
				case <-fail:
					return errBoom
				case <-ctx.Done():
					return nil
				}
			})
			require.NoError(t, err)
		}
		synctest.Wait()
		close(fail) // a and b fail at once, and again at every restart
		synctest.Wait()
		gaveUp := rec.of(runtime.EventGaveUp)
		require.Len(t, gaveUp, 1)
		assert.Equal(t, "t/p", gaveUp[0].Path)
		var gu *runtime.GiveUpError
		require.ErrorAs(t, gaveUp[0].Err, &gu)
		assert.Equal(t, 3, gu.Max)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State, "restarted by its supervisor")
		assert.Equal(t, 1, status(t, tr, "t/p").Restarts)
		assert.Equal(t, 0, p.Len(), "restarted empty")
		_, err := p.Start("a", nop)
		require.NoError(t, err, "a restarted pool takes instances again")
		require.NoError(t, stop())
	})
}

// TestPoolShutdownIsConcurrent: instances stop at once, each within its
// grace; one that ignores cancellation is abandoned and listed by path.
func TestPoolShutdownIsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tr := poolTree(t, runtime.Child{Shutdown: 2 * time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		for i := range 10 {
			_, err := p.Start(fmt.Sprintf("w%d", i), lingering(time.Second, nil))
			require.NoError(t, err)
		}
		_, err := p.Start("stuck", lingering(time.Hour, release))
		require.NoError(t, err)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 2*time.Second, time.Since(begin), "at once: the longest grace, not the sum")
		report := tr.ShutdownReport()
		require.Len(t, report.Abandoned, 1)
		assert.Equal(t, "t/p/stuck", report.Abandoned[0].Path)
		close(release)
	})
}

// TestPoolNotRunning: a pool waiting for its After list, or stopped, takes
// no instance; a dependent of a pool starts once the pool runs.
func TestPoolNotRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "db", Run: warm(time.Second), Ready: &runtime.Ready{Timeout: time.Minute}},
			{Name: "p", Pool: &runtime.PoolSpec{}, After: []string{"db"}},
			{Name: "api", Run: nop, After: []string{"p"}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		_, err := p.Start("x", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning, "waiting for db")
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State)
		time.Sleep(time.Second)
		synctest.Wait()
		_, err = p.Start("x", nop)
		require.NoError(t, err)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State, "a pool is ready once it runs")
		require.NoError(t, tr.Handle("t/p").StopAndWait(context.Background()))
		_, err = p.Start("y", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning, "stopped")
		require.NoError(t, stop())
	})
}

// TestPoolInstancesHaveTheChildsLiveness: ready and heartbeat apply to each
// instance.
func TestPoolInstancesHaveTheChildsLiveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{Ready: &runtime.Ready{Timeout: time.Second}, Heartbeat: &runtime.Heartbeat{Timeout: time.Second}, Restart: runtime.Temporary},
			runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		_, err := p.Start("never-ready", nop)
		require.NoError(t, err)
		_, err = p.Start("silent", func(ctx context.Context, a *runtime.Attempt) error {
			a.Ready()
			<-ctx.Done()
			return nil
		})
		require.NoError(t, err)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		causes := map[string]error{}
		for _, e := range rec.of(runtime.EventExited) {
			causes[e.Path] = e.Err
		}
		assert.ErrorIs(t, causes["t/p/never-ready"], runtime.ErrReadyTimeout)
		assert.ErrorIs(t, causes["t/p/silent"], runtime.ErrHeartbeatTimeout)
		assert.Equal(t, 0, p.Len())
		require.NoError(t, stop())
	})
}

// TestPoolStartFromAnywhere: instances start instances, and many goroutines
// start, stop and read at once.
func TestPoolStartFromAnywhere(t *testing.T) {
	tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 50}, Restart: runtime.Temporary})
	stop, _ := start(t, tr)
	p := tr.Pool("t/p")
	<-tr.Ready()
	// One instance starts another, whatever the scheduling.
	spawnedOne := make(chan error, 1)
	_, err := p.Start("parent", func(ctx context.Context, a *runtime.Attempt) error {
		_, err := p.Start("child", nop)
		spawnedOne <- err
		<-ctx.Done()
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, <-spawnedOne)
	var spawned atomic.Int32
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
					if i%3 == 0 { // an instance starts another
						if _, err := p.Start(fmt.Sprintf("child-%d-%d", g, i), runtime.Func(func(context.Context) error { return nil })); err == nil {
							spawned.Add(1)
						}
					}
					return nil
				})
				switch {
				case err == nil:
					if i%5 == 0 {
						h.Stop()
					}
				case !errors.Is(err, runtime.ErrPoolFull) && !errors.Is(err, runtime.ErrNameTaken):
					t.Errorf("Start: %v", err)
				}
				if i%7 == 0 {
					tr.Snapshot()
					p.Counts()
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, stop())
	t.Logf("%d instances started by instances", spawned.Load())
}

// TestKilledPoolIsEmptyWhenRunReturns: a pool abandoned with its parent,
// while instances are being started, has no instance left and shows no
// state still going when Run returns; its instances are in the report, and
// every instance Start accepted has run, those the kill came before too.
// The kill runs on another goroutine, so this takes real concurrency.
func TestKilledPoolIsEmptyWhenRunReturns(t *testing.T) {
	loop := &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}
	var accepted, ran atomic.Int64
	for range 50 {
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 2 * time.Millisecond, Children: []runtime.Child{
			{Name: "a", Supervisor: &runtime.Spec{Shutdown: time.Hour, Backoff: noBackoff, RestartLimit: loop, Children: []runtime.Child{
				{Name: "b", Supervisor: &runtime.Spec{Backoff: noBackoff, RestartLimit: loop, Children: []runtime.Child{
					{Name: "p", Pool: &runtime.PoolSpec{Max: 5}, Backoff: noBackoff, RestartLimit: loop},
					{Name: "w", Backoff: noBackoff, Run: func(ctx context.Context, a *runtime.Attempt) error { return errBoom }},
				}}},
				{Name: "slow", Run: lingering(time.Hour, release)},
			}}},
		}}, runtime.WithObserver(func(runtime.Event) {}))
		stop, _ := start(t, tr)
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				p := tr.Pool("t/a/b/p")
				var once sync.Once
				_, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
					once.Do(func() { ran.Add(1) })
					<-ctx.Done()
					return nil
				})
				if err == nil {
					accepted.Add(1)
				}
				if err != nil && !errors.Is(err, runtime.ErrPoolFull) && !errors.Is(err, runtime.ErrNotRunning) && !errors.Is(err, runtime.ErrTreeEnded) {
					t.Errorf("Start: %v", err) // only the documented errors
				}
			}
		}()
		time.Sleep(time.Millisecond)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		close(done)
		wg.Wait()
		for _, st := range tr.Snapshot().Children {
			switch st.State {
			case runtime.StateStopped, runtime.StateDone, runtime.StateIdle:
			default:
				t.Errorf("%s shows %s after Run", st.Path, st.State)
			}
		}
		if n := tr.Pool("t/a/b/p").Len(); n != 0 {
			t.Errorf("pool has %d instances after Run", n)
		}
		close(release)
	}
	// Those the kill ran are on their way: their goroutines began before
	// Run returned.
	for deadline := time.Now().Add(10 * time.Second); ran.Load() < accepted.Load() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if a, r := accepted.Load(), ran.Load(); r != a {
		t.Errorf("Start accepted %d instances, %d ran", a, r)
	}
}

// TestPoolCountsAgreeWithLen: whatever moment Counts or Snapshot catch a
// pool at, its instances by state add up to Len (Started − Removed), and
// every instance a snapshot lists is in one of Counts' states: one that
// has just returned, to be restarted or removed, too.
func TestPoolCountsAgreeWithLen(t *testing.T) {
	tr := poolTree(t, runtime.Child{RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}})
	stop, _ := start(t, tr)
	<-tr.Ready()
	p := tr.Pool("t/p")
	var runs atomic.Int64
	churn := func(ctx context.Context, _ *runtime.Attempt) error {
		if runs.Add(1) > 3000 {
			<-ctx.Done()
			return nil
		}
		return errBoom // restarted at once, again and again
	}
	for range 2 {
		_, err := p.Start("", churn)
		require.NoError(t, err)
	}
	for runs.Load() <= 3000 {
		require.False(t, closed(tr.Done()), "the tree ended")
		c := p.Counts()
		live := c.Starting + c.Running + c.Backoff + c.Stopping + c.Stopped
		require.Equal(t, int(c.Started-c.Removed), live, "Counts %+v", c)
		for _, st := range tr.Snapshot().Children {
			if st.Instance {
				require.Contains(t, []runtime.State{runtime.StateIdle, runtime.StateStarting, runtime.StateRunning, runtime.StateBackoff, runtime.StateStopping, runtime.StateStopped}, st.State, st.Path)
			}
		}
	}
	require.NoError(t, stop())
}

// TestKilledPoolReportKeepsOrder: a pool abandoned with its parent, its
// instances stuck, lists each of them at the kill, with how long it was
// cancelled; those that return later move to the history in the order
// they returned, and the rest keep the order they were abandoned in.
func TestKilledPoolReportKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 300
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Second, Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: time.Hour},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		release := map[string]chan struct{}{}
		for i := range n {
			ch := make(chan struct{})
			h, err := p.Start(fmt.Sprintf("i%d", i), func(context.Context, *runtime.Attempt) error { <-ch; return nil })
			require.NoError(t, err)
			release[h.Path()] = ch
		}
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		require.Equal(t, time.Second, time.Since(begin), "within the root's budget")
		synctest.Wait() // the killed pool's run ends
		report := tr.ShutdownReport()
		require.Len(t, report.Abandoned, n+1)
		var order []string // of the instances' abandonment
		for _, a := range report.Abandoned[:n] {
			require.Contains(t, release, a.Path)
			assert.Zero(t, a.Returned, a.Path)
			assert.Equal(t, time.Second, a.Waited, "%s was cancelled when its pool began to stop", a.Path)
			assert.Equal(t, begin.Add(time.Second), a.At, a.Path)
			order = append(order, a.Path)
		}
		pool := report.Abandoned[n]
		require.Equal(t, "t/p", pool.Path, "the pool, whose run has ended since")
		assert.NotZero(t, pool.Returned)

		// Two in three return, from the last abandoned back, and then the
		// first abandoned.
		var returned []string
		for i := n - 1; i >= 0; i-- {
			if i%3 != 0 || i == 0 {
				close(release[order[i]])
				synctest.Wait()
				time.Sleep(time.Millisecond)
				returned = append(returned, order[i])
			}
		}
		var running []string
		for _, path := range order {
			if !slices.Contains(returned, path) {
				running = append(running, path)
			}
		}
		history := append([]string{"t/p"}, returned...)
		report = tr.ShutdownReport()
		var got []string
		for _, a := range report.Abandoned {
			got = append(got, a.Path)
			if len(got) <= len(running) {
				assert.Zero(t, a.Returned, a.Path)
			} else {
				assert.NotZero(t, a.Returned, a.Path)
			}
		}
		assert.Equal(t, append(running, history[len(history)-runtime.ReportHistory:]...), got)
		assert.Equal(t, len(history)-runtime.ReportHistory, report.Forgotten)
		for _, path := range running {
			close(release[path])
		}
		synctest.Wait()
		report = tr.ShutdownReport()
		assert.Len(t, report.Abandoned, runtime.ReportHistory)
		assert.Equal(t, n+1-runtime.ReportHistory, report.Forgotten)
	})
}
