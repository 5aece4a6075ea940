package gen

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestClosestPrunes checks that closest, which skips candidates it can
// tell are too far, picks what a full comparison with every candidate
// picks, on random near-miss names.
func TestClosestPrunes(t *testing.T) {
	full := func(a, b string) int { // the optimal string alignment distance
		d := make([][]int, len(a)+1)
		for i := range d {
			d[i] = make([]int, len(b)+1)
			d[i][0] = i
		}
		for j := range d[0] {
			d[0][j] = j
		}
		for i := 1; i <= len(a); i++ {
			for j := 1; j <= len(b); j++ {
				cost := 1
				if a[i-1] == b[j-1] {
					cost = 0
				}
				d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
				if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
					d[i][j] = min(d[i][j], d[i-2][j-2]+1)
				}
			}
		}
		return d[len(a)][len(b)]
	}
	naive := func(name string, cands []string) string {
		best, bestD := "", min(3, (len(name)+1)/2)
		for _, c := range cands {
			if d := full(strings.ToLower(name), strings.ToLower(c)); d < bestD {
				best, bestD = c, d
			}
		}
		return best
	}
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, 1+r.IntN(8))
		for i := range b {
			b[i] = "abcAB-_"[r.IntN(7)]
		}
		return string(b)
	}
	for range 20000 {
		cands := make([]string, r.IntN(6))
		for i := range cands {
			cands[i] = word()
		}
		name := word()
		if got, want := closest(name, cands), naive(name, cands); got != want {
			t.Fatalf("closest(%q, %q) = %q, want %q", name, cands, got, want)
		}
	}
}
