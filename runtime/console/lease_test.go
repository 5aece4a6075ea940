package console_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// gate is a Leaser whose one lease is granted, with token 7, once open is
// closed.
type gate struct{ open chan struct{} }

func (g gate) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	select {
	case <-g.open:
		return held{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type held struct{}

func (held) Token() uint64                 { return 7 }
func (held) Lost() <-chan struct{}         { return nil }
func (held) Release(context.Context) error { return nil }

// TestTreeStandby: a singleton standing by for its lease shows as such,
// with its lease's name, and once it holds it, with its token; the events
// carry the token.
func TestTreeStandby(t *testing.T) {
	g := gate{open: make(chan struct{})}
	tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "cron", Run: runtime.Func(idle), Lease: &runtime.LeaseSpec{}},
	}}, runtime.WithLeaser(g))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-tr.Ready()

	h := console.Handler(tr)
	cron := decode[console.Tree](t, do(h, "GET", "/api/tree", nil)).Children[0]
	assert.Equal(t, "standby", cron.State)
	assert.Equal(t, "shop/cron", cron.Lease)
	assert.Zero(t, cron.Token)

	close(g.open)
	deadline := time.Now().Add(5 * time.Second)
	for cron.State != "running" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		cron = decode[console.Tree](t, do(h, "GET", "/api/tree", nil)).Children[0]
	}
	assert.Equal(t, "running", cron.State)
	assert.EqualValues(t, 7, cron.Token)
	var acquired *console.Event
	for _, e := range decode[console.Events](t, do(h, "GET", "/api/events", nil)).Events {
		if e.Kind == "lease acquired" {
			acquired = &e
		}
	}
	require.NotNil(t, acquired)
	assert.EqualValues(t, 7, acquired.Token)
	assert.Equal(t, "shop/cron lease acquired token=7", acquired.Text)
}

// unreachable is a Leaser whose store cannot be reached.
type unreachable struct{}

func (unreachable) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	return nil, errors.New("dial tcp 127.0.0.1:2379: connection refused")
}

// TestTreeLeaseError: a singleton that stands by because its provider
// fails says why: with the store unreachable, no replica may run it, while
// the tree is ready and its state says only standby.
func TestTreeLeaseError(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "cron", Run: runtime.Func(idle), Lease: &runtime.LeaseSpec{}},
	}}, runtime.WithLeaser(unreachable{}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-tr.Ready()

	h := console.Handler(tr)
	var tree console.Tree
	deadline := time.Now().Add(5 * time.Second)
	for tree.Children == nil || tree.Children[0].LeaseError == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		tree = decode[console.Tree](t, do(h, "GET", "/api/tree", nil))
	}
	assert.Equal(t, "ready", tree.Health)
	cron := tree.Children[0]
	assert.Equal(t, "standby", cron.State)
	assert.Equal(t, "dial tcp 127.0.0.1:2379: connection refused", cron.LeaseError)
	assert.Zero(t, cron.Token)
}
