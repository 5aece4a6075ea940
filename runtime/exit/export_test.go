package exit

import "io"

// Redirect sends With's output to w and its exit to exit until restore is
// called.
func Redirect(w io.Writer, exit func(code int)) (restore func()) {
	oldExit, oldStderr := osExit, stderr
	osExit, stderr = exit, w
	return func() { osExit, stderr = oldExit, oldStderr }
}
