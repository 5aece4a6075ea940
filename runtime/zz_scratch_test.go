package runtime_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

type reentrant struct{ tr atomic.Pointer[runtime.Tree] }

func (r *reentrant) poke(ctx context.Context) {
	tr := r.tr.Load()
	if tr == nil {
		return
	}
	tr.Snapshot()
	tr.Health()
	tr.ShutdownReport()
	tr.Journal(0)
	if h := tr.Handle("t/a"); h != nil {
		h.Restart()
		h.Stop()
		h.StopAndWait(ctx)
		h.Restart()
	}
	if p := tr.Pool("t/p"); p != nil {
		h, _ := p.Start("", nop)
		if h != nil {
			h.StopAndWait(ctx)
		}
		p.Start("x", nop)
	}
	tr.Observe(func(runtime.Event) {})
	tr.Run(context.Background())
}

type hh struct{ r *reentrant }

func (h hh) Enabled(context.Context, slog.Level) bool { return true }
func (h hh) Handle(ctx context.Context, _ slog.Record) error {
	h.r.poke(ctx)
	return nil
}
func (h hh) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h hh) WithGroup(string) slog.Handler      { return h }

func TestScratchReentrantObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &reentrant{}
		n := 0
		tr, err := runtime.New(runtime.Spec{Name: "t", Shutdown: time.Second, Children: []runtime.Child{
			{Name: "a", Run: func(ctx context.Context, a *runtime.Attempt) error {
				a.Logger().Info("hi")
				<-ctx.Done()
				r.poke(context.Background())
				return nil
			}},
			{Name: "p", Pool: &runtime.PoolSpec{Max: 3}},
		}}, runtime.WithObserver(func(e runtime.Event) {
			n++
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			r.poke(ctx)
		}), runtime.WithLogger(slog.New(hh{r})))
		if err != nil {
			t.Fatal(err)
		}
		r.tr.Store(tr)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tr.Run(ctx) }()
		time.Sleep(3 * time.Second)
		t0 := time.Now()
		cancel()
		err = <-done
		t.Logf("Run %v after %v, events %d dropped %d, report %+v", err, time.Since(t0), n, tr.Snapshot().DroppedEvents, tr.ShutdownReport())
		synctest.Wait()
	})
}
