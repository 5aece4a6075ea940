package benchmarks

import (
	"context"
	"fmt"
	goruntime "runtime"
	"runtime/metrics"
	"time"

	"github.com/thejerf/suture/v4"

	"github.com/arbor-go/arbor/runtime"
)

// The subjects of a memory measurement.
const (
	Bare   = "bare"   // a goroutine running the idle function, with no supervisor
	Arbor  = "arbor"  // a child of a flat Arbor tree
	Suture = "suture" // a service of a suture supervisor
)

// Memory is the memory a running subject holds per idle child.
type Memory struct {
	Subject string
	N       int
	Heap    float64 // heap objects and the free space in their spans (goroutine descriptors included)
	Stack   float64 // goroutine stacks
	Meta    float64 // runtime metadata: spans, GC bitmaps and the like
	Allocs  float64 // heap objects allocated while starting, per child
	// Start is the time from the first sample until every child runs: the
	// process's first start, which also makes the goroutine descriptors
	// and stacks that later starts reuse.
	Start time.Duration
}

// Total is the bytes per child.
func (m Memory) Total() float64 { return m.Heap + m.Stack + m.Meta }

// memClasses are the runtime/metrics classes counted, as in the runtime's
// own BenchmarkIdleChildMemory: in-use heap spans, stacks and the metadata
// that grows with them. Free or released pages are not counted.
var memClasses = [...]string{
	"/memory/classes/heap/objects:bytes",         // 0: heap
	"/memory/classes/heap/unused:bytes",          // 1: heap
	"/memory/classes/heap/stacks:bytes",          // 2: stack
	"/memory/classes/os-stacks:bytes",            // 3: stack
	"/memory/classes/metadata/mspan/inuse:bytes", // 4: metadata
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/other:bytes",
	"/gc/heap/allocs:objects", // 7
}

type memSample [len(memClasses)]uint64

func readMem() memSample {
	// Two cycles: the first frees dead goroutines' stacks, the second
	// returns the emptied stack spans to the heap.
	goruntime.GC()
	goruntime.GC()
	samples := make([]metrics.Sample, len(memClasses))
	for i, name := range memClasses {
		samples[i].Name = name
	}
	metrics.Read(samples)
	var m memSample
	for i, s := range samples {
		m[i] = s.Value.Uint64()
	}
	return m
}

// MeasureIdle starts n idle children of subject in this process and returns
// the memory they hold once all have started, per child: the classes above,
// after minus before, over n. What the caller hands the library (the spec,
// the services) is made before the first sample and not counted.
//
// Measure in a fresh process (see MeasureIdleFresh): Go reuses the
// descriptors of dead goroutines, so a second measurement in one process
// would not pay for them.
func MeasureIdle(subject string, n int) (Memory, error) {
	w := newIdle(n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		children []runtime.Child
		services []service
		wait     func() error // after cancel: until the subject has stopped
	)
	switch subject {
	case Bare:
	case Arbor:
		children = make([]runtime.Child, n)
		for i := range children {
			children[i] = runtime.Child{Name: childName(i), Run: runtime.Func(w.run)}
		}
	case Suture:
		services = make([]service, n)
		for i := range services {
			services[i] = service{name: childName(i), run: w.run}
		}
	default:
		return Memory{}, fmt.Errorf("unknown subject %q", subject)
	}

	before := readMem()
	t0 := time.Now()
	switch subject {
	case Bare:
		stopped := make(chan struct{}, n)
		for range n {
			go func() {
				w.run(ctx)
				stopped <- struct{}{}
			}()
		}
		wait = func() error {
			for range n {
				<-stopped
			}
			return nil
		}
	case Arbor:
		tree, err := runtime.New(runtime.Spec{Name: "bench", Children: children})
		if err != nil {
			return Memory{}, err
		}
		done := make(chan error, 1)
		go func() { done <- tree.Run(ctx) }()
		wait = func() error { return <-done }
	case Suture:
		sup := suture.New("bench", suture.Spec{EventHook: func(suture.Event) {}})
		for _, s := range services {
			sup.Add(s)
		}
		done := sup.ServeBackground(ctx)
		wait = func() error { <-done; return nil }
	}
	<-w.all
	start := time.Since(t0)
	after := readMem()
	goruntime.KeepAlive(children)
	goruntime.KeepAlive(services)
	cancel()
	if err := wait(); err != nil {
		return Memory{}, err
	}
	d := func(i ...int) float64 {
		var sum float64
		for _, j := range i {
			sum += float64(after[j]) - float64(before[j])
		}
		return sum / float64(n)
	}
	return Memory{Subject: subject, N: n, Heap: d(0, 1), Stack: d(2, 3), Meta: d(4, 5, 6), Allocs: d(7), Start: start}, nil
}
