package console

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// idleTimeout is how long Listen's server keeps a connection that waits
// for its next request; a var for tests.
var idleTimeout = time.Minute

// stoppingWait is how long Listen's server, its context done, waits for
// the tree to begin stopping before it stops without it.
const stoppingWait = time.Second

// Server is a console served on a listener of its own, by Listen.
type Server struct {
	// URL is where the console is, such as "http://127.0.0.1:43117/".
	URL string

	srv     *http.Server
	closing chan struct{} // closed by Close
	once    sync.Once
	done    chan struct{}
	err     error
}

// Listen serves the console of t on addr until ctx is done or Close is
// called. When ctx is done while the tree stops (or begins to within a
// second), as when it is the context the tree runs with, it serves until
// the tree has stopped, so that its clients see the shutdown and the
// streams end with their "end" message. An address without a host, such
// as ":8090" or "", listens on the loopback interface only (127.0.0.1; port 0 picks a free one): serving
// further is the caller's explicit choice, as "0.0.0.0:8090" or
// "[::]:8090". On the loopback interface it answers only requests for
// localhost or a loopback address (403 for others), so that a page of
// another site cannot read it through DNS rebinding: a reverse proxy in
// front passes the upstream's host, or the program mounts Handler on a
// server of its own. Listen returns once the listener is open.
func Listen(ctx context.Context, addr string, t *runtime.Tree, opts ...Option) (*Server, error) {
	switch {
	case ctx == nil:
		return nil, errors.New("console: Listen needs a context, not nil")
	case t == nil:
		return nil, errors.New("console: Listen needs a tree, not nil")
	}
	host, port, err := net.SplitHostPort(addr)
	if addr == "" {
		host, port, err = "", "0", nil
	}
	if err != nil {
		return nil, err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		opts = append(opts[:len(opts):len(opts)], func(h *handler) { h.loopback = true })
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{
		URL:     "http://" + ln.Addr().String() + "/",
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		srv: &http.Server{
			Handler:           Handler(t, opts...),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       idleTimeout, // without it, an idle connection stays for ever
			BaseContext:       func(net.Listener) context.Context { return base },
		},
	}
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(ln) }()
	go func() {
		defer close(s.done)
		select {
		case <-ctx.Done():
			// Often the context the tree runs with too (main's signal
			// context): a tree that stops, or begins to within
			// stoppingWait, is served until it has stopped, so that the
			// clients see the shutdown and the streams' end. Its Run
			// returns within its budget.
			wait := time.NewTimer(stoppingWait)
			select {
			case <-t.Stopping():
				select {
				case <-t.Done():
				case <-s.closing:
				}
			case <-t.Done():
			case <-wait.C:
			case <-s.closing:
			}
			wait.Stop()
		case <-s.closing:
		}
		if ended(t) {
			// The streams end by themselves, once they have said so to
			// their clients.
			stop, cancelStop := context.WithTimeout(context.Background(), time.Second)
			s.srv.Shutdown(stop)
			cancelStop()
		}
		cancel()
		s.srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// Close stops the server and waits until it has stopped. The streams it
// serves end at once; once the tree's Run has returned, they first send
// their last events and the "end" message (for up to a second). It
// returns the error that stopped the server early, if any.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closing) })
	<-s.done
	return s.err
}

// loopbackHost reports whether hostport, a request's Host, names this
// machine's loopback interface: localhost, a name below it (RFC 6761), or
// a loopback address. An empty Host (HTTP/1.0) comes from no browser.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func ended(t *runtime.Tree) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

// Done is closed once the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }
