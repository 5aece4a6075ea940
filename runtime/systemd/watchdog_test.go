package systemd_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/systemd"
)

// TestWatchdogSettings: what the environment says about the watchdog,
// however odd, gives pings no more often than MinPingInterval, and none
// when the settings are not for this process or make no sense.
func TestWatchdogSettings(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name, usec, pid string
		pings           int // within 95ms
	}{
		{"one microsecond", "1", me, 9},              // at MinPingInterval, not every 500ns
		{"twenty milliseconds", "20000", me, 9},      // every 10ms, as asked
		{"forty milliseconds", "40000", "", 4},       // every 20ms; no WATCHDOG_PID is anyone's
		{"wraps around", "18446744073709552", me, 0}, // ·1000 overflows to 384ns
		{"past a Duration", "9223372036854775807", me, 0},
		{"infinity", "18446744073709551615", me, 0},
		{"beyond uint64", "99999999999999999999", me, 0},
		{"zero", "0", me, 0},
		{"negative", "-1000000", me, 0},
		{"garbage", "10s", me, 0},
		{"spaces", " 20000", me, 0},
		{"another process", "20000", strconv.Itoa(os.Getpid() + 1), 0},
		{"pid garbage", "20000", "self", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t.Setenv("NOTIFY_SOCKET", "/run/test/notify") // never dialled: notify is replaced
				t.Setenv("WATCHDOG_USEC", tc.usec)
				t.Setenv("WATCHDOG_PID", tc.pid)
				rec := newNotes()
				defer systemd.SetNotify(rec.add)()
				tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
					{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
				}})
				ctx, cancel := context.WithTimeout(context.Background(), 95*time.Millisecond)
				defer cancel()
				require.NoError(t, systemd.Run(ctx, systemd.TreeRunner(tr)))
				pings := 0
				for _, l := range rec.get() {
					if strings.Contains(l, "WATCHDOG=1") {
						pings++
					}
				}
				assert.Equal(t, tc.pings, pings)
			})
		})
	}
}

// TestLongStatus: a reason as long as an error can be (a response body
// wrapped into it) is cut in STATUS=: systemd ignores a whole notification
// longer than 4096 bytes (PIPE_BUF), and with it the READY=1 or WATCHDOG=1
// it carries, which would leave the unit starting, or have it killed.
func TestLongStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
		t.Setenv("WATCHDOG_USEC", "1000000")
		t.Setenv("WATCHDOG_PID", "")
		rec := newNotes()
		defer systemd.SetNotify(rec.add)()
		long := strings.Repeat("é", 8<<10)
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour},
			Children: []runtime.Child{
				{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
				{Name: "worker", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
					select {
					case <-fail:
						return errors.New("upstream said: " + long)
					case <-ctx.Done():
						return nil
					}
				}},
			}})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		go func() {
			time.Sleep(100 * time.Millisecond)
			close(fail)
		}()
		require.NoError(t, systemd.Run(ctx, systemd.TreeRunner(tr)))
		var sentLong bool
		for _, l := range rec.get() {
			state, err := strconv.Unquote(l[strings.IndexByte(l, ' ')+1:])
			require.NoError(t, err)
			assert.LessOrEqual(t, len(state), 4096, "%.100s", state)
			assert.True(t, utf8.ValidString(state))
			sentLong = sentLong || strings.Contains(state, "upstream said: éé")
		}
		assert.True(t, sentLong, "the reason is sent, cut: %q", rec.get())
	})
}

// TestStatusBytes: an error's text may hold any bytes. systemd ignores a
// whole notification that holds a NUL byte, READY=1 or WATCHDOG=1 with
// it, and a STATUS= that is not UTF-8; a terminal showing systemctl status
// would act on escape sequences. Such bytes are sent escaped, in every
// notification: while the tree runs degraded (with the watchdog's pings),
// and in the last one, from the error Run returned.
func TestStatusBytes(t *testing.T) {
	const bad = "nul\x00 esc\x1b[31m bell\a del\x7f c1\u0085 invalid\xff\xfe end"
	const shown = `nul\x00 esc\x1b[31m bell\x07 del\x7f c1\x85 invalid\xff\xfe end`
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
		t.Setenv("WATCHDOG_USEC", "1000000")
		t.Setenv("WATCHDOG_PID", "")
		rec := newNotes()
		defer systemd.SetNotify(rec.add)()
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff:      &runtime.Backoff{Initial: 2 * time.Second, Max: 2 * time.Second},
			RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
			Children: []runtime.Child{
				{Name: "worker", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
					a.Ready()
					select {
					case <-fail:
						return errors.New(bad)
					case <-ctx.Done():
						return nil
					}
				}},
			}})
		go func() {
			time.Sleep(100 * time.Millisecond)
			fail <- struct{}{} // degraded for 2s, then restarted
			time.Sleep(3 * time.Second)
			fail <- struct{}{} // the restart limit: Run fails
		}()
		require.Error(t, systemd.Run(context.Background(), systemd.TreeRunner(tr)))
		var degraded, failed, pinged bool
		for _, l := range rec.get() {
			state, err := strconv.Unquote(l[strings.IndexByte(l, ' ')+1:])
			require.NoError(t, err)
			assert.NotContains(t, state, "\x00", "systemd ignores the whole notification")
			assert.True(t, utf8.ValidString(state), "systemd ignores a STATUS= that is not UTF-8: %q", state)
			for _, r := range strings.ReplaceAll(state, "\n", "") {
				assert.False(t, unicode.IsControl(r), "control character %U in %q", r, state)
			}
			degraded = degraded || strings.Contains(state, "STATUS=degraded: shop/worker: restarting after error: "+shown)
			pinged = pinged || strings.Contains(state, "WATCHDOG=1\nSTATUS=degraded")
			failed = failed || strings.HasPrefix(state, "STATUS=failed: ") && strings.HasSuffix(state, shown)
		}
		assert.True(t, degraded && pinged && failed, "the reasons are sent, escaped: %q", rec.get())
	})
}

// TestSlowHealthReadLess: reading the tree's health walks every child, a
// pool's instances too (0.1-0.3 s with 100k of them): the status checks
// then come further apart than a second, so that they take at most a
// twentieth of the time, instead of a tenth to a third of a core for as
// long as the tree runs.
func TestSlowHealthReadLess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
		t.Setenv("WATCHDOG_USEC", "")
		defer systemd.SetNotify(func(string) {})()
		var reads int
		defer systemd.SetHealth(func(t *runtime.Tree) runtime.Health {
			reads++
			time.Sleep(200 * time.Millisecond) // a walk of many instances
			return t.Health()
		})()
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
		}})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		require.NoError(t, systemd.Run(ctx, systemd.TreeRunner(tr)))
		// Every 4 s (20 × 200 ms) for a minute, and a few for READY=1.
		assert.LessOrEqual(t, reads, 20, "the health was read %d times in a minute", reads)
		assert.GreaterOrEqual(t, reads, 10)
	})
}

// TestSlowHealthPingsRead: with the watchdog, every ping read the tree's
// health (so that a supervisor stuck with its lock stops the pings); a
// slow reading (0.1-0.3 s with 100k pool instances) at every half second
// took most of a core. The pings go on at their pace, and read the health
// only as often as the status checks do: a stuck supervisor still stops
// them, a few readings later.
func TestSlowHealthPingsRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/test/notify")
		t.Setenv("WATCHDOG_USEC", "1000000")
		t.Setenv("WATCHDOG_PID", "")
		var pings int
		defer systemd.SetNotify(func(s string) {
			if strings.Contains(s, "WATCHDOG=1") {
				pings++
			}
		})()
		var reads int
		defer systemd.SetHealth(func(t *runtime.Tree) runtime.Health {
			reads++
			time.Sleep(200 * time.Millisecond)
			return t.Health()
		})()
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
		}})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		require.NoError(t, systemd.Run(ctx, systemd.TreeRunner(tr)))
		assert.LessOrEqual(t, reads, 25, "the health was read %d times in a minute", reads)
		assert.GreaterOrEqual(t, pings, 110, "pinged %d times in a minute, every 500ms", pings)
	})
}
