package runtime_test

// Cases of suture v4's suture_test.go translated to Arbor, where no other
// test covers them. Each test names the case it translates. suture's
// decaying failure count becomes Arbor's sliding window, and where suture
// pauses (FailureBackoff) Arbor gives up and escalates.

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestTheHappyCase and TestStoppingSupervisorStopsServices: a failed
// service is restarted; cancelling the context stops it and Run returns;
// afterwards the tree takes no orders.
func TestSutureTheHappyCase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newPuppet()
		var stopped atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "svc", Run: func(ctx context.Context, a *runtime.Attempt) error {
				err := svc.run(ctx, a)
				if ctx.Err() != nil {
					stopped.Add(1)
				}
				return err
			}},
			{Name: "p", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		svc.end(errBoom)
		assert.EqualValues(t, 2, svc.starts.Load(), "restarted")
		require.NoError(t, stop())
		assert.EqualValues(t, 1, stopped.Load(), "stopped through its context")
		assert.ErrorIs(t, tr.Handle("t/svc").Restart(), runtime.ErrTreeEnded)
		_, err := tr.Pool("t/p").Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrTreeEnded, "a stopped supervisor adds nothing")
		assert.True(t, tr.ShutdownReport().Clean())
	})
}

// TestFailures: failures of all services count together, a panic counts as
// one, and old failures are forgotten (suture halves them every 30 s;
// Arbor forgets them once older than the window). Past the threshold
// suture pauses restarts; Arbor gives up.
func TestSutureFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s1, s2 := newPuppet(), newPuppet()
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
			RestartLimit: &runtime.RestartLimit{Max: 3, Window: 30 * time.Second},
			Children: []runtime.Child{
				{Name: "s1", Run: func(ctx context.Context, a *runtime.Attempt) error {
					if err := s1.run(ctx, a); err != errPanic {
						return err
					}
					panic("Panic!")
				}},
				{Name: "s2", Run: s2.run},
			}})
		start(t, tr)
		synctest.Wait()
		s1.end(errBoom)
		s2.end(errBoom)
		time.Sleep(31 * time.Second) // both forgotten
		s2.end(errBoom)
		s1.end(errPanic)
		assert.Equal(t, runtime.ExitPanic, status(t, tr, "t/s1").LastExit, "the panic was recovered")
		s1.end(errBoom)
		require.True(t, running(tr), "three in the window: at the limit")
		assert.EqualValues(t, 4, s1.starts.Load())
		assert.EqualValues(t, 3, s2.starts.Load())
		s2.end(errBoom)
		require.False(t, running(tr), "four: Arbor gives up where suture pauses")
		assert.ErrorIs(t, tr.Err(), runtime.ErrRestartLimit)
	})
}

var errPanic = errors.New("panic, please")

// TestRemovingHungService and TestStoppingStillWorksWithHungServices: a
// service that ignores its context is abandoned after its grace, whether
// removed (Stop) or stopped with its supervisor; it is listed in the
// report, its late return changes nothing, and the child can run again
// meanwhile.
func TestSutureRemovingHungService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var existing, most atomic.Int32
		hung := func(ctx context.Context, a *runtime.Attempt) error {
			n := existing.Add(1)
			defer existing.Add(-1)
			if n > most.Load() {
				most.Store(n)
			}
			if a.Generation() == 1 {
				<-release // hangs: ignores ctx
				return errBoom
			}
			<-ctx.Done()
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "svc", Run: hung, Shutdown: 10 * time.Millisecond},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/svc")
		begin := time.Now()
		require.NoError(t, h.StopAndWait(context.Background()))
		assert.Equal(t, 10*time.Millisecond, time.Since(begin), "abandoned after its grace")
		rep := tr.ShutdownReport()
		require.Len(t, rep.Abandoned, 1)
		assert.Equal(t, "t/svc", rep.Abandoned[0].Path)

		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		assert.EqualValues(t, 2, most.Load(), "the abandoned attempt still runs: Go cannot kill it")
		close(release)
		synctest.Wait()
		st := h.Status()
		assert.Equal(t, runtime.StateRunning, st.State, "its late failure changes nothing")
		assert.Equal(t, uint64(2), st.Generation)
		assert.Equal(t, uint64(1), st.Fenced)
		require.NoError(t, stop())
	})
}

// TestRemoveAndWait, the case of a hung service whose supervisor stops
// meanwhile: StopAndWait returns once the shutdown abandoned it, or at its
// own deadline, never later.
func TestSutureRemoveAndWaitWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "hung", Run: lingering(time.Hour, release), Shutdown: time.Second},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/hung")

		short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, h.StopAndWait(short), context.DeadlineExceeded, "suture's ErrTimeout")

		waited := make(chan error, 1)
		go func() { waited <- h.StopAndWait(context.Background()) }()
		begin := time.Now()
		require.NoError(t, stop())
		err := <-waited
		assert.True(t, err == nil || errors.Is(err, runtime.ErrTreeEnded), "got %v", err)
		assert.LessOrEqual(t, time.Since(begin), time.Second)
		close(release)
	})
}

// TestStopAfterRemoveAndWait: once a service was removed and waited for,
// stopping the supervisor reports nothing abandoned.
func TestSutureStopAfterRemoveAndWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a1", Run: lingering(time.Millisecond, nil), Shutdown: time.Second},
			{Name: "other", Run: nop},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/a1").StopAndWait(context.Background()))
		require.NoError(t, stop())
		assert.True(t, tr.ShutdownReport().Clean())
		assert.Empty(t, rec.of(runtime.EventAbandoned))
		assert.Equal(t, []string{"a1 stopped", "other stopped"}, rec.trace(runtime.EventStopped))
	})
}

// TestSupervisorManagementIssue35: many nested supervisors, cancelled at
// once, at every point of their start: no panic, Run returns nil, nothing
// is left running.
func TestSutureManagementIssue35(t *testing.T) {
	for _, steps := range []int{0, 1, 2, 5, 20, 100} {
		t.Run(fmt.Sprint(steps), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var children []runtime.Child
				for i := range 100 {
					children = append(children, runtime.Child{Name: fmt.Sprintf("s%d", i), Supervisor: &runtime.Spec{
						Children: []runtime.Child{{Name: "w", Run: nop}},
					}})
				}
				tr := mustNew(t, runtime.Spec{Name: "t", Children: children})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- tr.Run(ctx) }()
				for range steps {
					goyield()
				}
				cancel()
				require.NoError(t, <-done)
				assert.True(t, tr.ShutdownReport().Clean())
				for _, c := range tr.Snapshot().Children {
					assert.NotContains(t, []runtime.State{runtime.StateRunning, runtime.StateStarting, runtime.StateStopping}, c.State, c.Path)
				}
			})
		})
	}
}

// goyield lets the tree's goroutines run a little.
func goyield() { goruntime.Gosched() }

// TestEverMultistarted: however a service ends (failure, panic, a restart
// or stop order) and whatever its siblings do, no two attempts of one
// child run at once, as long as none is abandoned.
func TestSutureEverMultistarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 3
		var existing [n]atomic.Int32
		var multi atomic.Bool
		ends := make([]chan error, n)
		var children []runtime.Child
		for i := range n {
			ends[i] = make(chan error)
			children = append(children, runtime.Child{Name: fmt.Sprintf("c%d", i), Run: func(ctx context.Context, a *runtime.Attempt) error {
				if existing[i].Add(1) > 1 {
					multi.Store(true)
				}
				defer existing[i].Add(-1)
				select {
				case err := <-ends[i]:
					if err == errPanic {
						panic("Panic!")
					}
					return err
				case <-ctx.Done():
					time.Sleep(time.Millisecond) // stops a little late, within its grace
					return ctx.Err()
				}
			}})
		}
		for _, strategy := range []runtime.Strategy{runtime.OneForOne, runtime.OneForAll, runtime.RestForOne} {
			tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: noBackoff,
				RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Hour}, Children: children})
			stop, _ := start(t, tr)
			synctest.Wait()
			for step := range 60 {
				i := step % n
				path := fmt.Sprintf("t/c%d", i)
				switch step % 5 {
				case 0, 3:
					select {
					case ends[i] <- errBoom:
					default: // not running now
					}
				case 1:
					select {
					case ends[i] <- errPanic:
					default:
					}
				case 2:
					require.NoError(t, tr.Handle(path).Restart())
				case 4:
					require.NoError(t, tr.Handle(path).Stop())
					require.NoError(t, tr.Handle(path).Restart())
				}
				synctest.Wait()
			}
			require.NoError(t, stop())
			assert.True(t, tr.ShutdownReport().Clean(), strategy)
		}
		assert.False(t, multi.Load(), "a child ran twice at once")
	})
}
