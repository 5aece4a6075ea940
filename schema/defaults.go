package schema

import (
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// defaults are the values the decoder gives to fields a spec leaves out.
// They are the runtime's Default constants, the one table of defaults: the
// schema (arbor.cue) has no CUE defaults, only comments that document
// these values, and TestDocumentedDefaults checks them against this table.
var defaults = struct {
	strategy       string
	restart        string
	significant    bool
	treeShutdown   time.Duration // trees and nested supervisors
	workerShutdown time.Duration
	limit          Limit
	backoff        Backoff
	leaseTTL       time.Duration
}{
	strategy:       string(runtime.DefaultStrategy),
	restart:        string(runtime.DefaultRestart),
	significant:    false,
	treeShutdown:   runtime.DefaultTreeShutdown,
	workerShutdown: runtime.DefaultChildShutdown,
	limit:          Limit{Max: runtime.DefaultRestartMax, Window: runtime.DefaultRestartWindow},
	leaseTTL:       runtime.DefaultLeaseTTL,
	backoff: Backoff{
		Initial:    runtime.DefaultBackoffInitial,
		Max:        runtime.DefaultBackoffMax,
		Multiplier: runtime.DefaultBackoffMultiple,
		Jitter:     runtime.DefaultBackoffJitter,
		ResetAfter: runtime.DefaultBackoffReset,
	},
}
