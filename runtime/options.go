package runtime

import "log/slog"

// Option configures a Tree. New skips a nil Option.
type Option func(*options)

type options struct {
	observers   []func(Event)
	eventBuffer int
	journal     int
	journalSet  bool
	logger      *slog.Logger
	leaser      Leaser
}

// WithObserver delivers every event to fn, in order, on a goroutine of its
// own. A slow fn never stalls supervision: once DefaultEventBuffer events (or
// the size given to WithEventBuffer) wait, new ones are dropped and counted in
// Snapshot.DroppedEvents. Run returns after fn has seen every event that was
// not dropped. Given several times, it adds observers: each gets every event,
// one after the other, in the order they were given.
func WithObserver(fn func(Event)) Option {
	return func(o *options) {
		if fn != nil {
			o.observers = append(o.observers, fn)
		}
	}
}

// WithEventBuffer sets how many events may wait for the observer and logger
// (DefaultEventBuffer without this option, or for n of 0 or less).
func WithEventBuffer(n int) Option {
	return func(o *options) { o.eventBuffer = n }
}

// WithJournal sets how many of its latest events the tree keeps for
// Tree.Journal (DefaultJournal without this option); 0 or less keeps none.
// A tree with no journal, observer or logger makes no events at all.
func WithJournal(n int) Option {
	return func(o *options) { o.journal, o.journalSet = max(n, 0), true }
}

// WithLogger logs every event to l, from the same goroutine as the observer,
// and is the base of each Attempt.Logger. Without it the runtime logs nothing
// and attempts log to slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}
