package etcd_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The gRPC and etcd client libraries keep a few process-wide
		// goroutines of their own.
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("go.etcd.io/etcd/client/pkg/v3/logutil.init"),
	)
}

// ttl is the lease TTL of the tests: etcd's unit, and the shortest the
// test server grants.
const ttl = time.Second

// world watches one lease child across the replicas of a test: which
// replica runs it, from its start until its run function returns, and
// whether two ever did at once.
type world struct {
	mu      sync.Mutex
	running map[string]uint64 // replica → token of its running attempt
	overlap []string
	runs    []run
}

type run struct {
	replica    string
	token      uint64
	start, end time.Time
	cause      error
}

func newWorld() *world { return &world{running: map[string]uint64{}} }

// singleton is the lease child's run function in replica; it ignores
// cancellation for linger, and writes with its token to store, if any,
// every 20ms until it returns.
func (w *world) singleton(replica string, linger time.Duration, store *tokenStore) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		w.mu.Lock()
		for other := range w.running {
			w.overlap = append(w.overlap, other+" and "+replica)
		}
		w.running[replica] = a.Token()
		i := len(w.runs)
		w.runs = append(w.runs, run{replica: replica, token: a.Token(), start: time.Now()})
		w.mu.Unlock()
		stopWriting := make(chan struct{})
		var wrote sync.WaitGroup
		if store != nil {
			wrote.Add(1)
			go func() {
				defer wrote.Done()
				for {
					store.write(replica, a.Token())
					select {
					case <-stopWriting:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}()
		}
		<-ctx.Done()
		time.Sleep(linger)
		close(stopWriting)
		wrote.Wait()
		w.mu.Lock()
		delete(w.running, replica)
		w.runs[i].end, w.runs[i].cause = time.Now(), context.Cause(ctx)
		w.mu.Unlock()
		return ctx.Err()
	}
}

// holder returns the replica that runs the child, "" if none; it fails
// the test if several do.
func (w *world) holder(t *testing.T) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for r := range w.running {
		return r
	}
	return ""
}

func (w *world) history() ([]run, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]run(nil), w.runs...), append([]string(nil), w.overlap...)
}

// tokenStore is an external system that checks fencing tokens: it refuses
// a write whose token is smaller than one it has seen.
type tokenStore struct {
	mu       sync.Mutex
	max      uint64
	accepted []write
	refused  []write
}

type write struct {
	replica string
	token   uint64
	at      time.Time
}

func (s *tokenStore) write(replica string, token uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := write{replica, token, time.Now()}
	if token < s.max {
		s.refused = append(s.refused, w)
		return
	}
	s.max = token
	s.accepted = append(s.accepted, w)
}

// replica is one process of the test: a tree with a plain child and the
// lease child, on its own etcd client.
type replica struct {
	name   string
	tree   *runtime.Tree
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	events []runtime.Event
}

func (r *replica) observe(e runtime.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *replica) of(kind runtime.EventKind) []runtime.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.Event
	for _, e := range r.events {
		if e.Kind == kind && e.Path == "app/sched" {
			out = append(out, e)
		}
	}
	return out
}

func startReplica(t *testing.T, name string, cli *clientv3.Client, child runtime.Child, limit *runtime.RestartLimit) *replica {
	r := &replica{name: name, done: make(chan error, 1)}
	child.Name = "sched"
	if child.Lease == nil {
		child.Lease = &runtime.LeaseSpec{TTL: ttl}
	}
	if child.Shutdown == 0 {
		// The tests' children return at once when cancelled; the default
		// grace, five TTLs, would shorten the time the holder has to renew
		// its lease to half the TTL (see TestHolderCutOffGrace).
		child.Shutdown = ttl / 10
	}
	tree, err := runtime.New(runtime.Spec{Name: "app", Shutdown: 5 * time.Second, RestartLimit: limit, Children: []runtime.Child{
		{Name: "api", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
		child,
	}}, runtime.WithLeaser(etcd.New(cli, etcd.WithValue(name))), runtime.WithObserver(r.observe))
	require.NoError(t, err)
	r.tree = tree
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- tree.Run(ctx) }()
	t.Cleanup(func() { r.stop() })
	select {
	case <-tree.Ready():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not ready", name)
	}
	return r
}

// stop stops the replica's tree and returns what Run returned.
func (r *replica) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-r.tree.Done():
		return r.tree.Err()
	}
}

func (r *replica) state() runtime.State {
	c, _ := r.tree.Snapshot().Child("app/sched")
	return c.State
}

// handedOver reports whether the child has run twice, the second time in
// to, and the first attempt has returned: holder alone may see the second
// start before the first has returned, as when a key is deleted.
func handedOver(w *world, to string) bool {
	runs, _ := w.history()
	return len(runs) == 2 && runs[1].replica == to && !runs[0].end.IsZero()
}

// sampleNone fails the test if the child runs anywhere while sampling.
func sampleNone(t *testing.T, w *world, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if h := w.holder(t); h != "" {
			t.Fatalf("%s runs the child while no one can hold the lease", h)
		}
	}
}

// TestReplicas: two replicas with the same lease child: one runs it, the
// other stands by, ready; stopping the holder hands it over within a
// fraction of the TTL, to a holder with a larger token.
func TestReplicas(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	a := startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	b := startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	time.Sleep(3 * ttl) // several renewals
	assert.Equal(t, "a", w.holder(t))
	assert.Equal(t, runtime.StateStandby, b.state())
	assert.Equal(t, runtime.HealthReady, b.tree.Health().State)

	value, token, err := etcd.New(connect(t, srv.client)).Holder(context.Background(), "app/sched")
	require.NoError(t, err)
	assert.Equal(t, "a", value)

	begin := time.Now()
	require.NoError(t, a.stop())
	within(t, ttl/4, "b takes over within a quarter of the TTL", func() bool { return w.holder(t) == "b" })
	t.Logf("handover in %v", time.Since(begin))

	runs, overlap := w.history()
	assert.Empty(t, overlap)
	require.Len(t, runs, 2)
	assert.Equal(t, token, runs[0].token)
	assert.Greater(t, runs[1].token, runs[0].token)
	assert.Equal(t, runtime.ErrStopped, runs[0].cause)
	assert.False(t, runs[1].start.Before(runs[0].end), "a returned before b started")
	require.Len(t, a.of(runtime.EventLeaseReleased), 1)
	assert.NoError(t, a.of(runtime.EventLeaseReleased)[0].Err)
}

// TestReplicasShortTTL: a TTL shorter than a round trip to etcd (which
// keeps the lease a second at least) does not make the release fail: the
// other replica takes over at once, not when etcd expires the lease.
func TestReplicasShortTTL(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	lease := &runtime.LeaseSpec{TTL: time.Millisecond}
	a := startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil), Lease: lease}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil), Lease: lease}, nil)
	begin := time.Now()
	require.NoError(t, a.stop())
	within(t, ttl/4, "b takes over within a quarter of etcd's TTL", func() bool { return w.holder(t) == "b" })
	t.Logf("handover in %v", time.Since(begin))
	require.Len(t, a.of(runtime.EventLeaseReleased), 1)
	assert.NoError(t, a.of(runtime.EventLeaseReleased)[0].Err)
}

// TestHolderCutOff: the holder cannot reach etcd any more. Its attempt is
// cancelled with ErrLeaseLost, and has returned, before the other replica's
// starts, under a larger token.
func TestHolderCutOff(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	p := newProxy(t, srv.client)
	a := startReplica(t, "a", connect(t, p.addr()), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	time.Sleep(ttl / 2)

	cut := time.Now()
	p.sever()
	within(t, 5*ttl, "b takes over", func() bool { return w.holder(t) == "b" })
	runs, overlap := w.history()
	assert.Empty(t, overlap)
	require.Len(t, runs, 2)
	assert.Equal(t, runtime.ErrLeaseLost, runs[0].cause)
	assert.True(t, runs[0].end.Before(runs[1].start), "a's attempt returned before b's started")
	assert.Greater(t, runs[1].token, runs[0].token)
	assert.Less(t, runs[0].end.Sub(cut), ttl, "a gave up within the TTL")
	t.Logf("a stopped %v after the cut, b started %v after it", runs[0].end.Sub(cut), runs[1].start.Sub(cut))
	require.NotEmpty(t, a.of(runtime.EventLeaseLost))
	assert.Equal(t, runs[0].token, a.of(runtime.EventLeaseLost)[0].Token)
	assert.Equal(t, runtime.StateStandby, a.state(), "a campaigns again")
	assert.Equal(t, runtime.HealthReady, a.tree.Health().State)
}

// TestHolderRevoked: the holder's etcd lease is revoked. Its attempt is
// cancelled at once with ErrLeaseLost; the other replica runs under a
// larger token.
func TestHolderRevoked(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	admin := connect(t, srv.client)
	startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	// b is ready once it stands by, maybe before its key is in: revoked
	// then, a could win its own lease back first.
	within(t, 5*time.Second, "b campaigns", func() bool { return len(keys(t, admin, "app/sched")) == 2 })

	resp, err := admin.Get(context.Background(), etcd.DefaultPrefix+"app/sched#", clientv3.WithFirstCreate()...)
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	key := string(resp.Kvs[0].Key)
	id, err := strconv.ParseInt(key[strings.LastIndexByte(key, '#')+1:], 16, 64)
	require.NoError(t, err)
	revoked := time.Now()
	_, err = admin.Revoke(context.Background(), clientv3.LeaseID(id))
	require.NoError(t, err)

	within(t, 2*ttl, "a's attempt returns, and b takes over", func() bool { return handedOver(w, "b") })
	runs, _ := w.history()
	require.Len(t, runs, 2)
	assert.Equal(t, runtime.ErrLeaseLost, runs[0].cause)
	assert.Less(t, runs[0].end.Sub(revoked), ttl/4, "a saw the revocation at once, not at its next renewal")
	assert.Greater(t, runs[1].token, runs[0].token)
}

// TestZombieFenced: the holder is cut off, and its attempt ignores the
// cancellation: it is abandoned after its grace and reported, while it
// still writes. The other replica takes over with a larger token, and the
// external store refuses every write of the zombie from then on.
func TestZombieFenced(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	store := &tokenStore{}
	p := newProxy(t, srv.client)
	a := startReplica(t, "a", connect(t, p.addr()), runtime.Child{Run: w.singleton("a", 2*ttl, store), Shutdown: ttl / 2}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, store)}, nil)
	time.Sleep(ttl / 2)

	p.sever()
	within(t, 5*ttl, "b writes", func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.max > 0 && len(store.accepted) > 0 && store.accepted[len(store.accepted)-1].replica == "b"
	})
	within(t, 4*ttl, "a's zombie returns", func() bool {
		runs, _ := w.history()
		return !runs[0].end.IsZero()
	})

	abandoned := a.of(runtime.EventAbandoned)
	require.Len(t, abandoned, 1, "a's attempt was abandoned")
	assert.Equal(t, uint64(1), abandoned[0].Generation)
	assert.ErrorIs(t, abandoned[0].Err, runtime.ErrLeaseLost)
	report := a.tree.ShutdownReport()
	require.Len(t, report.Abandoned, 1)
	assert.Equal(t, "app/sched", report.Abandoned[0].Path)

	runs, _ := w.history()
	store.mu.Lock()
	defer store.mu.Unlock()
	var bFirst time.Time
	for _, wr := range store.accepted {
		if wr.replica == "b" {
			bFirst = wr.at
			break
		}
		assert.Equal(t, runs[0].token, wr.token)
	}
	for _, wr := range store.accepted {
		if wr.replica == "a" {
			assert.True(t, wr.at.Before(bFirst), "a write of the zombie accepted after b's first")
		}
	}
	assert.NotEmpty(t, store.refused, "the zombie's late writes")
	for _, wr := range store.refused {
		assert.Equal(t, "a", wr.replica)
		assert.True(t, wr.at.Before(runs[0].end) || wr.at.Equal(runs[0].end))
	}
	assert.True(t, runs[1].start.Before(runs[0].end), "the zombie still ran when b started: only the token fenced it")
}

// TestServerRestart: etcd stops. The holder stops the child within the
// TTL, and no replica runs it while etcd is down; once it is back, one
// does again, under a larger token.
func TestServerRestart(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)

	closing := time.Now()
	srv.stop() // etcd lets its streams drain for a while before it closes
	closed := time.Now()
	within(t, ttl, "a stops", func() bool { return w.holder(t) == "" })
	t.Logf("etcd took %v to close; a stopped %v after", closed.Sub(closing), time.Since(closed))
	sampleNone(t, w, 2*ttl)
	srv.start()
	up := time.Now()
	within(t, 10*time.Second, "a replica runs the child again", func() bool { return w.holder(t) != "" })
	t.Logf("running again %v after etcd came back", time.Since(up))
	runs, overlap := w.history()
	assert.Empty(t, overlap)
	require.Len(t, runs, 2)
	assert.Equal(t, runtime.ErrLeaseLost, runs[0].cause)
	assert.Greater(t, runs[1].token, runs[0].token)
}

// TestFailuresUnderLease: while the lease is held, the child's failures
// follow the restart rules: restarts after the backoff, under the same
// lease; past the restart limit the tree gives up, which releases the
// lease, and the other replica takes over.
func TestFailuresUnderLease(t *testing.T) {
	srv := startServer(t)
	var mu sync.Mutex
	var starts []time.Time
	var tokens []uint64
	fail := make(chan struct{})
	flaky := runtime.Child{
		Backoff: &runtime.Backoff{Initial: 200 * time.Millisecond, Max: 200 * time.Millisecond, ResetAfter: time.Hour},
		Run: func(ctx context.Context, a *runtime.Attempt) error {
			mu.Lock()
			starts = append(starts, time.Now())
			tokens = append(tokens, a.Token())
			n := len(starts)
			mu.Unlock()
			if n <= 2 {
				return errors.New("flaky")
			}
			select {
			case <-fail:
				return errors.New("broken")
			case <-ctx.Done():
				return nil
			}
		},
	}
	limit := &runtime.RestartLimit{Max: 4, Window: time.Minute}
	a := startReplica(t, "a", connect(t, srv.client), flaky, limit)
	within(t, 5*time.Second, "a holds the lease", func() bool { return len(a.of(runtime.EventLeaseAcquired)) == 1 })
	w := newWorld()
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs after two failures", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(starts) == 3
	})

	mu.Lock()
	assert.Equal(t, tokens[0], tokens[1])
	assert.Equal(t, tokens[0], tokens[2], "the same lease for every restart")
	for i := 1; i < 3; i++ {
		assert.GreaterOrEqual(t, starts[i].Sub(starts[i-1]), 200*time.Millisecond, "the backoff")
	}
	mu.Unlock()
	assert.Len(t, a.of(runtime.EventLeaseAcquired), 1)
	runs, _ := w.history()
	assert.Empty(t, runs, "b stands by")

	close(fail) // every attempt fails from now on: a gives up
	select {
	case err := <-a.done:
		a.done <- err
		assert.ErrorIs(t, err, runtime.ErrRestartLimit)
	case <-time.After(10 * time.Second):
		t.Fatal("a did not give up")
	}
	within(t, ttl/4, "b takes over", func() bool { return w.holder(t) == "b" })
	runs, _ = w.history()
	assert.Greater(t, runs[0].token, tokens[0])
}
