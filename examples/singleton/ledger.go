package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Ledger is a store that checks fencing tokens, as any system a singleton
// writes to should: it refuses a write whose token is smaller than the
// largest it has seen, so that a holder that lost its lease cannot
// overwrite the work of the next one. It lives in etcd here, under key.
type Ledger struct {
	cli *clientv3.Client
	key string
}

// ErrFenced is the error of a write with a stale token.
var ErrFenced = errors.New("ledger: refused: a newer holder has written")

// token renders a token so that etcd's byte-wise comparison orders tokens.
func token(t uint64) string { return fmt.Sprintf("%020d", t) }

// Write appends entry, unless a larger token than t has written before.
func (l *Ledger) Write(ctx context.Context, t uint64, entry string) error {
	last := l.key + "/token"
	// The first write creates the token key; etcd compares values of
	// existing keys only.
	if _, err := l.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(last), "=", 0)).
		Then(clientv3.OpPut(last, token(0))).Commit(); err != nil {
		return err
	}
	resp, err := l.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(last), ">", token(t))).
		Then(clientv3.OpGet(last)).
		Else(clientv3.OpPut(last, token(t)), clientv3.OpPut(l.key+"/entry", entry)).
		Commit()
	if err != nil {
		return err
	}
	if resp.Succeeded {
		seen := resp.Responses[0].GetResponseRange().Kvs[0].Value
		n, _ := strconv.ParseUint(string(seen), 10, 64)
		return fmt.Errorf("%w (token %d, the ledger has seen %d)", ErrFenced, t, n)
	}
	return nil
}
