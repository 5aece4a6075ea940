package otel_test

import (
	"context"
	goruntime "runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/otel"
)

// spyProvider is a MeterProvider that closes unregistered when a
// callback's registration is removed.
type spyProvider struct {
	metric.MeterProvider
	unregistered chan struct{}
}

func (p spyProvider) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return spyMeter{p.MeterProvider.Meter(name, opts...), p.unregistered}
}

type spyMeter struct {
	metric.Meter
	unregistered chan struct{}
}

func (m spyMeter) RegisterCallback(f metric.Callback, instruments ...metric.Observable) (metric.Registration, error) {
	r, err := m.Meter.RegisterCallback(f, instruments...)
	return &spyRegistration{Registration: r, unregistered: m.unregistered}, err
}

type spyRegistration struct {
	metric.Registration
	unregistered chan struct{}
	once         sync.Once
}

func (r *spyRegistration) Unregister() error {
	r.once.Do(func() { close(r.unregistered) })
	return r.Registration.Unregister()
}

// runAndStop instruments a tree, runs it and stops it, and returns it as
// a weak pointer: the caller holds nothing of it.
func runAndStop(t *testing.T, mp metric.MeterProvider) weak.Pointer[runtime.Tree] {
	tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(idle)},
		{Name: "conns", Pool: &runtime.PoolSpec{}},
	}})
	require.NoError(t, err)
	require.NoError(t, otel.Instrument(tr, otel.WithMeterProvider(mp)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	<-tr.Ready()
	_, err = tr.Pool("shop/conns").Start("c1", runtime.Func(idle))
	require.NoError(t, err)
	cancel()
	require.NoError(t, <-done)
	return weak.Make(tr)
}

// TestStoppedTreeUnregisters: once a tree's Run has returned, its metrics
// callback reports the tree's last values once more (the final flush of a
// program that shuts its MeterProvider down after Run), then is
// unregistered: a stopped tree's series are not reported for ever (a new
// tree of the same name would report them twice), and the callback does
// not keep the stopped tree in memory.
func TestStoppedTreeUnregisters(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer sdk.Shutdown(context.Background())
	spy := spyProvider{MeterProvider: sdk, unregistered: make(chan struct{})}
	tree := runAndStop(t, spy)

	points := func() map[string]int {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		n := map[string]int{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					n[m.Name] += len(d.DataPoints)
				case metricdata.Gauge[int64]:
					n[m.Name] += len(d.DataPoints)
				}
			}
		}
		return n
	}
	last := points()
	assert.Equal(t, 2, last["arbor.child.restarts"], "the final flush has the stopped tree's last values")
	assert.Equal(t, 9, last["arbor.children"])
	select {
	case <-spy.unregistered:
	case <-time.After(5 * time.Second):
		t.Fatal("the callback of a stopped tree is still registered")
	}
	after := points()
	for _, name := range []string{"arbor.child.restarts", "arbor.children", "arbor.events.dropped"} {
		assert.Zero(t, after[name], "%s: a stopped tree's series is reported no more", name)
	}
	assert.NotZero(t, after["arbor.child.exits"], "what was counted stays")

	deadline := time.Now().Add(5 * time.Second)
	for tree.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the stopped tree is kept in memory")
		}
		goruntime.GC()
		time.Sleep(time.Millisecond)
	}
}
