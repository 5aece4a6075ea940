package runtime

// SetTestHook makes every supervisor call hook with its path before it
// handles a message.
func SetTestHook(hook func(path string)) { testHook = hook }

// SetAbandonHook makes every supervisor call hook with the path of an
// attempt it abandons, between its detach and its listing in the report.
func SetAbandonHook(hook func(path string)) { abandonHook = hook }

// SetExitHook makes every supervisor call hook with the path of an attempt
// whose exit it has taken, before it acts on it.
func SetExitHook(hook func(path string)) { exitHook = hook }

// SetHealthHook makes Health call hook between its snapshot and its reading
// of the tree's state.
func SetHealthHook(hook func()) { healthHook = hook }

// SetDeliverHook makes event delivery call hook between its claim of an
// event and the observer's call.
func SetDeliverHook(hook func()) { deliverHook = hook }

// Delay is the backoff delay before restart n.
var Delay = delay
