package runtime

import (
	"hash/maphash"
	"testing"
)

// TestNamesCollision checks the pool's name index when two live names have
// the same hash: both are found, and removing either leaves the other.
func TestNamesCollision(t *testing.T) {
	sv := &supervisor{path: "t/p"}
	inst := func(name string) *instance { return &instance{slot: slot{sup: sv, path: "t/p/" + name}} }
	a, b, c := inst("a"), inst("b"), inst("c")
	n := newNames()
	n.put("a", a)
	// b's hash is taken: as if a's name hashed like b's.
	n.byHash[maphash.String(n.seed, "b")] = a
	delete(n.byHash, maphash.String(n.seed, "a"))
	n.put("b", b)
	n.put("c", c)
	for name, want := range map[string]*instance{"a": nil, "b": b, "c": c, "d": nil} {
		if got := n.get(name); got != want {
			t.Errorf("get(%q) = %v, want %v", name, got, want)
		}
	}
	n.del("b")
	if n.get("b") != nil || n.byHash[maphash.String(n.seed, "b")] != a {
		t.Fatal("del of a name in the second map removed another")
	}
	n.del("c")
	n.put("b", b) // its hash is still a's: the second map again
	if n.get("b") != b || n.get("c") != nil {
		t.Fatal("put after del")
	}
	n.clear()
	if n.get("b") != nil || len(n.byHash) != 0 {
		t.Fatal("clear kept names")
	}
}
