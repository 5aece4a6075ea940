package runtime_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// tokenPanicLeaser grants leases whose Token panics, the first time.
type tokenPanicLeaser struct {
	*fakeLeaser
	panicked bool
}

func (p *tokenPanicLeaser) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	l, err := p.fakeLeaser.Acquire(ctx, name, ttl)
	if err != nil || p.panicked {
		return l, err
	}
	p.panicked = true
	return panickyToken{l.(*fakeLease)}, nil
}

type panickyToken struct{ *fakeLease }

func (panickyToken) Token() uint64 { panic("lease: boom") }

// TestLeaseTokenPanics: a lease acquired but unusable (its Token panics)
// is a failed Acquire, and is given back: the store does not keep it
// until its TTL, and the next campaign wins it.
func TestLeaseTokenPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{}},
		}}, runtime.WithLeaser(&tokenPanicLeaser{fakeLeaser: f}))
		stop, _ := start(t, tr)
		synctest.Wait()
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateStandby, st.State)
		assert.ErrorIs(t, st.LeaseError, runtime.ErrPanic)
		assert.Equal(t, []uint64{1}, f.releases(), "the unusable lease was given back")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/sched").State)
		require.NoError(t, stop())
	})
}

// TestLeaseNestedRestartedWhileStandingBy: the supervisor of a lease child
// standing by is restarted again and again. Each of its runs calls its
// campaign off: once the lease is free, one campaign wins it, and the
// child runs under it; at shutdown it is released.
func TestLeaseNestedRestartedWhileStandingBy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		got := make(chan uint64, 10)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "sched", Lease: &runtime.LeaseSpec{Name: "jobs"}, Run: func(ctx context.Context, a *runtime.Attempt) error {
					got <- a.Token()
					<-ctx.Done()
					return nil
				}},
			}}},
		}}, runtime.WithLeaser(f))
		other, err := f.Acquire(context.Background(), "jobs", time.Second)
		require.NoError(t, err)
		stop, _ := start(t, tr)
		synctest.Wait()
		for range 5 {
			require.NoError(t, tr.Handle("t/n").Restart())
			synctest.Wait()
			assert.Equal(t, runtime.StateStandby, status(t, tr, "t/n/sched").State)
		}
		require.NoError(t, other.Release(context.Background()))
		synctest.Wait()
		require.Len(t, got, 1)
		tok := <-got
		assert.Equal(t, uint64(2), tok, "the first lease granted after the other's: no stale campaign won one")
		assert.Equal(t, tok, f.holder("jobs"))
		require.NoError(t, stop())
		assert.Zero(t, f.holder("jobs"), "released at shutdown")
	})
}

// slowRelease is a Leaser whose leases' Release takes a round trip of rtt
// to the store, and gives up when its context ends first.
type slowRelease struct {
	*fakeLeaser
	rtt time.Duration
}

func (s *slowRelease) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	l, err := s.fakeLeaser.Acquire(ctx, name, ttl)
	if err != nil {
		return nil, err
	}
	return &slowLease{l.(*fakeLease), s.rtt}, nil
}

type slowLease struct {
	*fakeLease
	rtt time.Duration
}

func (l *slowLease) Release(ctx context.Context) error {
	select {
	case <-time.After(l.rtt):
		return l.fakeLease.Release(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestLeaseReleaseShortTTL: the release of a lease with a TTL shorter than
// a round trip to the store gets time of its own: bounded by the TTL
// alone, it would fail, and the store (whose TTL may be longer: etcd's are
// whole seconds) would keep the lease from the next replica until it
// expired.
func TestLeaseReleaseShortTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &slowRelease{fakeLeaser: newFakeLeaser(), rtt: 300 * time.Millisecond}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{TTL: 100 * time.Millisecond}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NotZero(t, f.holder("t/sched"))
		require.NoError(t, tr.Handle("t/sched").Stop())
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Zero(t, f.holder("t/sched"), "released")
		var released []runtime.Event
		evs, _ := tr.Journal(0)
		for _, e := range evs {
			if e.Kind == runtime.EventLeaseReleased {
				released = append(released, e)
			}
		}
		require.Len(t, released, 1)
		assert.NoError(t, released[0].Err)
		require.NoError(t, stop())
	})
}

// TestLeaseTypedNilLeaser: a typed nil Leaser (an *etcd.Leaser never
// made) is no Leaser: New says so, rather than a tree whose lease child
// stands by for ever, panicking in every Acquire, while the tree reports
// itself ready.
func TestLeaseTypedNilLeaser(t *testing.T) {
	var none *fakeLeaser
	_, err := runtime.New(leaseSpec(nop), runtime.WithLeaser(none))
	var se *runtime.SpecError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "t/sched", se.Path)
	assert.Contains(t, err.Error(), "WithLeaser")
	_, err = runtime.New(leaseSpec(nop), runtime.WithLeaser(nil))
	require.ErrorAs(t, err, &se)
}
