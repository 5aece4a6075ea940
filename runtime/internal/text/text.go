// Package text escapes the texts of user code (errors' messages) that the
// runtime's adapters show: on a terminal, in a probe's answer, in a
// service manager's status.
package text

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with what a terminal would act on rather than show, or
// a service manager refuse, written as Go escapes it: control characters
// (newlines too), bidirectional overrides and bytes that are not UTF-8.
// An error's text can hold any bytes.
func Escape(s string) string {
	if !strings.ContainsFunc(s, unsafe) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == utf8.RuneError || !unsafe(r): // U+FFFD itself shows as it is
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// unsafe reports whether Escape escapes r; RuneError stands for a byte
// that is not UTF-8.
func unsafe(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
