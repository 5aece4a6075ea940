package console_test

import (
	"io"
	"net/http"
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
