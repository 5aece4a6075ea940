// Package otel reports a supervision tree to OpenTelemetry: a span per
// attempt, and metrics for restarts, exits and children by state, through
// the OpenTelemetry API. The SDK and the exporters are the program's choice.
//
// It is a module of its own (github.com/arbor-go/arbor/runtime/otel), so
// that programs that do not use OpenTelemetry do not get its modules.
//
// Spans. Each attempt of a child is one span, from its start to its exit
// (or its abandonment), named after the child's path; a pool's instances
// share one name, "<pool>/*", so that names stay few. Its attributes are
// arbor.tree, arbor.child.path, arbor.generation, arbor.attempt,
// arbor.restarts and, once it ended, arbor.exit (success, error, panic,
// cancelled, timeout, or abandoned). A failure sets the span's status to
// Error with the error's text. The attempts of a nested supervisor's
// children are children of the supervisor's attempt's span. Readiness and
// operators' orders are span events. A span whose end was among the events
// a slow observer lost (a slow or blocked exporter makes it slow) ends with
// arbor.exit unknown: at the next start of its child, at the end of its
// supervisor, or, once its attempt has ended (a pool's instance that is
// gone), at a sweep after the loss.
//
// Metrics, each with the attribute arbor.tree:
//
//	arbor.child.restarts   counter (observed), per child (arbor.child.path);
//	                       present at 0 from the start, so that alerts fire
//	                       on the first restart. A pool's instances are not
//	                       reported one by one.
//	arbor.child.exits      counter, per child and arbor.exit: how attempts
//	                       ended; an instance counts under its pool's path
//	arbor.children         gauge (observed), per arbor.child.state: how
//	                       many children are in each state, instances included
//	arbor.events.dropped   counter (observed): events the observers lost,
//	                       which spans and exits then miss
//
// Once the tree's Run has returned, the observed metrics report its last
// values at the next collection (the final flush of a MeterProvider shut
// down after Run), and then no more: their callback is unregistered, and
// keeps nothing of the tree.
package otel

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/arbor-go/arbor/runtime"
)

// scope is the instrumentation scope's name.
const scope = "github.com/arbor-go/arbor/runtime/otel"

// Option configures Instrument.
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets where spans go; the global provider by default
// or when tp is nil.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where metrics go; the global provider by default
// or when mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

var states = []runtime.State{
	runtime.StateIdle, runtime.StateWaiting, runtime.StateStarting, runtime.StateRunning,
	runtime.StateStopping, runtime.StateBackoff, runtime.StateStopped, runtime.StateDone, runtime.StateStandby,
}

// MaxStatus is the most of an error's text that a span's status holds, in
// bytes: a longer one is cut there, at a character, and ends in "…"; bytes
// that are not UTF-8 are replaced by U+FFFD.
// Errors can be as long as whatever a program wrapped into them, and
// exporters send spans in batches of bounded size.
const MaxStatus = 4 << 10

// Instrument reports t to OpenTelemetry, as the package documentation
// describes. Call it before t runs: it observes t's events (with
// runtime.Tree.Observe), and fails with runtime.ErrAlreadyRunning once t has
// started. Nil options are skipped.
func Instrument(t *runtime.Tree, opts ...Option) error {
	if t == nil {
		return errors.New("otel: Instrument needs a tree, not nil")
	}
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tp == nil {
		c.tp = gotel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = gotel.GetMeterProvider()
	}
	meter := c.mp.Meter(scope)
	tree := attribute.String("arbor.tree", t.Name())
	a := newAdapter(t, c.tp.Tracer(scope))
	var errs []error
	var err error
	a.exits, err = meter.Int64Counter("arbor.child.exits", metric.WithUnit("{exit}"),
		metric.WithDescription("Attempts of the child that ended, by how they ended (arbor.exit)."))
	errs = append(errs, err)
	restarts, err := meter.Int64ObservableCounter("arbor.child.restarts", metric.WithUnit("{restart}"),
		metric.WithDescription("Restarts of the child since the tree was built."))
	errs = append(errs, err)
	children, err := meter.Int64ObservableGauge("arbor.children", metric.WithUnit("{child}"),
		metric.WithDescription("Children of the tree in each state (arbor.child.state)."))
	errs = append(errs, err)
	dropped, err := meter.Int64ObservableCounter("arbor.events.dropped", metric.WithUnit("{event}"),
		metric.WithDescription("Events the tree's observers lost."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The callback reads the tree until its Run has returned, then the
	// tree's last values, once: the final flush of a program that shuts
	// its MeterProvider down after Run has them. It then unregisters
	// itself: a stopped tree's series would be reported for ever (twice,
	// with a new tree of the same name), and the tree kept in memory.
	// It holds the tree only through live.
	var live atomic.Pointer[runtime.Tree]
	var final atomic.Pointer[measures]
	var reg atomic.Pointer[metric.Registration]
	var unregister sync.Once
	live.Store(t)
	// finish takes the values of t, whose Run has returned, as the last.
	finish := func(t *runtime.Tree) *measures {
		if final.CompareAndSwap(nil, measure(t.Snapshot())) {
			live.Store(nil)
		}
		return final.Load()
	}
	r, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m := final.Load()
		if m == nil {
			switch t := live.Load(); {
			case t == nil:
				m = final.Load() // finished meanwhile
			case ended(t):
				m = finish(t)
			default:
				m = measure(t.Snapshot())
			}
		}
		for _, c := range m.restarts {
			o.ObserveInt64(restarts, c.n, metric.WithAttributes(tree, attribute.String("arbor.child.path", c.path)))
		}
		for i, s := range states {
			o.ObserveInt64(children, m.states[i], metric.WithAttributes(tree, attribute.String("arbor.child.state", s.String())))
		}
		o.ObserveInt64(dropped, m.dropped, metric.WithAttributes(tree))
		if m == final.Load() {
			// Not from here: the SDK holds its lock while it calls back.
			unregister.Do(func() { go (*reg.Load()).Unregister() })
		}
		return nil
	}, restarts, children, dropped)
	if err != nil {
		return err
	}
	reg.Store(&r)
	// Once it runs, the tree ends: then the callback lets it go, even if
	// no collection comes.
	a.started = func() {
		go func() {
			<-t.Done()
			finish(t)
		}()
	}
	if err := t.Observe(a.observe); err != nil {
		r.Unregister() // refused: the tree is not reported twice
		return err
	}
	return nil
}

func ended(t *runtime.Tree) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

// measures are the values the metrics callback reports.
type measures struct {
	restarts []childRestarts // of each child but pool instances
	states   []int64         // how many children are in each of states
	dropped  int64
}

type childRestarts struct {
	path string
	n    int64
}

func measure(snap runtime.Snapshot) *measures {
	m := &measures{states: make([]int64, len(states)), dropped: int64(snap.DroppedEvents)}
	for _, ch := range snap.Children {
		if i := slices.Index(states, ch.State); i >= 0 {
			m.states[i]++
		}
		if !ch.Instance {
			m.restarts = append(m.restarts, childRestarts{ch.Path, int64(ch.Restarts)})
		}
	}
	return m
}

// adapter turns events into spans and exits. Its observe runs on the tree's
// observer goroutine, one event at a time, so open needs no lock.
type adapter struct {
	tree   *runtime.Tree
	attr   attribute.KeyValue
	tracer trace.Tracer
	exits  metric.Int64Counter
	open   map[string]span // the current attempt's span, by child path
	// kids are the open spans below each open span of a supervisor or a
	// pool, by the parent's path.
	kids map[string]map[string]struct{}

	// The spans whose ends were lost, found by a sweep (see sweep).
	last    uint64            // the Seq of the latest event seen
	lost    bool              // events were lost since the last sweep
	sweepAt int               // how many open spans start a sweep
	suspect map[string]uint64 // the ids of spans whose attempt has ended, by path
	until   uint64            // the suspects' ends, if any, have a Seq up to this
	ids     uint64            // the last span's id

	started func() // called at the first event: the tree runs, and will end
}

// span is an open span, the generation of its attempt, and an id: a Span
// itself may not be comparable.
type span struct {
	trace.Span
	gen, id uint64
}

// minSweep is the fewest open spans that a sweep looks through.
const minSweep = 64

func newAdapter(t *runtime.Tree, tracer trace.Tracer) *adapter {
	return &adapter{
		tree:    t,
		attr:    attribute.String("arbor.tree", t.Name()),
		tracer:  tracer,
		open:    map[string]span{},
		kids:    map[string]map[string]struct{}{},
		sweepAt: minSweep,
	}
}

func (a *adapter) observe(e runtime.Event) {
	if a.started != nil {
		a.started()
		a.started = nil
	}
	if e.Seq > a.last+1 {
		a.lost = true
	}
	a.last = max(a.last, e.Seq)
	a.record(e)
	a.sweep(e)
}

// record turns e into spans and exits.
func (a *adapter) record(e runtime.Event) {
	switch e.Kind {
	case runtime.EventStarting:
		if old := a.open[e.Path]; old.Span != nil {
			// Its end was among events a slow observer lost.
			old.SetAttributes(attribute.String("arbor.exit", "unknown"))
			old.End(trace.WithTimestamp(e.Time))
		}
		ctx := context.Background()
		if parent := a.open[path.Dir(e.Path)]; parent.Span != nil {
			ctx = trace.ContextWithSpan(ctx, parent)
			dir := path.Dir(e.Path)
			if a.kids[dir] == nil {
				a.kids[dir] = map[string]struct{}{}
			}
			a.kids[dir][e.Path] = struct{}{}
		}
		_, s := a.tracer.Start(ctx, a.name(e.Path), trace.WithTimestamp(e.Time), trace.WithAttributes(
			a.attr,
			attribute.String("arbor.child.path", e.Path),
			attribute.Int64("arbor.generation", int64(e.Generation)),
			attribute.Int("arbor.attempt", e.Attempt),
			attribute.Int("arbor.restarts", e.Restarts),
		))
		a.ids++
		a.open[e.Path] = span{s, e.Generation, a.ids}
	case runtime.EventReady:
		if span := a.open[e.Path]; span.Span != nil {
			span.AddEvent("ready", trace.WithTimestamp(e.Time))
		}
	case runtime.EventOrder:
		if span := a.open[e.Path]; span.Span != nil {
			span.AddEvent("order", trace.WithTimestamp(e.Time), trace.WithAttributes(
				attribute.String("arbor.order", e.Order.String()), attribute.String("arbor.order.from", clip(e.From))))
		}
	case runtime.EventExited, runtime.EventStopped, runtime.EventAbandoned:
		exit := e.Exit.String()
		failed := e.Exit.Failure()
		if e.Kind == runtime.EventAbandoned {
			exit, failed = "abandoned", true
		}
		a.exits.Add(context.Background(), 1, metric.WithAttributes(a.attr,
			attribute.String("arbor.child.path", a.metricPath(e.Path)), attribute.String("arbor.exit", exit)))
		if e.Kind != runtime.EventAbandoned {
			// A supervisor or pool stops its children before it ends:
			// a span still open below it lost its end among dropped
			// events. (An abandoned one's children are abandoned after.)
			a.endBelow(e.Path, e.Time)
		}
		span := a.open[e.Path]
		a.close(e.Path)
		if span.Span == nil {
			return
		}
		span.SetAttributes(attribute.String("arbor.exit", exit))
		if failed {
			msg := exit
			if e.Err != nil {
				msg = clip(runtime.ErrorText(e.Err))
			}
			span.SetStatus(codes.Error, msg)
		}
		span.End(trace.WithTimestamp(e.Time))
	}
}

// endBelow ends the open spans below the supervisor or pool at p, whose
// ends were lost, as of t.
func (a *adapter) endBelow(p string, t time.Time) {
	for k := range a.kids[p] {
		a.endBelow(k, t)
		delete(a.kids, k)
		if span := a.open[k]; span.Span != nil {
			span.SetAttributes(attribute.String("arbor.exit", "unknown"))
			span.End(trace.WithTimestamp(t))
			delete(a.open, k)
		}
	}
}

// sweep ends the spans whose ends were lost and that no later start or
// end of a supervisor would end: those of a pool's instances that are
// gone, as instance names are not reused, while the pool runs on. Once
// events were lost and as many spans are open as sweepAt, it takes as
// suspects the spans whose attempt has ended: their child is gone, or
// runs a later generation. Their ends were emitted before that (an
// instance is removed after its end, a restart comes after it), so before
// the tree's latest event, read after: once the observer is past it, a
// suspect still open lost its end, and is ended. sweepAt is then twice the
// spans left open, so that the sweeps cost a constant per event.
func (a *adapter) sweep(e runtime.Event) {
	if a.suspect != nil && e.Seq > a.until {
		for p, id := range a.suspect {
			if s := a.open[p]; s.Span != nil && s.id == id {
				a.close(p) // the spans below are checked on their own
				s.SetAttributes(attribute.String("arbor.exit", "unknown"))
				s.End(trace.WithTimestamp(e.Time))
			}
		}
		a.suspect = nil
		a.sweepAt = max(minSweep, 2*len(a.open))
	}
	if a.suspect != nil || !a.lost || len(a.open) < a.sweepAt {
		return
	}
	a.lost = false
	for p, s := range a.open {
		if h := a.tree.Handle(p); h == nil || h.Status().Generation > s.gen {
			if a.suspect == nil {
				a.suspect = map[string]uint64{}
			}
			a.suspect[p] = s.id
		}
	}
	a.until = a.tree.LastEvent()
	if a.suspect == nil {
		a.sweepAt = max(minSweep, 2*len(a.open))
	}
}

// close forgets the open span at p.
func (a *adapter) close(p string) {
	delete(a.open, p)
	delete(a.kids, p)
	if k := a.kids[path.Dir(p)]; k != nil {
		delete(k, p)
	}
}

// name is a span's name: the child's path, or "<pool>/*" for an instance.
func (a *adapter) name(p string) string {
	if dir := path.Dir(p); a.tree.Pool(dir) != nil {
		return dir + "/*"
	}
	return p
}

// metricPath is the path metrics use: an instance counts under its pool.
func (a *adapter) metricPath(p string) string {
	if dir := path.Dir(p); a.tree.Pool(dir) != nil {
		return dir
	}
	return p
}

// clip cuts s to MaxStatus bytes, and replaces the bytes in it that are
// not UTF-8: OTLP's strings must be, and an exporter fails a whole batch
// of spans over one that is not.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxStatus {
		return s
	}
	n := MaxStatus - len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
