package runtime

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// An order for an instance can reach its pool before the instance itself:
// Pool.Start puts the instance in the pool's index, where Tree.Handle finds
// it by path, before it posts it, and an order posted by another goroutine
// in between (an operator's stop from the console, a sibling instance's
// Stop by path) comes first. unreadFirst recreates that interleaving: the
// pool is held while it handles an earlier message, Start posts the
// instance, and the order is put ahead of it.

// TestPoolOrderBeforeInstance: a Stop that comes first still lets the
// instance run, cancelled at once, so that its run function gets what Start
// handed it; a Restart that comes first starts it once, not twice.
func TestPoolOrderBeforeInstance(t *testing.T) {
	for _, tc := range []struct {
		kind     msgKind
		wantRuns int32
		wantLive int
	}{
		{msgStop, 1, 1}, // first lives on
		{msgRestart, 1, 2},
	} {
		t.Run(map[msgKind]string{msgStop: "stop", msgRestart: "restart"}[tc.kind], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr, err := New(Spec{Name: "t", Children: []Child{{Name: "p", Pool: &PoolSpec{}, Restart: Temporary}}})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan error, 1)
				go func() { ran <- tr.Run(ctx) }()
				synctest.Wait()
				p := tr.Pool("t/p")

				entered, gate := make(chan struct{}), make(chan struct{})
				var once atomic.Bool
				SetTestHook(func(path string) {
					if path == "t/p" && once.CompareAndSwap(false, true) {
						close(entered)
						<-gate
					}
				})
				defer SetTestHook(nil)
				if _, err := p.Start("first", Func(func(ctx context.Context) error { <-ctx.Done(); return nil })); err != nil {
					t.Fatal(err)
				}
				<-entered

				var runs, cancelled atomic.Int32
				h, err := p.Start("x", func(ctx context.Context, _ *Attempt) error {
					runs.Add(1)
					<-ctx.Done()
					cancelled.Add(1)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if tr.Handle("t/p/x") != h {
					t.Fatal("Tree.Handle does not find the instance Start accepted")
				}
				p.sv.inbox.unread([]message{{kind: tc.kind, slot: h.s}})
				close(gate)
				synctest.Wait()

				if got := runs.Load(); got != tc.wantRuns {
					t.Errorf("the instance ran %d times, want %d", got, tc.wantRuns)
				}
				if got := p.Len(); got != tc.wantLive {
					t.Errorf("Len() = %d, want %d", got, tc.wantLive)
				}
				if tc.kind == msgStop && cancelled.Load() != 1 {
					t.Error("the stopped instance's context was not cancelled")
				}
				cancel()
				if err := <-ran; err != nil {
					t.Fatal(err)
				}
				if got := runs.Load(); got != tc.wantRuns {
					t.Errorf("after Run: the instance ran %d times, want %d", got, tc.wantRuns)
				}
			})
		})
	}
}

// TestKilledPoolRunStaysClosed: a run of a pool whose attempt was abandoned
// before it began ends at once and never opens the pool to Start, which
// would accept an instance that no run starts.
func TestKilledPoolRunStaysClosed(t *testing.T) {
	tr, err := New(Spec{Name: "t", Children: []Child{{Name: "p", Pool: &PoolSpec{}, Restart: Temporary}}})
	if err != nil {
		t.Fatal(err)
	}
	sv := tr.Pool("t/p").sv
	done := make(chan struct{})
	close(done) // its parent's run, over
	self := &Attempt{slot: tr.root.slots[0], gen: 1, run: &runInfo{done: done}}
	self.flags.Store(flagAbandoned)
	if err := sv.run(context.Background(), self); err != ErrAbandoned {
		t.Fatalf("run = %v, want ErrAbandoned", err)
	}
	sv.mu.Lock()
	open := sv.pool.open
	sv.mu.Unlock()
	if open {
		t.Error("the killed run opened its pool to Start")
	}
	if n := tr.root.slots[0].fenced.Load(); n != 0 {
		t.Errorf("the killed run reported itself ready: %d fenced signals", n)
	}
}
