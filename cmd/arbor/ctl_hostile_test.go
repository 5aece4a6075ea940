package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// TestCtlEventsPages: events lists a journal larger than one answer of
// the console, page by page: every event once, in order.
func TestCtlEventsPages(t *testing.T) {
	noLeaks(t)
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "conns", Pool: &runtime.PoolSpec{}, Restart: runtime.Temporary},
	}}, runtime.WithJournal(3*console.MaxEvents))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-tr.Ready()
	// One instance at a time, each gone before the next: the journal must
	// not overflow, as it would if Starts ran far ahead of the pool.
	p := tr.Pool("t/conns")
	for tr.LastEvent() < uint64(2*console.MaxEvents+10) {
		if _, err := p.Start("", runtime.Func(func(context.Context) error { return nil })); err != nil {
			t.Fatal(err)
		}
		for p.Len() > 0 {
			goruntime.Gosched()
		}
	}
	srv := httptest.NewServer(console.Handler(tr))
	defer srv.Close()
	last := tr.LastEvent()

	var stdout, stderr bytes.Buffer
	if code := run([]string{"ctl", "-addr", srv.URL, "events"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var seq uint64
	for line := range strings.Lines(stdout.String()) {
		var n uint64
		if _, err := fmt.Sscan(strings.Fields(line)[1], &n); err != nil || n != seq+1 {
			t.Fatalf("after event %d: %q", seq, line)
		}
		seq = n
	}
	if seq < last {
		t.Errorf("listed up to event %d; the journal held %d", seq, last)
	}
}

// TestCtlEventsBusyTree: a console that always has more (a tree busier
// than the command is fast) does not keep events running: it stops at the
// latest event of its first answer.
func TestCtlEventsBusyTree(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	latest := uint64(10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var after uint64
		fmt.Sscan(r.URL.Query().Get("after"), &after)
		latest += 10
		fmt.Fprintf(w, `{"events":[{"seq":%d,"time":"2026-01-01T00:00:00Z","text":"e"},{"seq":%d,"time":"2026-01-01T00:00:00Z","text":"e"}],"lastEvent":%d,"latest":%d,"more":true}`,
			after+1, after+2, after+2, latest)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"ctl", "-addr", srv.URL, "events"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != 20 {
		t.Errorf("%d events listed, want 20 (up to the first answer's latest)", n)
	}
}

// TestCtlNoRedirects: ctl does not follow a redirect: the console never
// sends one, and following it would hand the token, or the operator's
// order, to whatever the answer names.
func TestCtlNoRedirects(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"tree":"t","health":"ready","children":[],"events":[]}`)
	}))
	defer other.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.RequestURI(), code)
		}))
		for _, args := range [][]string{{"status"}, {"events"}, {"events", "-f"}, {"restart", "t/a"}} {
			var stdout, stderr bytes.Buffer
			exit := run(append([]string{"ctl", "-addr", srv.URL, "-token", "s3cret"}, args...), &stdout, &stderr)
			if exit != 1 || !strings.Contains(stderr.String(), "redirect") || !strings.Contains(stderr.String(), other.URL) {
				t.Errorf("%d, ctl %s: exit %d, want 1 and a line that names the redirect:\n%s%s", code, args[0], exit, stdout.String(), stderr.String())
			}
		}
		srv.Close()
	}
	if len(leaked) > 0 {
		t.Errorf("ctl followed redirects: %q", leaked)
	}
}

// TestCtlSlowConsole: a console that accepts the connection and never
// answers costs the command its timeout, not for ever.
func TestCtlSlowConsole(t *testing.T) {
	noLeaks(t)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	base, _ := consoleURL(srv.URL)
	for _, cmd := range []string{"status", "events", "restart"} {
		var stdout, stderr bytes.Buffer
		cl := &ctlClient{base: base, stdout: &stdout, stderr: &stderr, timeout: 100 * time.Millisecond}
		begin := time.Now()
		var err error
		switch cmd {
		case "status":
			err = cl.status(false)
		case "events":
			err = cl.events(false, false)
		case "restart":
			err = cl.order("restart", "t/a")
		}
		if err == nil || time.Since(begin) > 5*time.Second {
			t.Errorf("%s: %v after %v", cmd, err, time.Since(begin))
		} else if !strings.Contains(err.Error(), "did not answer within 100ms") || strings.Contains(err.Error(), "token") {
			t.Errorf("%s: %q does not say that the console did not answer in time, or blames the token", cmd, err)
		}
	}
}

// TestFollowSilentConsole: a stream that goes silent (a connection cut
// without a word, a console that stopped sending its keep-alives) is given
// up after the silence it allows, and followed again, rather than waited
// on for ever; so is a console that takes the connection and never
// answers.
func TestFollowSilentConsole(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	conns := 0
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns++
		n := conns
		mu.Unlock()
		if n == 2 { // a console that takes the connection and never answers
			select {
			case <-quit:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 5\n\n")
		if n == 1 { // answers, then goes silent
			fmt.Fprintf(w, "id: 1\ndata: {\"seq\":1,\"time\":\"2026-01-01T00:00:00Z\",\"text\":\"one\"}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-quit:
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, "event: end\ndata: {}\n\n")
	}))
	defer srv.Close()
	defer close(quit) // first: the handlers end
	base, _ := consoleURL(srv.URL)
	var stdout, stderr bytes.Buffer
	cl := &ctlClient{base: base, stdout: &stdout, stderr: &stderr}
	f := &follower{cl: cl, retry: 5 * time.Millisecond, silence: 200 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- f.run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events -f waits for ever on a silent console")
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 3 {
		t.Errorf("%d connections, want 3", conns)
	}
	if !strings.Contains(stderr.String(), "silent") {
		t.Errorf("stderr does not say why it reconnects:\n%s", stderr.String())
	}
}

// TestCtlHostileConsole: whatever answers at the console's address (TLS
// that fails, garbage, the wrong type, a body larger than any tree's, an
// event stream of the wrong kind), ctl exits 1 with one line that says
// what went wrong, and prints nothing on stdout.
func TestCtlHostileConsole(t *testing.T) {
	noLeaks(t)
	garbage := func(ctype, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			fmt.Fprint(w, body)
		}
	}
	// huge answers more than ctl reads. Declaring its length, it sends a
	// few bytes and hangs up: ctl refuses it without reading on.
	huge := func(sized bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if sized {
				w.Header().Set("Content-Length", strconv.Itoa(65<<20))
				fmt.Fprint(w, `{"tree":"`)
				return
			}
			fmt.Fprint(w, `{"tree":"`)
			chunk := strings.Repeat("x", 1<<20)
			for range 65 { // past what ctl reads (64 MB)
				if _, err := fmt.Fprint(w, chunk); err != nil {
					return
				}
			}
			fmt.Fprint(w, `"}`)
		}
	}
	// Reading 64 MB under the race detector on a busy machine can take
	// longer than a request may.
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = 5 * time.Minute
	tlsSrv := httptest.NewTLSServer(garbage("application/json", "{}"))
	defer tlsSrv.Close()
	plain := httptest.NewServer(garbage("application/json", "{}"))
	defer plain.Close()

	cases := []struct {
		name    string
		addr    string
		handler http.Handler
		want    string
	}{
		{"unknown certificate", tlsSrv.URL, nil, "certificate"},
		{"https to http", strings.Replace(plain.URL, "http:", "https:", 1), nil, "HTTP response to HTTPS client"},
		{"html", "", garbage("text/html", "<html>hello</html>"), "is not"},
		{"not json", "", garbage("application/json", "}{"), "is not"},
		{"empty", "", garbage("application/json", ""), "is not"},
		{"huge", "", huge(false), "larger than 64 MB"},
		{"huge sized", "", huge(true), "larger than 64 MB"},
		{"json stream", "", garbage("application/json", `{"events":[]}`), "is it an arbor console?"},
		// JSON, but not a console's: not an empty tree, nor no events.
		{"empty object", "", garbage("application/json", `{}`), "is it an arbor console?"},
		{"null", "", garbage("application/json", `null`), "is it an arbor console?"},
		{"other json", "", garbage("application/json", `{"tree":"x","events":null,"status":"ok"}`), "is it an arbor console?"},
		{"other stream", "", garbage("text/event-stream", "data: {}\n\ndata: {\"seq\":\"x\"}\n\n"), "is it an arbor console?"},
		{"accepted", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{}`)
		}), "is it an arbor console?"},
	}
	for _, c := range cases {
		addr := c.addr
		if c.handler != nil {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			addr = srv.URL
		}
		cmds := [][]string{{"status"}, {"status", "-json"}, {"events"}, {"events", "-json"}, {"restart", "t/a"}}
		switch c.name {
		case "json stream", "other stream":
			cmds = [][]string{{"events", "-f"}}
		case "huge", "huge sized":
			cmds = [][]string{{"status", "-json"}}
		case "accepted":
			cmds = [][]string{{"restart", "t/a"}, {"stop", "t/a"}}
		}
		for _, args := range cmds {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"ctl", "-addr", addr, "-token", "x"}, args...), &stdout, &stderr)
			name := c.name + ": ctl " + strings.Join(args, " ")
			if code != 1 {
				t.Errorf("%s: exit %d, want 1", name, code)
			}
			if stdout.Len() > 0 {
				t.Errorf("%s: printed %.200q", name, stdout.String())
			}
			if n := strings.Count(stderr.String(), "\n"); n != 1 || stderr.Len() > 1000 {
				t.Errorf("%s: %d lines of stderr, %d bytes: %.300q", name, n, stderr.Len(), stderr.String())
			}
			if (args[0] != "restart" || c.name == "accepted") && !strings.Contains(stderr.String(), c.want) {
				t.Errorf("%s: %q lacks %q", name, stderr.String(), c.want)
			}
		}
	}
}

// TestFollowRetryBounded: the console's retry: field is taken within
// bounds: a console (or a proxy) that says 49 days does not put events -f
// to sleep for that long, nor does one that says 1ms make it hammer the
// console in a loop.
func TestFollowRetryBounded(t *testing.T) {
	noLeaks(t)
	for _, c := range []struct {
		retry string
		want  time.Duration
	}{
		{"4294967295", maxRetry},
		{"1", minRetry},
		{"0", 2 * time.Second}, // ignored
		{"-5", 2 * time.Second},
		{"1500", 1500 * time.Millisecond},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "retry: %s\n\n", c.retry)
		}))
		base, _ := consoleURL(srv.URL)
		var stdout, stderr bytes.Buffer
		f := &follower{cl: &ctlClient{base: base, stdout: &stdout, stderr: &stderr}, retry: 2 * time.Second, silence: time.Minute}
		f.stream(context.Background())
		if f.retry != c.want {
			t.Errorf("retry: %s gives %v, want %v", c.retry, f.retry, c.want)
		}
		srv.Close()
	}
}

// TestCtlStatusLargePool: status lists a few of each pool's instances and
// says how many more live, in a line that leaves the columns of the
// children after it as they are; a pool of a hundred thousand instances does not
// make a table of as many lines (nor an answer past what ctl reads).
// status -json, the console's own JSON, still lists them all.
func TestCtlStatusLargePool(t *testing.T) {
	noLeaks(t)
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "conns", Pool: &runtime.PoolSpec{}},
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-tr.Ready()
	const n = 200
	for range n {
		if _, err := tr.Pool("t/conns").Start("", runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(console.Handler(tr))
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	if code := run([]string{"ctl", "-addr", srv.URL, "status"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	// The health, the head, the pool, its listed instances, the rest, db.
	if want := 2 + 1 + maxInstances + 1 + 1; len(lines) != want {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), want, stdout.String())
	}
	if got := strings.Fields(lines[3+maxInstances]); got[0] != "t/conns/…" || strings.Join(got[1:], " ") != fmt.Sprintf("(%d more instances)", n-maxInstances) {
		t.Errorf("the line after the listed instances: %q", lines[3+maxInstances])
	}
	if !strings.HasPrefix(lines[len(lines)-1], "t/db ") {
		t.Errorf("last line: %q", lines[len(lines)-1])
	}
	// The children after the pool stay in the table's columns.
	last := lines[len(lines)-1]
	for _, c := range []struct{ head, cell string }{{"STATE", "running"}, {"READY", "yes"}, {"LAST EXIT", "none"}} {
		if h, v := strings.Index(lines[1], c.head), strings.Index(last, " "+c.cell)+1; h != v {
			t.Errorf("t/db's %s is at column %d, its heading at %d:\n%s\n%s", c.head, v, h, lines[1], last)
		}
	}
	stdout.Reset()
	if code := run([]string{"ctl", "-addr", srv.URL, "status", "-json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if c := strings.Count(stdout.String(), `"kind": "instance"`); c != n {
		t.Errorf("status -json lists %d instances, want %d", c, n)
	}
}

// TestFollowEndlessLine: a stream whose line never ends (no console sends
// one: its events are a few KB) is an error of one line, not a broken
// stream to follow again every two seconds for ever.
func TestFollowEndlessLine(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	conns := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 5\n\ndata: ")
		chunk := strings.Repeat("x", 1<<20)
		for range 17 { // past the longest line ctl reads (16 MB)
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"ctl", "-addr", srv.URL, "events", "-f"}, &stdout, &stderr) }()
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("events -f follows an endless line for ever")
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections, want 1", conns)
	}
	if s := stderr.String(); strings.Count(s, "\n") != 1 || !strings.Contains(s, "is it an arbor console?") {
		t.Errorf("stderr: %q; want one line that asks whether it is a console", s)
	}
}

// TestCtlEventsPagesOfTwoRuns: a program restarted while events reads its
// journal page by page answers the next page from its new run, whose
// events are numbered from 1 again: ctl says so and exits 1, rather than
// listing two runs' events as one journal.
func TestCtlEventsPagesOfTwoRuns(t *testing.T) {
	noLeaks(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := func(seq int, text string) string {
			return fmt.Sprintf(`{"seq":%d,"time":"2026-01-01T00:00:00Z","text":%q}`, seq, text)
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after") == "0" {
			w.Header().Set(console.RunHeader, "first")
			fmt.Fprintf(w, `{"events":[%s,%s],"missed":0,"lastEvent":2,"latest":4,"more":true}`, ev(1, "one"), ev(2, "two"))
			return
		}
		w.Header().Set(console.RunHeader, "second")
		fmt.Fprintf(w, `{"events":[%s,%s],"missed":0,"lastEvent":4,"latest":4,"more":false}`, ev(3, "new three"), ev(4, "new four"))
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"ctl", "-addr", srv.URL, "events"}, &stdout, &stderr)
	if code != 1 || strings.Contains(stdout.String(), "new three") || !strings.Contains(stderr.String(), "the program was restarted while ctl read its events") {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 1, the first run's events only, and why", code, stdout.String(), stderr.String())
	}
}
