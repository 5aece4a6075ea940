package systemd

// SetNotify replaces the function that sends notifications until restore
// is called.
func SetNotify(f func(state string)) (restore func()) {
	old := notify
	notify = f
	return func() { notify = old }
}
