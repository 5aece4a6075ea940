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
