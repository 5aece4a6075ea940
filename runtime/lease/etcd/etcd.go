// Package etcd is a runtime.Leaser on etcd: the children of trees that
// share an etcd cluster and a lease name run in one process at a time, and
// each holder's fencing token is the etcd revision at which it won, which
// grows strictly with every change of holder.
//
//	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}})
//	...
//	tree := NewShop(store, runtime.WithLeaser(etcd.New(cli)))
//
// A lease is an election on the key prefix <prefix><name>#, held through an
// etcd lease of the child's TTL (in whole seconds, at least 1; the server
// may raise it to its own minimum) kept alive by a concurrency.Session. The
// candidate whose key has the lowest create revision holds it, and that
// revision is its token.
//
// A holder cut off from etcd must have stopped its child before anyone
// else can take over. etcd deletes the key of an expired lease no sooner
// than its TTL after the last renewal the server saw, which came after the
// renewal was sent; so the holder reports the lease lost
// (runtime.Lease.Lost) once a TTL has passed since it sent the last renewal
// that succeeded, less the child's grace (runtime.LeaseGrace, counted up
// to half the TTL) and a tenth of the TTL (at most a second): before the
// store can hand the lease to another process, early enough for the child
// to return. It renews the lease itself three times in that window; while
// its connection is down, it tries every sixth of the window, each time
// asking the client to reconnect at once rather than when gRPC's backoff
// ends. It also reports it lost at once when its key is deleted, or put
// again without the lease, or its lease revoked. A key of the election
// without an etcd lease would hold every candidate up for ever: a campaign
// that has waited a TTL for one fails with ErrStrayKey.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/connectivity"

	"github.com/arbor-go/arbor/runtime"
)

// DefaultPrefix is the key prefix of the elections, before the lease's
// name.
const DefaultPrefix = "arbor/lease/"

// Leaser grants leases held on etcd. It is safe for concurrent use.
type Leaser struct {
	client *clientv3.Client
	prefix string
	value  string
}

// Option configures a Leaser.
type Option func(*Leaser)

// WithPrefix sets the key prefix of the elections (DefaultPrefix without
// it). Processes share a lease only if they use the same prefix. Like a
// lease's name, it may not contain #, which ends the name in the keys.
func WithPrefix(prefix string) Option { return func(l *Leaser) { l.prefix = prefix } }

// WithValue sets the value of this process's keys, which tells who holds a
// lease (Holder); the host name and process id without it.
func WithValue(value string) Option { return func(l *Leaser) { l.value = value } }

// New returns a Leaser that holds leases through client. The client must
// outlive every tree that uses the Leaser.
func New(client *clientv3.Client, opts ...Option) *Leaser {
	host, _ := os.Hostname()
	l := &Leaser{client: client, prefix: DefaultPrefix, value: fmt.Sprintf("%s/%d", host, os.Getpid())}
	for _, o := range opts {
		o(l)
	}
	return l
}

// ErrLostWhileCampaigning is returned by Acquire when this process's etcd
// lease expired while it waited for its turn, or its key was deleted or
// put again without the lease; the runtime tries again.
var ErrLostWhileCampaigning = errors.New("etcd lease: lost while campaigning")

// ErrStrayKey is returned by Acquire when a key of the election that has
// no etcd lease (put by hand, or left by a broken client), and so would
// never go, has held the campaign up for a TTL; the error names the key.
// Delete the key: the runtime tries again meanwhile.
var ErrStrayKey = errors.New("etcd lease: stray key")

// election returns the key prefix of the election of name.
func (l *Leaser) election(name string) string { return l.prefix + name + "#" }

// Acquire campaigns for the lease name and returns once this process holds
// it, or ctx is done. Every Acquire is a new etcd lease and a new key, so a
// holder's token is always larger than any earlier holder's.
func (l *Leaser) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	if strings.Contains(name, "#") {
		return nil, fmt.Errorf("etcd lease: name %q: # is reserved", name)
	}
	if strings.Contains(l.prefix, "#") {
		return nil, fmt.Errorf("etcd lease %s: prefix %q: # is reserved", name, l.prefix)
	}
	secs := max(int64(math.Ceil(ttl.Seconds())), 1)
	sent := time.Now()
	grace := runtime.LeaseGrace(ctx)
	// A lease granted later than its window after it was asked for would
	// be lost on arrival (see keep): rather than wait longer for etcd, fail,
	// and say so; the runtime tries again.
	d := time.Duration(secs) * time.Second
	reconnect(l.client)
	gctx, cancel := context.WithDeadline(ctx, sent.Add(d-early(d, grace)))
	grant, err := l.client.Grant(gctx, secs)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("etcd lease %s: grant: %w", name, err)
	}
	d = time.Duration(grant.TTL) * time.Second
	le := &lease{client: l.client, id: grant.ID, ttl: d, early: early(d, grace), lost: make(chan struct{})}
	le.ctx, le.cancel = context.WithCancel(context.Background())
	le.session, err = concurrency.NewSession(l.client, concurrency.WithLease(grant.ID), concurrency.WithContext(le.ctx))
	if err != nil {
		le.abandon(ctx)
		return nil, fmt.Errorf("etcd lease %s: session: %w", name, err)
	}
	le.wg.Add(1)
	go le.keep(sent)
	if err := le.campaign(ctx, l.election(name), l.value); err != nil {
		le.abandon(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &namedError{name: name, err: err}
	}
	return le, nil
}

// namedError is an error of the campaign for the lease name. The
// package's own errors (ErrStrayKey, ErrLostWhileCampaigning) begin with
// "etcd lease: ", which the name's prefix says already.
type namedError struct {
	name string
	err  error
}

func (e *namedError) Error() string {
	return "etcd lease " + e.name + ": " + strings.TrimPrefix(e.err.Error(), "etcd lease: ")
}

func (e *namedError) Unwrap() error { return e.err }

// reconnect has client connect again now if its connection is down, and
// says whether it is not up. While etcd is down, the client's reconnection
// backoff grows (gRPC's to two minutes); once etcd is back, a campaign, or
// a holder's renewal, would wait for it, and the holder lose its lease.
// The callers space their calls out (the runtime's campaigns by up to a
// third of the TTL, a holder's renewals by a sixth of its window while
// the connection is down), so etcd sees at most one connection attempt
// per call.
//
// Only a connection that failed waits out a backoff, and only then is
// the backoff reset: gRPC's ResetConnectBackoff reads the client's
// connections without its lock, and races with the client setting them
// up, which it does while the connection is idle or connecting (a client
// just made, on the first campaigns of its program).
func reconnect(client *clientv3.Client) bool {
	cc := client.ActiveConnection()
	if cc == nil {
		return false
	}
	switch cc.GetState() {
	case connectivity.Ready:
		return false
	case connectivity.TransientFailure:
		cc.ResetConnectBackoff()
	}
	return true
}

// Holder returns the value and token of the process that holds the lease
// name, or an empty value and 0 if none does.
func (l *Leaser) Holder(ctx context.Context, name string) (value string, token uint64, err error) {
	resp, err := l.client.Get(ctx, l.election(name), clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return "", 0, err
	}
	kv := resp.Kvs[0]
	return string(kv.Value), uint64(kv.CreateRevision), nil
}

// lease is a held etcd lease: runtime.Lease.
type lease struct {
	client  *clientv3.Client
	id      clientv3.LeaseID
	ttl     time.Duration
	early   time.Duration // how long before the store may expire the lease it is reported lost
	session *concurrency.Session
	key     string
	rev     int64 // the key's create revision: the token

	ctx    context.Context // cancelled on loss and on release: ends the goroutines
	cancel context.CancelFunc
	wg     sync.WaitGroup

	once sync.Once
	lost chan struct{}
}

func (le *lease) Token() uint64         { return uint64(le.rev) }
func (le *lease) Lost() <-chan struct{} { return le.lost }

// lose reports the lease lost, once.
func (le *lease) lose() {
	le.once.Do(func() { close(le.lost) })
	le.cancel()
}

// early is how long before the earliest moment the store may expire a
// lease of the given TTL its holder reports it lost: the grace its child
// has to return (up to half the TTL, so that the lease can be kept at all
// when the grace is longer than the TTL), and a tenth of the TTL, at most a
// second, for the loss to reach the child and for the server's clock to run
// a little faster than this process's.
func early(ttl, grace time.Duration) time.Duration {
	return min(max(grace, 0), ttl/2) + min(ttl/10, time.Second)
}

// keep renews the lease three times in its window, a TTL less early, and
// reports it lost once that window has passed since the last renewal that
// succeeded was sent (sent, at first, is when the lease was granted): the
// server, which renewed it after that, keeps it at least a TTL from then.
func (le *lease) keep(sent time.Time) {
	defer le.wg.Done()
	window := le.ttl - le.early
	deadline := sent.Add(window)
	next := sent.Add(window / 3)
	expire := time.NewTimer(time.Until(deadline))
	defer expire.Stop()
	for {
		wait := time.NewTimer(time.Until(next))
		select {
		case <-le.ctx.Done():
			wait.Stop()
			return
		case <-le.session.Done():
			wait.Stop()
			le.lose() // the session's keep-alive saw the lease expire
			return
		case <-expire.C:
			wait.Stop()
			le.lose()
			return
		case <-wait.C:
		}
		now := time.Now()
		end := deadline
		if reconnect(le.client) && now.Add(window/6).Before(deadline) {
			// Wait for the connection a while only, then ask for it
			// again: etcd may be back by then.
			end = now.Add(window / 6)
		}
		kctx, cancel := context.WithDeadline(le.ctx, end)
		resp, err := le.client.KeepAliveOnce(kctx, le.id)
		cancel()
		switch {
		case err == nil && resp.TTL > 0:
			deadline = now.Add(time.Duration(resp.TTL)*time.Second - le.early)
			expire.Reset(time.Until(deadline))
			next = now.Add(window / 3)
		case err == nil, errors.Is(err, rpctypes.ErrLeaseNotFound):
			le.lose() // revoked or expired
			return
		default:
			next = time.Now().Add(min(window/10, 100*time.Millisecond)) // try again soon
		}
	}
}

// campaign puts this process's key in the election and waits until every
// key created before it is gone. It is concurrency.Election.Campaign, but
// bounded by ctx in every step (Campaign cancelled resigns with the
// client's context, which blocks while etcd is unreachable) and checked at
// the end: the key must still be there, since the lease may have expired
// during the wait.
func (le *lease) campaign(ctx context.Context, prefix, value string) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(le.ctx, cancel) // the lease lost while waiting
	defer stop()

	le.key = fmt.Sprintf("%s%x", prefix, le.id)
	resp, err := le.client.Txn(wctx).
		If(clientv3.Compare(clientv3.CreateRevision(le.key), "=", 0)).
		Then(clientv3.OpPut(le.key, value, clientv3.WithLease(le.id))).
		Commit()
	if err != nil {
		return le.why(err)
	}
	if !resp.Succeeded {
		return errors.New("key exists already") // a new lease's key cannot
	}
	le.rev = resp.Header.Revision
	if err := waitDeletes(wctx, le.client, prefix, le.rev-1, le.ttl); err != nil {
		return le.why(err)
	}
	rev, err := le.check(wctx)
	if err != nil {
		return le.why(err)
	}
	// From here on, any deletion of the key is the loss of the lease.
	le.wg.Add(1)
	go le.watch(rev)
	return nil
}

// check reads the key, and fails unless it is still the one this lease
// put, bound to the lease. It returns the revision to watch it from.
func (le *lease) check(ctx context.Context) (int64, error) {
	get, err := le.client.Get(ctx, le.key)
	if err != nil {
		return 0, err
	}
	if len(get.Kvs) == 0 || get.Kvs[0].CreateRevision != le.rev {
		return 0, ErrLostWhileCampaigning
	}
	if get.Kvs[0].Lease != int64(le.id) {
		return 0, fmt.Errorf("%w: key put again without the lease", ErrLostWhileCampaigning)
	}
	return get.Header.Revision + 1, nil
}

// why names the loss of the lease as the reason a step failed.
func (le *lease) why(err error) error {
	if le.ctx.Err() != nil {
		return ErrLostWhileCampaigning
	}
	return err
}

// watch reports the lease lost when its key is deleted or put again
// without the lease (by hand: the key would then outlive the lease, and
// the next candidate would wait for it forever), and when the watch itself
// fails: without it, a deletion could go unnoticed. A watch that resumes
// (after a reconnection) from a revision compacted since rereads the key
// instead, and goes on from there.
func (le *lease) watch(rev int64) {
	defer le.wg.Done()
	for {
		err := le.watchFrom(rev)
		if le.ctx.Err() != nil {
			return
		}
		if errors.Is(err, rpctypes.ErrCompacted) {
			if rev, err = le.check(le.ctx); err == nil {
				continue
			}
			if le.ctx.Err() != nil {
				return
			}
		}
		le.lose()
		return
	}
}

// watchFrom watches the key from rev until it goes, or the watch fails.
func (le *lease) watchFrom(rev int64) error {
	ctx, cancel := context.WithCancel(le.ctx)
	defer cancel()
	for resp := range le.client.Watch(ctx, le.key, clientv3.WithRev(rev)) {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.DELETE || ev.Kv.Lease != int64(le.id) {
				return errors.New("key deleted or put again without the lease")
			}
		}
	}
	return errors.New("watch closed")
}

// waitDeletes waits until every key of the election created at or before
// maxRev is deleted, as concurrency's own does; but a watch that resumes
// from a compacted revision, after a reconnection, does not end the
// campaign: the keys are read again. A key without an etcd lease would
// never expire: once one has been waited for a TTL (time for whoever put
// it to delete it), it fails with ErrStrayKey.
func waitDeletes(ctx context.Context, client *clientv3.Client, prefix string, maxRev int64, ttl time.Duration) error {
	opts := append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(maxRev))
	var stray int64 // the create revision of the key without a lease waited for
	var since time.Time
	for {
		resp, err := client.Get(ctx, prefix, opts...)
		if err != nil {
			return err
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		kv := resp.Kvs[0]
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if kv.Lease == 0 {
			if kv.CreateRevision != stray {
				stray, since = kv.CreateRevision, time.Now()
			}
			left := ttl - time.Since(since)
			if left <= 0 {
				return fmt.Errorf("%w %s: it has no etcd lease, and would hold every candidate up for ever: delete it", ErrStrayKey, kv.Key)
			}
			wctx, cancel = context.WithTimeout(ctx, left)
		}
		err = waitDelete(wctx, client, string(kv.Key), resp.Header.Revision)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && wctx.Err() == nil && !errors.Is(err, rpctypes.ErrCompacted):
			return err
		}
		// Deleted, compacted or waited for long enough: read again.
	}
}

func waitDelete(ctx context.Context, client *clientv3.Client, key string, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range client.Watch(wctx, key, clientv3.WithRev(rev)) {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.DELETE {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("watch closed")
}

// Release deletes the key and revokes the etcd lease: the next candidate
// takes over at once.
func (le *lease) Release(ctx context.Context) error {
	le.cancel()
	le.session.Orphan()
	le.wg.Wait()
	err := le.drop(ctx)
	le.once.Do(func() { close(le.lost) })
	return err
}

// drop deletes the key, if it is still the one this lease put, and revokes
// the lease. Revoking deletes the key too, unless it was put again by hand
// without the lease: then it would stay, and hold up every candidate.
func (le *lease) drop(ctx context.Context) error {
	var err error
	if le.rev != 0 {
		_, err = le.client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(le.key), "=", le.rev)).
			Then(clientv3.OpDelete(le.key)).
			Commit()
	}
	if _, rerr := le.client.Revoke(ctx, le.id); err == nil && !errors.Is(rerr, rpctypes.ErrLeaseNotFound) { // not expired already
		err = rerr
	}
	return err
}

// abandon gives up a lease that was never held, within a second: if etcd
// cannot be reached, the lease expires on its own.
func (le *lease) abandon(ctx context.Context) {
	le.cancel()
	if le.session != nil {
		le.session.Orphan()
	}
	le.wg.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	le.drop(rctx)
	cancel()
}
