//go:build unix

package gen

import (
	"os"
	goruntime "runtime"
	"syscall"
)

// maxRSS returns the largest resident size, in bytes, of the process and
// the children it waited for.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if goruntime.GOOS == "darwin" {
		return ru.Maxrss // bytes there, kilobytes elsewhere
	}
	return ru.Maxrss << 10
}
