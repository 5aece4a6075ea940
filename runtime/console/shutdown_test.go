package console_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
