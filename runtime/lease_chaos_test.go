package runtime_test

import (
	"context"
	"errors"
	"flag"

	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var leaseSeed = flag.Uint64("lease.seed", 0, "seed of TestLeaseChaos; 0 draws one")

// TestLeaseChaos runs three replicas of a tree with two singletons (a
// worker, and a nested supervisor whose children run under its lease) on
// one in-memory lease store, for ten minutes of synctest time, while leases
// are lost, attempts fail, ignore cancellation within and past their grace,
// operators stop and restart the singletons, and replicas stop and are
// replaced. The store hands a lost lease on only once its holder released
// it, as a provider that reports losses early does. It checks, at every
// start, that no other replica runs anything under the same lease, unless
// that was abandoned; that tokens only grow from one holder to the next;
// and at the end, that every lease was released.
func TestLeaseChaos(t *testing.T) {
	seed := *leaseSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay with -lease.seed=%d)", seed, seed)
	synctest.Test(t, func(t *testing.T) {
		lc := &leaseChaos{t: t, f: newFakeLeaser(), rng: rand.New(rand.NewPCG(seed, 0)), draws: rand.New(rand.NewPCG(seed, 1)),
			running: map[string]map[*runtime.Attempt]*runtime.Tree{}, lastToken: map[string]uint64{}}
		for i := range 3 {
			lc.start(i)
		}
		for step := 0; step < 6000; step++ {
			time.Sleep(100 * time.Millisecond)
			lc.act()
		}
		for i := range lc.replicas {
			lc.stop(i)
		}
		time.Sleep(5 * time.Second) // the abandoned attempts return at last
		synctest.Wait()
		lc.f.mu.Lock()
		held := len(lc.f.held)
		lc.f.mu.Unlock()
		if held != 0 {
			t.Errorf("%d leases still held after every replica stopped", held)
		}
		t.Logf("%d starts, %d losses, %d replicas replaced", lc.starts, lc.losses, lc.replaced)
	})
}

type leaseChaos struct {
	t   *testing.T
	f   *fakeLeaser
	rng *rand.Rand // used by the test's goroutine only

	mu        sync.Mutex
	draws     *rand.Rand // what attempts do
	replicas  []*chaosReplica
	running   map[string]map[*runtime.Attempt]*runtime.Tree // lease → attempt → its tree
	lastToken map[string]uint64
	starts    int

	losses, replaced int
}

type chaosReplica struct {
	tree *runtime.Tree
	stop func() error
}

// behaviour is what an attempt does, drawn when it starts.
type behaviour struct {
	fail   time.Duration // fails after this, if not 0
	linger time.Duration // ignores cancellation this long
}

func (lc *leaseChaos) draw() behaviour {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	var b behaviour
	if lc.draws.IntN(4) == 0 {
		b.fail = time.Duration(1+lc.draws.IntN(50)) * 100 * time.Millisecond
	}
	switch lc.draws.IntN(6) {
	case 0:
		b.linger = 500 * time.Millisecond // within the grace
	case 1:
		b.linger = 3 * time.Second // past it: abandoned
	}
	return b
}

// run is the run function of every child under the lease name in the
// tree that *tree will point to.
func (lc *leaseChaos) run(tree **runtime.Tree, name string) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		lc.begin(*tree, name, a)
		defer lc.end(name, a)
		b := lc.draw()
		var fail <-chan time.Time
		if b.fail > 0 {
			fail = time.After(b.fail)
		}
		select {
		case <-fail:
			return errors.New("chaos: failed")
		case <-ctx.Done():
		}
		switch c := context.Cause(ctx); c {
		case runtime.ErrStopped, runtime.ErrLeaseLost:
		default:
			lc.t.Errorf("%s generation %d: cancelled with %v", a.Path(), a.Generation(), c)
		}
		time.Sleep(b.linger)
		return nil
	}
}

func (lc *leaseChaos) begin(tree *runtime.Tree, name string, a *runtime.Attempt) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.starts++
	tok := a.Token()
	if tok == 0 {
		lc.t.Errorf("%s in %p runs without a token", a.Path(), tree)
	}
	if tok < lc.lastToken[name] {
		lc.t.Errorf("%s in %p runs with token %d after token %d", a.Path(), tree, tok, lc.lastToken[name])
	}
	lc.lastToken[name] = tok
	for other, ot := range lc.running[name] {
		if ot == tree || abandoned(ot, other) {
			continue
		}
		lc.t.Errorf("lease %s: %s (generation %d, token %d) starts in %p while %s (generation %d, token %d) runs in %p",
			name, a.Path(), a.Generation(), tok, tree, other.Path(), other.Generation(), other.Token(), ot)
	}
	if lc.running[name] == nil {
		lc.running[name] = map[*runtime.Attempt]*runtime.Tree{}
	}
	lc.running[name][a] = tree
}

func (lc *leaseChaos) end(name string, a *runtime.Attempt) {
	lc.mu.Lock()
	delete(lc.running[name], a)
	lc.mu.Unlock()
}

// abandoned reports whether attempt a of tree was abandoned.
func abandoned(tree *runtime.Tree, a *runtime.Attempt) bool {
	for _, ab := range tree.ShutdownReport().Abandoned {
		if ab.Path == a.Path() && ab.Generation == a.Generation() {
			return true
		}
	}
	return false
}

func (lc *leaseChaos) start(r int) {
	var tree *runtime.Tree
	spec := runtime.Spec{Name: "app", Shutdown: 10 * time.Second, Backoff: constBackoff(200 * time.Millisecond),
		RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
		Children: []runtime.Child{
			{Name: "plain", Run: nop},
			{Name: "single", Run: lc.run(&tree, "one"), Shutdown: time.Second, Lease: &runtime.LeaseSpec{Name: "one"}},
			{Name: "group", Lease: &runtime.LeaseSpec{Name: "two"}, Supervisor: &runtime.Spec{
				Strategy: runtime.OneForAll, Shutdown: 2 * time.Second, Backoff: constBackoff(100 * time.Millisecond),
				RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Second},
				Children: []runtime.Child{
					{Name: "x", Run: lc.run(&tree, "two"), Shutdown: time.Second},
					{Name: "y", Run: lc.run(&tree, "two"), Shutdown: time.Second, After: []string{"x"}},
				}}},
		}}
	tree = mustNew(lc.t, spec, runtime.WithLeaser(lc.f))
	stop, _ := start(lc.t, tree)
	rep := &chaosReplica{tree: tree, stop: stop}
	lc.mu.Lock()
	if r < len(lc.replicas) {
		lc.replicas[r] = rep
	} else {
		lc.replicas = append(lc.replicas, rep)
	}
	lc.mu.Unlock()
}

// stop stops replica r; Run must return within its budget and margin.
func (lc *leaseChaos) stop(r int) {
	lc.mu.Lock()
	rep := lc.replicas[r]
	lc.mu.Unlock()
	begin := time.Now()
	if err := rep.stop(); err != nil {
		lc.t.Errorf("replica %d: Run: %v", r, err)
	}
	if d := time.Since(begin); d > 10*time.Second+runtime.DeliveryMargin {
		lc.t.Errorf("replica %d: Run returned %v after its cancellation", r, d)
	}
}

// act does one random thing to the replicas.
func (lc *leaseChaos) act() {
	r := lc.rng.IntN(3)
	lc.mu.Lock()
	tree := lc.replicas[r].tree
	lc.mu.Unlock()
	switch n := lc.rng.IntN(20); {
	case n < 5:
		lc.losses++
		lc.f.suspect([]string{"one", "two"}[lc.rng.IntN(2)])
	case n < 7:
		path := []string{"app/single", "app/group"}[lc.rng.IntN(2)]
		var err error
		if lc.rng.IntN(2) == 0 {
			err = tree.Handle(path).Stop()
		} else {
			err = tree.Handle(path).Restart()
		}
		if err != nil && !errors.Is(err, runtime.ErrTreeEnded) {
			lc.t.Errorf("order: %v", err)
		}
	case n < 8:
		lc.replaced++
		lc.stop(r)
		lc.start(r)
	case n < 9:
		// Every replica stopped the same singleton: nobody runs it until
		// one is told to.
		for i := range 3 {
			lc.mu.Lock()
			tr := lc.replicas[i].tree
			lc.mu.Unlock()
			tr.Handle("app/single").Restart()
		}
	}
}
