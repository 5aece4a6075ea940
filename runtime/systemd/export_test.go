package systemd

import "github.com/arbor-go/arbor/runtime"

// SetNotify replaces the function that sends notifications until restore
// is called.
func SetNotify(f func(state string)) (restore func()) {
	old := notify
	notify = f
	return func() { notify = old }
}

// SetHealth replaces how the tree's health is read until restore is
// called.
func SetHealth(f func(*runtime.Tree) runtime.Health) (restore func()) {
	old := health
	health = f
	return func() { health = old }
}
