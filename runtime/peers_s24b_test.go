package runtime_test

// Session 24b's translations onto pools: OTP's dynamic supervisor,
// Elixir's DynamicSupervisor and suture's Add/Remove at the moments where
// they race: the cap freed at an exit, the restart intensity counted
// across instances at the window's edge, terminate_child of an instance in
// backoff, a pool restarted by its parent with instances in every state,
// and Start from many goroutines meanwhile.

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// DynamicSupervisor's max_children, freed at the exit: an instance that
// asks for room from its own run just before it returns is refused (it
// still lives), and the room is there as soon as the pool has seen it
// return. A slow-stopping instance holds its place to the nanosecond its
// run returns; an instance in backoff holds it until Stop removes it.
func TestS24bPoolFullFreedAtTheExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Pool: &runtime.PoolSpec{Max: 2}, Restart: runtime.Transient,
			Backoff: constBackoff(time.Hour), Shutdown: 10 * time.Second})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		exit := make(chan struct{})
		inner := make(chan error, 1)
		_, err := p.Start("a", func(ctx context.Context, a *runtime.Attempt) error {
			<-exit
			_, err := p.Start("", nop)
			inner <- err
			return nil
		})
		require.NoError(t, err)
		hb, err := p.Start("b", nop)
		require.NoError(t, err)
		synctest.Wait()
		close(exit)
		synctest.Wait()
		assert.ErrorIs(t, <-inner, runtime.ErrPoolFull, "a still lives as it asks")
		assert.Equal(t, 1, p.Len(), "a removed at its exit")
		ha, err := p.Start("a", slowStop(2*time.Second))
		require.NoError(t, err, "room and name free once a returned")

		// A stopping instance holds its place until its run returns.
		_, err = p.Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull)
		require.NoError(t, ha.Stop())
		time.Sleep(2*time.Second - time.Nanosecond)
		synctest.Wait()
		_, err = p.Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull, "a nanosecond before a returns")
		_, err = p.Start("a", nop)
		assert.ErrorIs(t, err, runtime.ErrNameTaken)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		hc, err := p.Start("c", func(ctx context.Context, a *runtime.Attempt) error { return errBoom })
		require.NoError(t, err, "room the moment a returned")
		synctest.Wait()

		// An instance in backoff holds its place; Stop frees it at once.
		assert.Equal(t, runtime.StateBackoff, hc.State())
		_, err = p.Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull)
		require.NoError(t, hc.Stop())
		synctest.Wait()
		_, err = p.Start("", nop)
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Running: 2, Started: 5, Removed: 3}, p.Counts())
		_ = hb
		require.NoError(t, stop())
	})
}

// OTP's intensity of a dynamic supervisor counts the restarts of all its
// children together; Arbor's pool counts its instances' restarts in one
// window, inclusive of a restart exactly one window old: with max 2 in
// 10s, three instances failing at 0, 5s and 10s fail the pool, and its
// parent restarts it empty; at 10s and a nanosecond, the first restart has
// left the window.
func TestS24bPoolLimitAcrossInstancesAtTheEdge(t *testing.T) {
	for _, tt := range []struct {
		last  time.Duration
		gives bool
	}{{10 * time.Second, true}, {10*time.Second + time.Nanosecond, false}} {
		t.Run(tt.last.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				tr := poolTree(t, runtime.Child{RestartLimit: &runtime.RestartLimit{Max: 2, Window: 10 * time.Second}},
					runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/p")
				var cs [3]*puppet
				var hs [3]*runtime.Handle
				for i := range cs {
					cs[i] = newPuppet()
					h, err := p.Start(string(rune('a'+i)), cs[i].run)
					require.NoError(t, err)
					hs[i] = h
				}
				synctest.Wait()
				cs[0].end(errBoom)
				time.Sleep(5 * time.Second)
				cs[1].end(errBoom)
				time.Sleep(tt.last - 5*time.Second)
				cs[2].end(errBoom)
				assert.True(t, running(tr))
				if !tt.gives {
					assert.Equal(t, 3, p.Len())
					assert.EqualValues(t, 3, p.Counts().Restarts)
					assert.Empty(t, rec.of(runtime.EventGaveUp))
					require.NoError(t, stop())
					return
				}
				gu := rec.of(runtime.EventGaveUp)
				require.Len(t, gu, 1)
				assert.Equal(t, "t/p", gu[0].Path)
				assert.Equal(t, 0, p.Len(), "the pool starts again empty")
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State)
				assert.EqualValues(t, 2, status(t, tr, "t/p").Generation)
				for _, h := range hs {
					assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved)
				}
				c := p.Counts()
				assert.EqualValues(t, 3, c.Started)
				assert.EqualValues(t, 3, c.Removed)
				_, err := p.Start("a", nop)
				require.NoError(t, err, "a name of the pool's last run is free")
				require.NoError(t, stop())
			})
		})
	}
}

// terminate_child of an instance waiting out its backoff (OTP answers it
// for a restarting child of a dynamic supervisor too): the instance is
// removed at once, its restart never comes, StopAndWait returns at once,
// and the observer sees its exit, the scheduled restart, the order and
// no start after it.
func TestS24bPoolStopInstanceInBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := poolTree(t, runtime.Child{Backoff: constBackoff(time.Hour)}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var runs atomic.Int32
		h, err := p.Start("x", func(ctx context.Context, a *runtime.Attempt) error {
			runs.Add(1)
			return errBoom
		})
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, runtime.StateBackoff, h.State())
		before := time.Now()
		require.NoError(t, h.StopAndWait(context.Background()))
		assert.Equal(t, before, time.Now(), "nothing to wait for")
		assert.Equal(t, 0, p.Len())
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		assert.EqualValues(t, 1, runs.Load(), "its restart never comes")
		assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved)
		require.NoError(t, h.Stop(), "stopping a removed instance is a no-op")
		assert.Equal(t, runtime.PoolCounts{Started: 1, Removed: 1}, p.Counts())
		tracks := rec.trace(runtime.EventStarting, runtime.EventExited, runtime.EventRestartScheduled,
			runtime.EventOrder, runtime.EventStopped)
		var of []string
		for _, l := range tracks {
			if len(l) > 4 && l[:4] == "p/x " {
				of = append(of, l[4:])
			}
		}
		assert.Equal(t, []string{"starting", "exited", "restart scheduled", "order"}, of)
		require.NoError(t, stop())
	})
}

// A pool restarted by its one_for_all parent with instances in every
// state: starting (not ready yet), running, in backoff, stopping on an
// order, and accepted but not started yet. Each is removed; those running
// are cancelled at once, each within its grace; the pool is running and
// empty once the slowest has returned, and every handle answers Restart
// with ErrRemoved. Counts add up, and Snapshot never lists an instance of
// the old run after the new one began.
func TestS24bPoolRestartedWithInstancesInEveryState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff, Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: 5 * time.Second, Backoff: constBackoff(time.Hour),
				Ready: &runtime.Ready{Timeout: time.Hour}},
			{Name: "w", Run: w.run},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var runs sync.Map
		mk := func(name string, body func(ctx context.Context, a *runtime.Attempt) error) *runtime.Handle {
			h, err := p.Start(name, func(ctx context.Context, a *runtime.Attempt) error {
				n, _ := runs.LoadOrStore(name, new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
				return body(ctx, a)
			})
			require.NoError(t, err)
			return h
		}
		hs := map[string]*runtime.Handle{
			"starting": mk("starting", func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil }),
			"running": mk("running", func(ctx context.Context, a *runtime.Attempt) error {
				a.Ready()
				<-ctx.Done()
				time.Sleep(time.Second)
				return nil
			}),
			"backoff": mk("backoff", func(ctx context.Context, a *runtime.Attempt) error { return errBoom }),
			"stopping": mk("stopping", func(ctx context.Context, a *runtime.Attempt) error {
				a.Ready()
				<-ctx.Done()
				time.Sleep(3 * time.Second)
				return nil
			}),
		}
		synctest.Wait()
		require.NoError(t, hs["stopping"].Stop())
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Starting: 1, Running: 1, Backoff: 1, Stopping: 1, Started: 4}, p.Counts())
		// Accepted, not started yet: the pool's next message.
		arm, release := holdOnce(t, "t/p")
		arm()
		hs["accepted"] = mk("accepted", func(ctx context.Context, a *runtime.Attempt) error { <-ctx.Done(); return nil })
		w.end(errBoom)
		release()
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, status(t, tr, "t/p").State)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, status(t, tr, "t/p").State, "the stopping instance takes 3s")
		assert.Equal(t, 1, p.Len())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State, "a pool is ready once it runs")
		assert.Equal(t, 0, p.Len())
		for name, h := range hs {
			assert.ErrorIs(t, h.Restart(), runtime.ErrRemoved, name)
		}
		for _, name := range []string{"starting", "running", "backoff", "stopping", "accepted"} {
			n, ok := runs.Load(name)
			if assert.True(t, ok, "%s ran: an accepted instance always runs", name) {
				assert.EqualValues(t, 1, n.(*atomic.Int32).Load(), name)
			}
		}
		c := p.Counts()
		assert.EqualValues(t, 5, c.Started)
		assert.EqualValues(t, 5, c.Removed)
		assert.EqualValues(t, 0, c.Abandoned)
		// The observer sees the pool shut down, each instance that ran
		// stop, then the pool stop and start again.
		tr0 := rec.trace(runtime.EventShuttingDown, runtime.EventStopped, runtime.EventStarting)
		at := func(line string, from int) int {
			for i := from; i < len(tr0); i++ {
				if tr0[i] == line {
					return i
				}
			}
			t.Fatalf("no %q after %d in %v", line, from, tr0)
			return -1
		}
		down := at("p shutting down", 0)
		stopped := at("p stopped", down)
		for _, name := range []string{"starting", "running", "stopping", "accepted"} {
			i := at("p/"+name+" stopped", down)
			assert.Less(t, i, stopped, name)
		}
		at("p starting", stopped)
		require.NoError(t, stop())
	})
}

// Start from many goroutines while the pool's parent restarts it again
// and again: every Start either fails with ErrNotRunning or returns a
// handle whose run function runs exactly once; no instance of an earlier
// run survives into a later one, and the totals add up.
func TestS24bPoolStartWhileItsParentRestartsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
			Children: []runtime.Child{
				{Name: "p", Pool: &runtime.PoolSpec{Max: 8}, Restart: runtime.Temporary, Shutdown: time.Second},
				{Name: "w", Run: w.run},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		var accepted, ran, refused atomic.Int32
		var wg sync.WaitGroup
		quit := make(chan struct{})
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-quit:
						return
					default:
					}
					var once atomic.Int32
					_, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
						if once.Add(1) == 1 {
							ran.Add(1)
						}
						if (g+i)%3 == 0 {
							return nil
						}
						<-ctx.Done()
						return nil
					})
					switch {
					case err == nil:
						accepted.Add(1)
					case errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrPoolFull):
						refused.Add(1)
					default:
						t.Errorf("Start: %v", err)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
		for range 50 {
			time.Sleep(7 * time.Millisecond)
			w.end(errBoom)
		}
		close(quit)
		wg.Wait()
		synctest.Wait()
		require.NoError(t, stop())
		assert.Equal(t, accepted.Load(), ran.Load(), "every accepted instance ran")
		assert.Positive(t, accepted.Load())
		assert.Positive(t, refused.Load())
		c := p.Counts()
		// Started also counts a Start that lost the race with the pool's
		// stop, which refused it after all.
		assert.GreaterOrEqual(t, c.Started, uint64(accepted.Load()))
		assert.Equal(t, c.Started, c.Removed)
		assert.Equal(t, 0, p.Len())
	})
}

// which_children of a pool whose Start has accepted an instance its
// goroutine has not taken yet: the snapshot, the handle and Health show
// it starting, as Counts counts it (OTP's start_child has started the
// child by the time it returns), never idle or "not started".
func TestS24bPoolAcceptedInstanceShowsStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		arm, release := holdOnce(t, "t/p")
		arm()
		_, err := p.Start("a", nop)
		require.NoError(t, err)
		synctest.Wait() // the pool holds a's message
		h, err := p.Start("b", nop)
		require.NoError(t, err)
		assert.Equal(t, runtime.PoolCounts{Starting: 2, Started: 2}, p.Counts())
		assert.Equal(t, runtime.StateStarting, h.State())
		assert.Equal(t, runtime.StateStarting, status(t, tr, "t/p/b").State)
		hl := tr.Health()
		for _, c := range hl.Children {
			if c.Path == "t/p/b" {
				assert.Equal(t, "starting: not ready yet", c.Reason)
			}
		}
		release()
		synctest.Wait()
		assert.Equal(t, runtime.PoolCounts{Running: 2, Started: 2}, p.Counts())
		require.NoError(t, stop())
	})
}

// count_children and which_children while instances churn: starts from
// six goroutines, instances that fail, panic, end, miss their ready
// timeout or ignore their grace, Stop and Restart orders, and the pool's
// parent restarting it. At every reading, Counts adds up to Len and to
// Started − Removed within Max, and the snapshot lists at most Max
// instances, each in a state Counts counts.
func TestS24bPoolCountsWhileChurning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
			Children: []runtime.Child{
				{Name: "p", Pool: &runtime.PoolSpec{Max: 16}, Restart: runtime.Transient, Shutdown: 3 * time.Millisecond,
					Backoff: constBackoff(2 * time.Millisecond), Ready: &runtime.Ready{Timeout: 5 * time.Millisecond},
					RestartLimit: &runtime.RestartLimit{Max: 50, Window: 10 * time.Millisecond}},
				{Name: "w", Run: w.run},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		quit := make(chan struct{})
		var wg sync.WaitGroup
		var hmu sync.Mutex
		var handles []*runtime.Handle
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 1))
				for {
					select {
					case <-quit:
						return
					default:
					}
					k := r.IntN(6)
					h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
						if k != 0 {
							a.Ready() // 0 misses its ready timeout
						}
						select {
						case <-ctx.Done():
							if k == 1 {
								time.Sleep(5 * time.Millisecond) // past its grace
							}
							return nil
						case <-time.After(time.Duration(k) * time.Millisecond):
						}
						switch k {
						case 2:
							return errBoom
						case 3:
							return nil
						case 4:
							panic("boom")
						}
						return runtime.ErrDoNotRestart
					})
					if err == nil {
						hmu.Lock()
						handles = append(handles, h)
						hmu.Unlock()
					}
					time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
					hmu.Lock()
					h = nil
					if len(handles) > 0 {
						h = handles[r.IntN(len(handles))]
					}
					hmu.Unlock()
					switch r.IntN(3) {
					case 0:
						_ = h.Stop()
					case 1:
						_ = h.Restart()
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(7, 7))
			for bad := 0; bad < 5; {
				select {
				case <-quit:
					return
				default:
				}
				c := p.Counts()
				n := c.Starting + c.Running + c.Backoff + c.Stopping + c.Stopped
				if uint64(n) != c.Started-c.Removed || n > 16 {
					bad++
					t.Errorf("counts %+v", c)
				}
				listed := 0
				for _, s := range tr.Snapshot().Children {
					if !s.Instance {
						continue
					}
					listed++
					switch s.State {
					case runtime.StateStarting, runtime.StateRunning, runtime.StateBackoff, runtime.StateStopping, runtime.StateStopped:
					default:
						bad++
						t.Errorf("instance %s in %v", s.Path, s.State)
					}
				}
				if listed > 16 {
					bad++
					t.Errorf("%d instances listed", listed)
				}
				_ = tr.Health()
				time.Sleep(time.Duration(r.IntN(1000)) * time.Microsecond)
			}
		}()
		for range 40 {
			time.Sleep(13 * time.Millisecond)
			select {
			case w.exit <- errBoom:
			case <-time.After(time.Millisecond):
			}
		}
		close(quit)
		wg.Wait()
		require.NoError(t, stop())
		time.Sleep(10 * time.Millisecond) // the abandoned attempts return
		c := p.Counts()
		assert.Equal(t, c.Started, c.Removed)
		assert.Positive(t, c.Restarts)
		assert.Positive(t, c.Abandoned)
	})
}

// Start of named instances from many goroutines while the pool's parent
// restarts it: a name is never run by two instances at once, across the
// pool's runs too (a run ends once its instances have returned), and
// every refusal is ErrNameTaken, ErrPoolFull or ErrNotRunning.
func TestS24bPoolNamesWhileItsParentRestartsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
			Children: []runtime.Child{
				{Name: "p", Pool: &runtime.PoolSpec{Max: 3}, Restart: runtime.Temporary, Shutdown: 2 * time.Millisecond},
				{Name: "w", Run: w.run},
			}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		quit := make(chan struct{})
		var wg sync.WaitGroup
		var live [4]atomic.Int32
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-quit:
						return
					default:
					}
					k := (g + i) % 4
					_, err := p.Start("n"+string(rune('0'+k)), func(ctx context.Context, a *runtime.Attempt) error {
						if live[k].Add(1) > 1 {
							t.Errorf("two n%d run at once", k)
						}
						defer live[k].Add(-1)
						select {
						case <-ctx.Done():
						case <-time.After(time.Duration(i%3) * time.Millisecond):
						}
						return nil
					})
					if err != nil && !errors.Is(err, runtime.ErrNameTaken) && !errors.Is(err, runtime.ErrPoolFull) &&
						!errors.Is(err, runtime.ErrNotRunning) {
						t.Errorf("Start: %v", err)
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
		for range 30 {
			time.Sleep(5 * time.Millisecond)
			select {
			case w.exit <- errBoom:
			case <-time.After(time.Millisecond):
			}
		}
		close(quit)
		wg.Wait()
		require.NoError(t, stop())
		c := p.Counts()
		assert.Positive(t, c.Started)
		assert.Equal(t, c.Started, c.Removed)
	})
}
