package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Server is the echo service: Listen accepts connections and starts an
// instance of the conns pool for each; Serve is that instance.
type Server struct {
	Addr string        // where to listen, such as "127.0.0.1:7007"
	Tick time.Duration // how often an idle connection's loop wakes up to beat

	conns  *EchoConns // set once the tree is built
	served atomic.Int64
}

// Listen opens the port, reports ready, and hands each accepted connection
// to the pool, until ctx is cancelled.
func (s *Server) Listen(ctx context.Context, a *runtime.Attempt) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() }) // unblocks Accept
	defer stop()
	fmt.Printf("echo: listening on %s\n", ln.Addr())
	a.Ready()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if _, err := s.conns.Start(conn); err != nil {
			// Full (runtime.ErrPoolFull) or stopping: say so, and hang up.
			fmt.Fprintf(conn, "echo: busy: %v\n", err)
			conn.Close()
			continue
		}
		s.served.Add(1)
	}
}

// Serve echoes what the client sends until the client hangs up or ctx is
// cancelled. Its loop beats at least every Tick: a loop stuck writing to a
// client that does not read misses its heartbeat, and the pool cancels it.
func (s *Server) Serve(ctx context.Context, a *runtime.Attempt, conn net.Conn) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // unblocks Read and Write
	defer stop()
	buf := make([]byte, 4096)
	for {
		a.Beat()
		conn.SetReadDeadline(time.Now().Add(s.Tick))
		n, err := conn.Read(buf)
		if n > 0 {
			if _, err := conn.Write(buf[:n]); err != nil {
				return ended(ctx, err)
			}
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Idle: loop to beat again.
		case err != nil:
			return ended(ctx, err)
		}
	}
}

// ended returns nil when the connection ended because the client hung up
// or the pool stopped it, and err otherwise.
func ended(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
