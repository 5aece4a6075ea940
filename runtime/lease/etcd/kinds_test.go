package etcd_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

// subtree tracks the workers that run below a leased nested supervisor or
// pool, across replicas: which replicas run some, and whether two ever
// did at once.
type subtree struct {
	mu      sync.Mutex
	running map[string]int    // replica → workers running
	tokens  map[string]uint64 // replica → token of its latest worker
	overlap bool
}

func newSubtree() *subtree {
	return &subtree{running: map[string]int{}, tokens: map[string]uint64{}}
}

// worker runs in replica until cancelled, then takes linger to return.
func (s *subtree) worker(replica string, linger time.Duration) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		s.mu.Lock()
		for r, n := range s.running {
			s.overlap = s.overlap || (r != replica && n > 0)
		}
		s.running[replica]++
		s.tokens[replica] = a.Token()
		s.mu.Unlock()
		<-ctx.Done()
		time.Sleep(linger)
		s.mu.Lock()
		s.running[replica]--
		s.mu.Unlock()
		return nil
	}
}

// holder returns the replica whose workers run, "" if none.
func (s *subtree) holder() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r, n := range s.running {
		if n > 0 {
			return r
		}
	}
	return ""
}

func (s *subtree) token(replica string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[replica]
}

func (s *subtree) count(replica string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[replica]
}

// runTree runs spec's tree on cli until the test ends.
func runTree(t *testing.T, name string, cli *clientv3.Client, spec runtime.Spec) (*runtime.Tree, context.CancelFunc) {
	tree, err := runtime.New(spec, runtime.WithLeaser(etcd.New(cli, etcd.WithValue(name))))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tree.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return tree, cancel
}

// TestNestedSupervisor: a nested supervisor with a lease runs its whole
// subtree in one replica at a time, under the token etcd shows. Cut off,
// the holder stops the subtree (its workers, stopped one after the other,
// take most of the supervisor's budget to return) before the other replica
// starts its own.
func TestNestedSupervisor(t *testing.T) {
	srv := startServer(t)
	s := newSubtree()
	admin := connect(t, srv.client)
	spec := func(replica string) runtime.Spec {
		return runtime.Spec{Name: "app", Children: []runtime.Child{
			{Name: "jobs", Lease: &runtime.LeaseSpec{TTL: 2 * ttl}, Supervisor: &runtime.Spec{
				Shutdown: 9 * ttl / 10,
				Children: []runtime.Child{
					{Name: "x", Run: s.worker(replica, 2*ttl/5), Shutdown: ttl / 2},
					{Name: "y", Supervisor: &runtime.Spec{Children: []runtime.Child{
						{Name: "z", Run: s.worker(replica, 2*ttl/5), Shutdown: ttl / 2},
					}}},
				},
			}},
		}}
	}
	p := newProxy(t, srv.client)
	a, _ := runTree(t, "a", connect(t, p.addr()), spec("a"))
	within(t, 5*time.Second, "a runs the subtree", func() bool { return s.count("a") == 2 })
	b, _ := runTree(t, "b", connect(t, srv.client), spec("b"))
	within(t, 5*time.Second, "b stands by", func() bool {
		c, _ := b.Snapshot().Child("app/jobs")
		return c.State == runtime.StateStandby
	})
	assert.Equal(t, runtime.HealthReady, b.Health().State, "b stands by, ready")
	value, token, err := etcd.New(admin).Holder(context.Background(), "app/jobs")
	require.NoError(t, err)
	assert.Equal(t, "a", value)
	c, _ := a.Snapshot().Child("app/jobs")
	assert.Equal(t, token, c.Token)
	assert.Equal(t, token, s.token("a"), "the workers two levels down run under the lease's token")

	p.freeze()
	within(t, 10*ttl, "b runs the subtree", func() bool { return s.count("b") == 2 })
	assert.Zero(t, s.count("a"))
	s.mu.Lock()
	assert.False(t, s.overlap, "the subtrees of a and b ran at once")
	assert.Greater(t, s.tokens["b"], token)
	s.mu.Unlock()
	p.sever()
}

// TestPool: a pool with a lease accepts instances only in the replica
// that holds the lease, and they run under its token; when the holder
// stops, its instances are stopped, and the other replica's pool accepts.
func TestPool(t *testing.T) {
	srv := startServer(t)
	s := newSubtree()
	spec := runtime.Spec{Name: "app", Children: []runtime.Child{
		{Name: "conns", Pool: &runtime.PoolSpec{}, Shutdown: ttl / 2, Lease: &runtime.LeaseSpec{TTL: ttl}},
	}}
	a, stopA := runTree(t, "a", connect(t, srv.client), spec)
	within(t, 5*time.Second, "a holds the lease", func() bool {
		c, _ := a.Snapshot().Child("app/conns")
		return c.Token != 0
	})
	b, _ := runTree(t, "b", connect(t, srv.client), spec)
	within(t, 5*time.Second, "b stands by", func() bool {
		c, _ := b.Snapshot().Child("app/conns")
		return c.State == runtime.StateStandby
	})
	_, err := b.Pool("app/conns").Start("i", s.worker("b", 0))
	assert.ErrorIs(t, err, runtime.ErrNotRunning, "the pool of a replica that stands by")
	_, err = a.Pool("app/conns").Start("i", s.worker("a", ttl/10))
	require.NoError(t, err)
	within(t, time.Second, "a's instance runs", func() bool { return s.count("a") == 1 })
	c, _ := a.Snapshot().Child("app/conns")
	assert.Equal(t, c.Token, s.token("a"))

	stopA()
	within(t, 2*ttl, "b's pool accepts", func() bool {
		_, err := b.Pool("app/conns").Start("i", s.worker("b", 0))
		return err == nil
	})
	within(t, time.Second, "b's instance runs", func() bool { return s.count("b") == 1 })
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.False(t, s.overlap)
	assert.Greater(t, s.tokens["b"], s.tokens["a"])
}

// TestOddNames: lease names with every character a name may have, and
// names that are prefixes of one another, in trees of one process on one
// client. Each name is its own election: a name that extends another
// ("jobs/a" and "jobs") is held at the same time, and a tree with the
// same name as another stands by.
func TestOddNames(t *testing.T) {
	srv := startServer(t)
	cli := connect(t, srv.client)
	s := newSubtree()
	names := []string{"jobs", "jobs/a", "jobs.", "Jobs:v2/eu-west.1_a", "jobs"}
	trees := make([]*runtime.Tree, len(names))
	for i, name := range names {
		trees[i], _ = runTree(t, name, cli, runtime.Spec{Name: "app", Children: []runtime.Child{
			{Name: "sched", Run: s.worker(fmt.Sprint(i), 0), Lease: &runtime.LeaseSpec{Name: name, TTL: ttl}},
		}})
		within(t, 5*time.Second, "the tree is ready", func() bool {
			select {
			case <-trees[i].Ready():
				return true
			default:
				return false
			}
		})
	}
	within(t, 15*time.Second, "four leases held", func() bool { // a campaign's grant on a loaded machine under -race
		return s.count("0")+s.count("1")+s.count("2")+s.count("3") == 4
	})
	time.Sleep(ttl)
	assert.Zero(t, s.count("4"), "the second tree with the lease jobs runs it too")
	c, _ := trees[4].Snapshot().Child("app/sched")
	assert.Equal(t, runtime.StateStandby, c.State)
	for i, name := range names[:4] {
		value, token, err := etcd.New(cli).Holder(context.Background(), name)
		require.NoError(t, err)
		c, _ := trees[i].Snapshot().Child("app/sched")
		assert.Equal(t, c.Token, token, name)
		assert.Equal(t, s.token(fmt.Sprint(i)), token, name)
		assert.NotEmpty(t, value)
	}
}
