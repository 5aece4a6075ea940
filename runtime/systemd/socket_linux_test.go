package systemd_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/systemd"
)

// These tests play systemd: they listen on a real unixgram socket, point
// NOTIFY_SOCKET at it and read what the service sends. They wait only for
// the next datagram, never for time to pass.

// socket is the service manager's end of NOTIFY_SOCKET.
type socket struct {
	t    *testing.T
	conn *net.UnixConn
	got  []string // every datagram read so far
}

func listen(t *testing.T) *socket {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: socket paths are limited to 108 bytes
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return &socket{t: t, conn: conn}
}

// next reads the next datagram, waiting for it at most ten seconds.
func (s *socket) next() string {
	s.t.Helper()
	require.NoError(s.t, s.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 4096)
	n, _, err := s.conn.ReadFromUnix(buf)
	require.NoError(s.t, err, "after %q", s.got)
	msg := string(buf[:n])
	s.got = append(s.got, msg)
	return msg
}

// until reads datagrams up to the first that has line as one of its lines.
func (s *socket) until(line string) string {
	s.t.Helper()
	for {
		if msg := s.next(); slices.Contains(strings.Split(msg, "\n"), line) {
			return msg
		}
	}
}

// rest reads the datagrams already queued, without waiting for more.
func (s *socket) rest() []string {
	s.t.Helper()
	raw, err := s.conn.SyscallConn()
	require.NoError(s.t, err)
	var out []string
	buf := make([]byte, 4096)
	for {
		var n int
		var rerr error
		require.NoError(s.t, raw.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		}))
		if rerr == syscall.EAGAIN {
			s.got = append(s.got, out...)
			return out
		}
		require.NoError(s.t, rerr)
		out = append(out, string(buf[:n]))
	}
}

func TestSocketSequence(t *testing.T) {
	sock := listen(t)
	t.Setenv("WATCHDOG_USEC", "")

	up := make(chan struct{})
	tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
			select {
			case <-up:
				a.Ready()
			case <-ctx.Done():
				return nil
			}
			<-ctx.Done()
			return nil
		}},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- systemd.Run(ctx, systemd.TreeRunner(tr)) }()

	assert.Equal(t, "STATUS=starting: not started", sock.next())
	close(up)
	assert.Equal(t, "READY=1\nSTATUS=ready", sock.until("READY=1"))
	cancel()
	assert.Equal(t, "STOPPING=1\nSTATUS=stopping", sock.until("STOPPING=1"))
	require.NoError(t, <-done)
	goleak.VerifyNone(t) // nothing of Run's outlives it

	assert.Equal(t, []string{"STATUS=stopped"}, sock.rest(), "the last word, and nothing after it")
	for _, msg := range sock.got {
		assert.NotContains(t, msg, "WATCHDOG=1", "the watchdog is off")
	}
}

func TestSocketWatchdog(t *testing.T) {
	sock := listen(t)
	t.Setenv("WATCHDOG_USEC", "100000") // 100ms: a ping every 50ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	fail := make(chan struct{})
	tr := mustNew(t, runtime.Spec{Name: "shop",
		Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour},
		Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
			{Name: "worker", Run: runtime.Func(func(ctx context.Context) error {
				select {
				case <-fail:
					return errBoom
				case <-ctx.Done():
					return nil
				}
			})},
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- systemd.Run(ctx, &shop{tr}) }()

	sock.until("READY=1")
	sock.until("WATCHDOG=1")
	sock.until("WATCHDOG=1")
	close(fail)
	sock.until("STATUS=degraded: shop/worker: restarting after error: boom")
	sock.until("WATCHDOG=1") // a degraded tree is live
	cancel()
	sock.until("STOPPING=1")
	require.NoError(t, <-done)

	rest := sock.rest()
	require.NotEmpty(t, rest)
	assert.Equal(t, "STATUS=stopped", rest[len(rest)-1])
	ready := slices.IndexFunc(sock.got, func(m string) bool { return strings.HasPrefix(m, "READY=1") })
	stopping := slices.IndexFunc(sock.got, func(m string) bool { return strings.HasPrefix(m, "STOPPING=1") })
	assert.Less(t, ready, stopping, "%q", sock.got)
}
