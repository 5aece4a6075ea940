package otel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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

// TestNilOption: a nil Option is skipped, as console.Handler and
// runtime.New skip theirs (an option built conditionally), not a crash.
func TestNilOption(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
	require.NoError(t, err)
	assert.NotPanics(t, func() {
		assert.NoError(t, otel.Instrument(tr, nil))
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

// TestLongErrorClipped: a span's status holds at most MaxStatus bytes of
// an error's text: an error of a megabyte (a response body wrapped into
// it) on every failed attempt would make exports of spans that much
// larger, past what exporters take in one batch (OTLP's 4 MB), and lose the
// other spans of the batch with them.
func TestLongErrorClipped(t *testing.T) {
	long := strings.Repeat("é", 1<<19)
	desc := failedStatus(t, errors.New("upstream said: "+long))
	assert.LessOrEqual(t, len(desc), otel.MaxStatus)
	assert.True(t, strings.HasPrefix(desc, "upstream said: éé"), "%.40s", desc)
	assert.True(t, utf8.ValidString(desc))
}

// failedStatus runs a tree whose child fails once with err and returns
// the description of its span's status.
func failedStatus(t *testing.T, fails error) string {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	fail := make(chan struct{})
	tr, err := runtime.New(runtime.Spec{Name: "t", Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour},
		Children: []runtime.Child{{Name: "a", Run: runtime.Func(func(ctx context.Context) error {
			select {
			case <-fail:
				return fails
			case <-ctx.Done():
				return nil
			}
		})}}})
	require.NoError(t, err)
	require.NoError(t, otel.Instrument(tr, otel.WithTracerProvider(tp)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	<-tr.Ready()
	close(fail)
	for len(spans.Ended()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)
	return spans.Ended()[0].Status().Description
}

// TestErrorNotUTF8: OTLP's strings must be UTF-8, and an exporter that
// meets one that is not fails the whole batch ("string field contains
// invalid UTF-8"), every other span of it lost too. An error's text can
// hold any bytes (one that quotes what a peer sent): the span's status
// holds it with those bytes replaced.
func TestErrorNotUTF8(t *testing.T) {
	assert.Equal(t, "peer sent \ufffd\x00 and é", failedStatus(t, errors.New("peer sent \xff\xfe\x00 and é")))
}
