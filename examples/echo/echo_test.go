//go:build unix

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-go/arbor/examples/internal/proc"
)

// TestEcho builds the example and drives it as a user would: over real
// sockets, up to the pool's cap and past it, then stops it with a signal
// while connections are open, and checks that it exits 0 after a clean
// shutdown that closed every connection.
func TestEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	exe := proc.Build(t, "echo")

	t.Run("cap and SIGINT", func(t *testing.T) {
		p := start(t, exe)
		first := p.dial(t)
		first.echo(t, "hello")

		// The pool's cap is 100: 99 more are served...
		conns := []*client{first}
		for i := 1; i < 100; i++ {
			c := p.dial(t)
			c.echo(t, fmt.Sprint("conn ", i))
			conns = append(conns, c)
		}
		// ...and the next one is told why it is refused, and hung up on.
		refused := p.dial(t)
		if got := refused.readAll(t); !strings.HasPrefix(got, "echo: busy: ") || !strings.Contains(got, "full") {
			t.Fatalf("the 101st connection got %q, want a busy message", got)
		}

		// A connection that ends frees its place in the pool.
		conns[0].Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			c := p.dial(t)
			if c.tryEcho("again") {
				conns[0] = c
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no place in the pool 10s after a connection ended")
			}
			time.Sleep(20 * time.Millisecond)
		}

		p.stop(t, os.Interrupt)
		for i, c := range conns {
			if got := c.readAll(t); got != "" {
				t.Errorf("connection %d read %q at shutdown, want the server to close it", i, got)
			}
		}
		if !strings.Contains(p.Stdout(), "clean shutdown: true") {
			t.Errorf("stdout:\n%s", p.Stdout())
		}
	})

	t.Run("hostile clients", func(t *testing.T) {
		p := start(t, exe)
		// Clients that never send hold their place, quietly.
		for range 40 {
			p.dial(t)
		}
		// Clients that send without ever reading: the server's write
		// blocks once the socket buffers are full, its instance misses
		// its heartbeat (5s), and the pool closes the connection.
		var writers sync.WaitGroup
		for range 10 {
			c := p.dial(t)
			writers.Go(func() {
				c.SetWriteDeadline(time.Now().Add(60 * time.Second))
				chunk := bytes.Repeat([]byte("x"), 64<<10)
				for {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			})
		}
		// A client that half-closes gets its echo, then the server hangs up.
		for i := range 20 {
			c := p.dial(t)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "bye %d\n", i)
			if err := c.Conn.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if got := c.readAll(t); got != fmt.Sprintf("bye %d\n", i) {
				t.Fatalf("half-closed client %d read %q", i, got)
			}
		}
		// All that leaves room for the others.
		p.dial(t).echo(t, "still serving")
		stuck := make(chan struct{})
		go func() { writers.Wait(); close(stuck) }()
		select {
		case <-stuck:
		case <-time.After(30 * time.Second):
			t.Fatal("clients that never read still connected 30s on: their heartbeat (5s) did not close them")
		}
		p.dial(t).echo(t, "and after")
		p.stop(t, syscall.SIGTERM)
		if !strings.Contains(p.Stdout(), "clean shutdown: true") {
			t.Errorf("stdout:\n%s", p.Stdout())
		}
	})

	t.Run("clients at once", func(t *testing.T) {
		p := start(t, exe)
		// 300 clients dial at once and stay: the pool serves 100 of them,
		// whatever the order they come in, and tells the others it is busy.
		var mu sync.Mutex
		var served []*client
		busy := 0
		var all sync.WaitGroup
		for i := range 300 {
			c := p.dial(t)
			all.Go(func() {
				line := fmt.Sprint("client ", i)
				c.SetDeadline(time.Now().Add(20 * time.Second))
				fmt.Fprintln(c, line)
				got, err := c.r.ReadString('\n')
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && got == line+"\n":
					served = append(served, c)
				case strings.HasPrefix(got, "echo: busy: "):
					busy++
				default:
					t.Errorf("client %d read %q, %v", i, got, err)
				}
			})
		}
		all.Wait()
		if len(served) != 100 || busy != 200 {
			t.Fatalf("%d served and %d told busy, want 100 and 200", len(served), busy)
		}
		// Each is served while all are connected, and the shutdown closes
		// every one of them.
		var echoes sync.WaitGroup
		for i, c := range served {
			echoes.Go(func() {
				if !c.tryEcho(fmt.Sprint("again ", i)) {
					t.Errorf("connection %d: no echo while all are connected", i)
				}
			})
		}
		echoes.Wait()
		p.stop(t, syscall.SIGTERM)
		for i, c := range served {
			if got := c.readAll(t); got != "" {
				t.Errorf("connection %d read %q at shutdown, want the server to close it", i, got)
			}
		}
		if !strings.Contains(p.Stdout(), "echo: stopped after 100 connections; clean shutdown: true") {
			t.Errorf("stdout:\n%s", p.Stdout())
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		p := start(t, exe)
		c := p.dial(t)
		c.echo(t, "one line")
		p.stop(t, syscall.SIGTERM)
		if got := c.readAll(t); got != "" {
			t.Errorf("read %q at shutdown", got)
		}
		if !strings.Contains(p.Stdout(), "echo: stopped after 1 connections; clean shutdown: true") {
			t.Errorf("stdout:\n%s", p.Stdout())
		}
	})
}

// process is the running example.
type process struct {
	*proc.Proc
	addr string
}

// start runs the example on a free port and waits until it listens.
func start(t *testing.T, exe string) *process {
	t.Helper()
	p := proc.Start(t, exe, "-addr", "127.0.0.1:0")
	m := p.Await(t, 30*time.Second, `^echo: listening on (\S+)\n`)
	return &process{Proc: p, addr: m[1]}
}

// stop sends sig and checks that the example exits 0 within its
// shutdown budget (10s).
func (p *process) stop(t *testing.T, sig os.Signal) { p.Stop(t, sig, 15*time.Second) }

// client is a connection to the example.
type client struct {
	net.Conn
	r *bufio.Reader
}

func (p *process) dial(t *testing.T) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{Conn: c, r: bufio.NewReader(c)}
}

// echo sends a line and checks that it comes back.
func (c *client) echo(t *testing.T, line string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(c, line); err != nil {
		t.Fatal(err)
	}
	got, err := c.r.ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("echo of %q: got %q, %v", line, got, err)
	}
}

// tryEcho reports whether a line comes back.
func (c *client) tryEcho(line string) bool {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(c, line)
	got, err := c.r.ReadString('\n')
	return err == nil && got == line+"\n"
}

// readAll reads until the server closes the connection.
func (c *client) readAll(t *testing.T) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	b, err := io.ReadAll(c.r)
	if err != nil && !isReset(err) {
		t.Fatalf("reading until the server hangs up: %v", err)
	}
	return string(b)
}

// isReset reports a connection closed by the server with unread data.
func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }
