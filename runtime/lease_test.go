package runtime_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// singleton records the attempts of a lease child across the trees of a
// test: how many run at once (never more than one, checked at every
// start), their tokens, and why each was cancelled.
type singleton struct {
	mu      sync.Mutex
	running int
	overlap bool
	tokens  []uint64
	causes  []error
	linger  time.Duration // how long an attempt ignores cancellation
}

func (s *singleton) run(ctx context.Context, a *runtime.Attempt) error {
	s.mu.Lock()
	s.running++
	s.overlap = s.overlap || s.running > 1
	s.tokens = append(s.tokens, a.Token())
	s.mu.Unlock()
	<-ctx.Done()
	if s.linger > 0 {
		time.Sleep(s.linger)
	}
	s.mu.Lock()
	s.running--
	s.causes = append(s.causes, context.Cause(ctx))
	s.mu.Unlock()
	return ctx.Err()
}

func (s *singleton) read() (running int, overlap bool, tokens []uint64, causes []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, s.overlap, append([]uint64(nil), s.tokens...), append([]error(nil), s.causes...)
}

// only keeps the trace lines of child.
func only(child string, trace []string) []string {
	var out []string
	for _, l := range trace {
		if strings.HasPrefix(l, child+" ") {
			out = append(out, l)
		}
	}
	return out
}

func leaseSpec(run runtime.RunFunc) runtime.Spec {
	return runtime.Spec{Name: "t", Backoff: constBackoff(time.Second), Children: []runtime.Child{
		{Name: "api", Run: nop},
		{Name: "sched", Run: run, Lease: &runtime.LeaseSpec{}},
	}}
}

func TestLeaseNeedsLeaser(t *testing.T) {
	_, err := runtime.New(leaseSpec(nop))
	var se *runtime.SpecError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "t/sched", se.Path)
	assert.Equal(t, "Lease", se.Field)
	assert.ErrorIs(t, err, runtime.ErrInvalidSpec)
	assert.Contains(t, err.Error(), "WithLeaser")

	nested := runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop, Lease: &runtime.LeaseSpec{}}}}},
	}}
	_, err = runtime.New(nested)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "t/n/x", se.Path)
	_, err = runtime.New(nested, runtime.WithLeaser(newFakeLeaser()))
	assert.NoError(t, err)
}

func TestValidateLease(t *testing.T) {
	spec := runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "a", Run: nop, Lease: &runtime.LeaseSpec{TTL: -time.Second}},
		{Name: "b", Run: nop, Lease: &runtime.LeaseSpec{Name: "has space"}},
		{Name: "c", Run: nop, Lease: &runtime.LeaseSpec{Name: "t/d"}},
		{Name: "d", Run: nop, Lease: &runtime.LeaseSpec{}}, // t/d by default: c's
		{Name: "e", Run: nop, Lease: &runtime.LeaseSpec{Name: "shop.cron:eu-1/x_y"}},
	}}
	var got []string
	for _, err := range runtime.Validate(spec).(interface{ Unwrap() []error }).Unwrap() {
		var se *runtime.SpecError
		require.ErrorAs(t, err, &se)
		got = append(got, se.Path+" "+se.Field)
	}
	assert.Equal(t, []string{"t/a Lease.TTL", "t/b Lease.Name", "t/d Lease.Name"}, got)
}

// TestValidateDefaultLeaseName: the default lease name, the child's path,
// is held to the 200 characters of a name given, with an error that says
// it is the path; as arbor gen writes the default in full, a name equal
// to the path reads the same.
func TestValidateDefaultLeaseName(t *testing.T) {
	long := strings.Repeat("n", 98)
	spec := func(lease runtime.LeaseSpec) runtime.Spec {
		return runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: long, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: long, Run: nop, Lease: &runtime.LeaseSpec{}}, // a path of 2+98+1+98 = 199
				{Name: long + "xx", Run: nop, Lease: &lease},        // 201
			}}},
		}}
	}
	path := "t/" + long + "/" + long + "xx"
	for _, lease := range []runtime.LeaseSpec{{}, {Name: path}} {
		err := runtime.Validate(spec(lease))
		var se *runtime.SpecError
		require.ErrorAs(t, err, &se, "lease %q", lease.Name)
		assert.Equal(t, path, se.Path)
		assert.Equal(t, "Lease.Name", se.Field)
		assert.Equal(t, "the lease name, the child's path, has 201 characters, more than 200: give the lease a shorter name", se.Msg)
		assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 1, "the 199 of its sibling are well")
		_, err = runtime.New(spec(lease), runtime.WithLeaser(newFakeLeaser()))
		assert.ErrorAs(t, err, &se, "New refuses it as Validate does")
	}
}

// TestLeaseOneReplicaRuns: two trees share a Leaser, as two replicas share
// a store. One runs the lease child; the other stands by, and is ready and
// serving all the same. When the holder stops, it releases the lease
// before Run returns, and the other takes over at once, with a larger token.
func TestLeaseOneReplicaRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		s := &singleton{}
		rec := &recorder{}
		a := mustNew(t, leaseSpec(s.run), runtime.WithLeaser(f), runtime.WithObserver(rec.observe))
		b := mustNew(t, leaseSpec(s.run), runtime.WithLeaser(f))
		stopA, _ := start(t, a)
		synctest.Wait()
		stopB, _ := start(t, b)
		synctest.Wait()

		assert.Equal(t, runtime.StateRunning, status(t, a, "t/sched").State)
		sb := status(t, b, "t/sched")
		assert.Equal(t, runtime.StateStandby, sb.State)
		assert.Equal(t, "t/sched", sb.Lease, "the lease's name defaults to the child's path")
		assert.Zero(t, sb.Token)
		assert.Equal(t, uint64(1), status(t, a, "t/sched").Token)
		for _, tr := range []*runtime.Tree{a, b} {
			h := tr.Health()
			assert.Equal(t, runtime.HealthReady, h.State, "a standby child is not a failure")
			select {
			case <-tr.Ready():
			default:
				t.Error("Ready not closed")
			}
		}
		assert.Equal(t, `standby: waiting for lease "t/sched"`, b.Health().Children[1].Reason)
		assert.True(t, b.Health().Children[1].OK)
		assert.Equal(t, []time.Duration{runtime.DefaultLeaseTTL, runtime.DefaultLeaseTTL}, f.ttls[:2])

		require.NoError(t, stopA())
		assert.Equal(t, []uint64{1}, f.releases(), "released before Run returned")
		synctest.Wait()
		running, overlap, tokens, causes := s.read()
		assert.Equal(t, 1, running)
		assert.False(t, overlap)
		assert.Equal(t, []uint64{1, 2}, tokens)
		assert.Equal(t, []error{runtime.ErrStopped}, causes)
		assert.Equal(t, runtime.StateRunning, status(t, b, "t/sched").State)

		assert.Equal(t, []string{"sched standby", "sched lease acquired", "sched starting", "sched stopped", "sched lease released"},
			only("sched", rec.trace(runtime.EventStandby, runtime.EventLeaseAcquired, runtime.EventStarting, runtime.EventStopped, runtime.EventLeaseReleased)),
			"stopped first, then released")
		assert.Equal(t, uint64(1), rec.of(runtime.EventLeaseAcquired)[0].Token)
		require.NoError(t, stopB())
		assert.Equal(t, []uint64{1, 2}, f.releases())
	})
}

// TestLeaseLost: a lost lease stops the attempt at once with ErrLeaseLost;
// it is no failure (a tree that gives up at the first failure does not),
// and no backoff delays the next campaign of a lease that lived out its TTL
// (see TestLeaseLostSoonBacksOff for one that did not).
func TestLeaseLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		s := &singleton{}
		rec := &recorder{}
		spec := leaseSpec(s.run)
		spec.RestartLimit = &runtime.RestartLimit{Max: 0, Window: time.Hour}
		spec.Backoff = constBackoff(time.Hour)
		tr := mustNew(t, spec, runtime.WithLeaser(f), runtime.WithObserver(rec.observe))
		stop, done := start(t, tr)
		synctest.Wait()
		for i := range 3 {
			time.Sleep(runtime.DefaultLeaseTTL)
			f.lose("t/sched")
			synctest.Wait()
			_, _, tokens, causes := s.read()
			require.Len(t, causes, i+1)
			assert.Equal(t, runtime.ErrLeaseLost, causes[i], "context.Cause says why")
			assert.Equal(t, uint64(i+2), tokens[i+1], "campaigned again at once, and won a new token")
		}
		select {
		case err := <-done:
			t.Fatalf("a lost lease counted as a failure: %v", err)
		default:
		}
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.Equal(t, runtime.ExitCancelled, st.LastExit)
		assert.Equal(t, uint64(4), st.Token)
		assert.Empty(t, rec.of(runtime.EventExited))
		assert.Empty(t, rec.of(runtime.EventRestartScheduled))
		lost := rec.of(runtime.EventLeaseLost)
		require.Len(t, lost, 3)
		assert.Equal(t, uint64(1), lost[0].Token)
		assert.Equal(t, uint64(1), lost[0].Generation, "the attempt it stops")
		assert.Equal(t, []string{"sched lease lost", "sched stopped", "sched standby", "sched lease acquired", "sched starting"},
			only("sched", rec.trace(runtime.EventLeaseLost, runtime.EventStopped, runtime.EventStandby, runtime.EventLeaseAcquired, runtime.EventStarting))[3:8])
		require.NoError(t, stop())
	})
}

// TestLeaseLostAbandoned: an attempt that ignores the loss is abandoned
// after its grace and reported; it keeps no claim on the lease, and the
// next attempt runs under a larger token while the zombie still holds the
// old one.
func TestLeaseLostAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		release := make(chan struct{})
		var zombie *runtime.Attempt
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Shutdown: 2 * time.Second, Lease: &runtime.LeaseSpec{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				if a.Generation() == 1 {
					zombie = a
					<-ctx.Done()
					<-release // deaf
					return nil
				}
				<-ctx.Done()
				return nil
			}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		// Another process takes the lease as soon as it is free.
		other := make(chan runtime.Lease, 1)
		go func() {
			l, _ := f.Acquire(context.Background(), "t/sched", time.Second)
			other <- l
		}()
		f.lose("t/sched")
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, status(t, tr, "t/sched").State)
		l := <-other
		assert.Equal(t, uint64(2), l.Token())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		report := tr.ShutdownReport()
		require.Len(t, report.Abandoned, 1)
		assert.Equal(t, "t/sched", report.Abandoned[0].Path)
		assert.Equal(t, runtime.StateStandby, status(t, tr, "t/sched").State, "waits for the other process")
		require.NoError(t, l.Release(context.Background()))
		synctest.Wait()
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.Equal(t, uint64(3), st.Token)
		assert.Equal(t, uint64(1), zombie.Token(), "the zombie keeps its old token, which fences its writes")
		assert.False(t, zombie.Current())
		close(release)
		require.NoError(t, stop())
	})
}

// TestLeaseLostReleasedAfterStop: a lost lease is released only once the
// attempt it covered has returned, so that a provider that reported a loss
// it was not sure of does not hand the lease on while the attempt runs.
func TestLeaseLostReleasedAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		s := &singleton{linger: time.Second}
		tr := mustNew(t, leaseSpec(s.run), runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		f.suspect("t/sched")
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, status(t, tr, "t/sched").State)
		assert.Zero(t, status(t, tr, "t/sched").Token, "no longer held")
		assert.Empty(t, f.releases(), "not while the attempt runs")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []uint64{1}, f.releases())
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateRunning, st.State, "then it campaigned, and won")
		assert.Equal(t, uint64(2), st.Token)
		require.NoError(t, stop())
	})
}

// TestLeaseKeptAcrossFailures: while the lease is held, failures follow the
// restart, backoff and limit rules, and the lease is kept across restarts;
// a tree that gives up releases it.
func TestLeaseKeptAcrossFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		var tokens []uint64
		var starts []time.Time
		tr := mustNew(t, runtime.Spec{Name: "t", RestartLimit: &runtime.RestartLimit{Max: 2, Window: time.Minute},
			Backoff: constBackoff(time.Second), Children: []runtime.Child{
				{Name: "sched", Lease: &runtime.LeaseSpec{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
					tokens = append(tokens, a.Token())
					starts = append(starts, time.Now())
					return errBoom
				}},
			}}, runtime.WithLeaser(f))
		begin := time.Now()
		_, done := start(t, tr)
		err := <-done
		assert.ErrorIs(t, err, runtime.ErrRestartLimit)
		assert.Equal(t, []uint64{1, 1, 1}, tokens, "the same lease for every restart")
		require.Len(t, starts, 3)
		assert.Equal(t, []time.Duration{0, time.Second, 2 * time.Second},
			[]time.Duration{starts[0].Sub(begin), starts[1].Sub(begin), starts[2].Sub(begin)}, "with the backoff")
		assert.Equal(t, []uint64{1}, f.releases())
		assert.Zero(t, f.holder("t/sched"))
	})
}

// TestLeaseLostWhileStarting: a lease lost before the attempt is ready
// stops it like any other.
func TestLeaseLostWhileStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: warm(time.Hour), Ready: &runtime.Ready{Timeout: 2 * time.Hour}, Lease: &runtime.LeaseSpec{}},
			{Name: "api", Run: nop, After: []string{"sched"}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.Equal(t, runtime.StateStarting, status(t, tr, "t/sched").State)
		f.lose("t/sched")
		synctest.Wait()
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateStarting, st.State, "acquired again at once")
		assert.Equal(t, uint64(2), st.Token)
		assert.Equal(t, uint64(2), st.Generation)
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State, "a dependent waits for the singleton")
		require.NoError(t, stop())
	})
}

// TestLeaseCampaignAfterDeps: a singleton campaigns only once its After
// list is ready, so that a replica that could not run it holds no lease.
func TestLeaseCampaignAfterDeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "db", Run: warm(time.Second), Ready: &runtime.Ready{Timeout: time.Minute}},
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{}, After: []string{"db"}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/sched").State)
		f.mu.Lock()
		assert.Zero(t, f.acquires, "no campaign before db is ready")
		f.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/sched").State)
		assert.Equal(t, uint64(1), f.holder("t/sched"))
		require.NoError(t, stop())
	})
}

// TestLeaseLostWhileStopping: a lease lost during the shutdown changes
// nothing of it: the child is not started again.
func TestLeaseLostWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		s := &singleton{linger: time.Second}
		tr := mustNew(t, leaseSpec(s.run), runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		errc := make(chan error, 1)
		go func() { errc <- stop() }()
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/sched").State)
		f.lose("t/sched")
		require.NoError(t, <-errc)
		_, _, tokens, causes := s.read()
		assert.Equal(t, []uint64{1}, tokens)
		assert.Equal(t, []error{runtime.ErrStopped}, causes)
		assert.Equal(t, []uint64{1}, f.releases(), "released once")
		assert.Equal(t, runtime.StateStopped, status(t, tr, "t/sched").State)
	})
}

// TestLeaseLostDuringGroupRestart: a member of a one_for_all restart that
// loses its lease while the group is down campaigns again when the group
// starts.
func TestLeaseLostDuringGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		fail := make(chan struct{})
		s := &singleton{}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "sched", Run: s.run, Lease: &runtime.LeaseSpec{}},
			{Name: "a", Run: failing(fail)},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		require.Equal(t, runtime.StateBackoff, status(t, tr, "t/sched").State)
		assert.Equal(t, uint64(1), f.holder("t/sched"), "kept through the group restart")
		f.lose("t/sched")
		synctest.Wait()
		assert.Equal(t, runtime.StateBackoff, status(t, tr, "t/sched").State, "waits for its group")
		time.Sleep(time.Second)
		synctest.Wait()
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.Equal(t, uint64(2), st.Token)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/a").State)
		_, overlap, tokens, _ := s.read()
		assert.False(t, overlap)
		assert.Equal(t, []uint64{1, 2}, tokens)
		require.NoError(t, stop())
	})
}

// TestLeaseAcquireStuckAtShutdown: an Acquire that ignores its context
// cannot hold Run past its budget and margin.
func TestLeaseAcquireStuckAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		f.stuck = make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 3 * time.Second, Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.Equal(t, runtime.StateStandby, status(t, tr, "t/sched").State)
		begin := time.Now()
		require.NoError(t, stop())
		took := time.Since(begin)
		assert.LessOrEqual(t, took, 3*time.Second+runtime.DeliveryMargin)
		// It returns at last, with a lease: nobody starts with it, and it
		// is given back.
		f.mu.Lock()
		close(f.stuck)
		f.stuck = nil
		f.mu.Unlock()
		synctest.Wait()
		assert.Equal(t, []uint64{1}, f.releases())
		assert.Zero(t, f.holder("t/sched"))
	})
}

// TestLeaseReleaseStuckAtShutdown: a Release that ignores its context
// cannot hold Run past its budget and margin either.
func TestLeaseReleaseStuckAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &blockingRelease{fakeLeaser: newFakeLeaser(), unblock: make(chan struct{})}
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 3 * time.Second, Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{}},
		}}, runtime.WithLeaser(b))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.Equal(t, 3*time.Second+runtime.DeliveryMargin/2, time.Since(begin), "the budget, then half the margin for a cancelled Release")
		close(b.unblock)
		synctest.Wait()
	})
}

// TestLeaseAcquireErrors: a failing Acquire is tried again after a delay
// that grows to a third of the TTL; health says why, and the tree serves
// all the same.
func TestLeaseAcquireErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		f.setFail(errors.New("store unreachable"))
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{TTL: 3 * time.Second}},
		}}, runtime.WithLeaser(f), runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		h := tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State)
		assert.Equal(t, `standby: acquiring lease "t/sched" failed: store unreachable`, h.Children[0].Reason)
		var delays []time.Duration
		for _, e := range rec.of(runtime.EventStandby)[1:] {
			require.EqualError(t, e.Err, "store unreachable")
			delays = append(delays, e.Delay)
		}
		require.Greater(t, len(delays), 5)
		for i, d := range delays {
			want := min(100*time.Millisecond<<i, time.Second)
			assert.InDelta(t, float64(want), float64(d), 0.2*float64(want)+1, "delay %d", i)
		}
		f.setFail(nil)
		time.Sleep(2 * time.Second) // the next try comes within a third of the TTL, plus jitter
		synctest.Wait()
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.NoError(t, st.LeaseError)
		require.NoError(t, stop())
	})
}

// TestLeaseLeaserPanics: a panicking Leaser is a failed Acquire, not a
// crash.
func TestLeaseLeaserPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &panicLeaser{fakeLeaser: newFakeLeaser(), panics: 2}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{}},
		}}, runtime.WithLeaser(p))
		stop, _ := start(t, tr)
		synctest.Wait()
		st := status(t, tr, "t/sched")
		assert.Equal(t, runtime.StateStandby, st.State)
		assert.ErrorIs(t, st.LeaseError, runtime.ErrPanic)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/sched").State)
		require.NoError(t, stop())
	})
}

// TestLeaseOperatorOrders: Stop releases the lease (or calls the campaign
// off); Restart keeps it.
func TestLeaseOperatorOrders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, leaseSpec(nop), runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		h := tr.Handle("t/sched")
		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, uint64(1), h.Status().Token, "a restart keeps the lease")
		assert.Equal(t, uint64(2), h.Status().Generation)

		require.NoError(t, h.StopAndWait(context.Background()))
		synctest.Wait()
		assert.Equal(t, []uint64{1}, f.releases())
		assert.Equal(t, runtime.StateStopped, h.State())

		// Stopped while standing by: the campaign is called off.
		other, err := f.Acquire(context.Background(), "t/sched", time.Second)
		require.NoError(t, err)
		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateStandby, h.State())
		require.NoError(t, h.Stop())
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, h.State())
		require.NoError(t, other.Release(context.Background()))
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, h.State(), "it did not take the lease")
		assert.Zero(t, f.holder("t/sched"))
		require.NoError(t, stop())
	})
}

// TestLeaseNestedSupervisor: a nested supervisor's lease covers its whole
// subtree: its children run under its token, and its loss cancels them
// with ErrLeaseLost.
func TestLeaseNestedSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		s := &singleton{}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Lease: &runtime.LeaseSpec{Name: "jobs"}, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "x", Run: s.run},
				{Name: "y", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "z", Run: s.run}}}},
			}}},
		}}, runtime.WithLeaser(f))
		other, err := f.Acquire(context.Background(), "jobs", time.Second)
		require.NoError(t, err)
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.Equal(t, runtime.StateStandby, status(t, tr, "t/n").State)
		assert.Equal(t, runtime.StateIdle, status(t, tr, "t/n/x").State)
		h := tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, "what does not run here because its supervisor stands by is no failure: %s", h.Reason)
		assert.Equal(t, "standby: its supervisor t/n waits for its lease", h.Children[1].Reason)
		require.NoError(t, other.Release(context.Background()))
		synctest.Wait()
		running, _, tokens, _ := s.read()
		assert.Equal(t, 2, running)
		assert.Equal(t, []uint64{2, 2}, tokens, "inherited, two levels down")
		f.lose("jobs")
		synctest.Wait()
		_, _, tokens, causes := s.read()
		assert.Equal(t, []error{runtime.ErrLeaseLost, runtime.ErrLeaseLost}, causes)
		assert.Equal(t, []uint64{2, 2, 3, 3}, tokens)
		require.NoError(t, stop())
	})
}

// TestLeasePool: a pool with a lease takes no instance while it stands by;
// its instances run under its token.
func TestLeasePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}, Lease: &runtime.LeaseSpec{}},
		}}, runtime.WithLeaser(f))
		other, err := f.Acquire(context.Background(), "t/p", time.Second)
		require.NoError(t, err)
		stop, _ := start(t, tr)
		synctest.Wait()
		_, err = tr.Pool("t/p").Start("", nop)
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		require.NoError(t, other.Release(context.Background()))
		synctest.Wait()
		got := make(chan uint64, 1)
		_, err = tr.Pool("t/p").Start("i", func(ctx context.Context, a *runtime.Attempt) error {
			got <- a.Token()
			<-ctx.Done()
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, uint64(2), <-got)
		require.NoError(t, stop())
	})
}

// TestLeaseWithoutOneHasNoToken: attempts outside any lease have token 0.
func TestLeaseWithoutOneHasNoToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan uint64, 1)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: func(ctx context.Context, a *runtime.Attempt) error { got <- a.Token(); <-ctx.Done(); return nil }},
		}})
		stop, _ := start(t, tr)
		assert.Zero(t, <-got)
		require.NoError(t, stop())
	})
}

// flappingLeaser grants leases that are lost after a while: someone deletes
// the key in a loop (after > 0), or the store grants leases already expired
// (after 0).
type flappingLeaser struct {
	*fakeLeaser
	after atomic.Int64 // a time.Duration
}

func (f *flappingLeaser) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	l, err := f.fakeLeaser.Acquire(ctx, name, ttl)
	if err != nil {
		return nil, err
	}
	if after := time.Duration(f.after.Load()); after == 0 {
		f.lose(name)
	} else {
		time.AfterFunc(after, func() { f.lose(name) })
	}
	return l, nil
}

// TestLeaseLostSoonBacksOff: a lease lost at once or soon after every
// Acquire is campaigned for again after a growing delay, as after a failed
// Acquire, not in a loop that hammers the store; one that lived out its TTL
// is campaigned for again at once.
func TestLeaseLostSoonBacksOff(t *testing.T) {
	for _, after := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &flappingLeaser{fakeLeaser: newFakeLeaser()}
				f.after.Store(int64(after))
				rec := &recorder{}
				tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
					{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{TTL: 3 * time.Second}},
				}}, runtime.WithLeaser(f), runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				f.mu.Lock()
				acquires := f.acquires
				f.mu.Unlock()
				assert.Less(t, acquires, 20, "campaigns in 10s")
				var delays []time.Duration
				for _, e := range rec.of(runtime.EventStandby) {
					if e.Err != nil {
						delays = append(delays, e.Delay)
					}
				}
				require.Greater(t, len(delays), 5)
				for i, d := range delays {
					want := min(100*time.Millisecond<<i, time.Second)
					assert.InDelta(t, float64(want), float64(d), 0.2*float64(want)+1, "delay %d", i)
				}
				// It holds each lease for `after`, about 1% of the time at
				// the last delays (jittered): wait for it to stand by again.
				st := status(t, tr, "t/sched")
				for i := 0; i < 100 && st.State != runtime.StateStandby; i++ {
					time.Sleep(time.Millisecond)
					synctest.Wait()
					st = status(t, tr, "t/sched")
				}
				assert.Equal(t, runtime.StateStandby, st.State)
				assert.Error(t, st.LeaseError, "Health says why it stands by")

				// Calm again: the next lease lives an hour, past its TTL;
				// once it is lost, the child campaigns at once.
				f.after.Store(int64(time.Hour))
				time.Sleep(2 * time.Second)
				synctest.Wait()
				require.Equal(t, runtime.StateRunning, status(t, tr, "t/sched").State)
				n := len(rec.of(runtime.EventLeaseAcquired))
				time.Sleep(time.Hour)
				synctest.Wait()
				assert.Equal(t, n+1, len(rec.of(runtime.EventLeaseAcquired)), "a lease that lived out its TTL is campaigned for at once")
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/sched").State)
				require.NoError(t, stop())
			})
		})
	}
}

// TestLeaseReleasedUnderKilledSupervisor: a lease lost while its attempt
// ignores cancellation stays held until the attempt is abandoned; when the
// attempt is abandoned with its subtree, because a nested budget ran out,
// the killed supervisor releases the lease as it ends, and Run waits for
// that release within its budget as for any other. It returned before,
// with the lease still held (TestChaosLives, seed 1796200295657186858 life
// 218): a killed run can be slow to see that it was killed.
func TestLeaseReleasedUnderKilledSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		deaf := make(chan struct{})
		// b is busy with x's exit when a's budget runs out and a kills it.
		var slow atomic.Bool
		runtime.SetTestHook(func(path string) {
			if path == "t/a/b" && slow.CompareAndSwap(true, false) {
				time.Sleep(100 * time.Millisecond)
			}
		})
		defer runtime.SetTestHook(nil)
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Second, Children: []runtime.Child{
			{Name: "a", Supervisor: &runtime.Spec{Shutdown: 10 * time.Millisecond, Children: []runtime.Child{
				{Name: "b", Supervisor: &runtime.Spec{Shutdown: 5 * time.Second, Children: []runtime.Child{
					{Name: "w", Shutdown: 5 * time.Second, Lease: &runtime.LeaseSpec{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
						<-deaf
						return nil
					}},
					{Name: "x", Run: func(ctx context.Context, a *runtime.Attempt) error {
						<-ctx.Done()
						return nil
					}},
				}}},
			}}},
		}}, runtime.WithLeaser(f))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.Equal(t, uint64(1), f.holder("t/a/b/w"))
		f.suspect("t/a/b/w")
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/a/b/w").State)
		require.Equal(t, uint64(1), f.holder("t/a/b/w"), "kept while its attempt runs")
		slow.Store(true)
		begin := time.Now()
		require.NoError(t, stop())
		assert.Less(t, time.Since(begin), time.Second, "within the root's budget")
		assert.Zero(t, f.holder("t/a/b/w"), "released when Run returns")
		assert.Equal(t, []uint64{1}, f.releases())
		assert.True(t, inReport(tr.ShutdownReport(), "t/a/b/w", 1))
		close(deaf)
		time.Sleep(time.Second) // the killed run ends, if it had not
		synctest.Wait()
	})
}
