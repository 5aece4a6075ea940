package otel_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/otel"
)

// TestCollectWhileChurningAndStopping: metrics are collected without
// pause while a pool's instances come and go and the tree stops under
// them. The race detector sees nothing, no series names an instance (their
// number would grow with every instance ever started), and every span ends.
func TestCollectWhileChurningAndStopping(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "srv",
		RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Second},
		Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(idle)},
			{Name: "conns", Pool: &runtime.PoolSpec{Max: 50}, Restart: runtime.Transient,
				Backoff:      &runtime.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
				RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Second}},
		}})
	require.NoError(t, err)
	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())
	require.NoError(t, otel.Instrument(tr, otel.WithTracerProvider(tp), otel.WithMeterProvider(mp)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	<-tr.Ready()

	quit := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	paths := map[string]bool{}
	collects := 0
	collect := func() {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		collects++
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if d, ok := m.Data.(metricdata.Sum[int64]); ok {
					for _, p := range d.DataPoints {
						if v, ok := p.Attributes.Value("arbor.child.path"); ok {
							paths[m.Name+" "+v.AsString()] = true
						}
					}
				}
			}
		}
	}
	wg.Go(func() {
		for {
			select {
			case <-quit:
				return
			default:
				collect()
			}
		}
	})
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
	require.NoError(t, <-done)
	time.Sleep(50 * time.Millisecond)
	close(quit)
	wg.Wait()
	collect()

	for p := range paths {
		assert.False(t, strings.HasPrefix(strings.Fields(p)[1], "srv/conns/"), "a series per instance: %s", p)
	}
	assert.NotEmpty(t, paths)
	started := pool.Counts().Started
	ended := spans.Ended()
	assert.Len(t, spans.Started(), len(ended), "every span started has ended")
	t.Logf("%d collections, %d instances started, %d spans, series by path: %v", collects, started, len(ended), paths)
}
