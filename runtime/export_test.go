package runtime

// SetTestHook makes every supervisor call hook with its path before it
// handles a message.
func SetTestHook(hook func(path string)) { testHook = hook }

// Delay is the backoff delay before restart n.
var Delay = delay
