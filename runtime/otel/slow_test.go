package otel_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/otel"
)

// stuck is a span processor that blocks while held, as an exporter
// behind a synchronous processor does when its collector hangs.
type stuck struct {
	*tracetest.SpanRecorder
	mu      sync.Mutex
	held    chan struct{} // closed to let it go on
	blocked chan struct{} // gets a value when it blocks
}

func (s *stuck) hold() {
	s.mu.Lock()
	s.held = make(chan struct{})
	s.mu.Unlock()
}

func (s *stuck) release() {
	s.mu.Lock()
	close(s.held)
	s.held = nil
	s.mu.Unlock()
}

func (s *stuck) OnStart(ctx context.Context, sp sdktrace.ReadWriteSpan) {
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if held != nil {
		s.blocked <- struct{}{}
		<-held
	}
	s.SpanRecorder.OnStart(ctx, sp)
}

// TestStuckExporter: while an exporter blocks, the tree goes on and the
// observer loses events, among them the ends of a pool's instances. Their
// spans are ended (exit unknown) while the pool runs on, rather than kept
// until it ends; the spans of the instances that still run stay open.
func TestStuckExporter(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "srv", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(idle)},
		{Name: "conns", Pool: &runtime.PoolSpec{}},
	}}, runtime.WithEventBuffer(32))
	require.NoError(t, err)
	sp := &stuck{SpanRecorder: tracetest.NewSpanRecorder(), blocked: make(chan struct{})}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer tp.Shutdown(context.Background())
	require.NoError(t, otel.Instrument(tr, otel.WithTracerProvider(tp)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	<-tr.Ready()
	pool := tr.Pool("srv/conns")
	db := tr.Handle("srv/db")

	// caughtUp restarts db until the observer has seen one more of its
	// attempts end: it has caught up with the events before. (A restart
	// while it still has a full queue is lost: do it again.)
	dbEnds := func() int {
		n := 0
		for _, s := range sp.Ended() {
			if s.Name() == "srv/db" {
				n++
			}
		}
		return n
	}
	caughtUp := func() {
		want := dbEnds() + 1
		require.Eventually(t, func() bool {
			if db.Restart() != nil {
				return false
			}
			time.Sleep(10 * time.Millisecond)
			return dbEnds() >= want
		}, 10*time.Second, time.Millisecond)
	}
	var live []string
	for range 5 {
		h, err := pool.Start("", runtime.Func(idle))
		require.NoError(t, err)
		live = append(live, h.Path())
	}
	caughtUp()

	const cycles, n = 30, 200
	for range cycles {
		sp.hold()
		first, err := pool.Start("", runtime.Func(idle))
		require.NoError(t, err)
		<-sp.blocked
		hs := []*runtime.Handle{first}
		for range n {
			h, err := pool.Start("", runtime.Func(idle))
			require.NoError(t, err)
			hs = append(hs, h)
		}
		for _, h := range hs {
			require.NoError(t, h.StopAndWait(context.Background()))
		}
		sp.release()
		caughtUp()
	}
	caughtUp()

	open := map[string]bool{}
	for _, s := range sp.Started() {
		open[s.SpanContext().SpanID().String()] = true
	}
	for _, s := range sp.Ended() {
		delete(open, s.SpanContext().SpanID().String())
	}
	assert.Less(t, len(open), 150, "spans left open while the pool runs, after %d instances stopped", cycles*(n+1))
	ended := map[string]bool{}
	for _, s := range sp.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == "arbor.child.path" {
				ended[kv.Value.AsString()] = true
			}
		}
	}
	for _, p := range live {
		assert.False(t, ended[p], "the span of %s, which runs, was ended", p)
	}
	dropped := tr.Snapshot().DroppedEvents
	cancel()
	require.NoError(t, <-done)
	assert.Len(t, sp.Ended(), len(sp.Started()), "every span ends with the tree")
	t.Logf("%d events dropped, %d spans", dropped, len(sp.Started()))
}
