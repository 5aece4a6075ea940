package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// noLeaks fails t if a goroutine that t started outlives it: a stream
// followed for ever, a request never ended. It lets the connections that
// ctl keeps for another request go first.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		httpClient.CloseIdleConnections()
		goleak.VerifyNone(t, opt)
	})
}

func TestConsoleURL(t *testing.T) {
	for _, c := range []struct{ addr, want, err string }{
		{"127.0.0.1:8090", "http://127.0.0.1:8090/", ""},
		{"localhost:8090/", "http://localhost:8090/", ""},
		{"http://host:8090", "http://host:8090/", ""},
		{"https://host/arbor", "https://host/arbor/", ""},
		{"http://host/arbor/?x=1#y", "http://host/arbor/", ""},
		{"", "", "no address: pass -addr (such as 127.0.0.1:8090) or set ARBOR_ADDR"},
		{"ftp://host", "", `bad address "ftp://host": want host:port or an http:// or https:// URL`},
		{"http://", "", `bad address "http://": want host:port or an http:// or https:// URL`},
		{"http://host:port:x", "", `bad address "http://host:port:x"`},
		{"127.0.0.1:99999", "", `bad address "127.0.0.1:99999": the port must be 1 to 65535`},
		{"http://host:0/", "", `bad address "http://host:0/": the port must be 1 to 65535`},
		{"8090", "", `bad address "8090": a port needs its host, such as 127.0.0.1:8090`},
		{"[::1]:8090", "http://[::1]:8090/", ""},
		{"me:s3cret@host:0", "", `bad address "me:xxxxx@host:0": the port must be 1 to 65535`},
		// ARBOR_ADDR read from a file.
		{" 127.0.0.1:8090\n", "http://127.0.0.1:8090/", ""},
		{"\t\n", "", "no address: pass -addr"},
	} {
		u, err := consoleURL(c.addr)
		if c.err != "" {
			if err == nil || len(err.Error()) < len(c.err) || err.Error()[:len(c.err)] != c.err {
				t.Errorf("consoleURL(%q) = %v, %v; want error %q", c.addr, u, err, c.err)
			}
			continue
		}
		if err != nil || u.String() != c.want {
			t.Errorf("consoleURL(%q) = %v, %v; want %s", c.addr, u, err, c.want)
		}
	}
}

// sseEvent is a console's stream message of event seq.
func sseEvent(seq uint64, text string) string {
	return fmt.Sprintf("id: %d\ndata: {\"seq\":%d,\"time\":\"2026-01-01T00:00:00Z\",\"text\":%q}\n\n", seq, seq, text)
}

// followed is what events -f did against a console scripted by answer,
// which is given each connection's number (from 1).
type followed struct {
	base    string
	asked   []string // each connection's Last-Event-ID
	printed []string // the texts of the events printed
	stderr  string
}

func follow(t *testing.T, answer func(n int, w http.ResponseWriter)) followed {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Header.Get("Last-Event-ID"))
		n := len(asked)
		mu.Unlock()
		answer(n, w)
	}))
	defer srv.Close()
	base, err := consoleURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cl := &ctlClient{base: base, stdout: &stdout, stderr: &stderr}
	if err := cl.follow(false); err != nil {
		t.Fatalf("follow: %v", err)
	}
	f := followed{base: base.String(), asked: asked, stderr: stderr.String()}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		f.printed = append(f.printed, strings.Join(strings.Fields(line)[2:], " "))
	}
	return f
}

// TestFollowReconnects: events -f resumes a broken stream where it broke,
// rides out a console that is away for a while, notices a restarted
// program, and ends at the end of the tree's run.
func TestFollowReconnects(t *testing.T) {
	noLeaks(t)
	f := follow(t, func(n int, w http.ResponseWriter) {
		if n == 3 { // away: the connection drops before any answer
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		switch n {
		case 1:
			fmt.Fprint(w, "retry: 5\n\n"+sseEvent(1, "one")+sseEvent(2, "two")) // then breaks
		case 2:
			fmt.Fprint(w, "retry: 5\n\n"+sseEvent(3, "three")) // breaks again
		case 4: // a new run of the program, which knows nothing of 3
			fmt.Fprint(w, "retry: 5\n\n"+sseEvent(1, "new one")+"event: end\ndata: {}\n\n")
		}
	})
	if want := []string{"", "2", "3", "3"}; !slices.Equal(f.asked, want) {
		t.Errorf("Last-Event-ID of each connection = %q, want %q", f.asked, want)
	}
	if want := []string{"one", "two", "three", "new one"}; !slices.Equal(f.printed, want) {
		t.Errorf("events printed: %q, want %q", f.printed, want)
	}
	for _, want := range []string{
		"arbor ctl: the event stream from " + f.base + " ended before the tree stopped; reconnecting every 100ms\narbor ctl: reconnected to " + f.base + ", resuming after event 2\n",
		"arbor ctl: the program was restarted: its events are numbered from 1 again (the previous run's after event 3, if any, are lost)\n",
	} {
		if !strings.Contains(f.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, f.stderr)
		}
	}
	if n := strings.Count(f.stderr, "reconnecting"); n != 2 {
		t.Errorf("%d notices of a broken stream, want 2 (one per outage):\n%s", n, f.stderr)
	}
}

// TestFollowRestartedWithMoreEvents: a restarted program that already has
// more events than the last one printed would answer Last-Event-ID with
// the rest of its own, skipping its first: the console names its run, and
// follow asks the new run again from its first event, without saying
// "reconnected" a second time.
func TestFollowRestartedWithMoreEvents(t *testing.T) {
	noLeaks(t)
	f := follow(t, func(n int, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		switch n {
		case 1:
			w.Header().Set(console.RunHeader, "first")
			fmt.Fprint(w, "retry: 5\n\n"+sseEvent(1, "one")+sseEvent(2, "two")) // then breaks
		case 2: // a new run, with five events already: it answers after 2
			w.Header().Set(console.RunHeader, "second")
			fmt.Fprint(w, "retry: 5\n\n"+sseEvent(3, "new three")+sseEvent(4, "new four")+sseEvent(5, "new five"))
		default:
			w.Header().Set(console.RunHeader, "second")
			fmt.Fprint(w, "retry: 5\n\n"+sseEvent(1, "new one")+sseEvent(2, "new two")+sseEvent(3, "new three")+"event: end\ndata: {}\n\n")
		}
	})
	if want := []string{"", "2", ""}; !slices.Equal(f.asked, want) {
		t.Errorf("Last-Event-ID of each connection = %q, want %q", f.asked, want)
	}
	if want := []string{"one", "two", "new one", "new two", "new three"}; !slices.Equal(f.printed, want) {
		t.Errorf("events printed: %q, want %q", f.printed, want)
	}
	if n := strings.Count(f.stderr, "the program was restarted"); n != 1 {
		t.Errorf("%d notices of a restart, want 1:\n%s", n, f.stderr)
	}
	// Asking the new run again from its first event is no reconnection:
	// one outage, one "reconnected", which resumes after no event of the
	// old run.
	if n := strings.Count(f.stderr, "reconnected"); n != 1 {
		t.Errorf("%d notices of a reconnection, want 1:\n%s", n, f.stderr)
	}
	if want := "arbor ctl: reconnected to " + f.base + "\narbor ctl: the program was restarted"; !strings.Contains(f.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, f.stderr)
	}
}

// TestFollowNeverConnected: an address where nothing answers is an error
// at once, not a wait.
func TestFollowNeverConnected(t *testing.T) {
	noLeaks(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	base, _ := consoleURL(srv.URL)
	srv.Close()
	var stdout, stderr bytes.Buffer
	cl := &ctlClient{base: base, stdout: &stdout, stderr: &stderr}
	err := cl.follow(false)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the console at "+base.String()) {
		t.Fatalf("follow = %v, want cannot reach", err)
	}
}

// TestCtlEscapesControlCharacters: text that a child's error, or a
// console, carries is printed with its control characters escaped, so
// that it cannot move the cursor, clear the screen or retitle the
// operator's terminal; and a password in -addr is never printed.
func TestCtlEscapesControlCharacters(t *testing.T) {
	noLeaks(t)
	const evil = "upstream said: \x1b[2J\x1b]0;pwned\x07\u202eok\u009b1m"
	b, _ := json.Marshal(evil)
	jsonEvil := string(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/api/tree"):
			fmt.Fprintf(w, `{"tree":"t","health":"degraded","reason":%s,"children":[{"path":"t/a","state":"backoff","lastExit":"error","lastError":%s}]}`, jsonEvil, jsonEvil)
		case strings.HasSuffix(r.URL.Path, "/api/events"):
			fmt.Fprintf(w, `{"events":[{"seq":1,"time":"2026-01-01T00:00:00Z","text":%s}],"lastEvent":1}`, jsonEvil)
		case strings.HasSuffix(r.URL.Path, "/api/restart"): // not a console: a proxy's page
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":%s}`, jsonEvil)
		}
	}))
	defer srv.Close()
	addr := strings.Replace(srv.URL, "http://", "http://ops:hunter2@", 1)
	for _, args := range [][]string{{"status"}, {"status", "-json"}, {"events"}, {"events", "-json"}, {"stop", "t/a"}, {"restart", "t/a"}} {
		var stdout, stderr bytes.Buffer
		run(append([]string{"ctl", "-addr", addr, "-token", "x"}, args...), &stdout, &stderr)
		if len(args) == 2 && args[1] == "-json" {
			dec := json.NewDecoder(&stdout)
			for dec.More() {
				var v any
				if err := dec.Decode(&v); err != nil {
					t.Errorf("ctl %s -json: not JSON: %v", args[0], err)
				} else if !strings.Contains(fmt.Sprint(v), evil) {
					t.Errorf("ctl %s -json: the JSON no longer holds the text: %q", args[0], fmt.Sprint(v))
				}
			}
			stdout.Reset()
			run(append([]string{"ctl", "-addr", addr, "-token", "x"}, args...), &stdout, &stderr)
		}
		out := stdout.String() + stderr.String()
		if args[0] != "restart" && !strings.Contains(out, "upstream said:") {
			t.Errorf("ctl %s: the text is not shown:\n%s", args[0], out)
		}
		for _, r := range out {
			if r != '\n' && (r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u202e') {
				t.Errorf("ctl %s prints the control character %U:\n%q", args[0], r, out)
				break
			}
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("ctl %s prints the password of -addr:\n%s", args[0], out)
		}
	}
	// Nor when the address is refused.
	for _, addr := range []string{"ftp://ops:hunter2@host:1", "http://ops:hunter2@host:1/%zz", "http://ops:hunter2@"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"ctl", "-addr", addr, "status"}, &stdout, &stderr); code == 0 {
			t.Errorf("ctl -addr %s: exit 0", addr)
		}
		if out := stdout.String() + stderr.String(); strings.Contains(out, "hunter2") || !strings.Contains(out, "bad address") {
			t.Errorf("ctl -addr %s:\n%s", addr, out)
		}
	}
}

// TestCtlTokenSpaces: a token read from a file ends in a newline, which
// no header can carry: ctl sends it without its surrounding white space,
// as the console takes it, instead of failing with "cannot reach".
func TestCtlTokenSpaces(t *testing.T) {
	noLeaks(t)
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"path":"t/a","order":"restart"}`)
	}))
	defer srv.Close()
	t.Setenv("ARBOR_TOKEN", "tok\n")
	for _, args := range [][]string{{"-token", " tok\r\n", "restart", "t/a"}, {"restart", "t/a"}} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"ctl", "-addr", srv.URL}, args...), &stdout, &stderr)
		if code != exitOK {
			t.Errorf("ctl %q: exit %d: %s", args, code, stderr.String())
		}
	}
	if want := []string{"Bearer tok", "Bearer tok"}; !slices.Equal(auth, want) {
		t.Errorf("sent %q, want %q", auth, want)
	}
	// One inside cannot be sent: a usage error that says so, and does not
	// print the token.
	var stdout, stderr bytes.Buffer
	code := run([]string{"ctl", "-addr", srv.URL, "-token", "to\nk", "restart", "t/a"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "control character") || strings.Contains(stderr.String(), "to\nk") {
		t.Errorf("a token with a newline inside: exit %d, %q", code, stderr.String())
	}
}

// TestCtlEmptyPath: an empty PATH (an unset shell variable) is a usage
// error, said before any request, like a missing one.
func TestCtlEmptyPath(t *testing.T) {
	for _, path := range []string{"", " "} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"ctl", "-addr", "127.0.0.1:1", "-token", "x", "stop", path}, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "which child?") {
			t.Errorf("ctl stop %q: exit %d, %q", path, code, stderr.String())
		}
	}
}

// TestCtlStatusHead: the first line of status says the health, and the
// reason when it adds something: "t: stopped", not "t: stopped: stopped"
// (the console's reason for a tree stopping or stopped is its state).
func TestCtlStatusHead(t *testing.T) {
	noLeaks(t)
	for _, c := range []struct{ health, reason, want string }{
		{"stopped", "stopped", "t: stopped\n"},
		{"stopping", "stopping", "t: stopping\n"},
		{"ready", "", "t: ready\n"},
		{"failed", "arbor: t gave up", "t: failed: arbor: t gave up\n"},
		{"degraded", "t/a: restarting after error: boom", "t: degraded: t/a: restarting after error: boom\n"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"tree":"t","health":%q,"reason":%q,"children":[]}`, c.health, c.reason)
		}))
		var stdout, stderr bytes.Buffer
		code := run([]string{"ctl", "-addr", srv.URL, "status"}, &stdout, &stderr)
		srv.Close()
		if head, _, _ := strings.Cut(stdout.String(), "PATH"); code != exitOK || head != c.want {
			t.Errorf("%s: exit %d, head %q, want %q (%s)", c.health, code, head, c.want, stderr.String())
		}
	}
}

// TestCtlOrderRefusedOnce: an order the program refuses (409: the tree has
// ended, the child's supervisor is not running) is one line that names the
// order and the child once, though the console's answer names them too.
func TestCtlOrderRefusedOnce(t *testing.T) {
	noLeaks(t)
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(console.Handler(tr, console.WithToken("tok")))
	defer srv.Close()
	for _, order := range []string{"restart", "stop"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"ctl", "-addr", srv.URL, "-token", "tok", order, "t/db"}, &stdout, &stderr)
		if want := "arbor ctl: " + order + " t/db: arbor: tree has ended (409 Conflict)\n"; code != 1 || stderr.String() != want {
			t.Errorf("ctl %s t/db: exit %d, stderr %q, want exit 1, %q", order, code, stderr.String(), want)
		}
	}
}

// TestCtlRestartWhileStopping: a restart ordered while the tree stops
// would be dropped by its supervisor: ctl says so and exits 1, rather than
// exiting 0 for a restart that never comes.
func TestCtlRestartWhileStopping(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	tr, err := runtime.New(runtime.Spec{Name: "t", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
		{Name: "slow", Shutdown: time.Minute, Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); <-release; return nil })},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	<-tr.Ready()
	cancel()
	for tr.Handle("t/slow").State() != runtime.StateStopping {
		time.Sleep(time.Millisecond)
	}
	srv := httptest.NewServer(console.Handler(tr, console.WithToken("tok"), console.WithLogger(slog.New(slog.DiscardHandler))))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"ctl", "-addr", srv.URL, "-token", "tok", "restart", "t/db"}, &stdout, &stderr)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "arbor ctl: restart t/db: arbor: supervisor is not running: t, the supervisor of t/db, is stopping (409 Conflict)\n"; code != 1 || stderr.String() != want {
		t.Errorf("ctl restart t/db: exit %d, stderr %q, want exit 1, %q", code, stderr.String(), want)
	}
}

// pausedWriter is a terminal whose output is paused (Ctrl-S, a pager
// waiting for a key) at its first write, for pause.
type pausedWriter struct {
	mu    sync.Mutex
	b     bytes.Buffer
	once  sync.Once
	pause time.Duration
}

func (w *pausedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { time.Sleep(w.pause) })
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// followPaused follows a console scripted by answer, as follow does, with
// its output paused for pause at the first event, and silence allowed.
func followPaused(t *testing.T, pause, silence time.Duration, answer func(n int, w http.ResponseWriter, r *http.Request)) (f followed, conns int) {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns++
		n := conns
		f.asked = append(f.asked, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		answer(n, w, r)
	}))
	defer srv.Close()
	base, _ := consoleURL(srv.URL)
	stdout := &pausedWriter{pause: pause}
	var stderr bytes.Buffer
	fl := &follower{cl: &ctlClient{base: base, stdout: stdout, stderr: &stderr}, retry: 5 * time.Millisecond, silence: silence, pauseNote: silence}
	if err := fl.run(context.Background()); err != nil {
		t.Fatalf("follow: %v", err)
	}
	srv.CloseClientConnections()
	f.base, f.stderr = base.String(), stderr.String()
	for _, line := range strings.Split(strings.TrimSpace(stdout.b.String()), "\n") {
		f.printed = append(f.printed, strings.Join(strings.Fields(line)[2:], " "))
	}
	mu.Lock()
	defer mu.Unlock()
	return f, conns
}

// TestFollowOutputPaused: output paused longer than the silence ctl allows
// a console (the terminal's, not the console's) is no silence of the
// console: the stream is kept, and no stderr line blames the console.
func TestFollowOutputPaused(t *testing.T) {
	noLeaks(t)
	f, conns := followPaused(t, 600*time.Millisecond, 100*time.Millisecond, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 5\n\n"+sseEvent(1, "one"))
		w.(http.Flusher).Flush()
		// Keep-alives, as a console sends them, while ctl does not read.
		for range 30 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			fmt.Fprint(w, ": keep-alive\n\n")
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, sseEvent(2, "two")+"event: end\ndata: {}\n\n")
	})
	if want := []string{"one", "two"}; !slices.Equal(f.printed, want) {
		t.Errorf("events printed: %q, want %q", f.printed, want)
	}
	if conns != 1 || f.stderr != "" {
		t.Errorf("%d connections, stderr %q: want one connection kept through the pause, and nothing said", conns, f.stderr)
	}
}

// TestFollowOutputPausedAndDropped: a console drops a client that does
// not read; once output resumes, ctl says that the stream broke while its
// output was paused, where it resumes, and how many events the journal no
// longer held.
func TestFollowOutputPausedAndDropped(t *testing.T) {
	noLeaks(t)
	f, conns := followPaused(t, 300*time.Millisecond, 100*time.Millisecond, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		switch n {
		case 1: // two events, then the console drops the client
			fmt.Fprint(w, "retry: 5\n\n"+sseEvent(1, "one")+sseEvent(2, "two"))
		default:
			fmt.Fprint(w, "retry: 5\n\nevent: gap\ndata: {\"missed\":5}\n\n"+sseEvent(8, "eight")+"event: end\ndata: {}\n\n")
		}
	})
	if want := []string{"one", "two", "eight"}; !slices.Equal(f.printed, want) || conns != 2 {
		t.Errorf("events printed: %q, want %q, in 2 connections (%d)", f.printed, want, conns)
	}
	for _, want := range []string{
		"arbor ctl: the event stream from " + f.base + " ended before the tree stopped, after ctl's output was paused for 3",
		"arbor ctl: reconnected to " + f.base + ", resuming after event 2\n",
		"arbor ctl: 5 events lost: no longer in the journal (those after event 2)\n",
	} {
		if !strings.Contains(f.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, f.stderr)
		}
	}
}
