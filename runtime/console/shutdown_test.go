package console_test

import (
	"context"
	"fmt"
	"log/slog"
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

// TestOrdersAndStreamsDuringShutdown: while orders rain on a tree and
// streams follow it, the tree stops. Every order gets an answer that says
// what became of it (202, or 409 once the tree has ended; a child that
// stopped may be 202 or 409), every stream ends with its "end" message after
// the tree's last event, and Close returns with no goroutine left behind
// (TestMain checks).
func TestOrdersAndStreamsDuringShutdown(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := console.Listen(ctx, "127.0.0.1:0", f.tree, console.WithToken(token), console.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer srv.Close()

	var streams []<-chan message
	for range 8 {
		streams = append(streams, stream(t, ctx, srv.URL+"api/events"))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	stop := make(chan struct{})
	for i := range 8 {
		wg.Go(func() {
			paths := []string{"shop/db", "shop/api", "shop/flaky", "shop/ingest", "shop/ingest/fetch", "shop/conns"}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				order := "restart"
				if (i+n)%5 == 0 {
					order = "stop"
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"api/"+order+"?path="+paths[(i+n)%len(paths)], nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server closed
				}
				res.Body.Close()
				mu.Lock()
				codes[res.StatusCode]++
				mu.Unlock()
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	f.stop() // the tree stops under the orders
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	last := f.tree.LastEvent()
	for i, ch := range streams {
		var seen uint64
		ended := false
		for m := range ch {
			if m.event == "end" {
				ended = true
				continue
			}
			if m.id != "" {
				var seq uint64
				fmt.Sscan(m.id, &seq)
				require.Greater(t, seq, seen, "stream %d: in order", i)
				seen = seq
			}
		}
		assert.True(t, ended, "stream %d ends with end", i)
		assert.Equal(t, last, seen, "stream %d: every event up to the last", i)
	}
	mu.Lock()
	defer mu.Unlock()
	for code := range codes {
		assert.Contains(t, []int{http.StatusAccepted, http.StatusConflict}, code, "codes: %v", codes)
	}
	// An order after the end is refused with 409.
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"api/restart?path=shop/db", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	require.NoError(t, srv.Close())
}

// stoppingFixture is a running tree whose child slow, at the root and in
// the nested supervisor ingest, holds its shutdown until release is
// closed: the tree, or ingest, stays stopping meanwhile.
func stoppingFixture(t *testing.T) (tr *runtime.Tree, cancel func(), release chan struct{}) {
	t.Helper()
	release = make(chan struct{})
	slow := func(ctx context.Context) error {
		<-ctx.Done()
		<-release
		return nil
	}
	tr, err := runtime.New(runtime.Spec{
		Name: "shop",
		Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(idle)},
			{Name: "ingest", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "fetch", Run: runtime.Func(idle)},
				{Name: "slow", Run: runtime.Func(slow), Shutdown: time.Minute},
			}}},
			{Name: "conns", Pool: &runtime.PoolSpec{}},
			{Name: "slow", Run: runtime.Func(slow), Shutdown: time.Minute},
		},
	})
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Run(ctx)
	}()
	var once sync.Once
	t.Cleanup(func() {
		stop()
		once.Do(func() { close(release) })
		<-done
	})
	select {
	case <-tr.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("tree not ready")
	}
	return tr, stop, release
}

// TestRestartWhileStoppingIsRefused: a restart ordered while the tree
// stops, or to a child whose supervisor stops, would come to nothing, as
// the supervisor stops everything anyway (Handle.Restart refuses it): the
// console answers 409 and says why, not 202 for a restart that never
// comes. A stop is what happens anyway: 202.
func TestRestartWhileStoppingIsRefused(t *testing.T) {
	tr, cancel, _ := stoppingFixture(t)
	var logs logBuffer
	h := console.Handler(tr, console.WithToken(token), console.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	auth := "Bearer " + token
	_, err := tr.Pool("shop/conns").Start("c1", runtime.Func(idle))
	require.NoError(t, err)

	// The nested supervisor stops: its children's restarts are refused.
	require.NoError(t, tr.Handle("shop/ingest").Stop())
	waitState(t, tr, "shop/ingest/slow", runtime.StateStopping)
	res := do(h, "POST", "/api/restart?path=shop/ingest/fetch", nil, "Authorization", auth)
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Equal(t, "restart shop/ingest/fetch: arbor: supervisor is not running: shop/ingest, the supervisor of shop/ingest/fetch, is stopping", decode[console.Error](t, res).Error)

	// The tree stops.
	cancel()
	waitState(t, tr, "shop/slow", runtime.StateStopping)
	for _, p := range []string{"shop/db", "shop/slow", "shop/conns/c1", "shop/ingest"} {
		res := do(h, "POST", "/api/restart?path="+p, nil, "Authorization", auth)
		assert.Equal(t, http.StatusConflict, res.StatusCode, p)
		msg := decode[console.Error](t, res).Error
		assert.True(t, strings.HasPrefix(msg, "restart "+p+": arbor: supervisor is not running: "), msg)
		assert.True(t, strings.HasSuffix(msg, " is stopping") || strings.HasSuffix(msg, " with it"), msg)
	}
	assert.Contains(t, logs.String(), `msg="arbor console: order" path=shop/db order=restart remote=192.0.2.7:5555 err="arbor: supervisor is not running: shop, the supervisor of shop/db, is stopping"`)
	res = do(h, "POST", "/api/stop?path=shop/db", nil, "Authorization", auth)
	assert.Equal(t, http.StatusAccepted, res.StatusCode, "a stop while the tree stops is what happens anyway")
	evs, _ := tr.Journal(0)
	for _, e := range evs {
		if e.Kind == runtime.EventOrder {
			assert.Equal(t, runtime.OrderStop, e.Order, "no restart was ordered: %s", e)
		}
	}
}

func waitState(t *testing.T, tr *runtime.Tree, path string, want runtime.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tr.Handle(path).State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s, not %s", path, tr.Handle(path).State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
