package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestPoolChurnFromEverywhere: many goroutines, and instances themselves,
// start, stop, wait for and restart instances of a capped pool while the
// pool fails its restart limit and its parent restarts it, then the tree
// stops. Never more than Max run functions at once (none is abandoned);
// only the documented errors; every instance Start accepted runs; a name
// is free once StopAndWait returned; after Run, every order says the tree
// ended.
func TestPoolChurnFromEverywhere(t *testing.T) {
	const max = 8
	loop := &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}
	tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, RestartLimit: loop, Children: []runtime.Child{
		{Name: "p", Pool: &runtime.PoolSpec{Max: max}, Backoff: noBackoff, Shutdown: time.Second, Restart: runtime.Transient,
			RestartLimit: &runtime.RestartLimit{Max: 20, Window: time.Second}},
	}}, runtime.WithObserver(func(runtime.Event) {}))
	stop, _ := start(t, tr)
	<-tr.Ready()
	p := tr.Pool("t/p")

	var inRun atomic.Int32
	var over atomic.Int32
	type rec struct{ ran atomic.Bool }
	var mu sync.Mutex
	accepted := map[*runtime.Handle]*rec{}

	body := func(r *rec, fail bool) runtime.RunFunc {
		return func(ctx context.Context, a *runtime.Attempt) error {
			r.ran.Store(true)
			if n := inRun.Add(1); n > max {
				over.Store(n)
			}
			defer inRun.Add(-1)
			if fail && a.Generation() < 3 {
				return errBoom
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(a.Generation()%3) * time.Millisecond):
			}
			return nil
		}
	}
	var nFull, nTaken, nNotRunning atomic.Int64
	check := func(err error) {
		switch {
		case errors.Is(err, runtime.ErrPoolFull):
			nFull.Add(1)
		case errors.Is(err, runtime.ErrNameTaken):
			nTaken.Add(1)
		case errors.Is(err, runtime.ErrNotRunning):
			nNotRunning.Add(1)
		}
		if err != nil && !errors.Is(err, runtime.ErrPoolFull) && !errors.Is(err, runtime.ErrNameTaken) && !errors.Is(err, runtime.ErrNotRunning) {
			t.Errorf("Start: %v", err)
		}
	}
	startOne := func(name string, fail bool) *runtime.Handle {
		r := &rec{}
		h, err := p.Start(name, body(r, fail))
		check(err)
		if err == nil {
			mu.Lock()
			accepted[h] = r
			mu.Unlock()
		}
		return h
	}

	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("g%d-%d", g, i%5)
				h := startOne(name, i%11 == 0)
				if h == nil {
					time.Sleep(50 * time.Microsecond)
					continue
				}
				switch i % 4 {
				case 0:
					h.Stop()
				case 1:
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err := h.StopAndWait(ctx)
					cancel()
					if err != nil && !errors.Is(err, runtime.ErrNotRunning) {
						t.Errorf("StopAndWait: %v", err)
					}
					if err == nil {
						if st := h.State(); st != runtime.StateDone {
							t.Errorf("%s is %s after StopAndWait", h.Path(), st)
						}
						h2, err := p.Start(name, func(context.Context, *runtime.Attempt) error { return nil })
						if errors.Is(err, runtime.ErrNameTaken) {
							t.Errorf("Start(%s) after StopAndWait: %v", name, err)
						}
						if err == nil {
							h2.Stop()
						}
					}
				case 2:
					h.Restart()
				}
			}
		})
	}
	// Instances that start, stop and wait for others.
	wg.Go(func() {
		for i := 0; time.Now().Before(deadline); i++ {
			r := &rec{}
			h, err := p.Start("", func(ctx context.Context, a *runtime.Attempt) error {
				r.ran.Store(true)
				if n := inRun.Add(1); n > max {
					over.Store(n)
				}
				defer inRun.Add(-1)
				h := startOne("", false)
				if h != nil {
					h.StopAndWait(ctx)
				}
				if h := tr.Handle(a.Path()); h != nil && i%2 == 0 {
					h.StopAndWait(ctx) // itself, with its own context
				}
				return nil
			})
			check(err)
			if err == nil {
				mu.Lock()
				accepted[h] = r
				mu.Unlock()
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := over.Load(); n > 0 && p.Counts().Abandoned == 0 {
		t.Errorf("%d run functions at once, Max is %d", n, max)
	}
	mu.Lock()
	defer mu.Unlock()
	ran := 0
	for h, r := range accepted {
		if !r.ran.Load() {
			t.Errorf("%s was accepted but never ran", h.Path())
		} else {
			ran++
		}
		if err := h.Restart(); !errors.Is(err, runtime.ErrTreeEnded) {
			t.Errorf("Restart after Run: %v", err)
		}
	}
	t.Logf("%d instances accepted; %+v; full %d, taken %d, not running %d", ran, p.Counts(), nFull.Load(), nTaken.Load(), nNotRunning.Load())
	if _, err := p.Start("x", nop); !errors.Is(err, runtime.ErrTreeEnded) {
		t.Errorf("Start after Run: %v", err)
	}
	if n := p.Len(); n != 0 {
		t.Errorf("Len after Run = %d", n)
	}
	c := p.Counts()
	if c.Started != c.Removed {
		t.Errorf("Counts after Run: %+v", c)
	}
}

// TestPoolNamesAtTheEdge: the shortest and a very long valid name, names
// like the generated ones (which skip them), names just outside the rule,
// and paths that name no instance; a name is free again once StopAndWait
// returned.
func TestPoolNamesAtTheEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Restart: runtime.Temporary})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		long := "a" + strings.Repeat("z9_-", 1<<16)
		for _, name := range []string{"a", "z", "a-", "a_", "a0", "i0", "i", "i1", "i2", "i01", long} {
			h, err := p.Start(name, nop)
			if err != nil {
				t.Errorf("Start(%.20q): %v", name, err)
				continue
			}
			if tr.Handle("t/p/"+name) != h {
				t.Errorf("Handle(%.20q) is not its handle", name)
			}
		}
		for _, name := range []string{"A", "1a", "-a", "_a", "a.b", "a/b", "a b", "é", "a\x00", "aé", "a/", "/a", "..", "a\n"} {
			if _, err := p.Start(name, nop); !errors.Is(err, runtime.ErrInvalidSpec) {
				t.Errorf("Start(%q): %v", name, err)
			}
		}
		for _, path := range []string{"t/p/", "t/p//a", "t/p/a/", "t/p/a/b", "t//p/a", "t/p/A"} {
			if h := tr.Handle(path); h != nil {
				t.Errorf("Handle(%q) = %s", path, h.Path())
			}
		}
		h, err := p.Start("", nop)
		require.NoError(t, err)
		if h.Path() == "t/p/i1" || h.Path() == "t/p/i2" {
			t.Errorf("generated name %s is taken", h.Path())
		}
		synctest.Wait()
		ctx := context.Background()
		require.NoError(t, tr.Handle("t/p/i1").StopAndWait(ctx))
		h2, err := p.Start("i1", nop)
		require.NoError(t, err, "the name is free once StopAndWait returned")
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h2.State())
		require.NoError(t, tr.Handle("t/p/"+long).StopAndWait(ctx))
		_, err = p.Start(long, nop)
		require.NoError(t, err)
		require.NoError(t, stop())
	})
}

// TestPoolGeneratedNamesSkipGivenOnes: names given to Start that look
// like generated ones, ahead of the pool's count, are skipped by the names
// it generates later, also when the first such name comes after many
// generated ones.
func TestPoolGeneratedNamesSkipGivenOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := poolTree(t, runtime.Child{Restart: runtime.Temporary})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		seen := map[string]bool{}
		startAs := func(name string) {
			t.Helper()
			h, err := p.Start(name, nop)
			require.NoError(t, err)
			require.False(t, seen[h.Path()], "two instances are %s", h.Path())
			seen[h.Path()] = true
			require.Same(t, h, tr.Handle(h.Path()))
		}
		for range 3 {
			startAs("") // i1, i2, i3
		}
		for _, name := range []string{"i5", "i4", "i07", "i6x", "j8"} {
			startAs(name)
		}
		for range 5 {
			startAs("") // i6 to i10, skipping i4 and i5
		}
		want := []string{"t/p/i1", "t/p/i2", "t/p/i3", "t/p/i4", "t/p/i5", "t/p/i6", "t/p/i7", "t/p/i8", "t/p/i9", "t/p/i10"}
		for _, path := range want {
			assert.True(t, seen[path], "%s is not an instance", path)
		}
		assert.Len(t, seen, 13)
		assert.Equal(t, 13, p.Len())
		require.NoError(t, stop())
	})
}

// TestPoolOrdersWhileItGivesUp: while a pool that exceeded its restart
// limit stops its lingering instances, Start says it is not running, and
// orders to its instances change nothing; once its parent has restarted
// it, empty, the old handles are removed and their names free.
func TestPoolOrdersWhileItGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{Max: 3}, Backoff: noBackoff, Shutdown: 10 * time.Second,
				RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		slow, err := p.Start("slow", lingering(5*time.Second, nil))
		require.NoError(t, err)
		var boom atomic.Int32
		_, err = p.Start("boom", func(ctx context.Context, a *runtime.Attempt) error {
			boom.Add(1)
			return errBoom
		})
		require.NoError(t, err)
		synctest.Wait() // boom fails twice: the pool gives up, and waits for slow
		require.Equal(t, runtime.StateStopping, slow.State())
		_, err = p.Start("new", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.ErrorIs(t, slow.Restart(), runtime.ErrNotRunning, "a restart would change nothing: the pool stops")
		require.NoError(t, slow.Stop(), "a stop is taken, and changes nothing")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, slow.StopAndWait(ctx), "returns once slow has stopped")
		assert.Equal(t, runtime.StateDone, slow.State())
		time.Sleep(2 * time.Second) // the root's backoff, then the pool runs again, empty
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/p").State)
		assert.Equal(t, 0, p.Len())
		assert.ErrorIs(t, slow.Restart(), runtime.ErrRemoved)
		h, err := p.Start("slow", nop)
		require.NoError(t, err, "the name is free in the new run")
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		assert.NoError(t, slow.Stop(), "the old handle's stop is of the old instance")
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, h.State())
		require.NoError(t, stop())
	})
}

// TestPoolNameTakenBeforeFull: Start of a name a live instance has, in a
// full pool, says the name is taken: room made later would not change that.
func TestPoolNameTakenBeforeFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "p", Pool: &runtime.PoolSpec{Max: 1}}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		p := tr.Pool("t/p")
		_, err := p.Start("a", nop)
		require.NoError(t, err)
		synctest.Wait()
		_, err = p.Start("a", nop)
		assert.ErrorIs(t, err, runtime.ErrNameTaken)
		assert.NotErrorIs(t, err, runtime.ErrPoolFull)
		_, err = p.Start("b", nop)
		assert.ErrorIs(t, err, runtime.ErrPoolFull)
		require.NoError(t, stop())
	})
}
