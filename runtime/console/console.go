// Package console is an operator's console for a supervision tree: a live
// status page, a JSON API, a Server-Sent Events stream of the tree's events,
// and control orders (restart, stop) behind a bearer token.
//
// Handler serves one tree on the mux of the program's choice; Listen serves
// it on a listener of its own, on the loopback interface unless told
// otherwise. Paths are relative to where the handler is mounted: they are
// matched on their end, so that it serves at the root of a mux or under a
// prefix, with or without http.StripPrefix (of "/arbor" or "/arbor/"; the
// page's links are relative, and a GET of the prefix without its final
// slash, "/arbor", redirects to "arbor/"):
//
//	GET  /                  the page: one HTML file, no external assets
//	GET  /api/tree          the tree's snapshot and health, as JSON (Tree);
//	                        ?instances=N lists at most N of each pool's instances
//	GET  /api/events        the journal's latest MaxEvents events as JSON
//	                        (Events); ?after=SEQ for those after SEQ.
//	                        With Accept: text/event-stream,
//	                        a Server-Sent Events stream (see below)
//	POST /api/restart?path=P   restart the child at P (runtime.Handle.Restart);
//	                           409 while the tree, or a supervisor above
//	                           the child, stops
//	POST /api/stop?path=P      stop the child at P (runtime.Handle.Stop)
//
// Reads need nothing beyond reaching the listener. Any answer is dropped
// when its client has not taken a write of it (64 KB at most) within 30
// seconds, and so is a request whose body has not all come within 30
// seconds. Control needs the header
// "Authorization: Bearer <token>" with the token given to WithToken,
// compared in constant time; without WithToken, control answers 403 and says
// how to turn it on. The token is never read from the URL or a cookie (a
// request that puts one in the URL is refused). Control orders only come
// by POST, and cross-site ones are refused (http.CrossOriginProtection:
// Sec-Fetch-Site, then Origin against Host). A control body, when there is
// one, is JSON {"path": "..."} of at most 4 KB. Queries and bodies are
// read strictly: a parameter or field a path does not take, one given
// twice, a value of the wrong type or data after the JSON object is a 400.
// Every order, given or refused, is logged, with the child's path, the
// order and the remote address, and every order given is emitted as a
// runtime.EventOrder that names the remote address.
//
// The stream begins with a "run" message, whose data is a Run (an
// EventSource cannot read RunHeader), then sends each event of the tree's
// journal (runtime.Tree.Journal) as a message whose id is its sequence
// number and whose data is an Event in JSON. A client that reconnects with
// Last-Event-ID (as EventSource does) or ?after=SEQ gets every event after
// that one, without gaps, as long as
// the journal still holds them; when it does not, a "gap" message says how
// many were lost before the stream goes on. When the tree's Run has
// returned, an "end" message closes the stream. A client that has not
// taken a write within 30 seconds is dropped; a catch-up after a
// reconnection is written 256 events at a time. Every answer has the
// header RunHeader, which names the tree's run (the same from every Handler
// of the tree; /api/tree's run too): a client that resumes with
// Last-Event-ID and gets another run's answer has reached a restarted
// program, whose events are numbered from 1 again, and asks again from its
// first.
package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	goruntime "runtime"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// Option configures a Handler.
type Option func(*handler)

// WithToken turns control orders on: they need the header
// "Authorization: Bearer <token>". The token is taken without its
// surrounding white space, which no header could carry (a token read from
// a file ends in a newline); an empty token leaves them off.
func WithToken(token string) Option {
	token = strings.TrimSpace(token)
	return func(h *handler) {
		if token != "" {
			sum := sha256.Sum256([]byte(token))
			h.token = &sum
		}
	}
}

// WithLogger logs control orders to l instead of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(h *handler) {
		if l != nil {
			h.log = l
		}
	}
}

// keepAlive is how often an idle stream sends a comment, so that proxies
// keep it open and a client that went away is noticed.
const keepAlive = 15 * time.Second

// stallTimeout is how long a stream waits for a client to take what it
// writes before it drops the client: one that stays connected without
// reading must not hold its handler, and what was built for it, for ever.
const stallTimeout = 30 * time.Second

// maxBody bounds a control request's body.
const maxBody = 4 << 10

type handler struct {
	tree      *runtime.Tree
	token     *[sha256.Size]byte // nil: control is off
	log       *slog.Logger
	csrf      *http.CrossOriginProtection
	keepAlive time.Duration
	stall     time.Duration
	run       string        // RunHeader's value: runOf(tree)
	loopback  bool          // served on the loopback interface: requests must name it
	snapshots chan struct{} // held while a snapshot is read for /api/tree
}

// RunHeader is the header of every answer that names the run of the tree
// that answered: the same from every Handler of the tree, another for
// another tree, such as that of a restarted program. A tree runs once.
const RunHeader = "Arbor-Run"

// runs names each tree's run, without keeping the tree: a program that
// builds a new tree for each run must not pile up the old ones.
var runs struct {
	sync.Mutex
	ids map[weak.Pointer[runtime.Tree]]string
}

// runOf is t's run's name, random, made once per tree.
func runOf(t *runtime.Tree) string {
	k := weak.Make(t)
	runs.Lock()
	defer runs.Unlock()
	if id, ok := runs.ids[k]; ok {
		return id
	}
	if runs.ids == nil {
		runs.ids = map[weak.Pointer[runtime.Tree]]string{}
	}
	id := rand.Text()
	runs.ids[k] = id
	goruntime.AddCleanup(t, func(k weak.Pointer[runtime.Tree]) {
		runs.Lock()
		delete(runs.ids, k)
		runs.Unlock()
	}, k)
	return id
}

// Handler returns the console of t. See the package documentation for what
// it serves. It panics if t is nil, and skips nil options.
func Handler(t *runtime.Tree, opts ...Option) http.Handler {
	if t == nil {
		panic("console: Handler needs a tree, not nil")
	}
	h := &handler{tree: t, log: slog.Default(), csrf: http.NewCrossOriginProtection(), keepAlive: keepAlive, stall: stallTimeout, run: runOf(t),
		snapshots: make(chan struct{}, 1)}
	for _, o := range opts {
		if o != nil {
			o(h)
		}
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer, not only a stream, gives up on a client that does not
	// take what it writes: a large tree's JSON held for a client that never
	// reads would be memory anyone who can connect could pile up.
	tw := &timedWriter{ResponseWriter: w, rc: http.NewResponseController(w), stall: h.stall}
	defer tw.rc.SetWriteDeadline(time.Time{}) // for the connection's next request
	defer func() {
		if tw.stalled {
			// A dashboard or a follower that goes quiet has a reason.
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "arbor console: client dropped", slog.String("method", text.Clip(r.Method, maxLogged)),
				slog.String("path", text.Clip(r.URL.Path, maxLogged)), slog.String("remote", r.RemoteAddr),
				slog.String("why", "it took nothing of the answer for "+h.stall.String()))
		}
	}()
	w = tw
	if r.ContentLength != 0 {
		// A body, if any, must come within the stall timeout: the server
		// reads the body of a request it answered before it takes the
		// next, with no deadline of its own, and a client that never
		// sends it would hold its connection for ever. (Without a body,
		// no deadline: the server's read in the background would cancel
		// a stream.) The server sets its own deadline for the next request.
		tw.rc.SetReadDeadline(time.Now().Add(h.stall))
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	// http.StripPrefix("/arbor/", h), as in net/http's own example, leaves
	// "api/tree" and "" of "/arbor/api/tree" and "/arbor/".
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if h.loopback && !loopbackHost(r.Host) {
		// A page of another site that the operator's browser opens can
		// make its own name resolve to 127.0.0.1 (DNS rebinding), and
		// read the console as its own origin; its requests name its host.
		// Logged, orders and reads: an attack, or a proxy that does not
		// pass the upstream's host.
		const why = "a host other than localhost or a loopback address"
		switch {
		case strings.HasSuffix(p, "/api/restart"):
			h.refuse(r, runtime.OrderRestart, r.URL.Query().Get("path"), why)
		case strings.HasSuffix(p, "/api/stop"):
			h.refuse(r, runtime.OrderStop, r.URL.Query().Get("path"), why)
		default:
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "arbor console: request refused", slog.String("method", text.Clip(r.Method, maxLogged)),
				slog.String("path", text.Clip(p, maxLogged)), slog.String("remote", r.RemoteAddr), slog.String("why", why), slog.String("host", text.Clip(r.Host, maxLogged)))
		}
		fail(w, http.StatusForbidden, "refused: this console listens on the loopback interface and answers requests for localhost or a loopback address only, not for "+
			text.Clip(r.Host, maxLogged)+" (a page of another site can make its name resolve to 127.0.0.1)")
		return
	}
	hdr.Set(RunHeader, h.run)
	switch {
	case strings.HasSuffix(p, "/api/tree"):
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.treeJSON(w, r)
		}
	case strings.HasSuffix(p, "/api/events"):
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.events(w, r)
		}
	case strings.HasSuffix(p, "/api/restart"):
		h.control(w, r, runtime.OrderRestart)
	case strings.HasSuffix(p, "/api/stop"):
		h.control(w, r, runtime.OrderStop)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && mountedAt(r) != "":
		// The console's own address without its final slash: the page's
		// relative links need the slash.
		loc := "./" + url.PathEscape(mountedAt(r)) + "/"
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		fail(w, http.StatusMovedPermanently, "the console is at "+loc)
	case strings.HasSuffix(p, "/") && !strings.HasSuffix(p, "/api/"):
		if allow(w, r, http.MethodGet, http.MethodHead) {
			servePage(w, r)
		}
	default:
		fail(w, http.StatusNotFound, "no such path: "+text.Clip(r.URL.Path, maxLogged)+" (the console serves /, /api/tree, /api/events, /api/restart and /api/stop)")
	}
}

// mountedAt returns the last segment of r's path when the path is where
// the console is mounted, without its final slash: "arbor" of "/ops/arbor"
// (a router that hands the console the whole path, as chi's Mount does),
// or of a request that http.StripPrefix emptied. It returns "" for every
// other path: those ending in a slash, the API's, ones that name a file
// (a dot: favicon.ico) and ones that are not clean.
func mountedAt(r *http.Request) string {
	p := r.URL.Path
	if p == "" {
		// StripPrefix took the whole path: the client asked for the
		// prefix, which the request's URI still says.
		u, err := url.ParseRequestURI(r.RequestURI)
		if err != nil {
			return ""
		}
		p = u.Path
	}
	p = "/" + strings.TrimPrefix(p, "/") // StripPrefix("/arbor/") leaves "api/nope"
	last := p[strings.LastIndexByte(p, '/')+1:]
	if last == "" || last == "api" || strings.Contains(p, "/api/") || strings.Contains(last, ".") ||
		len(last) > maxLogged || path.Clean(p) != p {
		return ""
	}
	return last
}

// allow answers 405 unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	allowed := methods[0]
	for _, m := range methods[1:] {
		allowed += ", " + m
	}
	w.Header().Set("Allow", allowed)
	fail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+allowed)
	return false
}

// authorized reports whether r carries the token, in constant time: the
// hashes compared have the same length whatever the request sends.
func (h *handler) authorized(r *http.Request) bool {
	const prefix = "Bearer "
	auth := r.Header.Get("Authorization")
	if len(auth) <= len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return false
	}
	sum := sha256.Sum256([]byte(auth[len(prefix):]))
	return subtle.ConstantTimeCompare(sum[:], h.token[:]) == 1
}

// timedWriter writes in pieces of at most timedChunk bytes, each of which
// the client must take within stall. A writer without deadlines (one
// wrapped by a middleware) is written to without.
type timedWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	stall   time.Duration
	stalled bool // a write failed for the deadline
}

const timedChunk = 64 << 10

func (t *timedWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

func (t *timedWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), timedChunk)
		t.rc.SetWriteDeadline(time.Now().Add(t.stall))
		m, err := t.ResponseWriter.Write(p[:c])
		n += m
		if err != nil {
			t.stalled = t.stalled || errors.Is(err, os.ErrDeadlineExceeded)
			return n, err
		}
		p = p[c:]
	}
	return n, nil
}
