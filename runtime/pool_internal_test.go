package runtime

import (
	"hash/maphash"
	goruntime "runtime"
	"strconv"
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

// TestPoolIndexShrinksAfterBurst: once a burst of instances has ended, the
// pool's slice of instances and its index by name give back what the
// burst grew, as the inbox does: a pool that once held 100k connections
// and now holds a few keeps a few's worth, whether they ended one by one or
// with the pool's run.
func TestPoolIndexShrinksAfterBurst(t *testing.T) {
	const burst, kept = 100_000, 10
	for _, all := range []bool{false, true} {
		sv := &supervisor{path: "t/p", pool: &poolState{byName: newNames()}}
		var ins []*instance
		for i := range burst {
			in := &instance{slot: slot{sup: sv, path: "t/p/i" + strconv.Itoa(i)}}
			in.rank = int32(len(sv.slots))
			sv.slots = append(sv.slots, &in.slot)
			sv.pool.byName.put(in.name(), in)
			ins = append(ins, in)
		}
		if all {
			sv.removeAllLocked()
		} else {
			for _, in := range ins[kept:] {
				sv.remove(&in.slot)
			}
		}
		ins = nil
		if c := cap(sv.slots); c > shrinkFrom {
			t.Errorf("all=%t: the slice of instances keeps room for %d", all, c)
		}
		withIndex := heapAlloc()
		sv.pool.byName.byHash = nil
		if grown := int64(withIndex) - int64(heapAlloc()); grown > 64<<10 {
			t.Errorf("all=%t: the index by name of %d live instances takes %d bytes", all, len(sv.slots), grown)
		}
	}
}

func heapAlloc() uint64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}
