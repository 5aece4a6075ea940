package systemd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/systemd"
)

// TestSocketAbstract: NOTIFY_SOCKET may name a socket in Linux's abstract
// namespace, written with a leading @ (systemd's own convention).
func TestSocketAbstract(t *testing.T) {
	name := fmt.Sprintf("@arbor-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", name)
	t.Setenv("WATCHDOG_USEC", "")
	sock := &socket{t: t, conn: conn}

	tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- systemd.Run(ctx, systemd.TreeRunner(tr)) }()
	assert.Equal(t, "READY=1\nSTATUS=ready", sock.until("READY=1"))
	cancel()
	require.NoError(t, <-done)
}

// TestSocketNotASocket: a NOTIFY_SOCKET that names no datagram socket (a
// regular file, a directory, a stream socket, nothing, a path too long for
// a socket address) costs the tree nothing: it runs, stops when told, and
// the file is left as it was.
func TestSocketNotASocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "sd")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("keep me\n"), 0o644))
	stream := filepath.Join(dir, "stream")
	l, err := net.Listen("unix", stream)
	require.NoError(t, err)
	defer l.Close()

	for name, path := range map[string]string{
		"regular file":  file,
		"directory":     dir,
		"stream socket": stream,
		"missing":       filepath.Join(dir, "missing"),
		"too long":      filepath.Join(dir, strings.Repeat("x", 200)),
		"relative":      "notify",
		"abstract none": "@arbor-nobody-listens-here",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", path)
			t.Setenv("WATCHDOG_USEC", "20000")
			t.Setenv("WATCHDOG_PID", "")
			tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
				{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
			}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- systemd.Run(ctx, systemd.TreeRunner(tr)) }()
			select {
			case <-tr.Ready():
			case <-time.After(10 * time.Second):
				t.Fatal("the tree is not ready")
			}
			time.Sleep(50 * time.Millisecond) // a few pings
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, "keep me\n", string(data))
		})
	}
}
