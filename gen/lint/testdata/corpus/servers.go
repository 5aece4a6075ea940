package corpus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// API serves HTTP and shuts down gracefully from a goroutine.
type API struct {
	Addr    string
	Handler http.Handler
}

func (api *API) Run(ctx context.Context, a *runtime.Attempt) error {
	ln, err := net.Listen("tcp", api.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			a.Logger().Warn("shutdown", slog.Any("err", err))
		}
	}()
	a.Ready()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Admin serves HTTP and is shut down by context.AfterFunc.
func Admin(ctx context.Context, a *runtime.Attempt) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := &http.Server{Addr: "localhost:0", Handler: mux}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	a.Ready()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Gateway runs the server in a goroutine and waits for it or the context.
func Gateway(ctx context.Context, a *runtime.Attempt) error {
	srv := &http.Server{Addr: "localhost:0", ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Ready()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// Echo is a TCP server: an accept loop closed via context.AfterFunc, one
// goroutine per connection, all waited for.
type Echo struct {
	Addr string
	log  *slog.Logger
}

func (e *Echo) Run(ctx context.Context, a *runtime.Attempt) error {
	ln, err := net.Listen("tcp", e.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	a.Ready()

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.serve(ctx, conn)
		}()
	}
}

func (e *Echo) serve(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if _, err := fmt.Fprintln(conn, sc.Text()); err != nil {
			return
		}
	}
}

// Sockets serves a Unix socket, one line per request, and beats per
// connection accepted or per idle second.
func Sockets(ctx context.Context, a *runtime.Attempt) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", "/tmp/corpus.sock")
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	a.Ready()
	for {
		if ul, ok := ln.(*net.UnixListener); ok {
			ul.SetDeadline(time.Now().Add(time.Second))
		}
		a.Beat()
		conn, err := ln.Accept()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer conn.Close()
			process(conn)
		}()
	}
}

// RPC runs a gRPC-like server, stopped gracefully with a deadline.
type RPC struct {
	Server RPCServer
	Addr   string
}

func (r *RPC) Run(ctx context.Context, a *runtime.Attempt) error {
	ln, err := net.Listen("tcp", r.Addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		done := make(chan struct{})
		go func() {
			r.Server.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			r.Server.Stop()
		}
	}()
	a.Ready()
	return r.Server.Serve(ln)
}

// UDP reads datagrams until the context closes the connection.
func UDP(ctx context.Context, a *runtime.Attempt) error {
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, "udp", "localhost:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	context.AfterFunc(ctx, func() { conn.Close() })
	a.Ready()
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		a.Beat()
		_, _ = n, addr
	}
}
