package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

func TestStream(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(console.Handler(f.tree))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	last := f.tree.LastEvent()
	ch := stream(t, ctx, srv.URL+"/api/events")
	for seq := uint64(1); seq <= last; seq++ {
		m := next(t, ch)
		assert.Equal(t, itoa(seq), m.id, "the journal first, in order")
		assert.Empty(t, m.event)
	}
	f.crash(t) // live: exited, restart scheduled, starting
	var kinds []string
	for i := range 3 {
		m := next(t, ch)
		assert.Equal(t, itoa(last+uint64(i)+1), m.id)
		var e console.Event
		require.NoError(t, json.Unmarshal([]byte(m.data), &e))
		assert.Equal(t, m.id, itoa(e.Seq))
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []string{"exited", "restart scheduled", "starting"}, kinds)

	// A client that reconnects with Last-Event-ID gets what followed it,
	// without a gap; ?after= does the same for clients that cannot set it.
	resumed := stream(t, ctx, srv.URL+"/api/events", "Last-Event-ID", itoa(last+1))
	assert.Equal(t, itoa(last+2), next(t, resumed).id)
	assert.Equal(t, itoa(last+3), next(t, resumed).id)
	after := stream(t, ctx, srv.URL+"/api/events?after="+itoa(last+2))
	assert.Equal(t, itoa(last+3), next(t, after).id)

	// When the tree stops: its last events, then "end", then the stream closes.
	f.stop()
	for {
		m := next(t, ch)
		if m.event == "end" {
			break
		}
		require.NotEmpty(t, m.id)
	}
	_, open := <-ch
	assert.False(t, open, "closed after end")
}

// TestStreamUpToDate: a client that resumes with nothing new learns at once
// that it is connected (the headers and the retry line come first).
func TestStreamUpToDate(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(console.Handler(f.tree))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", itoa(f.tree.LastEvent()))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "the response starts before anything happens")
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "retry: 2000\n", line)
}

func TestStreamGap(t *testing.T) {
	f := newFixture(t, runtime.WithJournal(2))
	srv := httptest.NewServer(console.Handler(f.tree))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	last := f.tree.LastEvent()
	ch := stream(t, ctx, srv.URL+"/api/events", "Last-Event-ID", "1")
	gap := next(t, ch)
	assert.Equal(t, "gap", gap.event)
	var g console.Gap
	require.NoError(t, json.Unmarshal([]byte(gap.data), &g))
	assert.Equal(t, last-2-1, g.Missed)
	assert.Equal(t, itoa(last-1), next(t, ch).id)
	assert.Equal(t, itoa(last), next(t, ch).id)
}

func TestStreamHead(t *testing.T) {
	f := newFixture(t)
	res := do(console.Handler(f.tree), "HEAD", "/api/events", nil, "Accept", "text/event-stream")
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
}

// TestAnswersNameTheirRun: every answer, JSON or stream, names the run of
// the tree that made it, the same from every Handler of the tree, so that a
// client resuming with Last-Event-ID, or a page that reads the tree, can
// tell a restarted program (another tree) from the one it followed, though
// the program made a Handler for each of its listeners, or a new one at
// each request.
func TestAnswersNameTheirRun(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree)
	run := do(h, "GET", "/api/events", nil).Header.Get(console.RunHeader)
	require.NotEmpty(t, run)
	assert.Equal(t, run, do(h, "GET", "/api/events?after=1", nil).Header.Get(console.RunHeader))
	assert.Equal(t, run, do(h, "HEAD", "/api/events", nil, "Accept", "text/event-stream").Header.Get(console.RunHeader))
	assert.Equal(t, run, do(h, "GET", "/api/events?after=x", nil).Header.Get(console.RunHeader), "a refusal too")
	res := do(h, "GET", "/api/tree", nil)
	assert.Equal(t, run, res.Header.Get(console.RunHeader))
	assert.Equal(t, run, decode[console.Tree](t, res).Run)
	assert.Equal(t, run, do(h, "GET", "/", nil).Header.Get(console.RunHeader))
	assert.Equal(t, run, do(console.Handler(f.tree), "GET", "/api/events", nil).Header.Get(console.RunHeader),
		"another Handler of the same tree: the same run")
	other := do(console.Handler(newFixture(t).tree), "GET", "/api/events", nil).Header.Get(console.RunHeader)
	assert.NotEqual(t, run, other, "another tree: another run")
}

// TestStreamDropsClientThatDoesNotRead: a client that opens the stream
// and never reads is dropped once a write has waited for it past the
// stall timeout, rather than holding its handler, and what the handler
// built for it, for as long as it keeps the connection open.
func TestStreamDropsClientThatDoesNotRead(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{
		Name:         "t",
		RestartLimit: &runtime.RestartLimit{Max: 1 << 30, Window: time.Hour},
		Children: []runtime.Child{{Name: "loop", Backoff: &runtime.Backoff{}, Run: runtime.Func(func(context.Context) error {
			return errors.New(strings.Repeat("x", 500))
		})}},
	}, runtime.WithJournal(20000))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for tr.LastEvent() < 20000 { // about 20 MB of stream: more than the sockets buffer
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, tr.Handle("t/loop").Stop())

	returned := make(chan struct{})
	var logs logBuffer
	h := console.Handler(tr, console.WithStallTimeout(200*time.Millisecond), console.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(4096))
	_, err = c.Write([]byte("GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"))
	require.NoError(t, err)
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		c.Close() // so that the handler ends and the test does not leak it
		<-returned
		t.Fatal("the stream still waits for a client that does not read")
	}
	// Logged: a dashboard that goes quiet has a reason an operator can read.
	assert.Contains(t, logs.String(), `msg="arbor console: client dropped" method=GET path=/api/events remote=127.0.0.1:`)
	assert.Contains(t, logs.String(), `why="it took nothing of the answer for 200ms"`)
}

// hiding is a middleware's writer that hides the server's: it can
// neither flush nor be unwrapped.
type hiding struct{ http.ResponseWriter }

// TestStreamBehindWriterThatCannotFlush: behind a middleware whose writer
// cannot flush (nor unwrap to one that can, as http.TimeoutHandler's), a
// stream would send nothing until its end, and a browser reconnect for
// ever: the console says why with a 500, and the JSON answer still works.
func TestStreamBehindWriterThatCannotFlush(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(hiding{w}, r)
	}))
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL+"/api/events", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	var e console.Error
	require.NoError(t, json.NewDecoder(res.Body).Decode(&e))
	assert.Contains(t, e.Error, "flush")

	res, err = http.Get(srv.URL + "/api/events")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// TestRunNamesKeepNoTree: naming a tree's run keeps neither the tree nor
// its name once the program has dropped both: a program that builds a
// tree, and its console, for each of its runs does not pile them up.
func TestRunNamesKeepNoTree(t *testing.T) {
	before := console.RunsKnown()
	for range 10 {
		tr, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: runtime.Func(idle)}}})
		require.NoError(t, err)
		console.Handler(tr)
	}
	require.Equal(t, before+10, console.RunsKnown())
	deadline := time.Now().Add(5 * time.Second)
	for console.RunsKnown() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d names of dropped trees' runs are kept", console.RunsKnown()-before)
		}
		goruntime.GC()
		time.Sleep(time.Millisecond)
	}
}
