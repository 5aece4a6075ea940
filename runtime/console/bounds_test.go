package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// bigJournal returns a running fixture whose journal holds more than two
// pages of events.
func bigJournal(t *testing.T) *fixture {
	f := newFixture(t, runtime.WithJournal(3*console.MaxEvents))
	pool := f.tree.Pool("shop/conns")
	for f.tree.LastEvent() < uint64(2*console.MaxEvents+10) {
		h, err := pool.Start("", runtime.Func(idle))
		if errors.Is(err, runtime.ErrPoolFull) {
			time.Sleep(time.Millisecond) // the stops take their time
			continue
		}
		require.NoError(t, err)
		require.NoError(t, h.Stop())
	}
	return f
}

// TestEventsPaged: a JSON answer holds at most MaxEvents events, the
// oldest after the one asked for, and says that more follow: a client
// pages through a large journal with ?after=, and gets every event once,
// in order, without building the whole journal in one answer.
func TestEventsPaged(t *testing.T) {
	f := bigJournal(t)
	h := console.Handler(f.tree)
	last := f.tree.LastEvent()
	var after uint64
	pages := 0
	for {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("/api/events?after=%d", after), nil))
		require.Equal(t, http.StatusOK, rec.Code)
		var evs console.Events
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &evs))
		require.LessOrEqual(t, len(evs.Events), console.MaxEvents)
		assert.Zero(t, evs.Missed)
		for _, e := range evs.Events {
			require.Equal(t, after+1, e.Seq, "in order, without gaps")
			after = e.Seq
		}
		assert.Equal(t, after, evs.LastEvent)
		pages++
		if !evs.More {
			break
		}
		require.Len(t, evs.Events, console.MaxEvents, "a full page when more follow")
	}
	assert.GreaterOrEqual(t, after, last)
	assert.GreaterOrEqual(t, pages, 3)
}

// TestEventsBareIsLatest: without after, the answer is the latest page of
// a journal larger than a page, as "recent events" promises, not its
// oldest page.
func TestEventsBareIsLatest(t *testing.T) {
	f := bigJournal(t)
	h := console.Handler(f.tree)
	last := f.tree.LastEvent()
	require.Greater(t, last, uint64(console.MaxEvents))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/events", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var evs console.Events
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &evs))
	require.Len(t, evs.Events, console.MaxEvents)
	end := evs.Events[len(evs.Events)-1].Seq // stops may still be under way
	assert.GreaterOrEqual(t, end, last)
	assert.Equal(t, evs.LastEvent, end)
	assert.Equal(t, end-console.MaxEvents+1, evs.Events[0].Seq)
	assert.False(t, evs.More)
	assert.Zero(t, evs.Missed)
}

// writes records what a stream writes, each write apart.
type writes struct {
	mu     sync.Mutex
	header http.Header
	writes []string
	cancel context.CancelFunc
	until  uint64 // cancel once the event with this id is written
}

func (w *writes) Header() http.Header { return w.header }
func (w *writes) WriteHeader(int)     {}
func (w *writes) Flush()              {}
func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	if strings.Contains(string(p), fmt.Sprintf("id: %d\n", w.until)) {
		w.cancel()
	}
	return len(p), nil
}

// TestStreamCatchUpChunked: a stream catches up on a large journal in
// writes of at most StreamChunk events, rather than building every missed
// event into one buffer.
func TestStreamCatchUpChunked(t *testing.T) {
	f := bigJournal(t)
	last := f.tree.LastEvent()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := &writes{header: http.Header{}, cancel: cancel, until: last}
	req := httptest.NewRequest("GET", "/api/events", nil).WithContext(ctx)
	req.Header.Set("Accept", "text/event-stream")
	console.Handler(f.tree).ServeHTTP(w, req)
	require.NotErrorIs(t, ctx.Err(), context.DeadlineExceeded, "every event sent")
	w.mu.Lock()
	defer w.mu.Unlock()
	var seq uint64
	for _, s := range w.writes {
		n := 0
		for line := range strings.Lines(s) {
			if id, ok := strings.CutPrefix(line, "id: "); ok {
				n++
				seq++
				require.Equal(t, fmt.Sprint(seq), strings.TrimSpace(id))
			}
		}
		assert.LessOrEqual(t, n, console.StreamChunk)
	}
	assert.GreaterOrEqual(t, seq, last)
}

// TestLongErrorsClipped: a child whose errors are a megabyte long (a
// response body wrapped into an error, say) does not make every answer
// about it a megabyte per event: the console clips error texts to
// console.MaxText bytes and says how long they were.
func TestLongErrorsClipped(t *testing.T) {
	long := strings.Repeat("é", 1<<19) // 1 MB, two bytes a rune
	fails := make(chan struct{})
	tr, err := runtime.New(runtime.Spec{Name: "t", Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour},
		Children: []runtime.Child{{Name: "a", Run: runtime.Func(func(ctx context.Context) error {
			select {
			case <-fails:
				return errors.New("upstream said: " + long)
			case <-ctx.Done():
				return nil
			}
		})}}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-tr.Ready()
	close(fails)
	for c, _ := tr.Snapshot().Child("t/a"); c.State != runtime.StateBackoff; c, _ = tr.Snapshot().Child("t/a") {
		time.Sleep(time.Millisecond)
	}
	h := console.Handler(tr)
	for _, target := range []string{"/api/events", "/api/tree"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Less(t, rec.Body.Len(), 8*console.MaxText, "%s: %d bytes", target, rec.Body.Len())
		assert.Contains(t, rec.Body.String(), "upstream said: éé", target)
		assert.Contains(t, rec.Body.String(), "bytes)", target)
	}
}

// TestSlowReaderDropped: a client that asks for the tree and does not
// read the answer is dropped once a write has waited for it longer than
// the stall timeout, as a stream's client is: it must not hold a handler,
// and the snapshot built for it, for as long as it keeps the connection.
func TestSlowReaderDropped(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "big", Children: []runtime.Child{
		{Name: "conns", Pool: &runtime.PoolSpec{}},
	}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-tr.Ready()
	for range 20000 {
		_, err := tr.Pool("big/conns").Start("", runtime.Func(idle))
		require.NoError(t, err)
	}

	returned := make(chan struct{}, 1)
	h := console.Handler(tr, console.WithStallTimeout(200*time.Millisecond))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	defer srv.Close()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /api/tree HTTP/1.1\r\nHost: localhost\r\n\r\n")
	require.NoError(t, err)
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still writes to a client that does not read")
	}
}

// TestIdleConnectionsClosed: Listen's server closes a connection that
// stays idle after a request: clients that keep connections open without
// asking for anything would otherwise pile them up until the process runs
// out of file descriptors, which it shares with the program.
func TestIdleConnectionsClosed(t *testing.T) {
	defer console.SetIdleTimeout(200 * time.Millisecond)()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := console.Listen(ctx, "127.0.0.1:0", f.tree)
	require.NoError(t, err)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /api/events?after=%d HTTP/1.1\r\nHost: localhost\r\n\r\n", f.tree.LastEvent())
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	_, err = io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	// Now idle: the server closes the connection.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = conn.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the server closed the idle connection")
}

// TestSlowBodyDropped: a client that announces a body and never sends it
// (or sends it a byte at a time) is dropped once it has not sent any of it
// for the stall timeout, whether its request is refused, is an order or
// is a read, so that half-open clients cannot pile up connections, each
// with its goroutine and buffers, until the process runs out of file
// descriptors. Listen's idle timeout does not apply: the request is
// under way.
func TestSlowBodyDropped(t *testing.T) {
	defer console.SetIdleTimeout(time.Hour)()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := console.Listen(ctx, "127.0.0.1:0", f.tree, console.WithToken(token), console.WithStallTimeout(200*time.Millisecond))
	require.NoError(t, err)
	defer srv.Close()
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/")
	for _, req := range []string{
		"POST /api/restart?path=shop/db HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n",                                         // refused: no token
		"POST /api/restart HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + token + "\r\nContent-Length: 100\r\n\r\n{",              // an order
		"POST /api/stop HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + token + "\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n", // chunked
		"GET /api/tree HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n",                                                          // a read with a body
	} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, req)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err = io.Copy(io.Discard, conn)
		assert.NoError(t, err, "%q: the server closes the connection", req)
	}

	// A body that comes in time is read, and the deadline it had does not
	// outlive its request: the connection serves the next one later.
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	br := bufio.NewReader(conn)
	body := `{"path": "shop/db"}`
	_, err = fmt.Fprintf(conn, "POST /api/restart HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body)
	require.NoError(t, err)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	assert.Equal(t, http.StatusAccepted, res.StatusCode)
	time.Sleep(400 * time.Millisecond) // past the stall timeout
	_, err = fmt.Fprintf(conn, "GET /api/tree HTTP/1.1\r\nHost: localhost\r\n\r\n")
	require.NoError(t, err)
	res, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// stalled is a client that takes the first write of a stream and then
// stops reading: the next write blocks until release is closed.
type stalled struct {
	header  http.Header
	n       int
	blocked chan struct{} // closed when a write blocks
	release chan struct{}
}

func (w *stalled) Header() http.Header { return w.header }
func (w *stalled) WriteHeader(int)     {}
func (w *stalled) Flush()              {}
func (w *stalled) Write(p []byte) (int, error) {
	if w.n++; w.n > 1 {
		close(w.blocked)
		<-w.release
		return 0, errors.New("gone")
	}
	return len(p), nil
}

// longErrors returns a tree that has ended after n events or more, of a
// child that failed at once, again and again, with errors longer than
// MaxText.
func longErrors(t *testing.T, n uint64) *runtime.Tree {
	long := strings.Repeat("x", 2*console.MaxText)
	tr, err := runtime.New(runtime.Spec{Name: "t",
		Backoff:      &runtime.Backoff{Initial: time.Microsecond, Max: time.Microsecond},
		RestartLimit: &runtime.RestartLimit{Max: 1 << 20, Window: time.Hour},
		Children: []runtime.Child{{Name: "a", Run: runtime.Func(func(ctx context.Context) error {
			return errors.New(long)
		})}}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	for tr.LastEvent() < n {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	return tr
}

// TestStalledStreamHoldsLittle: a stream whose client stopped reading
// holds about one event while it waits for the client, not a page of
// them built in one buffer: many stalled clients (they are dropped only
// after the stall timeout) must not add up to the journal's size each.
func TestStalledStreamHoldsLittle(t *testing.T) {
	tr := longErrors(t, 2*console.StreamChunk)

	before := heapInUse()
	w := &stalled{header: http.Header{}, blocked: make(chan struct{}), release: make(chan struct{})}
	req := httptest.NewRequest("GET", "/api/events?after=0", nil)
	req.Header.Set("Accept", "text/event-stream")
	served := make(chan struct{})
	go func() {
		defer close(served)
		console.Handler(tr).ServeHTTP(w, req)
	}()
	<-w.blocked
	held := int64(heapInUse()) - int64(before)
	close(w.release)
	<-served
	// A page of StreamChunk events of 8 KB of text each would be 2 MB.
	assert.Less(t, held, int64(256<<10), "a stalled stream holds %d KB", held>>10)
}

func heapInUse() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestStalledEventsAnswerHoldsLittle: GET /api/events in JSON, to a client
// that stopped reading, holds about one event while it waits, not the
// page of MaxEvents built in one buffer: reading needs no token, and each
// such client would hold megabytes (MaxEvents events with errors of
// MaxText) until the stall timeout. The answer is the JSON the encoder
// writes, byte for byte.
func TestStalledEventsAnswerHoldsLittle(t *testing.T) {
	tr := longErrors(t, 2*console.MaxEvents)

	h := console.Handler(tr)
	before := heapInUse()
	w := &stalled{header: http.Header{}, blocked: make(chan struct{}), release: make(chan struct{})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		h.ServeHTTP(w, httptest.NewRequest("GET", "/api/events", nil))
	}()
	<-w.blocked
	held := int64(heapInUse()) - int64(before)
	close(w.release)
	<-served
	// MaxEvents events of 8 KB of text each would be 8 MB.
	assert.Less(t, held, int64(1<<20), "a stalled answer holds %d KB", held>>10)

	for _, target := range []string{"/api/events", "/api/events?after=5", fmt.Sprintf("/api/events?after=%d", tr.LastEvent())} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		require.Equal(t, http.StatusOK, rec.Code)
		var evs console.Events
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &evs))
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		require.NoError(t, enc.Encode(evs))
		assert.Equal(t, want.String(), rec.Body.String(), target)
	}
}

// gatedError is an error whose Error method, once gate is set, counts its
// calls and waits until gate is closed: a snapshot that reads it is held
// there.
type gatedError struct {
	mu    sync.Mutex
	calls int
	gate  chan struct{}
}

func (e *gatedError) Error() string {
	e.mu.Lock()
	gate := e.gate
	if gate != nil {
		e.calls++
	}
	e.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return "gated"
}

// TestTreeSnapshotsTakeTurns: GET /api/tree reads a snapshot of every
// child, every instance of every pool (41 MB with 100k of them), and
// reading needs no token: concurrent readers each made their own (30 at
// once took 500 MB more), so they take turns instead. The second waits
// while the first reads; both are answered.
func TestTreeSnapshotsTakeTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := &gatedError{}
		tr, err := runtime.New(runtime.Spec{Name: "t", Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour},
			Children: []runtime.Child{{Name: "a", Run: runtime.Func(func(ctx context.Context) error { return bad })}}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()
		synctest.Wait() // a failed, in its backoff
		h := console.Handler(tr)
		gate := make(chan struct{})
		bad.mu.Lock()
		bad.gate = gate
		bad.mu.Unlock()
		codes := make(chan int, 2)
		for range 2 {
			go func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/tree?instances=0", nil))
				codes <- rec.Code
			}()
		}
		synctest.Wait()
		bad.mu.Lock()
		calls := bad.calls
		bad.gate = nil
		bad.mu.Unlock()
		assert.Equal(t, 1, calls, "one snapshot at a time")
		close(gate)
		assert.Equal(t, http.StatusOK, <-codes)
		assert.Equal(t, http.StatusOK, <-codes)
		cancel()
		<-done
	})
}
