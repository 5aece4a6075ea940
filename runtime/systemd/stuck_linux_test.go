package systemd_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/systemd"
)

// TestSocketNobodyReads: the service manager stops reading its socket (it
// hangs, or NOTIFY_SOCKET names a socket of something else), so that its
// queue fills with pings. Run still returns once the tree has stopped:
// a notification that cannot be delivered is dropped, not waited for.
func TestSocketNobodyReads(t *testing.T) {
	listen(t)                         // never read
	t.Setenv("WATCHDOG_USEC", "2000") // a ping every millisecond
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	tr := mustNew(t, runtime.Spec{Name: "shop", Shutdown: time.Second, Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- systemd.Run(ctx, systemd.TreeRunner(tr)) }()
	<-tr.Ready()
	time.Sleep(200 * time.Millisecond) // far more pings than the socket's queue holds
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return: it waits for a service manager that does not read")
	}
}
