package runtime

import (
	"testing"
	"unsafe"
)

// TestLayout keeps the per-child structures within the sizes that
// BENCHMARKS.md accounts for: every idle child holds one slot and one
// Attempt, so a field added to either is paid 100k times in a tree of 100k.
// Raise a limit only with a figure of what the field buys.
func TestLayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
		why       string
	}{
		{"Attempt", unsafe.Sizeof(Attempt{}), 64, "the 64-byte size class, context included (attemptContext); the next is 80"},
		{"slot", unsafe.Sizeof(slot{}), 136, "slots are one array per supervisor"},
		{"beat", unsafe.Sizeof(beat{}), 64, "only attempts with a heartbeat have one"},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, more than %d (%s)", c.name, c.size, c.max, c.why)
		}
	}
}
