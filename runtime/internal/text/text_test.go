package text_test

import (
	"testing"

	"github.com/arbor-go/arbor/runtime/internal/text"
)

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain é ✓", "plain é ✓"},
		{"nul\x00 esc\x1b[31m bell\a del\x7f", `nul\x00 esc\x1b[31m bell\x07 del\x7f`},
		{"c1\u0085 rlo\u202e", `c1\x85 rlo\u202e`},
		{"bad\xff\xfe end", `bad\xff\xfe end`},
		{"real \ufffd stays", "real \ufffd stays"},
		{"a\nb", `a\x0ab`},
	} {
		if got := text.Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCutAndClip(t *testing.T) {
	for _, c := range []struct {
		s         string
		max       int
		cut, clip string
	}{
		{"short", 10, "short", "short"},
		{"exactly10!", 10, "exactly10!", "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…", "abcdefghij… (11 bytes)"},
		// é is two bytes: neither cuts one in half.
		{"ééééééé", 10, "ééé…", "ééééé… (14 bytes)"},
		{"ééééééé", 9, "ééé…", "éééé… (14 bytes)"},
		{"abcdef", 2, "…", "ab… (6 bytes)"},
	} {
		if got := text.Cut(c.s, c.max); got != c.cut || len(got) > max(c.max, len("…")) {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.s, c.max, got, c.cut)
		}
		if got := text.Clip(c.s, c.max); got != c.clip {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.max, got, c.clip)
		}
	}
}
