package otel_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/otel"
)

// TestNilProviders: a nil provider means the global one, as no option
// does; it does not crash the program.
func TestNilProviders(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
	require.NoError(t, err)
	assert.NotPanics(t, func() {
		assert.NoError(t, otel.Instrument(tr, otel.WithTracerProvider(nil), otel.WithMeterProvider(nil)))
	})
}

// TestInstrumentRefusedLeavesNothing: an Instrument refused because the
// tree runs registers nothing on the meter provider: the metrics of the
// first Instrument are not counted twice.
func TestInstrumentRefusedLeavesNothing(t *testing.T) {
	f := newFixture(t)
	f.fail <- struct{}{}
	f.waitFor(t, "flaky restarted", func() bool {
		c, _ := f.tree.Snapshot().Child("shop/flaky")
		return c.Generation == 2 && c.State == runtime.StateRunning
	})
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	require.ErrorIs(t, otel.Instrument(f.tree, otel.WithMeterProvider(mp)), runtime.ErrAlreadyRunning)
	g := &fixture{reader: reader}
	assert.Empty(t, g.metrics(t), "a refused Instrument reports nothing")
	assert.EqualValues(t, 1, f.metrics(t)["arbor.child.restarts"]["arbor.child.path=shop/flaky"])
}

// TestNilTree: Instrument of a nil tree is an error, not a crash.
func TestNilTree(t *testing.T) {
	assert.EqualError(t, otel.Instrument(nil), "otel: Instrument needs a tree, not nil")
}
