package otel_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/otel"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func idle(ctx context.Context) error { <-ctx.Done(); return nil }

type fixture struct {
	tree   *runtime.Tree
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	fail   chan struct{}
	stop   func() error
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader(), fail: make(chan struct{})}
	flaky := func(ctx context.Context) error {
		select {
		case <-f.fail:
			return errors.New("boom")
		case <-ctx.Done():
			return nil
		}
	}
	tr, err := runtime.New(runtime.Spec{
		Name:    "shop",
		Backoff: &runtime.Backoff{},
		Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(idle)},
			{Name: "flaky", Run: runtime.Func(flaky)},
			{Name: "ingest", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "fetch", Run: runtime.Func(idle)}}}},
			{Name: "conns", Pool: &runtime.PoolSpec{}},
		},
	})
	require.NoError(t, err)
	f.tree = tr
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	t.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	require.NoError(t, otel.Instrument(tr, otel.WithTracerProvider(tp), otel.WithMeterProvider(mp)))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	f.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() { f.stop() })
	<-tr.Ready()
	return f
}

func (f *fixture) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestSpans(t *testing.T) {
	f := newFixture(t)
	in, err := f.tree.Pool("shop/conns").Start("c1", runtime.Func(idle))
	require.NoError(t, err)
	f.fail <- struct{}{}
	f.waitFor(t, "flaky restarted", func() bool {
		c, _ := f.tree.Snapshot().Child("shop/flaky")
		return c.Generation == 2 && c.State == runtime.StateRunning
	})
	require.NoError(t, f.tree.Handle("shop/db").Order(runtime.OrderRestart, "console 127.0.0.1:1"))
	require.NoError(t, in.Stop())
	f.waitFor(t, "db restarted", func() bool {
		c, _ := f.tree.Snapshot().Child("shop/db")
		return c.Generation == 2 && c.State == runtime.StateRunning
	})
	require.NoError(t, f.stop())

	spans := f.spans.Ended()
	require.Empty(t, f.spans.Started()[len(spans):], "every span ended once the tree stopped")
	byKey := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		a := attrs(s.Attributes())
		byKey[a["arbor.child.path"].(string)+"#"+itoa(a["arbor.generation"].(int64))] = s
		assert.Equal(t, "shop", a["arbor.tree"])
		assert.Equal(t, scope, s.InstrumentationScope().Name)
	}
	assert.Len(t, spans, 8, "db twice, flaky twice, ingest, fetch, conns, c1")

	failed := byKey["shop/flaky#1"]
	require.NotNil(t, failed)
	assert.Equal(t, "shop/flaky", failed.Name())
	assert.Equal(t, codes.Error, failed.Status().Code)
	assert.Equal(t, "boom", failed.Status().Description)
	a := attrs(failed.Attributes())
	assert.Equal(t, "error", a["arbor.exit"])
	assert.EqualValues(t, 1, a["arbor.attempt"])
	assert.EqualValues(t, 0, a["arbor.restarts"])

	second := byKey["shop/flaky#2"]
	require.NotNil(t, second)
	assert.Equal(t, codes.Unset, second.Status().Code)
	a = attrs(second.Attributes())
	assert.Equal(t, "cancelled", a["arbor.exit"])
	assert.EqualValues(t, 1, a["arbor.restarts"])
	assert.False(t, second.StartTime().Before(failed.EndTime()), "one attempt after the other")

	db := byKey["shop/db#1"]
	require.NotNil(t, db)
	var names []string
	for _, ev := range db.Events() {
		names = append(names, ev.Name)
	}
	assert.Equal(t, []string{"order"}, names)
	assert.Equal(t, "console 127.0.0.1:1", attrs(db.Events()[0].Attributes)["arbor.order.from"])

	ingest, fetch := byKey["shop/ingest#1"], byKey["shop/ingest/fetch#1"]
	require.NotNil(t, ingest)
	require.NotNil(t, fetch)
	assert.Equal(t, ingest.SpanContext().SpanID(), fetch.Parent().SpanID(), "a nested supervisor's children are its children")
	assert.Equal(t, ingest.SpanContext().TraceID(), fetch.SpanContext().TraceID())
	assert.Equal(t, "ready", ingest.Events()[0].Name)

	c1 := byKey["shop/conns/c1#1"]
	require.NotNil(t, c1)
	assert.Equal(t, "shop/conns/*", c1.Name(), "instances share a name")
	assert.Equal(t, byKey["shop/conns#1"].SpanContext().SpanID(), c1.Parent().SpanID())
}

const scope = "github.com/arbor-go/arbor/runtime/otel"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// metrics collects and returns the data points of each metric, as a map
// from an attribute set's text to the value.
func (f *fixture) metrics(t *testing.T) map[string]map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, f.reader.Collect(context.Background(), &rm))
	out := map[string]map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			points := map[string]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					points[key(p.Attributes)] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					points[key(p.Attributes)] = p.Value
				}
			default:
				t.Fatalf("%s: unexpected %T", m.Name, m.Data)
			}
			out[m.Name] = points
		}
	}
	return out
}

func key(set attribute.Set) string {
	s := ""
	for _, kv := range set.ToSlice() {
		if kv.Key == "arbor.tree" {
			continue
		}
		if s != "" {
			s += ","
		}
		s += string(kv.Key) + "=" + kv.Value.Emit()
	}
	return s
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	_, err := f.tree.Pool("shop/conns").Start("c1", runtime.Func(idle))
	require.NoError(t, err)
	f.waitFor(t, "c1 running", func() bool { return f.tree.Pool("shop/conns").Counts().Running == 1 })

	m := f.metrics(t)
	assert.Equal(t, map[string]int64{
		"arbor.child.path=shop/db": 0, "arbor.child.path=shop/flaky": 0, "arbor.child.path=shop/ingest": 0,
		"arbor.child.path=shop/ingest/fetch": 0, "arbor.child.path=shop/conns": 0,
	}, m["arbor.child.restarts"], "every child at 0 from the start; no instance")
	assert.EqualValues(t, 6, m["arbor.children"]["arbor.child.state=running"])
	assert.EqualValues(t, 0, m["arbor.children"]["arbor.child.state=backoff"], "every state, zeros included")
	assert.Len(t, m["arbor.children"], 9)
	assert.Equal(t, map[string]int64{"": 0}, m["arbor.events.dropped"])

	f.fail <- struct{}{}
	f.waitFor(t, "flaky restarted", func() bool {
		c, _ := f.tree.Snapshot().Child("shop/flaky")
		return c.Generation == 2 && c.State == runtime.StateRunning
	})
	require.NoError(t, f.stop())
	m = f.metrics(t)
	assert.EqualValues(t, 1, m["arbor.child.restarts"]["arbor.child.path=shop/flaky"])
	exits := m["arbor.child.exits"]
	assert.EqualValues(t, 1, exits["arbor.child.path=shop/flaky,arbor.exit=error"])
	assert.EqualValues(t, 1, exits["arbor.child.path=shop/flaky,arbor.exit=cancelled"])
	assert.EqualValues(t, 2, exits["arbor.child.path=shop/conns,arbor.exit=cancelled"], "the pool's attempt, and its instance under its path")
	assert.NotContains(t, exits, "arbor.child.path=shop/conns/c1,arbor.exit=cancelled")
	var total int64
	for _, n := range m["arbor.children"] {
		total += n
	}
	assert.EqualValues(t, len(f.tree.Snapshot().Children), total)
	assert.Zero(t, m["arbor.children"]["arbor.child.state=running"])
}

func TestInstrumentARunningTree(t *testing.T) {
	f := newFixture(t)
	assert.ErrorIs(t, otel.Instrument(f.tree), runtime.ErrAlreadyRunning)
}
