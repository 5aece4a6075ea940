// Package text escapes and cuts the texts of user code (errors' messages)
// that the runtime's adapters show: on a terminal, in a probe's answer, in
// a service manager's status, in the console.
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

// Cut returns s if it is at most max bytes long; else its start, cut at a
// character, and "…", max bytes at most in all.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:start(s, max-len("…"))] + "…"
}

// Clip returns s if it is at most max bytes long; else its first max
// bytes, cut at a character, then "… (N bytes)" with s's whole length.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:start(s, max)], len(s))
}

// start is the greatest index at most n, and not below 0, at which a
// character of s starts.
func start(s string, n int) int {
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
