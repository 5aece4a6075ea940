package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// chromium returns the browser to test with: $ARBOR_CHROMIUM, or chromium
// (Debian's package) or google-chrome on the PATH. Without one, the test is
// skipped, except in CI (CI set), where .ci/run installs it: there a
// missing browser is a failure, never a skip.
func chromium(t *testing.T) string {
	if p := os.Getenv("ARBOR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium: .ci/run installs Debian's chromium; set ARBOR_CHROMIUM to another browser")
	}
	t.Skip("no Chromium on the PATH (apt-get install chromium, or set ARBOR_CHROMIUM)")
	return ""
}

// browser starts a headless Chromium with the flags this machine needs
// (no sandbox as root, no GPU, no network of its own) and returns a tab.
func browser(t *testing.T) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 720),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// fact reads one fact of a child's row on the page, such as "gen".
func fact(path, name string) string {
	return fmt.Sprintf(`li[data-path=%q] > .row [data-fact=%q]`, path, name)
}

func button(order, path string) string {
	return fmt.Sprintf(`button[aria-label=%q]`, order+" "+path)
}

// waitText waits until the element's text is want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e !== null && e.textContent === %q; })()`, sel, want),
		chromedp.WithPollingInterval(20*time.Millisecond))
}

func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond))
}

// TestBrowser drives the page in headless Chromium: it renders the tree,
// follows a restart live, survives a lost stream, shows the buttons only
// with a token, and a click (or a key) restarts a child. With
// ARBOR_SCREENSHOT=file.png it also takes the README's screenshot.
func TestBrowser(t *testing.T) {
	f := newFixture(t)
	pool := f.tree.Pool("shop/conns")
	for _, name := range []string{"alice", "bob"} {
		_, err := pool.Start(name, runtime.Func(idle))
		require.NoError(t, err)
	}
	srv := httptest.NewServer(console.Handler(f.tree, console.WithToken(token)))
	t.Cleanup(srv.Close)
	ctx := browser(t)

	// It renders the tree, as a tree, and follows the stream.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		waitText("#health", "ready"),
		waitText("#stream", "live"),
		chromedp.WaitVisible(`li[data-path="shop/ingest"] li[data-path="shop/ingest/fetch"]`),
		chromedp.WaitVisible(`li[data-path="shop/conns"] li[data-path="shop/conns/bob"]`),
		waitText(fact("shop/db", "gen"), "1"),
		waitText(fact("shop/api", "after"), "db"),
		waitText(fact("shop/conns", "pool"), "2 live (2 running); 2 started, 0 removed"),
		waitJS(`document.querySelectorAll("#log li").length >= 10`),
	))

	// Without a token, no buttons; the form to enter one is there.
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(`#token`)))
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("button")).filter(b => b.offsetParent !== null && b.textContent !== "Use").length`))
	require.NoError(t, err)
	require.Zero(t, shown, "no buttons but the token form's without a token")

	// A crash shows live, without a reload; its error is text, not HTML.
	f.crash(t)
	require.NoError(t, chromedp.Do(ctx,
		waitText(fact("shop/flaky", "gen"), "2"),
		waitText(fact("shop/flaky", "restarts"), "1"),
		waitText(fact("shop/flaky", "exit"), "error"),
		waitText(`li[data-path="shop/flaky"] > .row .err`, "flaky <b>failed</b>"),
	))
	markup, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('li[data-path="shop/flaky"] .err b') !== null`))
	require.NoError(t, err)
	require.False(t, markup, "an error is shown as text")

	// A lost stream is marked, and the page carries on after reconnecting.
	srv.CloseClientConnections()
	require.NoError(t, chromedp.Do(ctx,
		waitJS(`!document.getElementById("banner").hidden`),
		waitText("#stream", "the event stream is lost; reconnecting"),
		waitText("#stream", "live"),
		waitJS(`document.getElementById("banner").hidden`),
	))
	f.crash(t)
	require.NoError(t, chromedp.Do(ctx, waitText(fact("shop/flaky", "gen"), "3")))

	// With the token, the buttons appear; a click restarts the child.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(`#token`, token+kb.Enter),
		chromedp.WaitVisible(button("Restart", "shop/db")),
		chromedp.Click(button("Restart", "shop/db")),
		waitText("#notice", "restart ordered for shop/db."),
		waitText(fact("shop/db", "gen"), "2"),
	))
	require.EqualValues(t, 2, f.status(t, "shop/db").Generation)

	// The keyboard alone: focus a button, press Enter. Stop asks twice.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Focus(button("Restart", "shop/api")),
		chromedp.KeyEvent(kb.Enter),
		waitText(fact("shop/api", "gen"), "2"),
		chromedp.Focus(button("Stop", "shop/conns/alice")),
		chromedp.KeyEvent(kb.Enter),
		waitText(button("Stop", "shop/conns/alice"), "Confirm stop"),
		chromedp.KeyEvent(kb.Enter),
		waitJS(`document.querySelector('li[data-path="shop/conns/alice"]') === null`),
	))
	require.Equal(t, 1, pool.Len())

	// A refused token is dropped, and the page says so.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("arbor-token", "wrong")`),
		chromedp.Reload(),
		chromedp.WaitVisible(button("Restart", "shop/db")),
		chromedp.Click(button("Restart", "shop/db")),
		waitText("#notice", "The token was refused: enter it again."),
		chromedp.WaitVisible(`#token`),
	))
	require.EqualValues(t, 2, f.status(t, "shop/db").Generation)

	if out := os.Getenv("ARBOR_SCREENSHOT"); out != "" {
		screenshot(t, ctx, f, out)
	}

	// A big pool: the page reads 50 of its instances, not all, and says how
	// many more live.
	for i := range 60 {
		_, err := pool.Start(fmt.Sprintf("x%d", i), runtime.Func(idle))
		require.NoError(t, err)
	}
	require.NoError(t, chromedp.Do(ctx,
		waitText(fact("shop/conns", "pool"), "61 live (61 running); 62 started, 1 removed"),
		waitText(`li[data-path="shop/conns"] > .more`, "… and 11 more instances (see api/tree)"),
		waitJS(`document.querySelectorAll('li[data-path="shop/conns"] li').length === 50`),
	))
}

// screenshot takes the README's picture: the tree with a pool, a crash
// and the buttons on.
func screenshot(t *testing.T, ctx context.Context, f *fixture, out string) {
	f.crash(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("arbor-token", "`+token+`")`),
		chromedp.Reload(),
		waitText("#stream", "live"),
		waitText(fact("shop/flaky", "gen"), "4"),
		chromedp.WaitVisible(button("Restart", "shop/db")),
		chromedp.Sleep(1100*time.Millisecond), // one tick of the clocks
	))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	abs, err := filepath.Abs(out)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(abs, png, 0o644))
	t.Logf("wrote %s (%d bytes)", abs, len(png))
}

// TestBrowserProgramRestarted: the page notices that the program it shows
// was restarted (its tree's run changed), whether it finds out through its
// stream, which a new run numbers from 1 again, or, once the old tree has
// stopped and the stream has ended, by reading the tree again: it says so,
// and shows the new run's tree and events rather than stale ones.
func TestBrowserProgramRestarted(t *testing.T) {
	var cur atomic.Value // the program's console: http.Handler
	cur.Store(console.Handler(newFixture(t).tree))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx := browser(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		waitText("#stream", "live"),
		waitText(fact("shop/flaky", "gen"), "1"),
	))

	// Restarted while the page follows the stream. The new run already
	// has more events than the page has seen: resuming after the last one
	// it saw would skip the new run's first.
	second := newFixture(t)
	second.crash(t)
	second.crash(t)
	cur.Store(console.Handler(second.tree))
	srv.CloseClientConnections()
	restarted := `Array.from(document.querySelectorAll("#log li.gap")).filter(li => li.textContent.includes("The program was restarted"))`
	require.NoError(t, chromedp.Do(ctx,
		waitJS(restarted+`.length === 1`),
		waitText("#notice", "The program was restarted: this is its new run."),
		waitText(fact("shop/flaky", "gen"), "3"),
		waitText("#stream", "live"),
		// The new run's first event, above the line that says so.
		waitJS(`(() => { for (let li = `+restarted+`[0]; li; li = li.previousElementSibling) { if (li.textContent.includes("shop/db starting gen=1 attempt=1")) return true; } return false; })()`),
	))

	// The tree stops, its stream ends; then the program starts again.
	second.stop()
	require.NoError(t, chromedp.Do(ctx, waitText("#stream", "the tree has stopped")))
	third := newFixture(t)
	third.crash(t)
	cur.Store(console.Handler(third.tree))
	require.NoError(t, chromedp.Do(ctx,
		waitJS(restarted+`.length === 2`),
		waitText(fact("shop/flaky", "gen"), "2"),
		waitText("#stream", "live"),
		waitText("#health", "ready"),
	))
}
