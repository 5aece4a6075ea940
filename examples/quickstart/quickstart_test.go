//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-go/arbor/examples/internal/proc"
)

// TestQuickstart builds the example and runs it until it is stopped, by
// Ctrl-C or by SIGTERM (what Kubernetes and systemctl stop send), and checks
// the timeline the README shows: the API waiting for the store, the
// worker's failure (a panic or an error) and its restart after a backoff,
// and a clean shutdown in reverse start order that exits 0.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	exe := proc.Build(t, "quickstart")
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := proc.Start(t, exe, "-for", "0")
			// The worker crashes within 2s; stop the tree once it restarted.
			p.Await(t, 30*time.Second, `quickstart/worker starting gen=2 `)
			p.Stop(t, sig, 15*time.Second) // its shutdown budget is 10s
			proc.InOrder(t, p.Stdout(),
				`quickstart/store starting gen=1 attempt=1$`,
				`quickstart/api waiting for=store$`,
				`quickstart/store ready gen=1 attempt=1$`,
				`quickstart/api starting gen=1 attempt=1$`,
				`quickstart/worker exited gen=1 attempt=1 exit=(panic|error) err="`,
				`quickstart/worker restart scheduled gen=1 attempt=1 delay=\d+ms$`,
				`quickstart/worker starting gen=2 attempt=2 restarts=1$`,
				`quickstart shutting down$`,
				`quickstart/worker stopped gen=2 attempt=2 exit=cancelled$`,
				`quickstart/api stopped gen=1 attempt=1 exit=cancelled$`,
				`quickstart/store stopped gen=1 attempt=1 exit=cancelled$`,
				`^quickstart/worker +stopped +restarts=1 last=cancelled$`,
			)
		})
	}
}
