//go:build unix

package main

import (
	"os"
	"testing"
	"time"

	"github.com/arbor-go/arbor/examples/internal/proc"
)

// TestShop builds the example and runs it as the README tells a reader to,
// until Ctrl-C, and checks that its timeline shows what the README says a
// reader sees: the API waiting for the store and starting once it is
// ready, the one-shot setup ending its supervisor for good, the worker's
// missed heartbeat, the rest_for_one restart of the ingest pipeline, and a
// shutdown in reverse start order that exits 0.
func TestShop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	p := proc.Start(t, proc.Build(t, "shop"), "-for", "0")
	// The worker hangs within 4s and the upstream drops within 5s: wait
	// until both have restarted, then stop it as Ctrl-C does.
	p.Await(t, 30*time.Second, `shop/worker +started \(generation 2\)`)
	p.Await(t, 30*time.Second, `shop/ingest/index +started \(generation 2\)`)
	p.Stop(t, os.Interrupt, 15*time.Second) // its shutdown budget is 10s

	out := p.Stdout()
	proc.InOrder(t, out,
		`^console: http://127\.0\.0\.1:\d+/ \(token \w+\)$`,
		`shop/api +waiting for store$`,
		`shop/store +ready$`,
		`shop/api +started \(generation 1\)$`,
	)
	proc.InOrder(t, out,
		`shop/setup/migrate +exited: success$`,
		`shop/setup +exited: success$`,
		`^  shop/setup +done `,
	)
	proc.InOrder(t, out,
		`shop/worker +exited: timeout \(arbor: heartbeat missed\)$`,
		`shop/worker +restarts in \d+ms$`,
		`shop/worker +started \(generation 2\)$`,
	)
	// rest_for_one: the stages after fetch stop, last first, and all three
	// start again in order.
	proc.InOrder(t, out,
		`shop/ingest/fetch +exited: error \(upstream: connection reset\)$`,
		`shop/ingest/index +stopped$`,
		`shop/ingest/parse +stopped$`,
		`shop/ingest/fetch +started \(generation 2\)$`,
		`shop/ingest/parse +started \(generation 2\)$`,
		`shop/ingest/index +started \(generation 2\)$`,
	)
	// The shutdown: the reverse of the start order (setup is done already,
	// and the worker, which may be waiting out a backoff, is left out).
	proc.InOrder(t, out,
		`shop +shutting down$`,
		`shop/monitor +stopped$`,
		`shop/ingest +stopped$`,
		`shop/api +stopped$`,
		`shop/store +stopped$`,
		`^final state:$`,
	)
}
