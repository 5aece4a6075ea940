package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

func TestHealthThroughALife(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "db", Run: warm(time.Second), Ready: &runtime.Ready{}},
			{Name: "worker", Run: failing(fail)},
		}})
		h := tr.Health()
		assert.Equal(t, runtime.HealthStarting, h.State)
		assert.Equal(t, "not started", h.Reason)

		stop, _ := start(t, tr)
		synctest.Wait()
		h = tr.Health()
		assert.Equal(t, runtime.HealthStarting, h.State)
		assert.Equal(t, "t/db: starting: not ready yet", h.Reason)
		assert.True(t, h.State.Live())
		assert.False(t, h.State.Serving())
		select {
		case <-tr.Ready():
			t.Fatal("ready too early")
		default:
		}

		time.Sleep(time.Second)
		synctest.Wait()
		<-tr.Ready()
		h = tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State)
		assert.Empty(t, h.Reason)
		assert.True(t, h.State.Serving())
		for _, c := range h.Children {
			assert.True(t, c.OK, c.Path)
		}

		close(fail)
		synctest.Wait()
		h = tr.Health()
		assert.Equal(t, runtime.HealthDegraded, h.State)
		assert.Equal(t, "t/worker: restarting after error: boom", h.Reason)
		assert.True(t, h.State.Serving())
		require.Len(t, h.Children, 2)
		assert.False(t, h.Children[1].OK)
		assert.Equal(t, runtime.StateBackoff, h.Children[1].State)

		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.HealthReady, tr.Health().State, "repaired")

		require.NoError(t, stop())
		<-tr.Stopping()
		<-tr.Done()
		h = tr.Health()
		assert.Equal(t, runtime.HealthStopped, h.State)
		assert.False(t, h.State.Live())
		assert.NoError(t, tr.Err())
	})
}

func TestHealthStoppingAndFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Second}, Children: []runtime.Child{
			{Name: "slow", Run: lingering(time.Second, nil)},
			{Name: "bad", Run: func(ctx context.Context, a *runtime.Attempt) error {
				time.Sleep(time.Second)
				return errBoom
			}},
		}})
		_, done := start(t, tr)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		h := tr.Health()
		assert.Equal(t, runtime.HealthStopping, h.State, "giving up stops the children first")
		assert.True(t, h.State.Live(), "a stopping tree is still live")
		assert.False(t, h.State.Serving())
		err := <-done
		require.ErrorIs(t, err, runtime.ErrRestartLimit)
		h = tr.Health()
		assert.Equal(t, runtime.HealthFailed, h.State)
		assert.Equal(t, err.Error(), h.Reason)
		assert.Equal(t, err, tr.Err())
	})
}

// TestHealthBelowAnEndedSupervisor: the children of a nested supervisor
// that ended for good (a significant child finished) have ended with it:
// the tree is ready, not degraded for ever; a supervisor that is down is
// the reason, not each of its children.
func TestHealthBelowAnEndedSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "api", Run: nop},
			{Name: "setup", Restart: runtime.Transient, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "migrate", Run: runtime.Func(func(context.Context) error { return nil }), Restart: runtime.Transient, Significant: true},
				{Name: "progress", Run: nop},
			}}},
			{Name: "jobs", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "a", Run: nop}, {Name: "b", Run: nop}}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.Equal(t, runtime.StateDone, status(t, tr, "t/setup").State)
		require.Equal(t, runtime.StateStopped, status(t, tr, "t/setup/progress").State)
		h := tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)

		require.NoError(t, tr.Handle("t/jobs").StopAndWait(context.Background()))
		h = tr.Health()
		assert.Equal(t, runtime.HealthDegraded, h.State)
		assert.Equal(t, "t/jobs: stopped", h.Reason, "the supervisor, not its first child")
		require.NoError(t, stop())
	})
}

// A waiting child names the sibling it waits for and why that one is not
// ready; a supervisor that is not ready yet takes its reason from inside:
// an order that stopped a child, or a dependency that ended for good
// without success, keeps the tree starting, and Health must say which.
func TestHealthSaysWhyItWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour), Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "slow", Run: warm(time.Minute), Ready: &runtime.Ready{}},
			}}},
			{Name: "migrate", Restart: runtime.Temporary, Run: func(ctx context.Context, a *runtime.Attempt) error {
				return errBoom
			}, Ready: &runtime.Ready{}},
			{Name: "api", Run: warm(0), Ready: &runtime.Ready{}, After: []string{"migrate"}},
		}})
		start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/n/slow").Stop())
		synctest.Wait()

		h := tr.Health()
		assert.Equal(t, runtime.HealthStarting, h.State)
		assert.Equal(t, "t/n/slow: stopped", h.Reason, "the child that keeps t/n from being ready, not t/n")
		byPath := map[string]runtime.ChildHealth{}
		for _, c := range h.Children {
			byPath[c.Path] = c
		}
		assert.Equal(t, "starting: not ready yet", byPath["t/n"].Reason)
		assert.True(t, byPath["t/migrate"].OK, "ended for good")
		assert.Equal(t, runtime.StateWaiting, byPath["t/api"].State)
		assert.Equal(t, "waiting for migrate (done after error: boom)", byPath["t/api"].Reason)

		require.NoError(t, tr.Handle("t/n/slow").Restart())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, "t/api: waiting for migrate (done after error: boom)", tr.Health().Reason)
	})
}

// TestHealthSaysPoolsAndInstances: Health marks pools and their
// instances, as Snapshot does, so that a probe can sum a pool up.
func TestHealthSaysPoolsAndInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "db", Run: nop},
			{Name: "conns", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		_, err := tr.Pool("t/conns").Start("c1", nop)
		require.NoError(t, err)
		synctest.Wait()
		var got []string
		for _, c := range tr.Health().Children {
			got = append(got, fmt.Sprintf("%s pool=%v instance=%v", c.Path, c.Pool, c.Instance))
		}
		assert.Equal(t, []string{"t/db pool=false instance=false", "t/conns pool=true instance=false", "t/conns/c1 pool=false instance=true"}, got)
		require.NoError(t, stop())
	})
}

// Health's Snapshot is the one its children were read from: a console or
// a metrics scrape of a large pool walks the tree once, and what it shows
// of a child's health agrees with its counters.
func TestHealthCarriesItsSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "w", Run: failing(fail)},
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop}}}},
			{Name: "conns", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		for _, name := range []string{"c1", "c2"} {
			_, err := tr.Pool("t/conns").Start(name, nop)
			require.NoError(t, err)
		}
		close(fail)
		synctest.Wait()
		h := tr.Health()
		require.Equal(t, "t", h.Snapshot.Tree)
		require.Len(t, h.Snapshot.Children, len(h.Children))
		for i, c := range h.Children {
			s := h.Snapshot.Children[i]
			assert.Equal(t, s.Path, c.Path)
			assert.Equal(t, s.State, c.State, c.Path)
			assert.Equal(t, s.Restarts, c.Restart, c.Path)
		}
		w, ok := h.Snapshot.Child("t/w")
		require.True(t, ok)
		assert.Equal(t, runtime.StateBackoff, w.State)
		require.NoError(t, stop())
	})
}

// TestHealthEndsWithDone: a caller that polls Health until the tree is no
// longer live finds Done closed, Err final and ShutdownReport complete at
// that moment, never a moment before Run has returned. Run many times, with
// a poller spinning against the end of Run.
func TestHealthEndsWithDone(t *testing.T) {
	for i := range 200 {
		fails := i%2 == 1
		release := make(chan struct{})
		stuck := func(ctx context.Context, _ *runtime.Attempt) error {
			<-release // ignores its cancellation: abandoned after its grace
			return nil
		}
		bad := nop
		if fails {
			bad = func(context.Context, *runtime.Attempt) error { return errBoom }
		}
		tr := mustNew(t, runtime.Spec{Name: "t", RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Second}, Children: []runtime.Child{
			{Name: "stuck", Run: stuck, Shutdown: time.Millisecond},
			{Name: "bad", Run: bad},
		}})
		type seen struct {
			state    runtime.HealthState
			done     bool
			err      error
			reported int
		}
		flipped := make(chan seen, 1)
		go func() {
			for {
				h := tr.Health()
				if !h.State.Live() {
					s := seen{state: h.State, done: closed(tr.Done()), err: tr.Err(), reported: len(tr.ShutdownReport().Abandoned)}
					flipped <- s
					return
				}
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- tr.Run(ctx) }()
		if !fails {
			<-tr.Ready()
			cancel()
		}
		s := <-flipped
		err := <-ran
		cancel()
		close(release)
		require.True(t, s.done, "run %d: Health said %s before Done was closed", i, s.state)
		if fails {
			require.Equal(t, runtime.HealthFailed, s.state, "run %d", i)
			require.ErrorIs(t, err, runtime.ErrRestartLimit)
		} else {
			require.Equal(t, runtime.HealthStopped, s.state, "run %d", i)
			require.NoError(t, err)
		}
		require.Equal(t, err, s.err, "run %d: Err, once Health says ended, is what Run returned", i)
		require.Equal(t, 1, s.reported, "run %d: the abandoned attempt is listed once Health says ended", i)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestHealthStartingAgainSaysWhy: a child that keeps missing its ready
// timeout spends most of its time starting again, not in its backoff; its
// reason then names the failure it starts again after, which an operator
// reading /readyz or systemctl status needs, rather than only "not ready
// yet". Its first attempt, and one that an order restarted, have no failure
// to name.
func TestHealthStartingAgainSaysWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "db", Run: nop, Ready: &runtime.Ready{Timeout: 5 * time.Second}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, "t/db: starting: not ready yet", tr.Health().Reason)

		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, "t/db: restarting after timeout: arbor: not ready in time", tr.Health().Reason)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, runtime.StateStarting, status(t, tr, "t/db").State)
		assert.Equal(t, "t/db: starting again after timeout: arbor: not ready in time", tr.Health().Reason)

		require.NoError(t, tr.Handle("t/db").Restart())
		synctest.Wait()
		assert.Equal(t, "t/db: starting: not ready yet", tr.Health().Reason)
		require.NoError(t, stop())
	})
}

// TestHealthEndedCarriesAFinalSnapshot: a Health that says the tree stopped
// carries a snapshot read once it had, where nothing runs. One read as the
// tree stopped, with a worker still running and a pool's instance stopping,
// said "stopped" when Run returned between the snapshot and the reading of
// the tree's state: the console then said stopped and listed children
// running (found by TestGenChaos).
func TestHealthEndedCarriesAFinalSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := func(ctx context.Context, _ *runtime.Attempt) error {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "w", Run: slow},
			{Name: "conns", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		_, err := tr.Pool("t/conns").Start("c1", slow)
		require.NoError(t, err)
		synctest.Wait()

		var once sync.Once
		runtime.SetHealthHook(func() {
			// The tree ends between Health's snapshot and its state.
			once.Do(func() { require.NoError(t, stop()) })
		})
		defer runtime.SetHealthHook(nil)
		h := tr.Health()
		require.True(t, closed(tr.Done()))
		ended := h.State == runtime.HealthStopped
		if !ended {
			assert.Equal(t, runtime.HealthStopping, h.State, "read before the end: stopping")
		}
		for _, c := range h.Snapshot.Children {
			if ended {
				assert.Equal(t, runtime.StateStopped, c.State, "Health says %s, and %s is %s", h.State, c.Path, c.State)
				assert.False(t, c.Instance, "Health says %s, and the instance %s is live", h.State, c.Path)
			}
		}
		h = tr.Health()
		assert.Equal(t, runtime.HealthStopped, h.State)
		for _, c := range h.Snapshot.Children {
			assert.Equal(t, runtime.StateStopped, c.State, c.Path)
		}
	})
}

// TestHealthPoolWorkIsWell: a pool takes and ends work all the time. An
// instance starting for the first time, or stopping on an order, is how a
// pool runs, not a fault: the tree stays ready. One that failed, in its
// backoff or starting again, degrades it, as a declared child does.
func TestHealthPoolWorkIsWell(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}, Backoff: constBackoff(time.Second),
				Ready: &runtime.Ready{Timeout: time.Hour}, Shutdown: time.Minute},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.Equal(t, runtime.HealthReady, tr.Health().State)
		p := tr.Pool("t/p")

		_, err := p.Start("new", nop) // never ready within the test
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, runtime.StateStarting, status(t, tr, "t/p/new").State)
		h := tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)

		slow, err := p.Start("slow", func(ctx context.Context, a *runtime.Attempt) error {
			a.Ready()
			<-ctx.Done()
			time.Sleep(10 * time.Second) // cleans up
			return nil
		})
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, slow.Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/p/slow").State)
		h = tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)

		_, err = p.Start("bad", func(context.Context, *runtime.Attempt) error { return errors.New("boom") })
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, runtime.StateBackoff, status(t, tr, "t/p/bad").State)
		h = tr.Health()
		assert.Equal(t, runtime.HealthDegraded, h.State)
		assert.Equal(t, "t/p/bad: restarting after error: boom", h.Reason)

		require.NoError(t, stop())
	})
}

// TestHealthBecomingReadyWhileRead: a tree that becomes ready while Health
// reads its snapshot, which shows a child not ready yet, is starting: one
// read said "degraded" with that child's "starting: not ready yet", as if a
// child had gone wrong after the tree was ready.
func TestHealthBecomingReadyWhileRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		readyNow := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "db", Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-readyNow
				a.Ready()
				<-ctx.Done()
				return nil
			}, Ready: &runtime.Ready{Timeout: time.Hour}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()

		var once sync.Once
		runtime.SetHealthHook(func() {
			once.Do(func() { close(readyNow); <-tr.Ready() })
		})
		defer runtime.SetHealthHook(nil)
		h := tr.Health()
		require.Equal(t, runtime.StateStarting, h.Children[0].State)
		assert.Equal(t, runtime.HealthStarting, h.State)
		assert.Equal(t, "t/db: starting: not ready yet", h.Reason)

		assert.Equal(t, runtime.HealthReady, tr.Health().State)
		require.NoError(t, stop())
	})
}

// TestHealthAbandonedSaysWhichDeadline: a child abandoned after it missed a
// deadline (here its heartbeat) and ignored its stop is restarting after a
// timeout, and Health says which: it said "arbor: abandoned", which lost
// the heartbeat. LastError is still ErrAbandoned to errors.Is.
func TestHealthAbandonedSaysWhichDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Minute), Children: []runtime.Child{
			{Name: "w", Shutdown: time.Second, Heartbeat: &runtime.Heartbeat{Timeout: 2 * time.Second},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-hung
					return nil
				}},
		}})
		stop, _ := start(t, tr)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, "t/w: restarting after timeout: arbor: abandoned: arbor: heartbeat missed", tr.Health().Reason)
		st := status(t, tr, "t/w")
		assert.ErrorIs(t, st.LastError, runtime.ErrAbandoned)
		assert.ErrorIs(t, st.LastError, runtime.ErrHeartbeatTimeout)
		require.NoError(t, stop())
		close(hung)
		synctest.Wait()
	})
}
