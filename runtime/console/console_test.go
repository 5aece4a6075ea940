package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const token = "s3cret-t0ken"

// fixture is a running tree: db, api after db, flaky (fails on demand),
// and a nested supervisor ingest with fetch; and a pool conns.
type fixture struct {
	tree *runtime.Tree
	fail chan struct{} // a send makes flaky fail once
	stop func()
}

func idle(ctx context.Context) error { <-ctx.Done(); return nil }

func newFixture(t *testing.T, opts ...runtime.Option) *fixture {
	t.Helper()
	f := &fixture{fail: make(chan struct{})}
	flaky := func(ctx context.Context) error {
		select {
		case <-f.fail:
			return errors.New("flaky <b>failed</b>")
		case <-ctx.Done():
			return nil
		}
	}
	tr, err := runtime.New(runtime.Spec{
		Name:    "shop",
		Backoff: &runtime.Backoff{},
		Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(idle)},
			{Name: "api", Run: runtime.Func(idle), After: []string{"db"}},
			{Name: "flaky", Run: runtime.Func(flaky)},
			{Name: "ingest", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "fetch", Run: runtime.Func(idle)}}}},
			{Name: "conns", Pool: &runtime.PoolSpec{Max: 10}},
		},
	}, opts...)
	require.NoError(t, err)
	f.tree = tr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Run(ctx)
	}()
	f.stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(f.stop)
	select {
	case <-tr.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("tree not ready")
	}
	return f
}

// crash makes flaky fail and waits for its restart.
func (f *fixture) crash(t *testing.T) {
	t.Helper()
	gen := f.status(t, "shop/flaky").Generation
	f.fail <- struct{}{}
	f.waitFor(t, "flaky restarted", func() bool {
		c := f.status(t, "shop/flaky")
		return c.Generation > gen && c.State == runtime.StateRunning
	})
}

func (f *fixture) status(t *testing.T, path string) runtime.ChildStatus {
	t.Helper()
	c, ok := f.tree.Snapshot().Child(path)
	require.True(t, ok, "no child %s", path)
	return c
}

func (f *fixture) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// do serves one request with the handler and returns the response.
func do(h http.Handler, method, target string, body io.Reader, hdr ...string) *http.Response {
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "192.0.2.7:5555"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func decode[T any](t *testing.T, res *http.Response) T {
	t.Helper()
	var v T
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"), "body: %s", body)
	require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	return v
}

func TestPage(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree)
	res := do(h, "GET", "/", nil)
	require.Equal(t, 200, res.StatusCode)
	body, _ := io.ReadAll(res.Body)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, string(body), "<script>")
	assert.NotContains(t, string(body), "http://", "no external assets")
	assert.NotContains(t, string(body), "https://", "no external assets")
	csp := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.Contains(t, csp, "script-src 'sha256-")
	assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	res = do(h, "HEAD", "/", nil)
	assert.Equal(t, 200, res.StatusCode)
	res = do(h, "POST", "/", nil)
	assert.Equal(t, 405, res.StatusCode)
	assert.Equal(t, "GET, HEAD", res.Header.Get("Allow"))
}

func TestUnknownPaths(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree, console.WithToken(token))
	for _, p := range []string{"/api", "/api/", "/api/trees", "/index.html", "/api/restart/shop/db", "/../etc/passwd"} {
		res := do(h, "GET", p, nil)
		assert.Equal(t, 404, res.StatusCode, p)
		assert.Contains(t, decode[console.Error](t, res).Error, "no such path", p)
	}
}

func TestTree(t *testing.T) {
	f := newFixture(t)
	f.crash(t)
	_, err := f.tree.Pool("shop/conns").Start("c1", runtime.Func(idle))
	require.NoError(t, err)
	f.waitFor(t, "instance running", func() bool { return f.tree.Pool("shop/conns").Counts().Running == 1 })

	res := do(console.Handler(f.tree), "GET", "/api/tree", nil)
	require.Equal(t, 200, res.StatusCode)
	tr := decode[console.Tree](t, res)
	assert.Equal(t, "shop", tr.Tree)
	assert.Equal(t, "ready", tr.Health)
	assert.False(t, tr.Control, "no token")
	assert.Equal(t, f.tree.LastEvent(), tr.LastEvent)
	assert.WithinDuration(t, time.Now(), tr.Time, time.Minute)

	var paths []string
	byPath := map[string]console.Child{}
	for _, c := range tr.Children {
		paths = append(paths, c.Path)
		byPath[c.Path] = c
	}
	assert.Equal(t, []string{"shop/db", "shop/api", "shop/flaky", "shop/ingest", "shop/ingest/fetch", "shop/conns", "shop/conns/c1"}, paths)
	db := byPath["shop/db"]
	assert.Equal(t, "worker", db.Kind)
	assert.Equal(t, "running", db.State)
	assert.True(t, db.Ready)
	assert.EqualValues(t, 1, db.Generation)
	assert.Equal(t, 1, db.Attempt)
	assert.Equal(t, "none", db.LastExit)
	assert.Equal(t, []string{"db"}, byPath["shop/api"].After)

	flaky := byPath["shop/flaky"]
	assert.EqualValues(t, 2, flaky.Generation)
	assert.Equal(t, 1, flaky.Restarts)
	assert.Equal(t, "error", flaky.LastExit)
	assert.Equal(t, "flaky <b>failed</b>", flaky.LastError)

	assert.Equal(t, "supervisor", byPath["shop/ingest"].Kind)
	conns := byPath["shop/conns"]
	assert.Equal(t, "pool", conns.Kind)
	require.NotNil(t, conns.Pool)
	assert.Equal(t, 1, conns.Pool.Live)
	assert.Equal(t, 1, conns.Pool.Running)
	assert.EqualValues(t, 1, conns.Pool.Started)
	assert.Equal(t, "instance", byPath["shop/conns/c1"].Kind)

	// The fields the contract names are in the JSON under these names.
	res = do(console.Handler(f.tree), "GET", "/api/tree", nil)
	var raw struct {
		Children []map[string]any `json:"children"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&raw))
	for _, k := range []string{"path", "state", "generation", "attempt", "restarts"} {
		assert.Contains(t, raw.Children[0], k)
	}

	assert.True(t, decode[console.Tree](t, do(console.Handler(f.tree, console.WithToken(token)), "GET", "/api/tree", nil)).Control)
	res = do(console.Handler(f.tree), "DELETE", "/api/tree", nil)
	assert.Equal(t, 405, res.StatusCode)
}

func TestEventsJSON(t *testing.T) {
	f := newFixture(t)
	f.crash(t)
	h := console.Handler(f.tree)
	all := decode[console.Events](t, do(h, "GET", "/api/events", nil))
	require.NotEmpty(t, all.Events)
	assert.Zero(t, all.Missed)
	for i, e := range all.Events {
		assert.EqualValues(t, i+1, e.Seq)
		assert.NotEmpty(t, e.Text)
	}
	assert.Equal(t, all.Events[len(all.Events)-1].Seq, all.LastEvent)
	var exited *console.Event
	for i, e := range all.Events {
		if e.Kind == "exited" {
			exited = &all.Events[i]
		}
	}
	require.NotNil(t, exited)
	assert.Equal(t, "shop/flaky", exited.Path)
	assert.Equal(t, "error", exited.Exit)
	assert.Equal(t, "flaky <b>failed</b>", exited.Error)
	assert.EqualValues(t, 1, exited.Generation)

	some := decode[console.Events](t, do(h, "GET", "/api/events?after=3", nil))
	assert.Equal(t, all.Events[3:], some.Events)
	none := decode[console.Events](t, do(h, "GET", "/api/events?after="+itoa(all.LastEvent), nil))
	assert.Empty(t, none.Events)
	assert.Equal(t, all.LastEvent, none.LastEvent)
	stale := decode[console.Events](t, do(h, "GET", "/api/events?after=999999", nil))
	assert.Equal(t, all.Events, stale.Events, "a number from an earlier run of the program: everything")

	for _, bad := range []string{"?after=x", "?after=-1", "?after=1e3"} {
		res := do(h, "GET", "/api/events"+bad, nil)
		assert.Equal(t, 400, res.StatusCode, bad)
		assert.Contains(t, decode[console.Error](t, res).Error, "is not an event number")
	}
	res := do(h, "GET", "/api/events", nil, "Last-Event-ID", "zz")
	assert.Equal(t, 400, res.StatusCode)
}

func TestEventsMissed(t *testing.T) {
	f := newFixture(t, runtime.WithJournal(3))
	f.crash(t)
	got := decode[console.Events](t, do(console.Handler(f.tree), "GET", "/api/events?after=1", nil))
	assert.Len(t, got.Events, 3)
	assert.Equal(t, f.tree.LastEvent()-3-1, got.Missed)
}

func itoa(n uint64) string { return strings.TrimSpace(string(must(json.Marshal(n)))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// message is one Server-Sent Event.
type message struct {
	id, event, data string
}

// stream opens the event stream and returns its messages as they come.
func stream(t *testing.T, ctx context.Context, url string, hdr ...string) <-chan message {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	out := make(chan message, 1000)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var m message
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.data != "" {
					out <- m
				}
				m = message{}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.data = line[6:]
			}
		}
	}()
	return out
}

func next(t *testing.T, ch <-chan message) message {
	t.Helper()
	select {
	case m, ok := <-ch:
		require.True(t, ok, "stream closed")
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	return message{}
}

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

// logBuffer is a slog handler's output, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestControl(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	h := console.Handler(f.tree, console.WithToken(token), console.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	res := do(h, "POST", "/api/restart?path=shop/db", nil, "Authorization", "Bearer "+token)
	require.Equal(t, 202, res.StatusCode)
	assert.Equal(t, console.OrderResult{Path: "shop/db", Order: "restart"}, decode[console.OrderResult](t, res))
	f.waitFor(t, "db restarted", func() bool { return f.status(t, "shop/db").Generation == 2 })
	evs, _ := f.tree.Journal(0)
	var order runtime.Event
	for _, e := range evs {
		if e.Kind == runtime.EventOrder {
			order = e
		}
	}
	assert.Equal(t, "shop/db", order.Path)
	assert.Equal(t, runtime.OrderRestart, order.Order)
	assert.Equal(t, "console 192.0.2.7:5555", order.From)
	assert.Contains(t, logs.String(), `msg="arbor console: order" path=shop/db order=restart remote=192.0.2.7:5555`)

	// A JSON body instead of the query; a stop keeps the child stopped.
	res = do(h, "POST", "/api/stop", strings.NewReader(`{"path": "shop/ingest/fetch"}`),
		"Authorization", "bearer "+token, "Content-Type", "application/json")
	require.Equal(t, 202, res.StatusCode)
	f.waitFor(t, "fetch stopped", func() bool { return f.status(t, "shop/ingest/fetch").State == runtime.StateStopped })
	assert.Contains(t, logs.String(), "path=shop/ingest/fetch order=stop")

	// Same-origin requests from the page pass.
	res = do(h, "POST", "/api/restart?path=shop/ingest/fetch", nil, "Authorization", "Bearer "+token,
		"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com")
	require.Equal(t, 202, res.StatusCode)
	f.waitFor(t, "fetch running", func() bool { return f.status(t, "shop/ingest/fetch").State == runtime.StateRunning })
}

// TestControlRefusals: each refusal is a clear 4xx that changes nothing,
// and is logged.
func TestControlRefusals(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	h := console.Handler(f.tree, console.WithToken(token), console.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	off := console.Handler(f.tree)
	auth := "Bearer " + token
	big := `{"path": "shop/db", "pad": "` + strings.Repeat("x", 5000) + `"}`
	for _, c := range []struct {
		name         string
		h            http.Handler
		method, url  string
		body         string
		hdr          []string
		status       int
		want         string
		allow, authn string
	}{
		{"no token configured", off, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", auth}, 403, "control is off: start the console with a token (console.WithToken)", "", ""},
		{"GET", h, "GET", "/api/restart?path=shop/db", "", []string{"Authorization", auth}, 405, "GET is not allowed here; use POST", "POST", ""},
		{"PUT", h, "PUT", "/api/stop?path=shop/db", "", []string{"Authorization", auth}, 405, "use POST", "POST", ""},
		{"no authorization", h, "POST", "/api/restart?path=shop/db", "", nil, 401, "unauthorized", "", `Bearer realm="arbor"`},
		{"wrong token", h, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", "Bearer nope"}, 401, "unauthorized", "", `Bearer realm="arbor"`},
		{"token as a prefix", h, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", auth + "x"}, 401, "unauthorized", "", ""},
		{"empty bearer", h, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", "Bearer "}, 401, "unauthorized", "", ""},
		{"basic scheme", h, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", "Basic " + token}, 401, "unauthorized", "", ""},
		{"token in a cookie", h, "POST", "/api/restart?path=shop/db", "", []string{"Cookie", "token=" + token}, 401, "unauthorized", "", ""},
		{"token in the URL", h, "POST", "/api/restart?path=shop/db&token=" + token, "", []string{"Authorization", auth}, 400, "never in the URL", "", ""},
		{"access_token in the URL", h, "POST", "/api/restart?path=shop/db&access_token=" + token, "", nil, 400, "never in the URL", "", ""},
		{"cross-site fetch", h, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", auth, "Sec-Fetch-Site", "cross-site"}, 403, "refused: a cross-site request", "", ""},
		{"same-site fetch", h, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", auth, "Sec-Fetch-Site", "same-site"}, 403, "cross-site", "", ""},
		{"foreign origin", h, "POST", "/api/restart?path=shop/db", "", []string{"Authorization", auth, "Origin", "http://evil.example"}, 403, "cross-site", "", ""},
		{"no path", h, "POST", "/api/restart", "", []string{"Authorization", auth}, 400, "which child? give its path", "", ""},
		{"unknown child", h, "POST", "/api/restart?path=shop/nope", "", []string{"Authorization", auth}, 404, `no child "shop/nope" in tree shop`, "", ""},
		{"adversarial path", h, "POST", "/api/stop?path=shop%2F..%2F%0Aevil", "", []string{"Authorization", auth}, 404, `no child "shop/../\nevil"`, "", ""},
		{"bad JSON", h, "POST", "/api/restart", `{"path": `, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "bad JSON body", "", ""},
		{"unknown field", h, "POST", "/api/restart", `{"child": "shop/db"}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `unknown field "child"`, "", ""},
		{"two objects", h, "POST", "/api/restart", `{"path": "shop/db"} {}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "one object", "", ""},
		{"wrong type", h, "POST", "/api/restart", `{"path": 7}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "bad JSON body", "", ""},
		{"not JSON", h, "POST", "/api/restart", `path=shop/db`, []string{"Authorization", auth, "Content-Type", "application/x-www-form-urlencoded"}, 415, "must be JSON", "", ""},
		{"body and URL disagree", h, "POST", "/api/restart?path=shop/api", `{"path": "shop/db"}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `the body names "shop/db" and the URL "shop/api"`, "", ""},
		{"oversized body", h, "POST", "/api/restart", big, []string{"Authorization", auth, "Content-Type", "application/json"}, 413, "body too large: at most 4096 bytes", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := f.tree.Snapshot()
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			res := do(c.h, c.method, c.url, body, c.hdr...)
			assert.Equal(t, c.status, res.StatusCode)
			assert.Contains(t, decode[console.Error](t, res).Error, c.want)
			if c.allow != "" {
				assert.Equal(t, c.allow, res.Header.Get("Allow"))
			}
			if c.authn != "" {
				assert.Equal(t, c.authn, res.Header.Get("WWW-Authenticate"))
			}
			time.Sleep(10 * time.Millisecond) // an order, had one been given, would show by now
			after := f.tree.Snapshot()
			for i, c := range before.Children {
				assert.Equal(t, c.Generation, after.Children[i].Generation, "%s: nothing changes", c.Path)
				assert.Equal(t, c.State, after.Children[i].State, "%s: nothing changes", c.Path)
			}
		})
	}
	evs, _ := f.tree.Journal(0)
	for _, e := range evs {
		assert.NotEqual(t, runtime.EventOrder, e.Kind, "no order was given: %s", e)
	}
	assert.Contains(t, logs.String(), `msg="arbor console: order refused" path=shop/db order=restart remote=192.0.2.7:5555 why="bad or missing token"`)
	assert.NotContains(t, logs.String(), token, "the token is never logged")
}

func TestControlPoolInstances(t *testing.T) {
	f := newFixture(t)
	pool := f.tree.Pool("shop/conns")
	_, err := pool.Start("c1", runtime.Func(idle))
	require.NoError(t, err)
	f.waitFor(t, "c1 running", func() bool { return pool.Counts().Running == 1 })
	h := console.Handler(f.tree, console.WithToken(token))

	res := do(h, "POST", "/api/restart?path=shop/conns/c1", nil, "Authorization", "Bearer "+token)
	require.Equal(t, 202, res.StatusCode)
	f.waitFor(t, "c1 restarted", func() bool {
		c, ok := f.tree.Snapshot().Child("shop/conns/c1")
		return ok && c.Generation == 2 && c.State == runtime.StateRunning
	})
	res = do(h, "POST", "/api/stop?path=shop/conns/c1", nil, "Authorization", "Bearer "+token)
	require.Equal(t, 202, res.StatusCode)
	f.waitFor(t, "c1 removed", func() bool { return pool.Len() == 0 })
	res = do(h, "POST", "/api/stop?path=shop/conns/c1", nil, "Authorization", "Bearer "+token)
	assert.Equal(t, 404, res.StatusCode, "gone from the pool")
}

func TestControlAfterTheEnd(t *testing.T) {
	f := newFixture(t)
	f.stop()
	res := do(console.Handler(f.tree, console.WithToken(token)), "POST", "/api/restart?path=shop/db", nil, "Authorization", "Bearer "+token)
	assert.Equal(t, 409, res.StatusCode)
	assert.Contains(t, decode[console.Error](t, res).Error, "restart shop/db: arbor: tree has ended")
	tr := decode[console.Tree](t, do(console.Handler(f.tree), "GET", "/api/tree", nil))
	assert.Equal(t, "stopped", tr.Health)
}

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
