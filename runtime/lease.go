package runtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLeaseTTL is the time to live of a lease whose LeaseSpec leaves TTL
// at zero.
const DefaultLeaseTTL = 15 * time.Second

// LeaseSpec makes a child a singleton across processes: it runs only while
// this process holds the lease Name, which a Leaser grants to one process at
// a time. Any child may have one: a worker, a nested supervisor (its whole
// subtree runs only while the lease is held) or a pool.
type LeaseSpec struct {
	// Name is the lease's name: letters, digits and . _ - / :, at most
	// 200. Empty means the child's path, such as "shop/scheduler" (held to
	// the same 200), which the same child has in every replica of a
	// program. Trees that must share one lease name it alike.
	Name string
	// TTL is how long the lease outlives a holder that stops renewing it
	// (a crashed or cut-off process); zero means DefaultLeaseTTL.
	TTL time.Duration
}

// Leaser grants leases. It is the provider a tree with lease children needs
// (WithLeaser); runtime/lease/etcd implements it on etcd.
type Leaser interface {
	// Acquire blocks until this process holds the lease name, and returns
	// it; or until ctx is done, when it returns an error. A lease once
	// returned lives on after ctx is cancelled: the runtime cancels ctx
	// when Acquire returns. An error other than ctx's makes the child try
	// again after a delay. LeaseGrace(ctx) is how long the child may take
	// to stop once the lease is lost.
	Acquire(ctx context.Context, name string, ttl time.Duration) (Lease, error)
}

// Lease is a lease held by this process.
type Lease interface {
	// Token is the lease's fencing token: it grows strictly with every
	// change of holder, so that an external system can refuse the writes
	// of a holder that lost the lease (Attempt.Token).
	Token() uint64
	// Lost is closed once this process may no longer hold the lease:
	// revoked, expired, or not renewed in time. It should close before
	// another process can acquire the lease (a lease not renewed in time),
	// early enough for the child to stop within its grace (LeaseGrace),
	// and must close at the latest when one does (a revoked lease). Nil
	// means never.
	Lost() <-chan struct{}
	// Release gives the lease up, so that another process acquires it at
	// once rather than after its TTL. Release is called once, after the
	// child has stopped, also for a lease that was lost.
	Release(ctx context.Context) error
}

// WithLeaser gives the tree the provider of its children's leases. New
// fails when a child has a lease and the tree has no Leaser.
func WithLeaser(l Leaser) Option {
	return func(o *options) { o.leaser = l }
}

// Token returns the fencing token of the lease the attempt runs under: its
// child's, or else its nearest supervisor's with a lease; 0 without one.
// Pass it to the systems the attempt writes to, so that they can refuse the
// writes of an attempt that kept running after its lease was lost.
func (a *Attempt) Token() uint64 {
	if a.detached() {
		return 0
	}
	t, _ := a.parent().Value(tokenKey{}).(uint64)
	return t
}

// LeaseGrace returns, in the context of Leaser.Acquire, how long the child
// may take to stop once its lease is lost: its shutdown grace, or a nested
// supervisor's or pool's budget. A provider that reports an expiry ahead
// of time (the store unreachable) should report it that much earlier
// still, so that the child has returned before another process can hold
// the lease. It returns 0 for any other context, nil included.
func LeaseGrace(ctx context.Context) time.Duration {
	if ctx == nil {
		return 0
	}
	g, _ := ctx.Value(graceKey{}).(time.Duration)
	return g
}

// graceKey is the context key of LeaseGrace.
type graceKey struct{}

// grace is how long s may take to stop: see LeaseGrace.
func (s *slot) grace() time.Duration {
	if sub := s.sub(); sub != nil {
		return sub.budget
	}
	return s.spec.Shutdown
}

// tokenKey is the context key of the lease token: an attempt's context
// carries its lease's, and the attempts below a nested supervisor inherit
// it through their contexts.
type tokenKey struct{}

// leaseState is a slot's lease: its campaign and the lease it holds.
// Owned by the supervisor's goroutine, except where marked.
type leaseState struct {
	name  string
	ttl   time.Duration
	camp  *claim // the campaign under way; nil when none
	held  *claim // the lease held; nil when none
	fails int32  // Acquire errors in a row, for the delay before the next
	flaps int32  // leases lost before their TTL was out, in a row: for the same

	// Guarded by sup.mu, for snapshots.
	token uint64 // of the lease held; 0 when none
	err   error  // the last Acquire error, until the lease is acquired
}

// claim is one campaign and, once it succeeds, the lease it won.
type claim struct {
	cancel context.CancelFunc // the campaign's context; then ends the watch of the lease
	lease  Lease              // set by the campaign's goroutine before it posts
	lost   <-chan struct{}
	token  uint64
	err    error
	at     time.Time // when the supervisor took the lease
	gone   bool      // lost: kept only until the attempt it covered has ended
	short  bool      // lost before its TTL was out

	// state hands a won lease over: to the supervisor, which takes it, or
	// back to the store when the campaign was called off. Whoever moves it
	// to claimOff from claimWon releases the lease, once (released).
	state    atomic.Int32
	released atomic.Bool
}

// The states of a claim.
const (
	claimCampaign int32 = iota // Acquire runs
	claimWon                   // Acquire returned a lease; the supervisor is told
	claimOff                   // called off by the supervisor, or its run ended
)

// leases is what a tree with lease children keeps: the goroutines that
// acquire, watch and release leases, and the leases won and not yet
// released, which Run waits for, within its budget, before it returns.
type leases struct {
	leaser Leaser
	ctx    context.Context // of every Release; cancelled when Run stops waiting
	cancel context.CancelFunc

	mu   sync.Mutex
	n    int           // goroutines running, and leases won and not yet released
	idle chan struct{} // closed when n drops to 0; nil while n is 0
}

func (l *leases) add() {
	l.mu.Lock()
	l.n++
	if l.idle == nil {
		l.idle = make(chan struct{})
	}
	l.mu.Unlock()
}

func (l *leases) done() {
	l.mu.Lock()
	if l.n--; l.n == 0 {
		close(l.idle)
		l.idle = nil
	}
	l.mu.Unlock()
}

// wait waits until no goroutine runs or deadline passes; false then.
func (l *leases) wait(deadline time.Time) bool {
	l.mu.Lock()
	idle := l.idle
	l.mu.Unlock()
	if idle == nil {
		return true
	}
	d := time.Until(deadline)
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// finish is Run's last wait for the lease goroutines: until the root's
// budget is spent, then, with their contexts cancelled, a little longer.
func (l *leases) finish(budget, hard time.Time) {
	if l.wait(budget) {
		return
	}
	l.cancel()
	soon := time.Now().Add(DeliveryMargin / 2)
	if soon.Before(hard) {
		hard = soon
	}
	l.wait(hard)
}

// errNoLease describes an Acquire that returned neither a lease nor an
// error.
var errNoLease = errors.New("arbor: Leaser.Acquire returned no lease and no error")

// acquire calls the user's Leaser, containing what it may do wrong.
func acquire(ctx context.Context, l Leaser, name string, ttl time.Duration, c *claim) {
	defer func() {
		if v := recover(); v != nil {
			c.err = &PanicError{Value: v, Stack: debug.Stack()}
			if c.lease != nil {
				safeRelease(ctx, c.lease) // it cannot be used: give it back
			}
			c.lease = nil
		}
	}()
	lease, err := l.Acquire(ctx, name, ttl)
	switch {
	case err != nil:
		c.err = err
		return
	case isNil(lease):
		c.err = errNoLease
		return
	}
	c.lease = lease
	c.token = lease.Token()
	c.lost = lease.Lost()
}

// isNil reports whether v is nil or a typed nil pointer.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

// safeRelease calls l.Release, turning a panic into an error.
func safeRelease(ctx context.Context, l Lease) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return l.Release(ctx)
}

// standby puts s, which would start but holds no lease, in standby: it
// campaigns for the lease and starts once it has it. lost is the lease s
// held last, if it was lost while s ran.
func (sv *supervisor) standby(s *slot, lost *claim) {
	ls := s.lease()
	s.pending = true
	sv.count(s) // a singleton that runs elsewhere holds nothing up
	now := sv.now()
	e := Event{Kind: EventStandby, Time: now, Path: s.path}
	retry := ls.camp == nil
	if retry && lost != nil {
		ls.flaps++
		if !lost.short {
			ls.flaps = 0
		}
		if ls.flaps > 1 {
			// Taken away again as soon as granted (someone deletes it in
			// a loop, or the store grants it expired): as after a failed
			// Acquire, the next campaign waits, or the loop would hammer
			// the store. The first such loss campaigns at once.
			e.Err, e.Delay = errLostSoon, retryDelay(ls.ttl, int(ls.flaps-1))
			sv.mu.Lock()
			ls.err = errLostSoon
			sv.mu.Unlock()
		}
	}
	if s.getState() != StateStandby || e.Err != nil {
		s.setState(StateStandby, now)
		sv.emit(&e)
	}
	sv.park(s.dependents()...)
	if retry {
		s.disarm() // a retry that was waiting
		if e.Err != nil {
			s.arm(timerLease, e.Delay)
		} else {
			sv.campaign(s)
		}
	}
	sv.checkReady()
}

// campaign starts a goroutine that acquires the lease of s.
func (sv *supervisor) campaign(s *slot) {
	ls := s.lease()
	l := sv.tree.leases
	ctx, cancel := context.WithCancel(context.WithValue(sv.base, graceKey{}, s.grace()))
	c := &claim{cancel: cancel}
	ls.camp = c
	done := sv.done
	t := sv.tree
	path, ttl := s.path, ls.ttl
	l.add()
	go func() {
		defer l.done()
		acquire(ctx, l.leaser, ls.name, ttl, c)
		if c.lease != nil {
			// A won lease counts until its release has returned, whoever
			// releases it and however late: a run killed with its
			// subtree may see the kill, and release what its abandoned
			// attempts held, after its root has stopped.
			l.add()
		}
		if c.lease != nil && !c.state.CompareAndSwap(claimCampaign, claimWon) {
			t.release(path, c, ttl) // called off while Acquire ran
			return
		}
		if !sv.post(done, message{kind: msgLease, slot: s, claim: c}) && c.lease != nil &&
			c.state.CompareAndSwap(claimWon, claimOff) {
			t.release(path, c, ttl) // the run ended: nothing will start with it
		}
	}()
}

// callOff ends the campaign of s, if any. A lease it won all the same is
// released, by whichever of the supervisor and the campaign's goroutine
// comes second.
func (sv *supervisor) callOff(s *slot) {
	ls := s.lease()
	c := ls.camp
	if c == nil {
		return
	}
	ls.camp = nil
	c.cancel()
	if c.state.Swap(claimOff) == claimWon {
		sv.tree.release(s.path, c, ls.ttl)
	}
}

// leased handles the end of a campaign of s.
func (sv *supervisor) leased(s *slot, c *claim) {
	ls := s.lease()
	if ls.camp != c {
		return // called off: see callOff
	}
	ls.camp = nil
	c.cancel()
	if c.err == nil && closed(c.lost) {
		sv.tree.release(s.path, c, ls.ttl)
		c.err = errLostAtOnce
	}
	now := sv.now()
	if c.err != nil {
		if sv.stopping {
			return
		}
		ls.fails++
		d := retryDelay(ls.ttl, int(ls.fails))
		sv.mu.Lock()
		ls.err = c.err
		sv.mu.Unlock()
		sv.emit(&Event{Kind: EventStandby, Time: now, Path: s.path, Err: c.err, Delay: d})
		s.arm(timerLease, d)
		return
	}
	ls.fails = 0
	ls.held = c
	c.at = now
	sv.mu.Lock()
	ls.token, ls.err = c.token, nil
	sv.mu.Unlock()
	sv.watch(s, c)
	sv.emit(&Event{Kind: EventLeaseAcquired, Time: now, Path: s.path, Token: c.token})
	switch {
	case !s.pending || sv.stopping:
		sv.releaseHeld(s) // no longer wanted; should not happen
	case sv.depsReady(s):
		sv.start(s)
	default:
		s.setState(StateWaiting, now)
		sv.park(s)
	}
}

var (
	errLostAtOnce = errors.New("arbor: the lease was lost as soon as it was acquired")
	errLostSoon   = errors.New("arbor: the lease was lost soon after it was acquired, before its TTL was out")
)

// retryDelay is the delay before the campaign after the nth failed
// Acquire: from 100ms, doubling, to a third of the TTL. Never less than
// 100ms: a TTL shorter than that would have a store that refuses at once
// asked in a tight loop.
func retryDelay(ttl time.Duration, n int) time.Duration {
	m := max(ttl/3, DefaultBackoffInitial)
	return delay(&Backoff{Initial: DefaultBackoffInitial, Max: m, Multiplier: 2, Jitter: DefaultBackoffJitter}, n)
}

// watch starts the goroutine that tells the supervisor when the lease c of
// s is lost.
func (sv *supervisor) watch(s *slot, c *claim) {
	l := sv.tree.leases
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	done := sv.done
	l.add()
	go func() {
		defer l.done()
		select {
		case <-c.lost:
			sv.post(done, message{kind: msgLeaseLost, slot: s, claim: c})
		case <-ctx.Done():
		}
	}()
}

// leaseLost handles the loss of the lease c of s: the current attempt, if
// any, is stopped at once with ErrLeaseLost, which is not a failure, and
// the child stands by again once it has returned or been abandoned.
func (sv *supervisor) leaseLost(s *slot, c *claim) {
	ls := s.lease()
	if ls.held != c {
		return // released since
	}
	a := s.cur.Load()
	e := Event{Kind: EventLeaseLost, Time: sv.now(), Path: s.path, Token: c.token}
	if a != nil {
		e.Generation, e.Attempt = a.gen, int(a.number)
	}
	sv.emit(&e)
	c.gone = true
	c.short = e.Time.Sub(c.at) < ls.ttl
	c.cancel() // the watch
	sv.mu.Lock()
	ls.token = 0
	sv.mu.Unlock()
	switch {
	case a == nil:
		// Waiting for a restart or for its After list: whatever starts
		// it next campaigns first.
		sv.releaseHeld(s)
	case !s.stopAsked():
		sv.requestStop(s, causeLeaseLost, false)
		s.restartNow = true // then it campaigns again: see afterStop
	}
	// A lost lease is released all the same, so that the store may forget
	// it sooner, but only once the attempt it covered has returned or been
	// abandoned: a provider that reports a loss it is not sure of (the
	// store unreachable for a while) must not see the lease given up, and
	// taken by another process, while the attempt still runs here.
}

// releaseHeld gives up the lease s holds, if any, and calls off its
// campaign.
func (sv *supervisor) releaseHeld(s *slot) {
	ls := s.lease()
	if ls == nil {
		return
	}
	sv.callOff(s)
	c := ls.held
	if c == nil {
		return
	}
	ls.held = nil
	c.cancel()
	sv.mu.Lock()
	ls.token = 0
	sv.mu.Unlock()
	sv.tree.release(s.path, c, ls.ttl)
}

// settleLease releases the lease of s once its attempt has ended, unless s
// is to start again soon: after a failure, in a group restart, or ordered
// to restart, the lease is kept. A lost lease is released now.
func (sv *supervisor) settleLease(s *slot) {
	ls := s.lease()
	if ls == nil || (ls.held == nil && ls.camp == nil) || s.cur.Load() != nil {
		return
	}
	if sv.stopping || s.held || s.getState() == StateDone || (ls.held != nil && ls.held.gone) {
		sv.releaseHeld(s)
	}
}

// releaseTimeout is the least time a Release gets. A release is worth
// waiting for as long as the store may still hold the lease: at least its
// TTL, and a store may round a short TTL up (etcd's are whole seconds, at
// least its own minimum), so a TTL shorter than a round trip to the store
// must not make the release fail.
const releaseTimeout = 5 * time.Second

// release gives the lease of c back, once, on a goroutine of its own,
// within the lease's TTL or releaseTimeout, whichever is longer (at
// shutdown, within the root's budget too). The count the claim took when
// it was won ends with that goroutine.
func (t *Tree) release(path string, c *claim, ttl time.Duration) {
	if !c.released.CompareAndSwap(false, true) {
		return
	}
	l := t.leases
	go func() {
		defer l.done()
		ctx, cancel := context.WithTimeout(l.ctx, max(ttl, releaseTimeout))
		err := safeRelease(ctx, c.lease)
		cancel()
		if err != nil {
			err = fmt.Errorf("release: %w", err)
		}
		t.emit(&Event{Kind: EventLeaseReleased, Path: path, Token: c.token, Err: err})
	}()
}
