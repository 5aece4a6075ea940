package runtime_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// fakeLeaser is an in-memory lease store shared by the trees of a test,
// which play the replicas: one holder per name, tokens from a counter, and
// the test decides when a lease is lost (as an expiry or a revocation
// would).
type fakeLeaser struct {
	mu       sync.Mutex
	token    uint64
	held     map[string]*fakeLease
	free     chan struct{} // closed and replaced when a name is freed
	fail     error         // while set, Acquire returns it
	stuck    chan struct{} // while set, Acquire ignores its context until it is closed
	acquires int
	released []uint64 // tokens, in the order Release was called
	ttls     []time.Duration
	graces   map[string]time.Duration // runtime.LeaseGrace of the last Acquire of each name
}

type fakeLease struct {
	f     *fakeLeaser
	name  string
	token uint64
	lost  chan struct{}
}

func newFakeLeaser() *fakeLeaser {
	return &fakeLeaser{held: map[string]*fakeLease{}, graces: map[string]time.Duration{}, free: make(chan struct{})}
}

func (f *fakeLeaser) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	for {
		f.mu.Lock()
		f.acquires++
		f.ttls = append(f.ttls, ttl)
		f.graces[name] = runtime.LeaseGrace(ctx)
		if stuck := f.stuck; stuck != nil {
			f.mu.Unlock()
			<-stuck // deaf to ctx
			f.mu.Lock()
		}
		if f.fail != nil {
			err := f.fail
			f.mu.Unlock()
			return nil, err
		}
		if f.held[name] == nil {
			f.token++
			l := &fakeLease{f: f, name: name, token: f.token, lost: make(chan struct{})}
			f.held[name] = l
			f.mu.Unlock()
			return l, nil
		}
		wake := f.free
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// freeLocked frees name if l holds it.
func (f *fakeLeaser) freeLocked(l *fakeLease) {
	if f.held[l.name] == l {
		delete(f.held, l.name)
		close(f.free)
		f.free = make(chan struct{})
	}
}

// lose makes the holder of name lose its lease, and frees it.
func (f *fakeLeaser) lose(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.held[name]; l != nil {
		close(l.lost)
		f.freeLocked(l)
	}
}

// suspect makes the holder of name lose its lease as a provider that is
// not sure does (the store unreachable for a while): Lost closes, but the
// name stays held until the holder releases it.
func (f *fakeLeaser) suspect(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.held[name]; l != nil {
		select {
		case <-l.lost:
		default:
			close(l.lost)
		}
	}
}

// holder returns the token of the lease name holds; 0 if none.
func (f *fakeLeaser) holder(name string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.held[name]; l != nil {
		return l.token
	}
	return 0
}

func (f *fakeLeaser) releases() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.released)
}

func (f *fakeLeaser) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

func (l *fakeLease) Token() uint64         { return l.token }
func (l *fakeLease) Lost() <-chan struct{} { return l.lost }

func (l *fakeLease) Release(ctx context.Context) error {
	f := l.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, l.token)
	f.freeLocked(l)
	return nil
}

// blockingRelease is a Leaser whose leases' Release ignores its context
// until unblock is closed.
type blockingRelease struct {
	*fakeLeaser
	unblock chan struct{}
}

func (b *blockingRelease) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	l, err := b.fakeLeaser.Acquire(ctx, name, ttl)
	if err != nil {
		return nil, err
	}
	return &blockedLease{l.(*fakeLease), b.unblock}, nil
}

type blockedLease struct {
	*fakeLease
	unblock chan struct{}
}

func (l *blockedLease) Release(ctx context.Context) error {
	<-l.unblock
	return l.fakeLease.Release(ctx)
}

// panicLeaser panics in Acquire until calm is set.
type panicLeaser struct {
	*fakeLeaser
	mu     sync.Mutex
	panics int
}

func (p *panicLeaser) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	p.mu.Lock()
	if p.panics > 0 {
		p.panics--
		p.mu.Unlock()
		panic("leaser: boom")
	}
	p.mu.Unlock()
	return p.fakeLeaser.Acquire(ctx, name, ttl)
}
