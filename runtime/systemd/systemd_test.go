package systemd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/systemd"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errBoom = errors.New("boom")

func mustNew(t *testing.T, spec runtime.Spec) *runtime.Tree {
	t.Helper()
	tr, err := runtime.New(spec)
	require.NoError(t, err)
	return tr
}

// notes records notifications with the time since the recorder was made.
type notes struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

func newNotes() *notes { return &notes{start: time.Now()} }

func (n *notes) add(state string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lines = append(n.lines, fmt.Sprintf("%v %q", time.Since(n.start), state))
}

func (n *notes) get() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.lines...)
}

// shop is shaped like a tree type that arbor gen emits.
type shop struct{ tree *runtime.Tree }

func (s *shop) Run(ctx context.Context) error { return s.tree.Run(ctx) }
func (s *shop) Tree() *runtime.Tree           { return s.tree }

var _ systemd.Runner = (*shop)(nil)

// TestTimeline checks what is sent, and when, over a tree's whole life,
// with a one-second watchdog: pings every 500ms, status checked as often.
func TestTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify") // never dialled: notify is replaced
		t.Setenv("WATCHDOG_USEC", "1000000")
		t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
		rec := newNotes()
		defer systemd.SetNotify(rec.add)()

		up, fail := make(chan struct{}), make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff: &runtime.Backoff{Initial: time.Minute, Max: time.Minute, ResetAfter: time.Hour},
			Children: []runtime.Child{
				{Name: "db", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-up
					a.Ready()
					<-ctx.Done()
					time.Sleep(600 * time.Millisecond) // a slow stop: pings go on
					return nil
				}},
				{Name: "worker", After: []string{"db"}, Run: runtime.Func(func(ctx context.Context) error {
					select {
					case <-fail:
						return errBoom
					case <-ctx.Done():
						return nil
					}
				})},
			}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- systemd.Run(ctx, &shop{tr}) }()

		time.Sleep(700 * time.Millisecond)
		close(up)
		time.Sleep(500 * time.Millisecond)
		close(fail) // at 1.2s: the worker waits a minute to restart
		time.Sleep(time.Second)
		cancel() // at 2.2s
		require.NoError(t, <-done)

		assert.Equal(t, []string{
			`0s "STATUS=starting: not started"`,
			`500ms "WATCHDOG=1\nSTATUS=starting: shop/db: starting: not ready yet"`,
			`700ms "READY=1\nSTATUS=ready"`,
			`1s "WATCHDOG=1"`,
			`1.5s "WATCHDOG=1\nSTATUS=degraded: shop/worker: restarting after error: boom"`,
			`2s "WATCHDOG=1"`,
			`2.2s "STOPPING=1\nSTATUS=stopping"`,
			`2.5s "WATCHDOG=1"`,
			`2.8s "STATUS=stopped"`,
		}, rec.get())
	})
}

// TestStatusWithoutWatchdog: without WatchdogSec the status is still
// refreshed, every MaxStatusInterval, and nothing else is sent.
func TestStatusWithoutWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
		t.Setenv("WATCHDOG_USEC", "")
		rec := newNotes()
		defer systemd.SetNotify(rec.add)()

		up := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
				<-up
				a.Ready()
				<-ctx.Done()
				return nil
			}},
		}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- systemd.Run(ctx, systemd.TreeRunner(tr)) }()
		time.Sleep(2500 * time.Millisecond)
		close(up)
		time.Sleep(2 * time.Second)
		cancel()
		require.NoError(t, <-done)

		assert.Equal(t, []string{
			`0s "STATUS=starting: not started"`,
			`1s "STATUS=starting: shop/db: starting: not ready yet"`,
			`2.5s "READY=1\nSTATUS=ready"`,
			`4.5s "STOPPING=1\nSTATUS=stopping"`,
			`4.5s "STATUS=stopped"`,
		}, rec.get())
	})
}

// TestGiveUp: Run returns the tree's error and the last status says why.
func TestGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
		rec := newNotes()
		defer systemd.SetNotify(rec.add)()

		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff:      &runtime.Backoff{Initial: time.Second, Max: time.Second},
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Minute},
			Children: []runtime.Child{
				{Name: "bad", Run: runtime.Func(func(context.Context) error { return errBoom })},
			}})
		err := systemd.Run(context.Background(), systemd.TreeRunner(tr))
		require.ErrorIs(t, err, runtime.ErrRestartLimit)

		got := rec.get()
		require.NotEmpty(t, got)
		stopping, failed := -1, -1
		for i, l := range got {
			if strings.Contains(l, `"STOPPING=1`) {
				stopping = i
			}
			if strings.Contains(l, "STATUS=failed: ") {
				assert.Equal(t, -1, failed, "failed status sent twice: %q", got)
				failed = i
				assert.Contains(t, l, "STATUS=failed: "+err.Error()+`"`)
			}
		}
		assert.NotEqual(t, -1, stopping, "no STOPPING=1: %q", got)
		assert.Equal(t, len(got)-1, failed, "the failure is the last word: %q", got)
	})
}

// TestNoTree: a generated tree whose spec is invalid has no runtime tree;
// Run returns its error and says so.
func TestNoTree(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
	rec := newNotes()
	defer systemd.SetNotify(rec.add)()

	bad := fmt.Errorf("shop:\n%w", &runtime.SpecError{Path: "shop/db", Field: "Name", Msg: "bad"})
	err := systemd.Run(context.Background(), brokenTree{bad})
	require.ErrorIs(t, err, runtime.ErrInvalidSpec)
	got := rec.get()
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `"STATUS=failed: shop:; arbor: invalid spec: shop/db: Name: bad"`)
}

// TestRunTwice: Run of a tree that runs already, or has ended, returns
// the tree's refusal, and tells the service manager only that: not the
// READY=1 or STOPPING=1 of a run that is not its own.
func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
		t.Setenv("WATCHDOG_USEC", "100000")
		t.Setenv("WATCHDOG_PID", "")
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
		}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()
		<-tr.Ready()

		rec := newNotes()
		restore := systemd.SetNotify(rec.add)
		err := systemd.Run(ctx, systemd.TreeRunner(tr))
		require.ErrorIs(t, err, runtime.ErrAlreadyRunning)
		assert.Equal(t, []string{`0s "STATUS=failed: arbor: tree is already running"`}, rec.get())
		restore()

		cancel()
		require.NoError(t, <-done)
		rec = newNotes()
		defer systemd.SetNotify(rec.add)()
		err = systemd.Run(context.Background(), systemd.TreeRunner(tr))
		require.ErrorIs(t, err, runtime.ErrTreeEnded)
		assert.Equal(t, []string{`0s "STATUS=failed: arbor: tree has ended"`}, rec.get())
	})
}

// TestNoTreeLongStatus: the status of a tree that could not be built is
// cut and escaped as any other: an invalid spec's message lists every
// error, and systemd ignores a notification over 4 KB or with a NUL.
func TestNoTreeLongStatus(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
	rec := newNotes()
	defer systemd.SetNotify(rec.add)()
	bad := errors.New(strings.Repeat("shop/db: bad\x00\n", 1000))
	require.Error(t, systemd.Run(context.Background(), brokenTree{bad}))
	got := rec.get()
	require.Len(t, got, 1)
	assert.Less(t, len(got[0]), systemd.MaxStatus+100)
	assert.Contains(t, got[0], `STATUS=failed: shop/db: bad\\x00; shop/db: bad\\x00;`)
}

type brokenTree struct{ err error }

func (b brokenTree) Run(context.Context) error { return b.err }
func (b brokenTree) Tree() *runtime.Tree       { return nil }

// TestNoSocket: outside systemd Run only runs the tree.
func TestNoSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "")
		t.Setenv("WATCHDOG_USEC", "100000")
		rec := newNotes()
		defer systemd.SetNotify(rec.add)()

		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
		}})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		require.NoError(t, systemd.Run(ctx, systemd.TreeRunner(tr)))
		assert.Empty(t, rec.get())
	})
}
