package runtime_test

// Session 24's translations: the edge values of the peers' suites (OTP's
// intensity and period, Elixir's :max_restarts and :max_seconds, the
// shutdown values brutal_kill and infinity) pushed to Arbor's smallest
// and largest, and the order of events an observer sees there.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestS24WindowOfANanosecond: OTP's period is at least a second; Arbor's
// window is exact to the nanosecond, down to one. With max 1: two restarts
// at one instant are one too many, two a nanosecond apart too (a restart
// exactly one window old counts), two nanoseconds apart are not.
func TestS24WindowOfANanosecond(t *testing.T) {
	for _, tt := range []struct {
		apart time.Duration
		gives bool
	}{{0, true}, {time.Nanosecond, true}, {2 * time.Nanosecond, false}} {
		t.Run(tt.apart.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Nanosecond},
					Children:     []runtime.Child{{Name: "c", Run: c.run}}})
				stop, _ := start(t, tr)
				synctest.Wait()
				c.end(errBoom)
				time.Sleep(tt.apart)
				c.end(errBoom)
				assert.Equal(t, tt.gives, !running(tr))
				if tt.gives {
					var gu *runtime.GiveUpError
					require.ErrorAs(t, tr.Err(), &gu)
					assert.Equal(t, time.Nanosecond, gu.Window)
					return
				}
				assert.EqualValues(t, 3, gen(t, tr, "t/c"))
				require.NoError(t, stop())
			})
		})
	}
}

// TestS24WindowForever: the largest window Go can write (some 292 years)
// forgets nothing: with max 2, a third restart a century after the first
// gives up. Window arithmetic near the limits of time.Duration neither
// wraps nor panics.
func TestS24WindowForever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 2, Window: math.MaxInt64},
			Children:     []runtime.Child{{Name: "c", Run: c.run}}})
		start(t, tr)
		synctest.Wait()
		century := 100 * 365 * 24 * time.Hour
		c.end(errBoom)
		time.Sleep(century)
		c.end(errBoom)
		assert.True(t, running(tr))
		time.Sleep(century)
		c.end(errBoom)
		assert.False(t, running(tr))
		assert.ErrorIs(t, tr.Err(), runtime.ErrRestartLimit)
	})
}

// TestS24LimitCountsAtTheExit: OTP restarts at the exit, so its
// intensity counts restarts at the exit; Arbor, which waits a backoff
// between them, counts each restart at the exit that asked for it (as
// Event.Time says), not when the new attempt starts. With max 1 in 10s
// and a 10s backoff, an attempt that fails as it starts fails exactly one
// window after the exit before it: that restart still counts, and the
// supervisor gives up then. A backoff a nanosecond longer never does.
func TestS24LimitCountsAtTheExit(t *testing.T) {
	for _, tt := range []struct {
		delay time.Duration
		gives bool
	}{{10 * time.Second, true}, {10*time.Second + time.Nanosecond, false}} {
		t.Run(tt.delay.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				c := newPuppet()
				c.failFrom, c.failTo = 2, 1000 // every restart fails as it starts
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(tt.delay),
					RestartLimit: &runtime.RestartLimit{Max: 1, Window: 10 * time.Second},
					Children:     []runtime.Child{{Name: "c", Run: c.run}}}, runtime.WithObserver(rec.observe))
				start(t, tr)
				synctest.Wait()
				begin := time.Now()
				c.end(errBoom)
				time.Sleep(tt.delay) // the restart starts and fails
				synctest.Wait()
				assert.Equal(t, tt.gives, !running(tr))
				if tt.gives {
					gu := rec.of(runtime.EventGaveUp)
					require.Len(t, gu, 1)
					assert.Equal(t, tt.delay, gu[0].Time.Sub(begin))
					assert.Equal(t, []string{"c exited", "c restart scheduled", "c starting", "c exited", " gave up"},
						rec.trace(runtime.EventExited, runtime.EventRestartScheduled, runtime.EventStarting, runtime.EventGaveUp)[1:])
					return
				}
				time.Sleep(time.Hour)
				synctest.Wait()
				assert.True(t, running(tr), "restarts spaced wider than the window")
				assert.Greater(t, c.starts.Load(), int32(300))
			})
		})
	}
}

// TestS24GraceOfANanosecond: brutal_kill's nearest thing is the smallest
// grace, a nanosecond. A child that returns as soon as it is cancelled
// has stopped, not been abandoned, whatever the grace; one that ignores
// cancellation is abandoned one nanosecond later. At shutdown, each in
// its turn (reverse start order), and Run returns a nanosecond after it
// was asked to stop, with the hung one alone in the report.
func TestS24GraceOfANanosecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		hung := make(chan struct{})
		defer close(hung)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Shutdown: time.Nanosecond, Run: nop},
			{Name: "b", Shutdown: time.Nanosecond, Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-hung
				return nil
			}},
			{Name: "c", Shutdown: time.Nanosecond, Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, time.Nanosecond, time.Since(begin))
		assert.Equal(t, []string{"c stopped", "b abandoned", "a stopped"},
			rec.trace(runtime.EventStopped, runtime.EventAbandoned))
		ab := rec.of(runtime.EventAbandoned)
		require.Len(t, ab, 1)
		assert.Equal(t, time.Nanosecond, ab[0].Delay)
		rep := tr.ShutdownReport()
		require.Len(t, rep.Abandoned, 1)
		assert.Equal(t, "t/b", rep.Abandoned[0].Path)
	})
}

// TestS24BudgetOfANanosecond: a tree whose whole shutdown budget is a
// nanosecond (OTP's brutal_kill of a supervisor, whose linked children die
// with it) over children with the default 5s grace. The first child in
// stop order ignores its cancellation and spends the budget: it is
// abandoned when the budget runs out, and so, at once and in stop order,
// are the children not stopped yet, cancelled then, without a grace of
// their own (README: the budget caps the graces). Run returns then; the
// report lists all three, and those that return afterwards as returned.
func TestS24BudgetOfANanosecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		hung := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Nanosecond, Children: []runtime.Child{
			{Name: "a", Run: nop},
			{Name: "b", Run: nop},
			{Name: "c", Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-hung
				return nil
			}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, time.Nanosecond, time.Since(begin))
		assert.Equal(t, []string{" shutting down", "c abandoned", "b abandoned", "a abandoned"},
			rec.trace(runtime.EventShuttingDown, runtime.EventStopped, runtime.EventAbandoned))
		waited := map[string]time.Duration{}
		for _, e := range rec.of(runtime.EventAbandoned) {
			waited[e.Path] = e.Delay
		}
		assert.Equal(t, map[string]time.Duration{"t/c": time.Nanosecond, "t/b": 0, "t/a": 0}, waited)
		for _, c := range tr.Snapshot().Children {
			assert.Equal(t, runtime.StateStopped, c.State, c.Path)
		}
		synctest.Wait() // a and b return, cancelled
		close(hung)
		synctest.Wait()
		rep := tr.ShutdownReport()
		var paths []string
		for _, a := range rep.Abandoned {
			paths = append(paths, a.Path)
			assert.False(t, a.Returned.IsZero(), a.Path)
		}
		assert.ElementsMatch(t, []string{"t/c", "t/b", "t/a"}, paths)
	})
}

// TestS24BudgetKeepsTheStopOrder: sup_stop_timeout seen by an observer.
// Children stop one at a time in reverse start order; when the budget runs
// out, those that returned in time have stopped and the rest are
// abandoned, and the events say so in that order, whenever the supervisor
// takes them. Here the supervisor is behind (each message takes it past
// the budget): c stops, b, cancelled by c's return, returns a second
// later, and h ignores its cancellation. Before, the supervisor took its
// budget before b's queued exit and reported h and a abandoned before b
// stopped: a dependency seen to go before its dependent.
func TestS24BudgetKeepsTheStopOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		hung := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 10 * time.Second, Children: []runtime.Child{
			{Name: "a", Run: nop},
			{Name: "h", Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-hung
				return nil
			}},
			{Name: "b", Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				time.Sleep(time.Second)
				return nil
			}},
			{Name: "c", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, done := start(t, tr)
		synctest.Wait()
		slow := behind(t, "t", 10*time.Second+2*time.Nanosecond)
		slow.Store(true)
		begin := time.Now()
		go stop()
		time.Sleep(10*time.Second + time.Nanosecond) // the budget is spent while c's exit is taken
		slow.Store(false)
		require.NoError(t, <-done)
		assert.Equal(t, 10*time.Second+2*time.Nanosecond, time.Since(begin))
		assert.Equal(t, []string{"c stopped", "b stopped", "h abandoned", "a abandoned"},
			rec.trace(runtime.EventStopped, runtime.EventAbandoned))
		var paths []string
		for _, a := range tr.ShutdownReport().Abandoned {
			paths = append(paths, a.Path)
		}
		assert.Equal(t, []string{"t/h", "t/a"}, paths)
		close(hung)
		synctest.Wait()
	})
}

// TestS24GraceForever: OTP's shutdown infinity, written as the longest
// grace and budget Go has (some 292 years). A child that takes decades to
// stop after its cancellation, by an order and at shutdown, is waited for,
// not abandoned: the deadlines do not wrap into the past. (Decades, not
// centuries: synctest's clock starts in 2000 and Go's timers end in 2262.)
func TestS24GraceForever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		decades := 50 * 365 * 24 * time.Hour
		slow := func(ctx context.Context, a *runtime.Attempt) error {
			<-ctx.Done()
			time.Sleep(decades)
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: math.MaxInt64, Children: []runtime.Child{
			{Name: "a", Shutdown: math.MaxInt64, Run: slow},
			{Name: "b", Shutdown: math.MaxInt64, Run: slow},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, tr.Handle("t/a").StopAndWait(context.Background()))
		assert.Equal(t, decades, time.Since(begin))
		require.NoError(t, tr.Handle("t/a").Restart())
		synctest.Wait()
		begin = time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 2*decades, time.Since(begin), "b, then a, each in its turn")
		assert.Empty(t, rec.of(runtime.EventAbandoned))
		assert.True(t, tr.ShutdownReport().Clean())
		assert.Equal(t, []string{"a stopped", "b stopped", "a stopped"}, rec.trace(runtime.EventStopped))
	})
}

// TestS24NestedBudgetOfANanosecond: brutal_kill one level down, both
// ways: a nested supervisor whose own budget is a nanosecond, over a pool
// whose instances' grace is a nanosecond too, and a root whose budget is a
// nanosecond over a nested supervisor that would give its children an
// hour. Either way Run returns a nanosecond after it was asked to stop;
// then every attempt below has returned or is listed in the report, the
// snapshot shows every child stopped, and the pool is empty.
func TestS24NestedBudgetOfANanosecond(t *testing.T) {
	for _, inner := range []bool{true, false} {
		name := "root"
		if inner {
			name = "nested"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hung := make(chan struct{})
				var running atomic.Int32
				track := func(f runtime.RunFunc) runtime.RunFunc {
					return func(ctx context.Context, a *runtime.Attempt) error {
						running.Add(1)
						defer running.Add(-1)
						return f(ctx, a)
					}
				}
				hang := track(func(ctx context.Context, a *runtime.Attempt) error { <-hung; return nil })
				coop := track(nop)
				rootBudget, subBudget := time.Hour, time.Nanosecond
				if !inner {
					rootBudget, subBudget = time.Nanosecond, time.Hour
				}
				tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: rootBudget, Children: []runtime.Child{
					{Name: "x", Run: coop},
					{Name: "sub", Supervisor: &runtime.Spec{Shutdown: subBudget, Children: []runtime.Child{
						{Name: "a", Run: coop}, {Name: "h", Run: hang}, {Name: "b", Run: coop},
						{Name: "p", Pool: &runtime.PoolSpec{}, Shutdown: time.Nanosecond},
					}}},
					{Name: "y", Run: coop},
				}})
				stop, _ := start(t, tr)
				synctest.Wait()
				p := tr.Pool("t/sub/p")
				for range 3 {
					_, err := p.Start("", coop)
					require.NoError(t, err)
				}
				_, err := p.Start("hh", hang)
				require.NoError(t, err)
				synctest.Wait()
				require.EqualValues(t, 9, running.Load())
				begin := time.Now()
				require.NoError(t, stop())
				assert.Equal(t, time.Nanosecond, time.Since(begin))
				listed := map[string]bool{}
				for _, a := range tr.ShutdownReport().Abandoned {
					listed[a.Path] = true
				}
				assert.True(t, listed["t/sub/h"] && listed["t/sub/p/hh"], "the hung ones are listed: %v", listed)
				synctest.Wait() // what was cancelled returns
				assert.EqualValues(t, 2, running.Load(), "only the hung ones run")
				for _, c := range tr.Snapshot().Children {
					assert.Equal(t, runtime.StateStopped, c.State, c.Path)
				}
				assert.Equal(t, 0, p.Len())
				close(hung)
				synctest.Wait()
			})
		})
	}
}

// TestS24StopOrderWhenBehind: sup_stop_timeout and order_of_children
// together, drawn at random: children that take their time to stop,
// some hung, some that fail on their own as they are stopped, graces and
// a budget of a few seconds, and a supervisor that is slow to take its
// messages (as one on a starved CPU). Whatever the timing, the events
// report each child's end once, and the ends in reverse start order, the
// children that returned in time and those abandoned when the budget ran
// out alike (or, when the observer lost events, the rest in that order).
func TestS24StopOrderWhenBehind(t *testing.T) {
	for seed := range uint64(500) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 24))
				rec := &recorder{}
				hung := make(chan struct{})
				n := 2 + r.IntN(6)
				var children []runtime.Child
				var want []string
				for i := range n {
					take := time.Duration(r.IntN(4)) * time.Second
					kind := r.IntN(4) // 0: hangs, 1: fails as it stops
					name := fmt.Sprintf("c%d", i)
					want = append([]string{name}, want...)
					children = append(children, runtime.Child{Name: name,
						Shutdown: time.Duration(1+r.IntN(5)) * time.Second,
						Run: func(ctx context.Context, a *runtime.Attempt) error {
							<-ctx.Done()
							if kind == 0 {
								<-hung
							}
							time.Sleep(take)
							if kind == 1 {
								return errBoom
							}
							return nil
						}})
				}
				tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Duration(1+r.IntN(10)) * time.Second,
					Children: children}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				if r.IntN(4) > 0 {
					behind(t, "t", time.Duration(r.IntN(3000))*time.Millisecond).Store(true)
				}
				require.NoError(t, stop())
				var got []string
				for _, e := range rec.all() {
					switch e.Kind {
					case runtime.EventStopped, runtime.EventAbandoned, runtime.EventExited:
						got = append(got, e.Path[len("t/"):])
					}
				}
				if tr.Snapshot().DroppedEvents == 0 {
					assert.Equal(t, want, got, rec.trace())
				} else {
					assert.True(t, subsequence(got, want), "%v within %v", got, want)
				}
				close(hung)
				time.Sleep(time.Minute)
				synctest.Wait()
			})
		})
	}
}

// subsequence reports whether the elements of a appear in b in order.
func subsequence(a, b []string) bool {
	for _, x := range a {
		i := slices.Index(b, x)
		if i < 0 {
			return false
		}
		b = b[i+1:]
	}
	return true
}

// TestS24ExitTakenAsTheParentGivesUp: sup_stop_timeout one level down,
// at the worst moment. A nested supervisor has just taken the return of a
// child it stopped when its parent's budget runs out and abandons it with
// its subtree; the nested run is held up there (a starved goroutine) until
// Run has returned. The child returned, so the kill does not list it, and
// its stop must still reach observers: Run delivers nothing after it
// returns, and the snapshot must show it stopped. Before, the nested
// supervisor emitted the stop only after the hold, too late, and the child
// was seen to start and never end.
func TestS24ExitTakenAsTheParentGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		hung := make(chan struct{})
		hold := make(chan struct{})
		runtime.SetExitHook(func(path string) {
			if path == "t/sub/c" {
				<-hold
			}
		})
		t.Cleanup(func() { runtime.SetExitHook(nil) })
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Second, Children: []runtime.Child{
			{Name: "sub", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "h", Shutdown: time.Hour, Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-hung
					return nil
				}},
				{Name: "c", Run: nop},
			}}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, time.Second, time.Since(begin))
		ends := map[string][]string{}
		for _, e := range rec.all() {
			switch e.Kind {
			case runtime.EventStopped, runtime.EventAbandoned, runtime.EventExited:
				ends[e.Path] = append(ends[e.Path], e.Kind.String())
			}
		}
		assert.Equal(t, map[string][]string{
			"t/sub/c": {"stopped"}, "t/sub": {"abandoned"}, "t/sub/h": {"abandoned"},
		}, ends)
		assert.Zero(t, tr.Snapshot().DroppedEvents)
		for _, c := range tr.Snapshot().Children {
			assert.Equal(t, runtime.StateStopped, c.State, c.Path)
		}
		close(hold)
		close(hung)
		synctest.Wait()
	})
}

// TestS24TreeStopOrderWhenBehind: TestS24StopOrderWhenBehind over random
// trees: nested supervisors of every strategy, with budgets of their own,
// and pools with instances, some of which hang, fail or take their time,
// below supervisors that are all slow to take their messages. Whatever
// the timing, each child and instance ends once in the events; siblings
// end in reverse start order; a supervisor or pool ends after what it
// stopped, unless it was abandoned, which abandons its subtree with it.
func TestS24TreeStopOrderWhenBehind(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 99))
				rec := &recorder{}
				hung := make(chan struct{})
				defer func() { // let the hung and the slow return
					close(hung)
					time.Sleep(time.Minute)
					synctest.Wait()
				}()
				seconds := func(n int) time.Duration { return time.Duration(1+r.IntN(n)) * time.Second }
				worker := func() runtime.RunFunc {
					take, kind := time.Duration(r.IntN(4))*time.Second, r.IntN(5) // 0: hangs, 1: fails
					return func(ctx context.Context, a *runtime.Attempt) error {
						<-ctx.Done()
						if kind == 0 {
							<-hung
						}
						time.Sleep(take)
						if kind == 1 {
							return errBoom
						}
						return nil
					}
				}
				var level func(depth int, prefix string) []runtime.Child
				level = func(depth int, prefix string) []runtime.Child {
					var cs []runtime.Child
					for i := range 1 + r.IntN(4) {
						c := runtime.Child{Name: fmt.Sprintf("%s%d", prefix, i)}
						switch {
						case r.IntN(5) == 0:
							c.Pool, c.Shutdown = &runtime.PoolSpec{}, seconds(5)
						case depth < 2 && r.IntN(3) == 0:
							c.Supervisor = &runtime.Spec{
								Strategy: []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne}[r.IntN(3)],
								Shutdown: seconds(10), Children: level(depth+1, c.Name+"x")}
						default:
							c.Run, c.Shutdown = worker(), seconds(5)
						}
						cs = append(cs, c)
					}
					return cs
				}
				spec := runtime.Spec{Name: "t", Shutdown: seconds(10), Children: level(0, "c")}
				tr := mustNew(t, spec, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				below := map[string][]string{} // what each supervisor and pool stops, in stop order
				var walk func(path string, cs []runtime.Child)
				walk = func(path string, cs []runtime.Child) {
					for i := len(cs) - 1; i >= 0; i-- {
						p := path + "/" + cs[i].Name
						below[path] = append(below[path], p)
						switch {
						case cs[i].Supervisor != nil:
							walk(p, cs[i].Supervisor.Children)
						case cs[i].Pool != nil:
							for range r.IntN(4) {
								h, err := tr.Pool(p).Start("", worker())
								require.NoError(t, err)
								below[p] = append(below[p], h.Path())
							}
						}
					}
				}
				walk("t", spec.Children)
				synctest.Wait()
				if r.IntN(4) > 0 {
					behind(t, "", time.Duration(r.IntN(3000))*time.Millisecond).Store(true)
				}
				require.NoError(t, stop())
				if tr.Snapshot().DroppedEvents > 0 {
					return // the observer lost some: TestS24StopOrderWhenBehind checks what is left
				}
				at := map[string][]int{} // where each path ends in the events
				abandoned := map[string]bool{}
				for i, e := range rec.all() {
					switch e.Kind {
					case runtime.EventStopped, runtime.EventAbandoned, runtime.EventExited:
						at[e.Path] = append(at[e.Path], i)
						abandoned[e.Path] = e.Kind == runtime.EventAbandoned
					}
				}
				for sup, ps := range below {
					last := -1
					for _, p := range ps {
						if !assert.Len(t, at[p], 1, "%s ends once\n%v", p, rec.trace()) {
							continue
						}
						if !strings.Contains(p[len(sup)+1:], "/") && !strings.HasPrefix(p[len(sup)+1:], "i") {
							assert.Greater(t, at[p][0], last, "%s after its later siblings\n%v", p, rec.trace())
							last = at[p][0]
						}
						if sup != "t" && !abandoned[sup] && len(at[sup]) == 1 {
							assert.Less(t, at[p][0], at[sup][0], "%s before %s\n%v", p, sup, rec.trace())
						}
					}
				}
			})
		})
	}
}

// TestS24GraceRunsOutBehindAStop is the case of TestS24StopOrderWhenBehind
// that exitsBefore handles, made deterministic. c0 was stopped by an order
// and ignores it, so its grace runs out at 3s; the tree's shutdown stops c2,
// then c1 (its chain), which return at 0.5s and 1.5s; the supervisor takes
// 3s over each message. When c0's grace comes due, c1 has returned and its
// exit waits behind the alarm: c1's stop must still be reported before c0
// is abandoned, in the stop order (and in the order they happened).
func TestS24GraceRunsOutBehindAStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		hung := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Hour, Children: []runtime.Child{
			{Name: "c0", Shutdown: 3 * time.Second, Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-ctx.Done()
				<-hung
				return nil
			}},
			{Name: "c1", Shutdown: time.Hour, Run: slowStop(time.Second)},
			{Name: "c2", Shutdown: time.Hour, Run: slowStop(time.Second / 2)},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/c0").Stop())
		synctest.Wait()
		behind(t, "t", 3*time.Second).Store(true)
		require.NoError(t, stop())
		assert.Equal(t, []string{
			"c2 stopped", "c1 stopped", "c0 abandoned",
		}, rec.trace(runtime.EventStopped, runtime.EventAbandoned, runtime.EventExited))
		close(hung)
		synctest.Wait()
	})
}
