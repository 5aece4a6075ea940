package console

import "time"

// WithStallTimeout shortens how long a stream waits for a client that
// does not read.
func WithStallTimeout(d time.Duration) Option {
	return func(h *handler) { h.stall = d }
}

// StreamChunk is how many events a stream writes at most at once.
const StreamChunk = streamChunk

// SetIdleTimeout changes how long Listen's server keeps an idle
// connection, until restore is called.
func SetIdleTimeout(d time.Duration) (restore func()) {
	old := idleTimeout
	idleTimeout = d
	return func() { idleTimeout = old }
}

// RunsKnown is how many trees' runs are named.
func RunsKnown() int {
	runs.Lock()
	defer runs.Unlock()
	return len(runs.ids)
}
