package runtime_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errBoom = errors.New("boom")

// recorder keeps every event a tree emits.
type recorder struct {
	mu     sync.Mutex
	events []runtime.Event
}

func (r *recorder) observe(e runtime.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []runtime.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// of returns the events of one kind.
func (r *recorder) of(kind runtime.EventKind) []runtime.Event {
	var out []runtime.Event
	for _, e := range r.all() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// trace renders the events as "path kind" lines, optionally only some kinds.
func (r *recorder) trace(kinds ...runtime.EventKind) []string {
	var out []string
	for _, e := range r.all() {
		if len(kinds) == 0 || slices.Contains(kinds, e.Kind) {
			_, path, _ := strings.Cut(e.Path, "/") // without the tree's name
			out = append(out, path+" "+e.Kind.String())
		}
	}
	return out
}

// noBackoff restarts at once.
var noBackoff = &runtime.Backoff{}

// constBackoff restarts after d, without jitter; attempt numbers keep
// counting up.
func constBackoff(d time.Duration) *runtime.Backoff {
	return &runtime.Backoff{Initial: d, Max: d, ResetAfter: time.Hour}
}

// behind makes the supervisor at path (every one, for "") take d over each
// message it handles once the returned flag is set: a supervisor far behind
// its children. The test's end removes the hook.
func behind(t *testing.T, path string, d time.Duration) *atomic.Bool {
	slow := new(atomic.Bool)
	runtime.SetTestHook(func(p string) {
		if slow.Load() && (path == "" || p == path) {
			time.Sleep(d)
		}
	})
	t.Cleanup(func() { runtime.SetTestHook(nil) })
	return slow
}

// holdOnce makes the supervisor at path, once arm is called, wait in the
// next message it handles until release is called: a supervisor held up
// elsewhere while its children go on. The test's end removes the hook.
func holdOnce(t *testing.T, path string) (arm, release func()) {
	hold := make(chan struct{})
	var armed, held atomic.Bool
	runtime.SetTestHook(func(p string) {
		if p == path && armed.Load() && held.CompareAndSwap(false, true) {
			<-hold
		}
	})
	t.Cleanup(func() { runtime.SetTestHook(nil) })
	return func() { armed.Store(true) }, sync.OnceFunc(func() { close(hold) })
}

func mustNew(t *testing.T, spec runtime.Spec, opts ...runtime.Option) *runtime.Tree {
	t.Helper()
	tr, err := runtime.New(spec, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

// start runs tr in the background; the returned function cancels it and
// returns Run's error.
func start(t *testing.T, tr *runtime.Tree) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	finished := make(chan struct{})
	var err error
	go func() {
		err = tr.Run(ctx)
		ch <- err
		close(finished)
	}()
	stop = func() error {
		cancel()
		<-finished
		return err
	}
	t.Cleanup(func() { stop() }) // so that a failing test still ends its tree
	return stop, ch
}

func status(t *testing.T, tr *runtime.Tree, path string) runtime.ChildStatus {
	t.Helper()
	c, ok := tr.Snapshot().Child(path)
	if !ok {
		t.Fatalf("no child %s in snapshot", path)
	}
	return c
}
