package runtime_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

func TestScratchConcurrentEverything(t *testing.T) {
	for i := 0; i < 20; i++ {
		tr, _ := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Backoff: &runtime.Backoff{}, RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				a.Ready()
				go func() { a.Beat(); a.Ready(); a.Logger(); a.Token(); a.Current() }()
				return errBoom
			}},
			{Name: "p", Pool: &runtime.PoolSpec{Max: 3}},
		}}, runtime.WithJournal(0))
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, f := range []func(){
			func() { tr.Observe(func(runtime.Event) {}) },
			func() { tr.Snapshot(); tr.Health(); tr.ShutdownReport() },
			func() { tr.Journal(0); tr.LastEvent(); select { case <-tr.JournalWait(0): case <-tr.Done(): } },
			func() { tr.Handle("t/a").Restart() },
			func() { tr.Pool("t/p").Start("", nop) },
			func() { tr.Run(ctx) },
			func() { tr.Run(ctx) },
			func() { tr.Handle("t/p/i1") },
		} {
			wg.Go(f)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
		wg.Wait()
	}
}
