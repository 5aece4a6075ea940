package etcd_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

var (
	chaosSeed     = flag.Uint64("chaos.seed", 0, "seed of TestReplicasChaos (0: from the clock)")
	chaosDuration = flag.Duration("chaos.duration", 6*time.Second, "how long TestReplicasChaos runs")
)

// forced is a loss of a lease that the chaos brought about in etcd: the
// holder's etcd lease revoked or its key deleted. The next holder may then
// start as the old one is cancelled (the README's etcd provider section).
type forced struct {
	token uint64
	at    time.Time
}

// TestReplicasChaos: four replicas (trees, each on its own etcd client,
// behind a proxy of its own) share one lease child on a real etcd, while
// the chaos, one fault at a time: revokes the holder's etcd lease, deletes
// its key, drops a replica's connections (its session's keep-alive and
// its watches end and resume), slows or freezes a replica's link for up to
// one and a half TTLs, refuses its connections, or stops a replica and
// starts it again. Checked: at most one replica runs the child at a time,
// but that after a revocation or a deletion the old holder may still run
// as the next starts, for at most a TTL; the tokens grow with every start;
// every replica's tree serves throughout, and once the faults end, a
// replica runs the child.
//
//	go test -run 'TestReplicasChaos$' -v . -chaos.duration=1m
//	go test -run 'TestReplicasChaos$' -v . -chaos.seed=N   # replay the faults' draw (not their timing)
func TestReplicasChaos(t *testing.T) {
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos seed %d, duration %v", seed, *chaosDuration)
	r := rand.New(rand.NewPCG(seed, seed))

	srv := startServer(t)
	admin := connect(t, srv.client)
	w := newWorld()
	names := []string{"a", "b", "c", "d"}
	proxies := map[string]*proxy{}
	clients := map[string]*clientv3.Client{}
	reps := map[string]*replica{}
	for _, name := range names {
		proxies[name] = newProxy(t, srv.client)
		clients[name] = connect(t, proxies[name].addr())
		reps[name] = startReplica(t, name, clients[name], runtime.Child{Run: w.singleton(name, 0, nil)}, nil)
	}
	within(t, 5*time.Second, "a replica runs the child", func() bool { return w.holder(t) != "" })

	var losses []forced
	counts := map[string]int{}
	// holderKey is the key of the election created first: the holder's,
	// or the next holder's about to be.
	holderKey := func() (key string, lease clientv3.LeaseID, token uint64, ok bool) {
		ctx, cancel := context.WithTimeout(context.Background(), ttl)
		defer cancel()
		resp, err := admin.Get(ctx, etcd.DefaultPrefix+"app/sched#", clientv3.WithFirstCreate()...)
		if err != nil || len(resp.Kvs) == 0 {
			return "", 0, 0, false
		}
		kv := resp.Kvs[0]
		return string(kv.Key), clientv3.LeaseID(kv.Lease), uint64(kv.CreateRevision), true
	}
	// serving checks that every replica's tree serves: one on standby is
	// ready, and the holder that loses its lease is degraded a moment.
	serving := func() {
		for _, name := range names {
			if h := reps[name].tree.Health(); !h.State.Serving() {
				t.Errorf("%s: health %v: %s", name, h.State, h.Reason)
			}
		}
	}

	end := time.Now().Add(*chaosDuration)
	for time.Now().Before(end) {
		time.Sleep(time.Duration(50+r.IntN(250)) * time.Millisecond)
		serving()
		name := names[r.IntN(len(names))]
		if h := w.holder(t); h != "" && r.IntN(2) == 0 {
			name = h // the holder's faults are the ones that hand the lease on
		}
		p := proxies[name]
		span := time.Duration(r.Int64N(int64(3 * ttl / 2)))
		ctx, cancel := context.WithTimeout(context.Background(), ttl)
		switch kind := r.IntN(8); kind {
		case 0, 1: // the holder's etcd lease revoked
			if _, lease, token, ok := holderKey(); ok {
				losses = append(losses, forced{token, time.Now()})
				if _, err := admin.Revoke(ctx, lease); err == nil {
					counts["revoked"]++
				}
			}
		case 2: // the holder's key deleted
			if key, _, token, ok := holderKey(); ok {
				losses = append(losses, forced{token, time.Now()})
				if _, err := admin.Delete(ctx, key); err == nil {
					counts["deleted"]++
				}
			}
		case 3: // the replica's connections dropped
			p.reset()
			counts["reset"]++
		case 4: // a slow link
			p.slow(time.Duration(1+r.IntN(100)) * time.Millisecond)
			time.Sleep(span)
			p.slow(0)
			counts["slowed"]++
		case 5: // a stalled link, or a paused process: its traffic held back, then delivered late
			p.freeze()
			time.Sleep(span)
			p.thaw()
			counts["frozen"]++
		case 6: // etcd unreachable
			p.block()
			time.Sleep(span)
			p.unblock()
			counts["blocked"]++
		case 7: // the replica stopped, and started again
			require.NoError(t, reps[name].stop())
			reps[name] = startReplica(t, name, clients[name], runtime.Child{Run: w.singleton(name, 0, nil)}, nil)
			counts["restarted"]++
		}
		cancel()
	}

	serving()
	within(t, 10*ttl, "once the faults end, a replica runs the child", func() bool { return w.holder(t) != "" })
	serving()
	for _, name := range names {
		require.NoError(t, reps[name].stop())
	}

	runs, _ := w.history()
	slices.SortFunc(runs, func(x, y run) int { return x.start.Compare(y.start) })
	overlaps := 0
	for j := range runs {
		for i := range j {
			a, b := runs[i], runs[j]
			if !b.start.Before(a.end) {
				continue
			}
			excused := false
			for _, l := range losses {
				excused = excused || l.token == a.token && !l.at.After(b.start) && !a.end.After(l.at.Add(ttl))
			}
			if excused {
				overlaps++
			} else {
				t.Errorf("%s (token %d) ran from %v to %v, and %s (token %d) started %v before it returned, with no revocation or deletion of its lease to excuse it",
					a.replica, a.token, a.start.Format("15:04:05.000"), a.end.Format("15:04:05.000"), b.replica, b.token, a.end.Sub(b.start))
			}
		}
		if j > 0 && runs[j].token <= runs[j-1].token {
			t.Errorf("%s started with token %d after %s with %d", runs[j].replica, runs[j].token, runs[j-1].replica, runs[j-1].token)
		}
	}
	var faults []string
	for k, n := range counts {
		faults = append(faults, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(faults)
	t.Logf("%d runs, %d overlaps after a revocation or a deletion; faults: %s", len(runs), overlaps, strings.Join(faults, ", "))
	assert.Greater(t, len(runs), 1, "the lease changed hands")
}
