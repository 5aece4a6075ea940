package otel

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/arbor-go/arbor/runtime"
)

// When a slow observer lost an instance's end, the pool's end closes its
// span: instance names are not reused, so no later start would, and the
// adapter would keep it for ever. An abandoned supervisor's children are
// abandoned after it, with their own events: their spans wait for those.
func TestLostEndsClosedByTheirSupervisor(t *testing.T) {
	idle := func(ctx context.Context, _ *runtime.Attempt) error { <-ctx.Done(); return nil }
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "p", Pool: &runtime.PoolSpec{}},
		{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "w", Run: idle}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	exits, _ := noop.NewMeterProvider().Meter("x").Int64Counter("x")
	a := &adapter{tree: tr, tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("x"),
		exits: exits, open: map[string]trace.Span{}, kids: map[string]map[string]struct{}{}}
	at := time.Now()
	ev := func(k runtime.EventKind, p string) {
		a.observe(runtime.Event{Kind: k, Path: p, Time: at, Generation: 1})
	}

	ev(runtime.EventStarting, "t/p")
	ev(runtime.EventStarting, "t/p/i1")
	ev(runtime.EventStarting, "t/p/i2")
	ev(runtime.EventExited, "t/p/i2")
	ev(runtime.EventStopped, "t/p") // i1's end was lost
	ev(runtime.EventStarting, "t/n")
	ev(runtime.EventStarting, "t/n/w")
	ev(runtime.EventAbandoned, "t/n")
	if len(a.open) != 1 || a.open["t/n/w"] == nil {
		t.Fatalf("open spans: %v; want only t/n/w, whose Abandoned comes after t/n's", a.open)
	}
	ev(runtime.EventAbandoned, "t/n/w")

	if len(a.open) != 0 || len(a.kids) != 0 {
		t.Errorf("left open: %v, kids %v", a.open, a.kids)
	}
	unknown := 0
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == "arbor.exit" && kv.Value.AsString() == "unknown" {
				unknown++
			}
		}
	}
	if n := len(rec.Ended()); n != 5 || unknown != 1 {
		t.Errorf("%d spans ended, %d of them of an unknown exit; want 5, and 1 (t/p/i1)", n, unknown)
	}
}
