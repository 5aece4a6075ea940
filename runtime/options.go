package runtime

import "log/slog"

// Option configures a Tree.
type Option func(*options)

type options struct {
	observer    func(Event)
	eventBuffer int
	logger      *slog.Logger
	leaser      Leaser
}

// WithObserver delivers every event to fn, in order, on a goroutine of its
// own. A slow fn never stalls supervision: once DefaultEventBuffer events (or
// the size given to WithEventBuffer) wait, new ones are dropped and counted in
// Snapshot.DroppedEvents. Run returns after fn has seen every event that was
// not dropped.
func WithObserver(fn func(Event)) Option {
	return func(o *options) { o.observer = fn }
}

// WithEventBuffer sets how many events may wait for the observer and logger.
func WithEventBuffer(n int) Option {
	return func(o *options) { o.eventBuffer = n }
}

// WithLogger logs every event to l, from the same goroutine as the observer,
// and is the base of each Attempt.Logger. Without it the runtime logs nothing
// and attempts log to slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}
