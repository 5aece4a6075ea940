package runtime

import (
	"strconv"
	"testing"
)

// TestWaitsLookOnce: Health looks at each after edge of a waiting child at
// most twice (once more after the depth-first look at the sibling it names
// comes back), whatever the order it asks in: a chain of ten thousand
// children that wait for a singleton on standby, or for a child starting,
// costs its length, not its square.
func TestWaitsLookOnce(t *testing.T) {
	const n = 10000
	for _, head := range []State{StateStandby, StateStarting} {
		for _, backwards := range []bool{false, true} {
			children := make([]ChildStatus, n)
			children[0] = ChildStatus{Path: "t/c0", State: head, Lease: "l"}
			for i := 1; i < n; i++ {
				children[i] = ChildStatus{Path: "t/c" + strconv.Itoa(i), State: StateWaiting, After: []string{"c" + strconv.Itoa(i-1)}}
			}
			w := newWaits(children)
			for k := range n {
				i := k
				if backwards {
					i = n - 1 - k
				}
				ok, reason := w.reason(i)
				if i > 0 && ok != (head == StateStandby) {
					t.Fatalf("%v, backwards %v: child %d: ok %v: %s", head, backwards, i, ok, reason)
				}
			}
			if w.steps > 2*(n-1) {
				t.Errorf("%v, backwards %v: %d edges looked at for %d", head, backwards, w.steps, n-1)
			}
		}
	}
}
