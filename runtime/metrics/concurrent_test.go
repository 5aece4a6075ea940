package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/metrics"
)

// TestScrapeWhileChurningAndStopping: scrapes run without pause while a
// pool's instances come and go (failing, restarting, ending) and the tree
// stops under them. Every scrape is consistent (the pedantic registry
// refuses duplicate or malformed series), the number of series never
// moves, and the race detector sees nothing.
func TestScrapeWhileChurningAndStopping(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "srv",
		RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Second},
		Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
			{Name: "conns", Pool: &runtime.PoolSpec{Max: 50}, Restart: runtime.Transient,
				Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
				RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.New(tr))
	want, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	<-tr.Ready()

	quit := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	scrapes := 0
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-quit:
					return
				default:
				}
				n, err := testutil.GatherAndCount(reg)
				mu.Lock()
				scrapes++
				if err != nil {
					problems = append(problems, err.Error())
				} else if n != want {
					problems = append(problems, fmt.Sprintf("%d series, want %d", n, want))
				}
				mu.Unlock()
			}
		})
	}
	pool := tr.Pool("srv/conns")
	wg.Go(func() {
		boom := errors.New("boom")
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			run := runtime.Func(func(context.Context) error { return nil })
			if i%3 == 0 {
				n := 0
				run = runtime.Func(func(context.Context) error {
					if n++; n < 3 {
						return boom
					}
					return nil
				})
			}
			if _, err := pool.Start("", run); err != nil && !errors.Is(err, runtime.ErrPoolFull) {
				return // the tree stopped
			}
		}
	})
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // scrapes of the ended tree
	close(quit)
	wg.Wait()
	if n, err := testutil.GatherAndCount(reg); err != nil || n != want {
		t.Errorf("after the end: %d series, %v; want %d", n, err, want)
	}
	if len(problems) > 0 {
		t.Errorf("%d of %d scrapes went wrong; first: %s", len(problems), scrapes, problems[0])
	}
	t.Logf("%d scrapes, %d instances started", scrapes, pool.Counts().Started)
}
