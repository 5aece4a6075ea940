package runtime_test

// terminate_child, restart_child and suture's Remove of OTP's, Elixir's and
// suture's suites, given to a child in every state it can be in: a
// declared worker, a pool instance, a nested supervisor and its pool. The
// rest of this round's cases are in peers_s22_test.go.

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// marionette is a child whose every attempt is scripted by its generation:
// fail at once, report readiness or not, and ignore its cancellation until
// released.
type marionette struct {
	starts   atomic.Int32
	failGen  uint64        // the attempt of this generation fails at once
	noReady  bool          // never calls Ready
	stubborn bool          // once cancelled, waits for release
	release  chan struct{} // closed to let stubborn attempts return
}

func newMarionette() *marionette { return &marionette{release: make(chan struct{})} }

func (m *marionette) run(ctx context.Context, a *runtime.Attempt) error {
	m.starts.Add(1)
	if a.Generation() == m.failGen {
		return errBoom
	}
	if !m.noReady {
		a.Ready()
	}
	<-ctx.Done()
	if m.stubborn {
		<-m.release
	}
	return nil
}

// TestS22OrdersInEveryState: child_adm's terminate_child and restart_child,
// and suture's Remove and RemoveAndWait, given to a declared child in each
// state it can be in. OTP answers restart_child of a running or restarting
// child with an error; Arbor's Restart restarts from any state, without
// backoff and without counting against the limit (and a waiting child
// still waits for its After list). Stop holds the child stopped, whatever
// timer or dependency would start it later, and leaves one that ended for
// good done; StopAndWait returns once no attempt of it runs: at once, or
// when the attempt being stopped returns. No order ever starts a second
// attempt beside the first.
func TestS22OrdersInEveryState(t *testing.T) {
	cases := []struct {
		name string
		// child adapts c; prep, given the handle once the tree runs,
		// brings c to state.
		child func(c *runtime.Child, m *marionette)
		prep  func(h *runtime.Handle) error
		state runtime.State
		// after the order, once every timer and dependency had its say
		stop    runtime.State
		restart runtime.State
		// the generation Restart ends at; Stop keeps the one before
		restartGen uint64
	}{
		{name: "waiting", child: func(c *runtime.Child, m *marionette) { c.After = []string{"dep"} },
			state: runtime.StateWaiting, stop: runtime.StateStopped, restart: runtime.StateRunning, restartGen: 1},
		{name: "starting", child: func(c *runtime.Child, m *marionette) { c.Ready = &runtime.Ready{}; m.noReady = true },
			state: runtime.StateStarting, stop: runtime.StateStopped, restart: runtime.StateStarting, restartGen: 2},
		{name: "running",
			state: runtime.StateRunning, stop: runtime.StateStopped, restart: runtime.StateRunning, restartGen: 2},
		{name: "backoff", child: func(c *runtime.Child, m *marionette) { m.failGen = 1 },
			state: runtime.StateBackoff, stop: runtime.StateStopped, restart: runtime.StateRunning, restartGen: 2},
		{name: "stopping", child: func(c *runtime.Child, m *marionette) { m.stubborn = true; c.Shutdown = time.Hour },
			prep:  (*runtime.Handle).Stop,
			state: runtime.StateStopping, stop: runtime.StateStopped, restart: runtime.StateRunning, restartGen: 2},
		{name: "stopped", prep: (*runtime.Handle).Stop,
			state: runtime.StateStopped, stop: runtime.StateStopped, restart: runtime.StateRunning, restartGen: 2},
		// Stopping a child that ended for good changes nothing, as OTP's
		// terminate_child of a terminated child: it stays done, and the
		// tree stays ready.
		{name: "done", child: func(c *runtime.Child, m *marionette) { c.Restart = runtime.Temporary; m.failGen = 1 },
			state: runtime.StateDone, stop: runtime.StateDone, restart: runtime.StateRunning, restartGen: 2},
	}
	for _, tc := range cases {
		for _, order := range []string{"stop", "stop-and-wait", "restart"} {
			restart := order == "restart"
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					m := newMarionette()
					c := runtime.Child{Name: "c", Run: m.run}
					if tc.child != nil {
						tc.child(&c, m)
					}
					depUp := make(chan struct{})
					tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour),
						RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
						Children: []runtime.Child{
							{Name: "dep", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
								select {
								case <-depUp:
									a.Ready()
								case <-ctx.Done():
								}
								<-ctx.Done()
								return nil
							}},
							c,
						}})
					stop, _ := start(t, tr)
					synctest.Wait()
					h := tr.Handle("t/c")
					if tc.prep != nil {
						require.NoError(t, tc.prep(h))
						synctest.Wait()
					}
					require.Equal(t, tc.state, h.State())
					before := h.Status()

					waited := make(chan error, 1)
					switch order {
					case "restart":
						require.NoError(t, h.Restart())
					case "stop":
						require.NoError(t, h.Stop())
					case "stop-and-wait":
						go func() { waited <- h.StopAndWait(context.Background()) }()
					}
					synctest.Wait()
					if tc.state == runtime.StateStopping {
						assert.Equal(t, runtime.StateStopping, h.State(), "the attempt keeps its grace")
						assert.Equal(t, before.Generation, h.Status().Generation, "no second attempt beside it")
						assert.Empty(t, waited, "StopAndWait waits for the attempt to return")
						close(m.release)
						synctest.Wait()
					}
					if order == "stop-and-wait" {
						require.Len(t, waited, 1, "no attempt runs: StopAndWait has returned")
						require.NoError(t, <-waited)
					}
					close(depUp)              // a dependency getting ready,
					time.Sleep(2 * time.Hour) // and every backoff running out
					synctest.Wait()

					st := h.Status()
					if restart {
						assert.Equal(t, tc.restart, st.State)
						assert.Equal(t, tc.restartGen, st.Generation)
						assert.Equal(t, tc.restartGen, uint64(m.starts.Load()), "one attempt per generation")
					} else {
						assert.Equal(t, tc.stop, st.State, "held stopped")
						assert.Equal(t, before.Generation, st.Generation)
						assert.EqualValues(t, before.Generation, m.starts.Load(), "nothing started it again")
						if tc.stop == runtime.StateDone {
							assert.Equal(t, runtime.HealthReady, tr.Health().State, tr.Health().Reason)
						}
					}
					assert.Zero(t, st.Abandoned)
					require.True(t, running(tr), "an order counted against the limit: %v", tr.Err())
					require.NoError(t, stop())
				})
			})
		}
	}
}

// TestS22InstanceOrdersInEveryState: Elixir's terminate_child and OTP's
// restart_child of a dynamic child, in each state an instance can be in,
// in a pool whose max_children is 1. Stop removes the instance at once or
// once its attempt returned, which frees its name and its room (the room
// stays taken until then); Restart of an instance on its way out takes it
// back. Restart of an instance in backoff starts it at once, in the room
// it holds: the pool is not full for it.
func TestS22InstanceOrdersInEveryState(t *testing.T) {
	cases := []struct {
		name     string
		child    func(c *runtime.Child, m *marionette)
		prep     func(h *runtime.Handle) error
		state    runtime.State
		startGen uint64 // the generation Restart ends at
	}{
		{name: "starting", child: func(c *runtime.Child, m *marionette) { c.Ready = &runtime.Ready{}; m.noReady = true },
			state: runtime.StateStarting, startGen: 2},
		{name: "running", state: runtime.StateRunning, startGen: 2},
		{name: "backoff", child: func(c *runtime.Child, m *marionette) { m.failGen = 1 },
			state: runtime.StateBackoff, startGen: 2},
		{name: "stopping", child: func(c *runtime.Child, m *marionette) {
			m.stubborn = true
			c.Shutdown = time.Hour
			c.Restart = runtime.Transient
		},
			prep:  func(h *runtime.Handle) error { return h.Restart() },
			state: runtime.StateStopping, startGen: 2},
		{name: "removing", child: func(c *runtime.Child, m *marionette) { m.stubborn = true; c.Shutdown = time.Hour },
			prep:  (*runtime.Handle).Stop, // on its way out of the pool: Restart takes it back
			state: runtime.StateStopping, startGen: 2},
	}
	for _, tc := range cases {
		for _, order := range []string{"stop", "restart"} {
			restart := order == "restart"
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					m := newMarionette()
					c := runtime.Child{Pool: &runtime.PoolSpec{Max: 1}, Backoff: constBackoff(time.Hour),
						RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour}}
					if tc.child != nil {
						tc.child(&c, m)
					}
					tr := poolTree(t, c)
					stop, _ := start(t, tr)
					synctest.Wait()
					p := tr.Pool("t/p")
					h, err := p.Start("x", m.run)
					require.NoError(t, err)
					synctest.Wait()
					if tc.prep != nil {
						require.NoError(t, tc.prep(h))
						synctest.Wait()
					}
					require.Equal(t, tc.state, h.State())
					before := h.Status()

					if restart {
						require.NoError(t, h.Restart())
					} else {
						require.NoError(t, h.Stop())
					}
					synctest.Wait()
					if tc.state == runtime.StateStopping {
						assert.Equal(t, runtime.StateStopping, h.State(), "the attempt keeps its grace")
						_, err := p.Start("", nop)
						assert.ErrorIs(t, err, runtime.ErrPoolFull, "its room is taken until the attempt returned")
						close(m.release)
					}
					time.Sleep(2 * time.Hour) // every backoff runs out
					synctest.Wait()

					if restart {
						st := h.Status()
						assert.Equal(t, 1, p.Len())
						assert.Equal(t, tc.startGen, st.Generation)
						assert.Equal(t, tc.startGen, uint64(m.starts.Load()), "one attempt per generation")
						assert.Equal(t, tc.state != runtime.StateStarting, st.State == runtime.StateRunning, "state %v", st.State)
						assert.Same(t, h, tr.Handle("t/p/x"))
					} else {
						assert.Equal(t, 0, p.Len(), "terminate_child removes it")
						assert.Nil(t, tr.Handle("t/p/x"))
						assert.EqualValues(t, before.Generation, m.starts.Load(), "nothing started it again")
						assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved)
						require.NoError(t, h.Stop(), "Elixir answers {error, not_found}; Arbor's order is a no-op")
						_, err := p.Start("x", nop)
						require.NoError(t, err, "its name and its room are free")
						synctest.Wait()
					}
					require.True(t, running(tr), "an order counted against the limit: %v", tr.Err())
					require.NoError(t, stop())
				})
			})
		}
	}
}

// TestS22NestedOrdersInEveryState: terminate_child and restart_child of a
// child supervisor (OTP's tree case, with supchild3) and of a pool, in
// each state: running, in backoff after it gave up, stopping while its
// subtree takes its time, and stopped by order. Stop holds it, its
// subtree stopped and its pool closed, whatever its backoff would do;
// Restart runs it again at once, as a new run: every child of it starts
// afresh and its restart limit starts empty.
func TestS22NestedOrdersInEveryState(t *testing.T) {
	cases := []struct {
		name  string
		prep  func(t *testing.T, tr *runtime.Tree, w *marionette)
		state runtime.State
		gen   uint64 // of the nested supervisor before the order
	}{
		{name: "running", state: runtime.StateRunning, gen: 1},
		{name: "backoff", prep: func(t *testing.T, tr *runtime.Tree, w *marionette) {
			w.failGen = 2 // the first failure is one too many for a limit of 0
			require.NoError(t, tr.Handle("t/n/w").Restart())
		}, state: runtime.StateBackoff, gen: 1},
		{name: "stopping", prep: func(t *testing.T, tr *runtime.Tree, w *marionette) {
			w.stubborn = true
			require.NoError(t, tr.Handle("t/n").Restart())
		}, state: runtime.StateStopping, gen: 1},
		{name: "stopped", prep: func(t *testing.T, tr *runtime.Tree, w *marionette) {
			require.NoError(t, tr.Handle("t/n").Stop())
		}, state: runtime.StateStopped, gen: 1},
	}
	for _, tc := range cases {
		for _, order := range []string{"stop", "restart"} {
			restart := order == "restart"
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					w := newMarionette()
					zero := &runtime.RestartLimit{Max: 0, Window: time.Hour}
					tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour), Children: []runtime.Child{
						{Name: "n", Supervisor: &runtime.Spec{RestartLimit: zero, Backoff: noBackoff, Shutdown: time.Hour, Children: []runtime.Child{
							{Name: "w", Run: w.run, Shutdown: time.Hour},
							{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: time.Hour},
						}}},
					}})
					stop, _ := start(t, tr)
					synctest.Wait()
					_, err := tr.Pool("t/n/p").Start("i", nop)
					require.NoError(t, err)
					synctest.Wait()
					if tc.prep != nil {
						tc.prep(t, tr, w)
						synctest.Wait()
					}
					n := tr.Handle("t/n")
					require.Equal(t, tc.state, n.State())
					require.Equal(t, tc.gen, n.Status().Generation)
					wGen := status(t, tr, "t/n/w").Generation

					if restart {
						require.NoError(t, n.Restart())
					} else {
						require.NoError(t, n.Stop())
					}
					synctest.Wait()
					if tc.state == runtime.StateStopping {
						assert.Equal(t, runtime.StateStopping, n.State(), "its subtree keeps its budget")
						close(w.release)
					}
					time.Sleep(2 * time.Hour) // every backoff runs out
					synctest.Wait()

					p := tr.Pool("t/n/p")
					if restart {
						assert.Equal(t, runtime.StateRunning, n.State())
						assert.Equal(t, tc.gen+1, n.Status().Generation)
						assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n/w").State)
						assert.Equal(t, wGen+1, status(t, tr, "t/n/w").Generation, "its children start afresh")
						assert.Equal(t, 0, p.Len(), "its pool starts empty")
						_, err := p.Start("j", nop)
						require.NoError(t, err, "and takes instances")
					} else {
						assert.Equal(t, runtime.StateStopped, n.State(), "held stopped")
						assert.Equal(t, tc.gen, n.Status().Generation)
						assert.NotEqual(t, runtime.StateRunning, status(t, tr, "t/n/w").State)
						assert.Equal(t, wGen, status(t, tr, "t/n/w").Generation)
						assert.Equal(t, 0, p.Len())
						_, err := p.Start("j", nop)
						assert.ErrorIs(t, err, runtime.ErrNotRunning)
					}
					assert.True(t, tr.ShutdownReport().Clean())
					require.True(t, running(tr), "an order counted against the limit: %v", tr.Err())
					require.NoError(t, stop())
				})
			})
		}
	}
}
