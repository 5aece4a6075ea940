package probe_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/probe"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errBoom = errors.New("boom")

// start runs tr until the returned function is called; that function
// cancels the tree and returns what Run returned.
func start(tr *runtime.Tree) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func mustNew(t *testing.T, spec runtime.Spec) *runtime.Tree {
	t.Helper()
	tr, err := runtime.New(spec)
	require.NoError(t, err)
	return tr
}

// probeOf requests target from h and returns the status and body.
func probeOf(h http.Handler, method, target string) (int, string, http.Header) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Body.String(), rec.Header()
}

func get(h http.Handler, target string) (int, string) {
	code, body, _ := probeOf(h, http.MethodGet, target)
	return code, body
}

// waitsForReady is a worker that reports readiness once ready is closed and
// then runs until cancelled.
func waitsForReady(ready <-chan struct{}) runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error {
		select {
		case <-ready:
			a.Ready()
		case <-ctx.Done():
			return nil
		}
		<-ctx.Done()
		return nil
	}
}

func idle(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func TestStartingThenReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ready := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Run: waitsForReady(ready), Ready: &runtime.Ready{}},
			{Name: "api", Run: runtime.Func(idle), After: []string{"db"}},
		}})
		h := probe.Handler(tr)
		stop := start(tr)
		synctest.Wait()

		code, body := get(h, "/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "starting: shop/db: starting: not ready yet\n", body)
		code, body = get(h, "/livez")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok\n", body)
		code, body = get(h, "/readyz?verbose")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "[-]shop/db starting: not ready yet\n"+
			"[-]shop/api waiting for db (starting: not ready yet)\n"+
			"readyz check failed: starting\n", body)

		close(ready)
		synctest.Wait()
		for _, p := range []string{"/livez", "/healthz", "/readyz"} {
			code, body = get(h, p)
			assert.Equal(t, http.StatusOK, code, p)
			assert.Equal(t, "ok\n", body, p)
		}
		code, body = get(h, "/livez?verbose=1")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "[+]shop/db ok\n[+]shop/api ok\nlivez check passed\n", body)

		require.NoError(t, stop())
	})
}

// TestDegradedServes: a child in its restart backoff makes the tree
// degraded, which still serves; verbose output says which child and why.
func TestDegradedServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff: &runtime.Backoff{Initial: time.Second, Max: time.Second, ResetAfter: time.Hour},
			Children: []runtime.Child{
				{Name: "db", Run: runtime.Func(idle)},
				{Name: "worker", Run: func(ctx context.Context, a *runtime.Attempt) error {
					if a.Generation() == 1 {
						select {
						case <-fail:
							return errBoom
						case <-ctx.Done():
							return nil
						}
					}
					<-ctx.Done()
					return nil
				}},
			}})
		h := probe.Handler(tr)
		stop := start(tr)
		synctest.Wait()
		code, _ := get(h, "/readyz")
		require.Equal(t, http.StatusOK, code)

		close(fail)
		synctest.Wait()
		require.Equal(t, runtime.HealthDegraded, tr.Health().State)
		code, body := get(h, "/readyz")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok\n", body)
		code, _ = get(h, "/livez")
		assert.Equal(t, http.StatusOK, code)
		code, body = get(h, "/readyz?verbose")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "[+]shop/db ok\n[-]shop/worker restarting after error: boom\nreadyz check passed\n", body)

		time.Sleep(time.Second) // the backoff
		synctest.Wait()
		code, body = get(h, "/readyz?verbose")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "[+]shop/db ok\n[+]shop/worker ok\nreadyz check passed\n", body)

		require.NoError(t, stop())
	})
}

// TestStopping: a stopping tree is live but not ready; a stopped one is
// neither.
func TestStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "slow", Run: runtime.Func(func(ctx context.Context) error {
				<-ctx.Done()
				<-release // takes its time to stop
				return nil
			})},
		}})
		h := probe.Handler(tr)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()
		synctest.Wait()
		code, _ := get(h, "/readyz")
		require.Equal(t, http.StatusOK, code)

		cancel()
		synctest.Wait()
		code, body := get(h, "/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "stopping\n", body)
		code, body = get(h, "/readyz?verbose")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.True(t, strings.HasSuffix(body, "readyz check failed: stopping\n"), body)
		code, _ = get(h, "/livez")
		assert.Equal(t, http.StatusOK, code, "a stopping tree is still live")

		close(release)
		require.NoError(t, <-done)
		code, body = get(h, "/livez")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "stopped\n", body)
	})
}

// TestFailed: once the root gives up, both probes fail and livez says why.
func TestFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff:      &runtime.Backoff{},
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute},
			Children: []runtime.Child{
				{Name: "bad", Run: runtime.Func(func(context.Context) error { return errBoom })},
			}})
		h := probe.Handler(tr)
		err := tr.Run(context.Background())
		require.ErrorIs(t, err, runtime.ErrRestartLimit)

		code, body := get(h, "/livez")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "failed: "+err.Error()+"\n", body)
		code, _ = get(h, "/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		code, body = get(h, "/livez?verbose")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		require.Len(t, lines, 2, body)
		assert.True(t, strings.HasPrefix(lines[0], "[-]shop/bad "), lines[0])
		assert.Contains(t, lines[0], "boom")
		assert.Equal(t, "livez check failed: failed", lines[1])
	})
}

func TestNilTree(t *testing.T) {
	h := probe.Handler(nil)
	for _, p := range []string{"/livez", "/readyz"} {
		code, body := get(h, p)
		assert.Equal(t, http.StatusServiceUnavailable, code, p)
		assert.Equal(t, "failed: no tree\n", body, p)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
		h := probe.Handler(tr)
		stop := start(tr)
		synctest.Wait()

		code, body, hdr := probeOf(h, http.MethodHead, "/readyz")
		assert.Equal(t, http.StatusOK, code)
		assert.Empty(t, body)
		assert.Equal(t, "text/plain; charset=utf-8", hdr.Get("Content-Type"))
		assert.Equal(t, "no-store", hdr.Get("Cache-Control"))

		code, _, hdr = probeOf(h, http.MethodPost, "/livez")
		assert.Equal(t, http.StatusMethodNotAllowed, code)
		assert.Equal(t, "GET, HEAD", hdr.Get("Allow"))

		code, _ = get(h, "/nope")
		assert.Equal(t, http.StatusNotFound, code)
		code, _ = get(h, "/debug/readyz")
		assert.Equal(t, http.StatusOK, code, "mounted under a prefix")

		require.NoError(t, stop())
	})
}

// TestOverHTTP serves the probes from a real server, as a kubelet sees them.
func TestOverHTTP(t *testing.T) {
	tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
	srv := httptest.NewServer(probe.Handler(tr))
	defer srv.Close()
	stop := start(tr)
	defer func() { require.NoError(t, stop()) }()
	<-tr.Ready()

	for _, p := range []string{"/livez", "/readyz"} {
		resp, err := srv.Client().Get(srv.URL + p)
		require.NoError(t, err)
		var buf strings.Builder
		_, err = io.Copy(&buf, resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
		assert.Equal(t, "ok\n", buf.String(), p)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	}
	resp, err := srv.Client().Head(srv.URL + "/healthz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
