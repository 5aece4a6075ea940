package main

// What TestOpsChaos watches besides the clients: the heap, the ended
// tree, systemd's notify socket, and the slow logger it attaches.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime/console"
)

// monitor samples the heap and the goroutines after a GC every second
// until quit; the returned function checks that the last quarter of the
// run is no higher than its second quarter, with some room.
func (o *ops) monitor(d time.Duration) func() {
	type sample struct {
		at         time.Duration
		heap       uint64
		goroutines int
	}
	var samples []sample
	begin := time.Now()
	done := make(chan struct{})
	go func() {
		// How late a goroutine wakes, and how long Health takes: what
		// the watchdog's pinger does.
		for !o.ended() {
			at := time.Now()
			time.Sleep(50 * time.Millisecond)
			late := time.Since(at) - 50*time.Millisecond
			at = time.Now()
			o.tree.Health()
			took := time.Since(at)
			o.mu.Lock()
			o.maxLate, o.maxHealth = max(o.maxLate, late), max(o.maxHealth, took)
			o.mu.Unlock()
		}
	}()
	go func() {
		defer close(done)
		for !o.ended() && !o.stop(time.Second) {
			goruntime.GC()
			var m goruntime.MemStats
			goruntime.ReadMemStats(&m)
			samples = append(samples, sample{time.Since(begin), m.HeapAlloc, goruntime.NumGoroutine()})
		}
	}()
	return func() {
		<-done
		var second, last sample
		for _, s := range samples {
			switch {
			case s.at > d*3/4 && s.at <= d:
				last.heap, last.goroutines = max(last.heap, s.heap), max(last.goroutines, s.goroutines)
			case s.at > d/4 && s.at <= d/2:
				second.heap, second.goroutines = max(second.heap, s.heap), max(second.goroutines, s.goroutines)
			}
		}
		if second.heap == 0 || last.heap == 0 {
			return // too short to say
		}
		if last.heap > second.heap*3/2+8<<20 || last.goroutines > second.goroutines*3/2+100 {
			o.violate("growth: heap %d MB, %d goroutines in the second quarter; %d MB, %d in the last",
				second.heap>>20, second.goroutines, last.heap>>20, last.goroutines)
		}
	}
}

// afterEnd checks the ended tree through every surface.
func (o *ops) afterEnd(t *testing.T) {
	end := "stopped"
	if o.tree.Err() != nil {
		end = "failed"
	}
	code, _, body := o.get(o.console + "/api/tree")
	var tr console.Tree
	if err := json.Unmarshal(body, &tr); code != http.StatusOK || err != nil || tr.Health != end {
		o.violate("/api/tree after the end: %d %v %.200s", code, err, body)
	}
	o.checkTree(tr, -1)
	for i, path := range o.static {
		if i%3 != 0 {
			continue // a third of them is enough, and quicker
		}
		for _, kind := range []string{"restart", "stop"} {
			req, _ := http.NewRequest("POST", o.console+"/api/"+kind+"?path="+path, nil)
			req.Header.Set("Authorization", "Bearer "+o.token)
			res, err := o.client.Do(req)
			if err != nil {
				o.violate("POST %s %s after the end: %v", kind, path, err)
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusConflict || !strings.Contains(string(b), "tree has ended") {
				o.violate("POST %s %s after the end: %d %s", kind, path, res.StatusCode, b)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"ctl", "-addr", o.console, "-token", o.token, "restart", o.static[0]}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "tree has ended (409 Conflict)") || strings.Count(stderr.String(), "\n") != 1 {
		o.violate("ctl restart after the end: exit %d, %q", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"ctl", "-addr", o.console, "status"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), o.name+": "+end) {
		o.violate("ctl status after the end: exit %d, %.200q %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	done := make(chan int, 1)
	go func() { done <- run([]string{"ctl", "-addr", o.console, "events", "-f"}, &stdout, &stderr) }()
	select {
	case code := <-done:
		if code != 0 || stdout.Len() == 0 {
			o.violate("ctl events -f after the end: exit %d, %d bytes, %q", code, stdout.Len(), stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ctl events -f after the end still follows after 10s")
	}
	for _, p := range []string{"/livez", "/readyz"} {
		if code, _, body := o.get(o.probeURL + p); code != http.StatusServiceUnavailable || !strings.HasPrefix(string(body), end) {
			o.violate("probe %s after the end: %d %q", p, code, body)
		}
	}
	if code, _, body := o.get(o.metricsURL); code != http.StatusOK || !strings.Contains(string(body), `arbor_tree_health{state="`+end+`",tree="`+o.name+`"} 1`) {
		o.violate("scrape after the end: %d %.300s", code, body)
	}
}

// notify plays systemd's end of NOTIFY_SOCKET: it reads every datagram
// and keeps what the checks need.
type notify struct {
	conn    *net.UnixConn
	dir     string
	done    chan struct{}
	ready   int
	stopped bool   // STOPPING=1 came
	last    string // the last datagram
	maxGap  time.Duration
	pings   int
	odd     string // the first datagram with a line that is no known assignment
	err     error
}

func (o *ops) notifySocket(t *testing.T) *notify {
	dir, err := os.MkdirTemp("", "sd") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	n := &notify{conn: conn, dir: dir, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		buf := make([]byte, 8192)
		var ping time.Time
		for {
			k, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					n.err = err
				}
				return
			}
			msg := string(buf[:k])
			n.last = msg
			for _, line := range strings.Split(msg, "\n") {
				switch line {
				case "READY=1":
					n.ready++
				case "STOPPING=1":
					n.stopped = true
				case "WATCHDOG=1":
					if !ping.IsZero() && !n.stopped {
						n.maxGap = max(n.maxGap, time.Since(ping))
					}
					ping = time.Now()
					n.pings++
				default:
					if !strings.HasPrefix(line, "STATUS=") && n.odd == "" {
						n.odd = msg // an error's newline spilled out of its STATUS=
					}
				}
			}
		}
	}()
	return n
}

func (n *notify) close() {
	n.conn.Close()
	<-n.done
	os.RemoveAll(n.dir)
}

func (n *notify) check(o *ops) {
	ready := 0
	select {
	case <-o.tree.Ready():
		ready = 1
	default:
	}
	if n.err != nil || n.ready != ready || !n.stopped || !strings.Contains(n.last, "STATUS="+map[bool]string{true: "failed: ", false: "stopped"}[o.tree.Err() != nil]) || n.pings == 0 {
		o.violate("systemd: err %v, READY=1 %d times (tree ready: %d), STOPPING=1 %v, %d pings, last %q", n.err, n.ready, ready, n.stopped, n.pings, n.last)
	}
	if n.odd != "" {
		o.violate("systemd: a notification with a line that is no assignment: %q", n.odd)
	}
	// A stall of the whole process delays the pings too: it is excused,
	// as measured by the sleepers that wake up late.
	o.mu.Lock()
	late := o.maxLate
	o.mu.Unlock()
	if n.maxGap > 3*opsWatchdog+late {
		o.violate("systemd: %v between two watchdog pings, WatchdogSec %v (the process stalled up to %v)", n.maxGap, opsWatchdog, late)
	}
}

// slowHandler is a slog.Handler that is slow now and then.
type slowHandler struct {
	h slog.Handler
	n atomic.Int64
}

func (s *slowHandler) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (s *slowHandler) Handle(ctx context.Context, r slog.Record) error {
	if s.n.Add(1)%1000 == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	return s.h.Handle(ctx, r)
}
func (s *slowHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &slowHandler{h: s.h.WithAttrs(as)}
}
func (s *slowHandler) WithGroup(g string) slog.Handler { return &slowHandler{h: s.h.WithGroup(g)} }
