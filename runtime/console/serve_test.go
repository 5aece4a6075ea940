package console_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
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

// TestListenLoopbackHosts: a console that Listen serves on the loopback
// interface answers only requests for a loopback host. A page of another
// site that the operator's browser opens can make its own name resolve to
// 127.0.0.1 (DNS rebinding) and read the tree, events and errors as if it
// were the console's own origin; its requests name its own host.
func TestListenLoopbackHosts(t *testing.T) {
	f := newFixture(t)
	srv, err := console.Listen(context.Background(), "", f.tree, console.WithToken(token))
	require.NoError(t, err)
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1 : len(srv.URL)-1]
	get := func(host, path string) int {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		return res.StatusCode
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port, "app.localhost:" + port, "[::1]:" + port, "127.0.0.2:" + port, "localhost"} {
		assert.Equal(t, 200, get(host, "api/tree"), host)
	}
	for _, host := range []string{"evil.example:" + port, "evil.example", "localhost.evil.example:" + port, "10.0.0.1:" + port, "[::ffff:10.0.0.1]:" + port} {
		for _, path := range []string{"", "api/tree", "api/events"} {
			assert.Equal(t, 403, get(host, path), "%s %s", host, path)
		}
	}
}

// TestListenWithTheTreesContext: a program that gives Listen the context
// it runs its tree with (the signal context of main) keeps its console
// while the tree stops: the clients see the shutdown and the streams'
// "end", rather than a connection cut as the signal arrives.
func TestListenWithTheTreesContext(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	slow := func(ctx context.Context) error { // a child that takes its time to stop
		<-ctx.Done()
		<-release
		return nil
	}
	tr, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(slow)},
		{Name: "api", Run: runtime.Func(idle), After: []string{"db"}},
	}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := console.Listen(ctx, "", tr)
	require.NoError(t, err)
	defer srv.Close()
	ran := make(chan error, 1)
	go func() { ran <- tr.Run(ctx) }()
	<-tr.Ready()

	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	ch := stream(t, sctx, srv.URL+"api/events")
	next(t, ch)
	cancel() // SIGTERM
	var msgs []message
	for m := range ch {
		msgs = append(msgs, m)
		if strings.Contains(m.data, `"path":"shop/api"`) && strings.Contains(m.data, `"kind":"stopped"`) {
			free() // api has stopped, and the client saw it: now db
		}
	}
	free()
	require.NoError(t, <-ran)
	require.NotEmpty(t, msgs)
	assert.Equal(t, "end", msgs[len(msgs)-1].event, "the stream ends with its end message: %v", msgs)
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped once the tree had")
	}
}
