package console_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// TestTreePoolCountsAgree: a pool's counts in /api/tree are those of the
// instances the same answer lists, while instances come and go and the
// pool itself fails and restarts: the page must not show "3 live" over
// an empty list. (TestOpsChaos in cmd/arbor found them apart.)
func TestTreePoolCountsAgree(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "srv",
		RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Second},
		Backoff:      &runtime.Backoff{},
		Children: []runtime.Child{{Name: "conns", Pool: &runtime.PoolSpec{Max: 8}, Restart: runtime.Transient,
			Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
			RestartLimit: &runtime.RestartLimit{Max: 20, Window: time.Second}}}}) // gives up now and then
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		n := 0
		for {
			select {
			case <-quit:
				return
			default:
			}
			n++
			fail := n%3 == 0
			tr.Pool("srv/conns").Start("", func(ctx context.Context, a *runtime.Attempt) error {
				if fail && a.Number() == 1 {
					return context.DeadlineExceeded
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Millisecond):
				}
				return nil
			})
		}
	})
	h := console.Handler(tr)
	bad := 0
	for range 500 {
		got := decode[console.Tree](t, do(h, "GET", "/api/tree", nil))
		var want console.Pool
		var pool *console.Pool
		for _, c := range got.Children {
			switch {
			case c.Kind == "pool":
				pool = c.Pool
			case c.State == "idle" || c.State == "starting":
				want.Starting++
			case c.State == "running":
				want.Running++
			case c.State == "backoff":
				want.Backoff++
			case c.State == "stopping":
				want.Stopping++
			case c.State == "stopped":
				want.Stopped++
			}
		}
		want.Live = want.Starting + want.Running + want.Backoff + want.Stopping + want.Stopped
		require.NotNil(t, pool)
		if pool.Live != want.Live || pool.Starting != want.Starting || pool.Running != want.Running ||
			pool.Backoff != want.Backoff || pool.Stopping != want.Stopping || pool.Stopped != want.Stopped {
			if bad++; bad <= 3 {
				t.Errorf("pool counts %+v; the instances listed: %+v", *pool, want)
			}
		}
	}
	close(quit)
	wg.Wait()
	cancel()
	require.NoError(t, <-done)
	if bad > 0 {
		t.Errorf("%d of 500 answers apart", bad)
	}
}
