package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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
			{Name: "conns", Pool: &runtime.PoolSpec{Max: 100}},
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

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

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
	run := res.Header.Get(console.RunHeader)
	require.NotEmpty(t, run)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var m message
		first := true
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				// Every stream begins with its run's name, which the
				// tests' messages leave out.
				switch {
				case m.data == "":
				case first && (m.event != "run" || m.data != `{"run":"`+run+`"}`):
					t.Errorf("the stream begins with %+v, not its run %s", m, run)
				case !first:
					out <- m
				}
				if m.data != "" {
					first = false
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
