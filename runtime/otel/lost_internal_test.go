package otel

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/arbor-go/arbor/runtime"
)

func idle(ctx context.Context, _ *runtime.Attempt) error { <-ctx.Done(); return nil }

// testAdapter is the adapter of a tree "t" of children that does not run,
// for events made up by the test, and where its spans go.
func testAdapter(t *testing.T, children ...runtime.Child) (*adapter, *tracetest.SpanRecorder) {
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: children})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	a := newAdapter(tr, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("x"))
	a.exits, _ = noop.NewMeterProvider().Meter("x").Int64Counter("x")
	return a, rec
}

// When a slow observer lost an instance's end, the pool's end closes its
// span: instance names are not reused, so no later start would, and the
// adapter would keep it for ever. An abandoned supervisor's children are
// abandoned after it, with their own events: their spans wait for those.
func TestLostEndsClosedByTheirSupervisor(t *testing.T) {
	a, rec := testAdapter(t,
		runtime.Child{Name: "p", Pool: &runtime.PoolSpec{}},
		runtime.Child{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "w", Run: idle}}}})
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
	if len(a.open) != 1 || a.open["t/n/w"].Span == nil {
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

// When a slow exporter makes the observer lose instances' ends, their spans
// are ended (exit unknown) while their pool still runs: a long-lived pool
// with many short-lived instances would otherwise keep every span whose end
// was lost until the pool ends, which for a server is never. Spans whose
// child still runs that attempt stay open.
func TestLostEndsClosedWhileThePoolRuns(t *testing.T) {
	a, rec := testAdapter(t, runtime.Child{Name: "w", Run: idle}, runtime.Child{Name: "p", Pool: &runtime.PoolSpec{}})
	var seq uint64
	ev := func(k runtime.EventKind, p string) {
		seq++
		a.observe(runtime.Event{Seq: seq, Kind: k, Path: p, Time: time.Now(), Generation: 1})
	}
	ev(runtime.EventStarting, "t/w")
	ev(runtime.EventStarting, "t/p")
	const n = 10000
	for i := range n {
		ev(runtime.EventStarting, "t/p/i"+strconv.Itoa(i))
		seq++ // its end is lost
	}
	ev(runtime.EventReady, "t/w")
	if len(a.open) > 200 {
		t.Errorf("%d spans open after %d instances whose ends were lost; want the pool's instances that are gone ended", len(a.open), n)
	}
	for _, p := range []string{"t/w", "t/p"} {
		if _, ok := a.open[p]; !ok {
			t.Errorf("the span of %s, which still runs, was ended", p)
		}
	}
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == "arbor.exit" && kv.Value.AsString() != "unknown" {
				t.Errorf("span %s ended with exit %s; want unknown", s.Name(), kv.Value.AsString())
			}
		}
	}
}
