package main

// The clients of TestOpsChaos: the console's API and streams, arbor ctl,
// Prometheus and the probes, each checking what it gets.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime/console"
)

// get fetches url and returns the status and body; a failure to get an
// answer is a violation.
func (o *ops) get(url string) (int, http.Header, []byte) {
	o.requests.Add(1)
	res, err := o.client.Get(url)
	if err != nil {
		o.violate("GET %s: %v", url, err)
		return 0, nil, nil
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		o.violate("GET %s: reading: %v", url, err)
	}
	return res.StatusCode, res.Header, body
}

var states = []string{"idle", "waiting", "starting", "running", "stopping", "backoff", "stopped", "done", "standby"}

// readTree reads /api/tree and checks it.
func (o *ops) readTree(r *rand.Rand) {
	var last uint64
	for !o.stop(time.Duration(r.IntN(10)) * time.Millisecond) {
		url, limit := o.console+"/api/tree", -1
		if r.IntN(3) == 0 {
			limit = r.IntN(5)
			url += "?instances=" + strconv.Itoa(limit)
		}
		code, _, body := o.get(url)
		if code == 0 {
			continue
		}
		if code != http.StatusOK {
			o.violate("GET %s: %d %s", url, code, body)
			continue
		}
		var tr console.Tree
		if err := json.Unmarshal(body, &tr); err != nil {
			o.violate("GET %s: not JSON: %v", url, err)
			continue
		}
		if tr.LastEvent < last {
			o.violate("GET %s: lastEvent %d after %d", url, tr.LastEvent, last)
		}
		last = tr.LastEvent
		o.checkTree(tr, limit)
		if limit < 0 && r.IntN(4) == 0 {
			paths := make([]string, len(tr.Children))
			for i, c := range tr.Children {
				paths[i] = c.Path
			}
			o.paths.Store(&paths)
		}
	}
}

// checkTree checks a /api/tree answer on its own: known states, pools'
// counts against their instances, and health against the children.
func (o *ops) checkTree(tr console.Tree, limit int) {
	bad := func(format string, args ...any) {
		o.violate("/api/tree (health %s, %q): %s", tr.Health, tr.Reason, fmt.Sprintf(format, args...))
	}
	if tr.Tree != o.name || !tr.Control {
		bad("tree %q, control %v", tr.Tree, tr.Control)
	}
	byPath := map[string]console.Child{}
	var pool *console.Child
	listed, live := 0, 0 // the instances of pool listed, and those of them live
	flush := func() {
		if pool != nil && pool.Pool != nil && pool.Pool.Listed != listed {
			bad("pool %s lists %d instances and says %d", pool.Path, listed, pool.Pool.Listed)
		}
		if pool != nil && pool.Pool != nil && limit < 0 && live != pool.Pool.Live {
			bad("pool %s says %d live and lists %d live instances", pool.Path, pool.Pool.Live, live)
		}
	}
	static := 0
	for i := range tr.Children {
		c := tr.Children[i]
		if _, dup := byPath[c.Path]; dup {
			bad("%s listed twice", c.Path)
		}
		byPath[c.Path] = c
		if !slices.Contains(states, c.State) {
			bad("%s: state %q", c.Path, c.State)
		}
		if c.Ready != (c.State == "running") {
			bad("%s: ready %v in state %s", c.Path, c.Ready, c.State)
		}
		switch c.Kind {
		case "instance":
			if pool == nil || !strings.HasPrefix(c.Path, pool.Path+"/") {
				bad("instance %s not after its pool", c.Path)
			}
			listed++
			if c.State != "done" && c.State != "waiting" { // a stopped instance is live a moment longer, as in Pool.Counts
				live++
			}
			continue
		case "pool":
			flush()
			pool, listed, live = &tr.Children[i], 0, 0
			p := c.Pool
			if p == nil {
				bad("pool %s without counts", c.Path)
				continue
			}
			if p.Live != p.Starting+p.Running+p.Backoff+p.Stopping+p.Stopped || p.Live < 0 {
				bad("pool %s: live %d is not the sum of its states %+v", c.Path, p.Live, *p)
			}
			if max := o.pspecs[c.Path].Pool.Max; max > 0 && p.Live > max {
				bad("pool %s: %d live instances, more than its max %d", c.Path, p.Live, max)
			}
			if limit >= 0 && p.Listed > limit {
				bad("pool %s lists %d instances, asked for %d", c.Path, p.Listed, limit)
			}
			if p.Removed > p.Started {
				bad("pool %s: %d removed of %d started", c.Path, p.Removed, p.Started)
			}
		case "worker", "supervisor":
			flush()
			pool = nil
		default:
			bad("%s: kind %q", c.Path, c.Kind)
		}
		if !slices.Contains(o.static, c.Path) {
			bad("%s is not in the spec", c.Path)
		}
		static++
	}
	flush()
	if static != len(o.static) {
		bad("%d of the spec's %d children", static, len(o.static))
	}
	// Health against the children of the same walk.
	ok := func(c console.Child) bool {
		failed := c.LastError != "" && (c.LastExit == "error" || c.LastExit == "panic" || c.LastExit == "timeout")
		return c.State == "running" || c.State == "done" || c.State == "standby" ||
			c.Kind == "instance" && c.State == "starting" && !failed // a pool's work
	}
	// An instance stopping is well on an order or with its pool, not for a
	// deadline it missed, which the answer does not say: either will do.
	either := func(c console.Child) bool { return c.Kind == "instance" && c.State == "stopping" }
	underDone := func(path string) bool {
		for p := path; strings.Count(p, "/") > 1; {
			p = p[:strings.LastIndexByte(p, '/')]
			if byPath[p].State == "done" {
				return true
			}
		}
		return false
	}
	switch tr.Health {
	case "ready":
		if tr.Reason != "" {
			bad("a reason when ready")
		}
		for _, c := range tr.Children {
			if !ok(c) && !either(c) && !underDone(c.Path) {
				bad("ready, and %s is %s", c.Path, c.State)
			}
		}
	case "starting", "degraded":
		path, _, _ := strings.Cut(tr.Reason, ": ")
		c, found := byPath[path]
		switch {
		case !found && limit < 0 && tr.Reason != "not started":
			bad("the reason names no child listed")
		case found && ok(c):
			bad("the reason names %s, which is %s", path, c.State)
		}
	case "stopping":
	case "stopped", "failed":
		for _, c := range tr.Children {
			switch c.State {
			case "running", "starting", "stopping", "waiting", "backoff":
				bad("ended, and %s is %s", c.Path, c.State)
			}
			if c.Pool != nil && c.Pool.Live != 0 {
				bad("ended, and pool %s has %d live instances", c.Path, c.Pool.Live)
			}
		}
	default:
		bad("unknown health")
	}
	if (tr.Health == "stopped" || tr.Health == "failed") && !o.endsSoon() {
		bad("before the end")
	}
}

// endsSoon reports whether the tree's Run returns within a second: the
// tree says it ended just before Done is closed.
func (o *ops) endsSoon() bool {
	select {
	case <-o.tree.Done():
		return true
	case <-time.After(time.Second):
		return false
	}
}

// readEvents pages through /api/events and checks each page.
func (o *ops) readEvents(r *rand.Rand) {
	var after uint64
	for !o.stop(time.Duration(r.IntN(20)) * time.Millisecond) {
		url := o.console + "/api/events"
		asked := r.IntN(3) != 0
		if asked {
			url += "?after=" + strconv.FormatUint(after, 10)
		}
		code, hdr, body := o.get(url)
		if code == 0 {
			continue
		}
		if code != http.StatusOK || hdr.Get(console.RunHeader) == "" {
			o.violate("GET %s: %d (run %q) %s", url, code, hdr.Get(console.RunHeader), body)
			continue
		}
		var evs console.Events
		if err := json.Unmarshal(body, &evs); err != nil {
			o.violate("GET %s: not JSON: %v", url, err)
			continue
		}
		prev := uint64(0)
		if len(evs.Events) > 0 {
			prev = evs.Events[0].Seq - 1
		}
		for _, e := range evs.Events {
			if e.Seq != prev+1 || e.Kind == "" || e.Text == "" || !strings.HasPrefix(e.Path, o.name) {
				o.violate("GET %s: event %d after %d: %+v", url, e.Seq, prev, e)
				break
			}
			prev = e.Seq
		}
		switch {
		case len(evs.Events) > console.MaxEvents:
			o.violate("GET %s: %d events", url, len(evs.Events))
		case len(evs.Events) > 0 && evs.LastEvent != prev:
			o.violate("GET %s: lastEvent %d, last listed %d", url, evs.LastEvent, prev)
		case evs.More != (evs.Latest > evs.LastEvent) || evs.Latest < evs.LastEvent:
			o.violate("GET %s: more %v, latest %d, lastEvent %d", url, evs.More, evs.Latest, evs.LastEvent)
		case asked && len(evs.Events) > 0 && evs.Events[0].Seq != after+evs.Missed+1:
			o.violate("GET %s: first event %d, missed %d", url, evs.Events[0].Seq, evs.Missed)
		}
		if asked {
			after = evs.LastEvent
			if !evs.More && r.IntN(5) == 0 {
				after = 0
			}
		}
	}
}

// order gives restart and stop orders on random paths, and checks the
// answers' codes and bodies.
func (o *ops) order(r *rand.Rand) {
	for !o.stop(time.Duration(r.IntN(30)) * time.Millisecond) {
		kind := []string{"restart", "restart", "stop"}[r.IntN(3)]
		path, token, want := "", o.token, []int{http.StatusAccepted, http.StatusConflict}
		paths := o.paths.Load()
		switch k := r.IntN(20); {
		case k == 0:
			path, want = o.name+"/nope/x", []int{http.StatusNotFound}
		case k == 1:
			token, want = "wrong", []int{http.StatusUnauthorized}
		case k < 4 || paths == nil:
			path = o.static[r.IntN(len(o.static))]
		default:
			path = (*paths)[r.IntN(len(*paths))]
		}
		if path == "" || path == o.name+"/doom" { // an order would keep it from dooming the tree
			path = o.static[0]
		}
		instance := !slices.Contains(o.static, path) && want[0] != http.StatusNotFound
		if instance {
			want = append(want, http.StatusNotFound)
		}
		var body io.Reader
		url := o.console + "/api/" + kind
		if r.IntN(2) == 0 {
			url += "?path=" + path
		} else {
			b, _ := json.Marshal(map[string]string{"path": path})
			body = bytes.NewReader(b)
		}
		ended := o.ended()
		req, _ := http.NewRequest("POST", url, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		o.orders.Add(1)
		res, err := o.client.Do(req)
		if err != nil {
			o.violate("POST %s %s: %v", url, path, err)
			continue
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			o.violate("POST %s %s: reading: %v", url, path, err)
			continue
		}
		if ended { // nothing is accepted once the tree has ended
			want = slices.DeleteFunc(want, func(c int) bool { return c == http.StatusAccepted })
		}
		switch res.StatusCode {
		case http.StatusAccepted:
			o.accepted.Add(1)
			var or console.OrderResult
			if err := json.Unmarshal(b, &or); err != nil || or.Path != path || or.Order != kind {
				o.violate("POST %s %s: 202 %s (%v)", url, path, b, err)
			}
		case http.StatusConflict:
			o.conflicts.Add(1)
		case http.StatusNotFound:
			o.notFound.Add(1)
		}
		if !slices.Contains(want, res.StatusCode) {
			o.violate("POST %s %s (ended before: %v): %d %s; want one of %v", url, path, ended, res.StatusCode, b, want)
			continue
		}
		if res.StatusCode != http.StatusAccepted {
			var e console.Error
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				o.violate("POST %s %s: %d %q is not an error in JSON", url, path, res.StatusCode, b)
			}
		}
	}
}

// slowRead reads /api/tree and /api/events a few bytes at a time.
func (o *ops) slowRead(r *rand.Rand) {
	for !o.stop(0) {
		url := o.console + []string{"/api/tree", "/api/events"}[r.IntN(2)]
		o.requests.Add(1)
		client := &http.Client{Transport: o.client.Transport} // no timeout: it takes its time
		res, err := client.Get(url)
		if err != nil {
			o.violate("GET %s: %v", url, err)
			continue
		}
		var body []byte
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				o.violate("GET %s slowly: after %d bytes: %v", url, len(body), err)
				break
			}
			if o.stop(time.Millisecond) {
				break
			}
		}
		res.Body.Close()
		if isClosed(o.quit) {
			return
		}
		if !json.Valid(body) {
			o.violate("GET %s slowly: %d bytes, not JSON", url, len(body))
		}
	}
}

// isClosed reports whether ch is closed.
func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// stream follows the event stream and checks it: ids in order, a gap
// message for each gap, events as JSON, the end. A slow one reads a
// message at a time. One with patience gives up within it, and reconnects
// with Last-Event-ID.
func (o *ops) stream(r *rand.Rand, slow bool, patience time.Duration) {
	var last uint64
	for {
		req, _ := http.NewRequest("GET", o.console+"/api/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		if last > 0 {
			req.Header.Set("Last-Event-ID", strconv.FormatUint(last, 10))
		}
		ctx, cancel := context.WithCancel(context.Background())
		req = req.WithContext(ctx)
		if patience > 0 && !isClosed(o.quit) {
			// Until quit: then it reads on to the end message.
			time.AfterFunc(time.Duration(r.Int64N(int64(patience))), cancel)
		}
		client := &http.Client{Transport: o.client.Transport} // no timeout: a stream
		res, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil { // not its own impatience
				o.violate("stream: %v", err)
			}
			cancel()
			if o.stop(100 * time.Millisecond) {
				return
			}
			continue
		}
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
			o.violate("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var kind, id string
		var data []byte
		var missed uint64
		end := false
		for !end && sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "event: "):
				kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = append(data, line[6:]...)
			case line == "":
				switch kind {
				case "gap":
					var g console.Gap
					if err := json.Unmarshal(data, &g); err != nil || g.Missed == 0 {
						o.violate("stream: gap %q", data)
					}
					missed += g.Missed
					o.gaps.Add(1)
				case "end":
					end = true
				case "run":
					var run console.Run
					if err := json.Unmarshal(data, &run); err != nil || run.Run != res.Header.Get(console.RunHeader) {
						o.violate("stream: run %q, header %q", data, res.Header.Get(console.RunHeader))
					}
				case "":
					if id == "" {
						break // retry:
					}
					var e console.Event
					seq, _ := strconv.ParseUint(id, 10, 64)
					if err := json.Unmarshal(data, &e); err != nil || e.Seq != seq || e.Text == "" {
						o.violate("stream: event %s: %q (%v)", id, data, err)
					}
					if seq != last+missed+1 && !(last == 0 && missed == 0) {
						o.violate("stream: event %d after %d with %d missed", seq, last, missed)
					}
					last, missed = seq, 0
					o.streamed.Add(1)
				default:
					o.violate("stream: message %q", kind)
				}
				kind, id, data = "", "", nil
				if slow {
					time.Sleep(time.Duration(r.IntN(4)) * time.Millisecond)
				}
			}
		}
		err = sc.Err()
		res.Body.Close()
		cancelled := ctx.Err() != nil
		cancel()
		if end {
			if !o.ended() {
				o.violate("stream: end before the tree ended")
			}
			return
		}
		if !cancelled {
			o.violate("stream broke before its end: %v", err)
			return
		}
	}
}

// stalledStream opens a stream that it never reads: the console must
// neither hold the tree nor fail to close for it. The returned function
// closes it.
func (o *ops) stalledStream(t *testing.T) func() {
	conn, err := net.Dial("tcp", strings.TrimPrefix(o.console, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// Tiny buffers, so that the console blocks writing to it soon.
	conn.(*net.TCPConn).SetReadBuffer(1024)
	fmt.Fprintf(conn, "GET /api/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
	// And an order whose body never comes.
	order, err := net.Dial("tcp", strings.TrimPrefix(o.console, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(order, "POST /api/restart HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa", o.token)
	return func() {
		conn.Close()
		order.Close()
	}
}

// scrape scrapes the collector and checks that the number of series never
// changes (instances have none) and that one health state is set.
func (o *ops) scrape(r *rand.Rand) {
	series := 0
	for !o.stop(time.Duration(r.IntN(20)) * time.Millisecond) {
		code, _, body := o.get(o.metricsURL)
		if code != http.StatusOK {
			if code != 0 {
				o.violate("scrape: %d %s", code, body)
			}
			continue
		}
		o.scrapes.Add(1)
		n, health := 0, 0
		for _, line := range strings.Split(string(body), "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			n++
			if strings.HasPrefix(line, "arbor_tree_health{") && strings.HasSuffix(line, " 1") {
				health++
			}
		}
		if series == 0 {
			series = n
		}
		if n != series || health != 1 {
			o.violate("scrape: %d series (first %d), %d health states set", n, series, health)
		}
	}
}

// probe polls the probes.
func (o *ops) probe(r *rand.Rand) {
	for !o.stop(time.Duration(r.IntN(20)) * time.Millisecond) {
		p := []string{"/livez", "/healthz", "/readyz", "/readyz?verbose", "/livez?verbose"}[r.IntN(5)]
		ended := o.ended()
		code, hdr, body := o.get(o.probeURL + p)
		if code == 0 {
			continue
		}
		o.probes.Add(1)
		text := string(body)
		live := strings.HasPrefix(p, "/livez") || p == "/healthz"
		switch {
		case code != http.StatusOK && code != http.StatusServiceUnavailable,
			!strings.HasPrefix(hdr.Get("Content-Type"), "text/plain"), hdr.Get("Cache-Control") != "no-store",
			!strings.HasSuffix(text, "\n"):
			o.violate("probe %s: %d %q %q", p, code, hdr, text)
		case live && code != http.StatusOK && !o.endsSoon():
			o.violate("probe %s: %d before the end: %q", p, code, text)
		case ended && code != http.StatusServiceUnavailable:
			o.violate("probe %s: %d after the end: %q", p, code, text)
		case !strings.Contains(p, "verbose") && code == http.StatusOK && text != "ok\n":
			o.violate("probe %s: 200 %q", p, text)
		}
	}
}

// ctl runs arbor ctl in-process: status, events and orders.
func (o *ops) ctl(r *rand.Rand) {
	for !o.stop(time.Duration(r.IntN(50)) * time.Millisecond) {
		path := o.static[r.IntN(len(o.static))]
		if paths := o.paths.Load(); paths != nil && r.IntN(2) == 0 {
			path = (*paths)[r.IntN(len(*paths))]
		}
		if path == o.name+"/doom" {
			path = o.static[0]
		}
		args := [][]string{{"status"}, {"status", "-json"}, {"events"}, {"events", "-json"}, {"restart", path}, {"restart", path}, {"stop", path}}[r.IntN(7)]
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"ctl", "-addr", o.console, "-token", o.token}, args...), &stdout, &stderr)
		o.ctls.Add(1)
		cmd := strings.Join(args, " ")
		switch args[0] {
		case "status", "events":
			if code != 0 || stderr.Len() > 0 && !strings.Contains(stderr.String(), "no longer in the journal") {
				o.violate("ctl %s: exit %d: %s", cmd, code, stderr.String())
			}
			// The run functions' errors hold an escape sequence and a
			// bidirectional override, which must not reach the terminal.
			if i := bytes.IndexAny(stdout.Bytes(), "\x1b\u202e"); i >= 0 {
				o.violate("ctl %s: a control character in its output: %q", cmd, stdout.Bytes()[max(0, i-40):min(stdout.Len(), i+40)])
			}
			if args[0] == "status" && len(args) > 1 {
				var tr console.Tree
				if err := json.Unmarshal(stdout.Bytes(), &tr); err != nil {
					o.violate("ctl %s: %v", cmd, err)
				}
			}
		default:
			msg := stderr.String()
			switch code {
			case 0:
				if stdout.Len()+stderr.Len() > 0 {
					o.violate("ctl %s: exit 0, not silent: %q %q", cmd, stdout.String(), msg)
				}
			case 1:
				if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "arbor ctl: ") ||
					!strings.Contains(msg, "(409 Conflict)") && !strings.Contains(msg, "(404 Not Found)") {
					o.violate("ctl %s: exit 1: %q", cmd, msg)
				}
			default:
				o.violate("ctl %s: exit %d: %q", cmd, code, msg)
			}
		}
	}
}

// lineChecker takes ctl events -f -json's output and checks each line as
// it comes, keeping nothing: a long run prints millions.
type lineChecker struct {
	o     *ops
	part  []byte
	last  uint64
	lines int
}

func (l *lineChecker) Write(p []byte) (int, error) {
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		var e console.Event
		if err := json.Unmarshal(l.part[:i], &e); err != nil || e.Seq <= l.last {
			l.o.violate("ctl events -f: line %q after event %d (%v)", l.part[:i], l.last, err)
		}
		l.last = e.Seq
		l.lines++
		l.part = l.part[i+1:]
	}
	l.part = slices.Clip(l.part)
	return len(p), nil
}

func (l *lineChecker) finish() {
	if len(l.part) > 0 || l.lines == 0 {
		l.o.violate("ctl events -f: %d lines, then %q", l.lines, l.part)
	}
}
