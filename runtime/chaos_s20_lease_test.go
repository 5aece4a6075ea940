package runtime_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Leases in TestChaosLives: in one lifecycle of three, workers, nested
// supervisors and pools at any level hold leases (named after their paths,
// on an in-memory store) while the rest of the chaos goes on: group
// restarts above them, significant children, orders, the root cancelled
// at a random moment. A flapper makes the leases lost, as a provider that
// is not sure does (Lost closes; the name stays held until the tree
// releases it), and a rival process takes a free name for a moment, as
// another replica would. Checks: an attempt under a lease runs with the
// token of the nearest lease above it, granted to this tree; nothing under
// a lease runs while the rival holds it, unless abandoned; and when Run
// returns before its budget ran out, the tree holds no lease.

// c20Leases is a lifecycle's lease store and what it granted.
type c20Leases struct {
	f *fakeLeaser
	r *rand.Rand // draws which children have a lease

	mu     sync.Mutex
	tree   map[uint64]string // tokens granted to the tree: their lease names
	rival  map[string]uint64 // names the rival holds: its token
	names  []string
	panics int // the tree's next Acquire calls that panic
	counts struct{ acquired, flaps, rivals, failures int }
}

func newC20Leases(r *rand.Rand) *c20Leases {
	return &c20Leases{f: newFakeLeaser(), r: r, tree: map[uint64]string{}, rival: map[string]uint64{}}
}

// Acquire is the tree's: it records the token granted.
func (s *c20Leases) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	s.mu.Lock()
	if s.panics > 0 {
		s.panics--
		s.mu.Unlock()
		panic("c20: Acquire panics")
	}
	s.mu.Unlock()
	l, err := s.f.Acquire(ctx, name, ttl)
	if err == nil {
		s.mu.Lock()
		s.tree[l.Token()] = name
		s.counts.acquired++
		s.mu.Unlock()
	}
	return l, err
}

// drawLease gives the child c of node k a lease, in one child of five of a
// lifecycle with leases.
func (l *c20Life) drawLease(c *runtime.Child, k *c20Node) {
	if l.leases == nil {
		return
	}
	r := l.leases.r
	if r.IntN(5) > 0 {
		return
	}
	c.Lease = &runtime.LeaseSpec{TTL: time.Duration(30+r.IntN(300)) * time.Millisecond}
	k.lease = k.path
	l.leases.names = append(l.leases.names, k.path)
}

// leasesOver returns the leases that path runs under, nearest first.
func (l *c20Life) leasesOver(path string) []string {
	var names []string
	n, _ := l.node(path)
	for ; n != nil; n = n.parent {
		if n.lease != "" {
			names = append(names, n.lease)
		}
	}
	return names
}

// checkLeaseBegin checks an attempt as it begins: its token is the nearest
// lease's, granted to this tree, and the rival holds none of its leases.
func (l *c20Life) checkLeaseBegin(rec *c20Rec) {
	names := l.leasesOver(rec.path)
	if l.leases == nil || len(names) == 0 {
		return
	}
	tok := rec.a.Token()
	s := l.leases
	s.mu.Lock()
	granted := s.tree[tok]
	var held []string
	for _, n := range names {
		if _, ok := s.rival[n]; ok {
			held = append(held, n)
		}
	}
	s.mu.Unlock()
	if granted != names[0] {
		l.violate("lease: %s generation %d runs with token %d, which is not of its lease %s (granted for %q)", rec.path, rec.gen, tok, names[0], granted)
	}
	if len(held) > 0 && !inReport(l.tree.ShutdownReport(), rec.path, rec.gen) {
		l.violate("lease: %s generation %d begins while another process holds %v", rec.path, rec.gen, held)
	}
}

// flap loses leases and lets the rival take them, until stopOps is closed.
func (l *c20Life) flap() {
	s := l.leases
	r := rand.New(rand.NewPCG(l.seed, 2000))
	for {
		select {
		case <-l.stopOps:
			return
		case <-time.After(time.Duration(r.IntN(20)) * time.Millisecond):
		}
		name := pick(r, s.names...)
		switch r.IntN(20) {
		case 0: // the store refuses for a while: the tree stands by and tries again
			s.f.setFail(errBoom)
			time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
			s.f.setFail(nil)
			s.mu.Lock()
			s.counts.failures++
			s.mu.Unlock()
			continue
		case 1:
			s.mu.Lock()
			s.panics++
			s.counts.failures++
			s.mu.Unlock()
			continue
		}
		if r.IntN(2) > 0 {
			s.f.suspect(name)
			s.mu.Lock()
			s.counts.flaps++
			s.mu.Unlock()
			continue
		}
		l.rivalHolds(r, name)
	}
}

// rivalHolds takes the lease name as another process would, once the tree
// has released it, and checks that nothing of the tree runs under it.
func (l *c20Life) rivalHolds(r *rand.Rand, name string) {
	s := l.leases
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.stopOps:
			cancel()
		case <-ctx.Done():
		}
	}()
	if r.IntN(4) > 0 {
		s.f.suspect(name) // so that it is released soon, as its attempts stop
	}
	lease, err := s.f.Acquire(ctx, name, time.Second)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.rival[name] = lease.Token()
	s.counts.rivals++
	s.mu.Unlock()
	report := l.tree.ShutdownReport()
	l.mu.Lock()
	var running []*c20Rec
	for p, list := range l.live {
		if p == name || strings.HasPrefix(p, name+"/") {
			running = append(running, list...)
		}
	}
	l.mu.Unlock()
	for _, rec := range running {
		if !rec.returned.Load() && !inReport(report, rec.path, rec.gen) {
			l.violate("lease: another process holds %s (token %d) while %s generation %d (token %d) runs and is not abandoned",
				name, lease.Token(), rec.path, rec.gen, rec.a.Token())
		}
	}
	select {
	case <-time.After(time.Duration(r.IntN(30)) * time.Millisecond):
	case <-ctx.Done():
	}
	s.mu.Lock()
	delete(s.rival, name)
	s.mu.Unlock()
	lease.Release(context.Background())
}

// checkLeasesReleased checks, when Run has returned, that the tree holds
// no lease, unless the root's budget ran out: Run waits for the releases
// within the budget (and a little longer with their contexts cancelled), no
// more. from is when the shutdown began, at the latest.
func (l *c20Life) checkLeasesReleased(from, doneAt time.Time) {
	s := l.leases
	if s == nil || len(s.names) == 0 {
		return
	}
	s.mu.Lock()
	l.st.leaseLives.Add(1)
	l.st.leaseAcquired.Add(int64(s.counts.acquired))
	l.st.leaseFlaps.Add(int64(s.counts.flaps))
	l.st.leaseRivals.Add(int64(s.counts.rivals))
	l.st.leaseFailures.Add(int64(s.counts.failures))
	s.mu.Unlock()
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	spare := from.Add(l.budget).Sub(doneAt) - l.stalls.within(from, doneAt)
	for name, lease := range s.f.held {
		if _, ok := s.tree[lease.token]; ok && spare > 50*time.Millisecond {
			l.violate("lease: Run returned %v before the end of its budget while the tree still holds %s (token %d)", spare.Round(time.Millisecond), name, lease.token)
		}
	}
}
