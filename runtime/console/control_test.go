package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

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
		{"two paths in the URL", h, "POST", "/api/restart?path=shop/db&path=shop/api", "", []string{"Authorization", auth}, 400, "one child per order", "", ""},
		{"unknown child", h, "POST", "/api/restart?path=shop/nope", "", []string{"Authorization", auth}, 404, `no child "shop/nope" in tree shop`, "", ""},
		{"adversarial path", h, "POST", "/api/stop?path=shop%2F..%2F%0Aevil", "", []string{"Authorization", auth}, 404, `no child "shop/../\nevil"`, "", ""},
		{"bad JSON", h, "POST", "/api/restart", `{"path": `, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "bad JSON body", "", ""},
		{"unknown field", h, "POST", "/api/restart", `{"child": "shop/db"}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `unknown field "child"`, "", ""},
		{"two objects", h, "POST", "/api/restart", `{"path": "shop/db"} {}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "one object", "", ""},
		{"wrong type", h, "POST", "/api/restart", `{"path": 7}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "bad JSON body", "", ""},
		{"a closing brace after the object", h, "POST", "/api/restart", `{"path": "shop/db"}}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "one object", "", ""},
		{"a closing bracket after the object", h, "POST", "/api/restart", `{"path": "shop/db"}]`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "one object", "", ""},
		{"text after the object", h, "POST", "/api/restart", `{"path": "shop/db"} x`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, "one object", "", ""},
		{"a field twice", h, "POST", "/api/restart", `{"path": "shop/api", "path": "shop/db"}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `"path" twice`, "", ""},
		{"a field in capitals", h, "POST", "/api/restart", `{"PATH": "shop/db"}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `unknown field "PATH"`, "", ""},
		{"a null path", h, "POST", "/api/restart", `{"path": null}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `"path" must be a string, not null`, "", ""},
		{"a path in an array", h, "POST", "/api/restart", `{"path": ["shop/db"]}`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `"path" must be a string, not an array`, "", ""},
		{"an array body", h, "POST", "/api/restart", `[{"path": "shop/db"}]`, []string{"Authorization", auth, "Content-Type", "application/json"}, 400, `(want one object {"path": "..."}): not an array`, "", ""},
		{"an unknown parameter", h, "POST", "/api/restart?path=shop/db&force=1", "", []string{"Authorization", auth}, 400, `unknown parameter "force" (this path takes path)`, "", ""},
		{"a misspelt parameter", h, "POST", "/api/restart?paht=shop/db", "", []string{"Authorization", auth}, 400, `unknown parameter "paht"`, "", ""},
		{"a parameter with semicolons", h, "POST", "/api/restart?path=shop/db;path=shop/api", "", []string{"Authorization", auth}, 400, "bad query", "", ""},
		{"a bad escape", h, "POST", "/api/restart?path=shop/%zz", "", []string{"Authorization", auth}, 400, "bad query", "", ""},
		{"two paths, one empty", h, "POST", "/api/restart?path=&path=shop/db", "", []string{"Authorization", auth}, 400, "one child per order", "", ""},
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

	// A path of 100 kB, without the token: the log and the answer repeat
	// its first 256 bytes, not all of it.
	long := "shop/" + strings.Repeat("é", 50_000)
	logs = logBuffer{}
	res := do(h, "POST", "/api/stop?path="+url.QueryEscape(long), nil)
	assert.Equal(t, 401, res.StatusCode)
	assert.Less(t, len(logs.String()), 1000)
	assert.Contains(t, logs.String(), "… (100005 bytes)")
	assert.True(t, utf8.ValidString(logs.String()))
	res = do(h, "POST", "/api/stop?path="+url.QueryEscape(long), nil, "Authorization", auth)
	assert.Equal(t, 404, res.StatusCode)
	assert.Less(t, len(decode[console.Error](t, res).Error), 1000)
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

// TestTokenSpaces: a token read from a file or an environment variable
// often ends in a newline, which no Authorization header can carry (HTTP
// trims a value's surrounding spaces, and refuses line breaks): the token
// is taken without its surrounding white space, and one that is all white
// space leaves control off, as an empty one does.
func TestTokenSpaces(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree, console.WithToken(" "+token+"\r\n"))
	res := do(h, "POST", "/api/restart?path=shop/db", nil, "Authorization", "Bearer "+token)
	assert.Equal(t, 202, res.StatusCode)

	blank := console.Handler(f.tree, console.WithToken(" \n\t"))
	res = do(blank, "POST", "/api/restart?path=shop/db", nil, "Authorization", "Bearer")
	assert.Equal(t, 403, res.StatusCode)
	assert.Contains(t, decode[console.Error](t, res).Error, "control is off")
	res = do(blank, "GET", "/api/tree", nil)
	assert.False(t, decode[console.Tree](t, res).Control)
}

// TestDefencesAreLogged: an order refused by the defences against other
// sites (it came by GET, as a link or an <img> sends it, or named another
// host, as a page that rebound its name to 127.0.0.1 does) is logged like
// any other refused order, and so is a read refused for its host: an
// operator sees the attack, or the misconfigured client or proxy.
func TestDefencesAreLogged(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	log := console.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	h := console.Handler(f.tree, console.WithToken(token), log)
	for _, method := range []string{"GET", "PUT", "OPTIONS"} {
		res := do(h, method, "/api/restart?path=shop/db", nil)
		assert.Equal(t, 405, res.StatusCode, method)
		assert.Contains(t, logs.String(), `msg="arbor console: order refused" path=shop/db order=restart remote=192.0.2.7:5555 why="`+method+` is not allowed here; use POST"`)
	}

	srv, err := console.Listen(context.Background(), "", f.tree, console.WithToken(token), log)
	require.NoError(t, err)
	defer srv.Close()
	for _, c := range []struct{ method, path, want string }{
		{"POST", "api/stop?path=shop/db", `msg="arbor console: order refused" path=shop/db order=stop remote=127.0.0.1:`},
		{"GET", "api/tree", `msg="arbor console: request refused" method=GET path=/api/tree remote=127.0.0.1:`},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
		require.NoError(t, err)
		req.Host = "evil.example:8090"
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, 403, res.StatusCode, c.path)
		assert.Contains(t, logs.String(), c.want, c.path)
		assert.Contains(t, logs.String(), `host=evil.example:8090`, c.path)
	}
	assert.Equal(t, runtime.StateRunning, f.status(t, "shop/db").State, "nothing changes")
}
