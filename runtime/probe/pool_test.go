package probe_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/probe"
)

// TestVerbosePool: ?verbose sums up a pool's instances in one line, and
// lists only those that are not well, at most probe.MaxListed of them per
// pool, with how many it left out: a pool of a hundred thousand instances
// does not make every probe a hundred thousand lines.
func TestVerbosePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "shop", Children: []runtime.Child{
			{Name: "db", Run: runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })},
			{Name: "conns", Pool: &runtime.PoolSpec{},
				Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour}, RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Minute}},
			{Name: "empty", Pool: &runtime.PoolSpec{}},
		}})
		stop := start(tr)
		defer func() { require.NoError(t, stop()) }()
		synctest.Wait()
		pool := tr.Pool("shop/conns")
		const n, bad = 1000, 25
		for i := range n {
			run := runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })
			if i%(n/bad) == 0 {
				run = runtime.Func(func(ctx context.Context) error { return errBoom })
			}
			_, err := pool.Start(fmt.Sprintf("c%04d", i), run)
			require.NoError(t, err)
		}
		synctest.Wait()

		code, body := get(probe.Handler(tr), "/readyz?verbose")
		assert.Equal(t, http.StatusOK, code, "a pool's failing instances do not take the tree out of service")
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		require.Len(t, lines, 4+1+probe.MaxListed+1+1, body)
		assert.Equal(t, "[+]shop/db ok", lines[0])
		assert.Equal(t, "[+]shop/conns ok", lines[1])
		assert.Equal(t, fmt.Sprintf("[-]shop/conns/* %d of %d instances not ok", bad, n), lines[2])
		for i, l := range lines[3 : 3+probe.MaxListed] {
			assert.Equal(t, fmt.Sprintf("[-]shop/conns/c%04d restarting after error: boom", i*(n/bad)), l, "the first by path")
		}
		assert.Equal(t, fmt.Sprintf("[-]shop/conns/* %d more not listed", bad-probe.MaxListed), lines[3+probe.MaxListed])
		assert.Equal(t, []string{"[+]shop/empty ok", "[+]shop/empty/* no instances", "readyz check passed"}, lines[len(lines)-3:])
	})
}

// TestLongReason: a reason as long as an error can be is cut at
// probe.MaxReason bytes, on each line: a probe's answer stays small
// (the kubelet reads 10 KB of it) whatever a child's error holds.
func TestLongReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		long := strings.Repeat("é", 1<<19)
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour},
			Children: []runtime.Child{
				{Name: "worker", Run: runtime.Func(func(ctx context.Context) error {
					select {
					case <-fail:
						return fmt.Errorf("upstream said: %s", long)
					case <-ctx.Done():
						return nil
					}
				})},
			}})
		stop := start(tr)
		defer func() { require.NoError(t, stop()) }()
		synctest.Wait()
		close(fail)
		synctest.Wait()
		for _, target := range []string{"/readyz?verbose", "/livez?verbose"} {
			_, body := get(probe.Handler(tr), target)
			assert.Less(t, len(body), 2*probe.MaxReason, target)
			assert.Contains(t, body, "upstream said: éé", target)
		}
	})
}

// TestReasonBytes: an error's text may hold any bytes; a probe's answer,
// text/plain in UTF-8 that an operator reads with curl, holds control
// characters and bytes that are not UTF-8 escaped, as Go writes them, so
// that a child's error cannot drive the terminal.
func TestReasonBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "shop",
			Backoff: &runtime.Backoff{Initial: time.Hour, Max: time.Hour},
			Children: []runtime.Child{
				{Name: "worker", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
					return errors.New("peer sent \x1b]0;owned\a\x00\xff\u202e")
				}},
			}})
		stop := start(tr)
		defer func() { require.NoError(t, stop()) }()
		synctest.Wait()
		for _, target := range []string{"/readyz", "/readyz?verbose", "/livez?verbose"} {
			_, body := get(probe.Handler(tr), target)
			assert.Contains(t, body, `shop/worker: restarting after error: peer sent \x1b]0;owned\x07\x00\xff\u202e`[len("shop/worker: "):], target)
			assert.True(t, utf8.ValidString(body), "%s: %q", target, body)
			for _, r := range strings.TrimSuffix(body, "\n") {
				assert.True(t, r == '\n' || !unicode.IsControl(r) && !unicode.Is(unicode.Bidi_Control, r), "%s: %U in %q", target, r, body)
			}
		}
	})
}

// TestPassingProbeIsCheap: a probe that passes answers from the tree's
// Ready, Stopping and Done alone: it does not read the health of every
// child (a pool's 100k instances made each probe 0.1–0.4 s and 40 MB, near
// the kubelet's default timeout of one second on a busy machine). A probe
// that fails, or ?verbose, still reads it, for the reason.
func TestPassingProbeIsCheap(t *testing.T) {
	tr := mustNew(t, runtime.Spec{Name: "big", Children: []runtime.Child{
		{Name: "conns", Pool: &runtime.PoolSpec{}},
	}})
	stop := start(tr)
	defer func() { require.NoError(t, stop()) }()
	<-tr.Ready()
	for range 10_000 {
		_, err := tr.Pool("big/conns").Start("", runtime.Func(func(ctx context.Context) error { <-ctx.Done(); return nil }))
		require.NoError(t, err)
	}
	for tr.Pool("big/conns").Counts().Running < 10_000 { // and allocate nothing more
		time.Sleep(time.Millisecond)
	}
	h := probe.Handler(tr)
	for _, target := range []string{"/livez", "/healthz", "/readyz"} {
		code, body := get(h, target) // warm
		require.Equal(t, http.StatusOK, code, target)
		require.Equal(t, "ok\n", body, target)
		// The count is the process's: an instance still reaching its wait
		// allocates too. The least of a few answers is the probe's own.
		least := uint64(math.MaxUint64)
		for range 10 {
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			get(h, target)
			goruntime.ReadMemStats(&after)
			least = min(least, after.TotalAlloc-before.TotalAlloc)
		}
		assert.Less(t, least, uint64(64<<10), "%s allocated %d KB", target, least>>10)
	}
	code, body := get(h, "/readyz?verbose")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "[+]big/conns/* 10000 instances ok\n")
}
