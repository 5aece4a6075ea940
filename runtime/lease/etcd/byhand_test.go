package etcd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

// TestHolderKeyOverwritten: someone puts the holder's key again by hand
// (etcdctl put), without its lease. The key would outlive the holder, and
// no replica could ever take over; so the holder gives the lease up as
// lost, its key goes, and the other replica takes over.
func TestHolderKeyOverwritten(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	admin := connect(t, srv.client)
	a := startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	within(t, 5*time.Second, "b campaigns", func() bool { return len(keys(t, admin, "app/sched")) == 2 })

	key := keys(t, admin, "app/sched")[0]
	_, err := admin.Put(context.Background(), key, "by hand")
	require.NoError(t, err)
	within(t, 2*ttl, "b takes over", func() bool { return w.holder(t) == "b" })
	runs := checkRuns(t, w)
	assert.Equal(t, runtime.ErrLeaseLost, runs[0].cause)
	within(t, 2*ttl, "a campaigns again, and its old key is gone", func() bool {
		ks := keys(t, admin, "app/sched")
		return len(ks) == 2 && ks[0] != key && ks[1] != key
	})
	assert.Equal(t, runtime.StateStandby, a.state())
}

// TestCandidateKeyOverwritten: the key of a replica that waits for the
// lease is put again by hand, without its lease. Whoever holds the lease
// next, a crash of that holder hands it over: no key outlives its
// process.
func TestCandidateKeyOverwritten(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	admin := connect(t, srv.client)
	reps := map[string]*replica{}
	proxies := map[string]*proxy{}
	for i, name := range []string{"a", "b", "c"} {
		proxies[name] = newProxy(t, srv.client)
		reps[name] = startReplica(t, name, connect(t, proxies[name].addr()), runtime.Child{Run: w.singleton(name, 0, nil)}, nil)
		within(t, 5*time.Second, name+" campaigns", func() bool { return len(keys(t, admin, "app/sched")) == i+1 })
	}
	require.Equal(t, "a", w.holder(t))
	_, err := admin.Put(context.Background(), keys(t, admin, "app/sched")[1], "by hand") // b's
	require.NoError(t, err)

	require.NoError(t, reps["a"].stop())
	var next string
	within(t, 3*ttl, "b or c takes over", func() bool { next = w.holder(t); return next != "" })
	proxies[next].sever() // and the process dies
	reps[next].cancel()
	within(t, 4*ttl, "the last replica takes over", func() bool { h := w.holder(t); return h != "" && h != next })
	checkRuns(t, w)
}

// TestHolderKeyDeleted: someone deletes the holder's key by hand. The
// holder's attempt is cancelled at once, the other replica takes over
// under a larger token, and the holder revokes its etcd lease and
// campaigns again.
func TestHolderKeyDeleted(t *testing.T) {
	srv := startServer(t)
	w := newWorld()
	admin := connect(t, srv.client)
	a := startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*time.Second, "a runs the child", func() bool { return w.holder(t) == "a" })
	startReplica(t, "b", connect(t, srv.client), runtime.Child{Run: w.singleton("b", 0, nil)}, nil)
	within(t, 5*time.Second, "b campaigns", func() bool { return len(keys(t, admin, "app/sched")) == 2 })
	leases, err := admin.Leases(context.Background())
	require.NoError(t, err)
	require.Len(t, leases.Leases, 2)

	deleted := time.Now()
	_, err = admin.Delete(context.Background(), keys(t, admin, "app/sched")[0])
	require.NoError(t, err)
	// Both see the deletion at once: b may start as a's attempt is
	// cancelled, and the token tells them apart.
	within(t, ttl/2, "a's attempt returns, and b takes over", func() bool { return handedOver(w, "b") })
	runs, _ := w.history()
	assert.Greater(t, runs[1].token, runs[0].token)
	assert.Equal(t, runtime.ErrLeaseLost, runs[0].cause)
	assert.Less(t, runs[0].end.Sub(deleted), ttl/4, "a saw the deletion at once")
	within(t, 2*ttl, "a campaigns again, on a new etcd lease, and its old one is revoked", func() bool {
		leases, err := admin.Leases(context.Background())
		require.NoError(t, err)
		return len(keys(t, admin, "app/sched")) == 2 && len(leases.Leases) == 2 && a.state() == runtime.StateStandby
	})
}

// TestHashReserved: # ends the name in an election's keys, so that no
// lease's keys fall under another's prefix; a name or a prefix with one
// could join another lease's election, and is refused.
func TestHashReserved(t *testing.T) {
	srv := startServer(t)
	cli := connect(t, srv.client)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []struct {
		leaser *etcd.Leaser
		name   string
	}{
		{etcd.New(cli), "app#x"},
		{etcd.New(cli, etcd.WithPrefix(etcd.DefaultPrefix+"app#")), "x"}, // keys arbor/lease/app#x#…
	} {
		_, err := c.leaser.Acquire(ctx, c.name, ttl)
		assert.ErrorContains(t, err, "# is reserved", c.name)
	}
	// Nothing stands in the way of the lease app.
	l, err := etcd.New(cli).Acquire(ctx, "app", ttl)
	require.NoError(t, err)
	assert.NoError(t, l.Release(ctx))
}

// TestStrayKey: a key of the election without an etcd lease (put by hand,
// or left by a broken client) would never go, and every candidate would
// wait for it for ever. After a TTL, Acquire fails with ErrStrayKey,
// naming the key, and leaves nothing behind; a replica stands by with that
// error, and takes the lease once the key is deleted.
func TestStrayKey(t *testing.T) {
	srv := startServer(t)
	admin := connect(t, srv.client)
	key := etcd.DefaultPrefix + "app/sched#by-hand"
	_, err := admin.Put(context.Background(), key, "by hand")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*ttl)
	defer cancel()
	begin := time.Now()
	_, err = etcd.New(connect(t, srv.client)).Acquire(ctx, "app/sched", ttl)
	require.ErrorIs(t, err, etcd.ErrStrayKey)
	// Said once: "etcd lease app/sched: etcd lease: stray key" repeated it.
	assert.True(t, strings.HasPrefix(err.Error(), "etcd lease app/sched: stray key "+key+": "), err.Error())
	assert.GreaterOrEqual(t, time.Since(begin), ttl, "its owner, if any, had a TTL to delete it")
	leases, err := admin.Leases(ctx)
	require.NoError(t, err)
	assert.Empty(t, leases.Leases, "the campaign's lease is revoked")
	assert.Equal(t, []string{key}, keys(t, admin, "app/sched"))

	w := newWorld()
	a := startReplica(t, "a", connect(t, srv.client), runtime.Child{Run: w.singleton("a", 0, nil)}, nil)
	within(t, 5*ttl, "a stands by with the error", func() bool {
		for _, e := range a.of(runtime.EventStandby) {
			if errors.Is(e.Err, etcd.ErrStrayKey) {
				return true
			}
		}
		return false
	})
	h := a.tree.Health()
	assert.Equal(t, runtime.HealthReady, h.State)
	assert.Contains(t, h.Children[1].Reason, key)
	assert.Empty(t, w.holder(t))

	_, err = admin.Delete(ctx, key)
	require.NoError(t, err)
	within(t, 2*ttl, "a takes the lease", func() bool { return w.holder(t) == "a" })
}
