package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime/console"
)

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

// TestMounted: under a prefix, with or without http.StripPrefix (of the
// prefix with its final slash too, as in net/http's own example), the page
// and its API are where its relative links lead.
func TestMounted(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree)
	mux := http.NewServeMux()
	mux.Handle("/arbor/", h)
	mux.Handle("/stripped/", http.StripPrefix("/stripped", h))
	mux.Handle("/slash/", http.StripPrefix("/slash/", h))
	for _, prefix := range []string{"/arbor/", "/stripped/", "/slash/"} {
		res := do(mux, "GET", prefix, nil)
		assert.Equal(t, 200, res.StatusCode, prefix)
		assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"), prefix)
		res = do(mux, "GET", prefix+"api/tree", nil)
		assert.Equal(t, "shop", decode[console.Tree](t, res).Tree, prefix)
		res = do(mux, "POST", prefix+"api/restart?path=shop/db", nil)
		assert.Equal(t, 403, res.StatusCode, prefix)
		res = do(mux, "GET", prefix+"api/events", nil)
		assert.Equal(t, 200, res.StatusCode, prefix)
		res = do(mux, "GET", prefix+"api/nope", nil)
		assert.Equal(t, 404, res.StatusCode, prefix)
		res = do(mux, "GET", prefix+"api/", nil)
		assert.Equal(t, 404, res.StatusCode, prefix)
	}
}

func TestUnknownPaths(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree, console.WithToken(token))
	for _, p := range []string{"/api", "/api/", "/api/trees", "/index.html", "/api/restart/shop/db", "/../etc/passwd"} {
		res := do(h, "GET", p, nil)
		assert.Equal(t, 404, res.StatusCode, p)
		assert.Contains(t, decode[console.Error](t, res).Error, "no such path", p)
	}
	// A long path is not repeated whole: what a request says is cut short
	// in answers, as in the log.
	long := "/" + strings.Repeat("x", 100<<10)
	res := do(h, "GET", long, nil)
	assert.Equal(t, 404, res.StatusCode)
	assert.Less(t, len(decode[console.Error](t, res).Error), 1024)
}

// TestMountedWithoutSlash: the console's address without its final slash,
// as an operator types it, leads to the page: a router that hands the
// console its mount path itself (chi's Mount, a proxy), or without any of
// it (StripPrefix of the whole path), would otherwise answer 404, or serve
// the page where its relative links lead elsewhere.
func TestMountedWithoutSlash(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree)
	mux := http.NewServeMux()
	mux.Handle("/ops/arbor", h) // the whole path, as chi's Mount gives it
	mux.Handle("/ops/arbor/", h)
	mux.Handle("/stripped", http.StripPrefix("/stripped", h))
	mux.Handle("/stripped/", http.StripPrefix("/stripped", h))
	mux.Handle("/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for from, to := range map[string]string{
		"/ops/arbor": "/ops/arbor/", "/stripped": "/stripped/", "/arbor": "/arbor/", "/ops/arbor?x=1": "/ops/arbor/?x=1",
	} {
		res := do(mux, "GET", from, nil)
		assert.Equal(t, http.StatusMovedPermanently, res.StatusCode, from)
		loc, err := url.Parse(res.Header.Get("Location"))
		require.NoError(t, err, from)
		assert.Equal(t, to, (&url.URL{Path: strings.SplitN(from, "?", 2)[0]}).ResolveReference(loc).String(), from)
		assert.Equal(t, http.StatusMovedPermanently, do(mux, "HEAD", from, nil).StatusCode, from)

		res, err = http.Get(srv.URL + from)
		require.NoError(t, err, from)
		res.Body.Close()
		assert.Equal(t, 200, res.StatusCode, from)
		assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"), from)
		assert.Equal(t, to, res.Request.URL.RequestURI(), from)
		// Where the page's relative links lead.
		res, err = http.Get(srv.URL + strings.SplitN(to, "?", 2)[0] + "api/tree")
		require.NoError(t, err, from)
		assert.Equal(t, "shop", decode[console.Tree](t, res).Tree, from)
	}
	// An order is not redirected: its method would not survive it.
	assert.Equal(t, 404, do(mux, "POST", "/ops/arbor", nil).StatusCode)
}
