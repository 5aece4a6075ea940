package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime/console"
)

func TestListen(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, addr := range []string{"", ":0", "127.0.0.1:0"} {
		srv, err := console.Listen(ctx, addr, f.tree)
		require.NoError(t, err, addr)
		assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), "%q: loopback by default, got %s", addr, srv.URL)
		res, err := http.Get(srv.URL + "api/tree")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, 200, res.StatusCode)

		// Close ends the open streams too.
		sctx, scancel := context.WithCancel(context.Background())
		ch := stream(t, sctx, srv.URL+"api/events")
		next(t, ch)
		require.NoError(t, srv.Close())
		for range ch {
		}
		scancel()
	}
	_, err := console.Listen(ctx, "nonsense", f.tree)
	assert.Error(t, err)

	srv, err := console.Listen(ctx, "", f.tree)
	require.NoError(t, err)
	cancel()
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped with its context")
	}
	_, err = http.Get(srv.URL + "api/tree")
	assert.Error(t, err)
}

// TestListenCloseAfterTheTree: a program that closes its console once its
// tree has stopped lets the streams tell their clients.
func TestListenCloseAfterTheTree(t *testing.T) {
	f := newFixture(t)
	srv, err := console.Listen(context.Background(), "", f.tree)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := stream(t, ctx, srv.URL+"api/events")
	next(t, ch)
	f.stop()
	require.NoError(t, srv.Close())
	var last message
	for m := range ch {
		last = m
	}
	assert.Equal(t, "end", last.event)
}

// TestNilTreeAndOptions: a nil Option is skipped; a nil tree or context is refused
// at once, by Handler with a panic that says so and by Listen with an
// error before it opens anything, rather than on the first request or
// when the server stops.
func TestNilTreeAndOptions(t *testing.T) {
	f := newFixture(t)
	res := do(console.Handler(f.tree, nil, console.WithToken(token), nil), "POST", "/api/restart?path=shop/db", nil, "Authorization", "Bearer "+token)
	assert.Equal(t, 202, res.StatusCode)

	assert.PanicsWithValue(t, "console: Handler needs a tree, not nil", func() { console.Handler(nil) })
	srv, err := console.Listen(context.Background(), "", nil)
	if srv != nil {
		srv.Close()
	}
	assert.ErrorContains(t, err, "console: Listen needs a tree, not nil")
	srv, err = console.Listen(nil, "", f.tree)
	if srv != nil {
		srv.Close() // with a nil context, this crashed the program from Listen's goroutine
	}
	assert.ErrorContains(t, err, "console: Listen needs a context, not nil")
}
