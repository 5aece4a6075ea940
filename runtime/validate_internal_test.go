package runtime

import (
	"math/rand/v2"
	"testing"
)

// TestDistinct: the radix sort finds equal values wherever they are, in
// every byte, including values equal but for their highest byte.
func TestDistinct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hs := make([]uint64, 3000)
	for i := range hs {
		hs[i] = r.Uint64()
	}
	for _, c := range []struct {
		name string
		dup  func(hs []uint64)
		want bool
	}{
		{"random", func([]uint64) {}, true},
		{"equal pair", func(hs []uint64) { hs[2999] = hs[5] }, false},
		{"equal but the top byte", func(hs []uint64) { hs[100] = hs[7] ^ 1<<63 }, true},
		{"equal but the lowest bit", func(hs []uint64) { hs[100] = hs[7] ^ 1 }, true},
		{"zeros", func(hs []uint64) { hs[0], hs[1] = 0, 0 }, false},
	} {
		in := append([]uint64(nil), hs...)
		c.dup(in)
		if got := distinct(in, make([]uint64, len(in))); got != c.want {
			t.Errorf("%s: distinct = %v, want %v", c.name, got, c.want)
		}
		for i := 1; i < len(in); i++ {
			if in[i] < in[i-1] {
				t.Fatalf("%s: not sorted at %d", c.name, i)
			}
		}
	}
}
