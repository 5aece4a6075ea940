package schema

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A message repeats at most maxShown bytes of a piece of the user's text (a
// name, a run reference, a value); a longer piece is cut to its first
// keepShown bytes, so that a 1 MB string makes a one-line message. A long
// import path still fits.
const (
	maxShown  = 100
	keepShown = 72
)

// Clip returns s, or, when s is too long for a message to repeat, its
// start, "…" and its length, such as "looooo… (300 bytes)".
func Clip(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return clipStart(s) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// Quote returns s quoted as strconv.Quote does, clipped as Clip does, such
// as `"looooo…" (300 bytes)`.
func Quote(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	return strconv.Quote(clipStart(s)+"…") + " (" + strconv.Itoa(len(s)) + " bytes)"
}

// clipStart returns the first keepShown bytes of s, or fewer so as not to
// split a rune.
func clipStart(s string) string {
	i := keepShown
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// ClipPath returns the elements of a path joined by sep, each clipped as
// Clip does.
func ClipPath(path []string, sep string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = Clip(p)
	}
	return strings.Join(parts, sep)
}

// ClipList returns the first few of names joined by sep and how many more
// there are, such as "a -> b -> c -> ... (37 more)", each name clipped as
// Clip does.
func ClipList(names []string, sep string) string {
	const few = 8
	shown := names
	if len(names) > few+1 {
		shown = names[:few]
	}
	s := ClipPath(shown, sep)
	if len(shown) < len(names) {
		s += sep + "... (" + strconv.Itoa(len(names)-len(shown)) + " more)"
	}
	return s
}

// Sprintf is fmt.Sprintf for the messages that repeat a user's text, such
// as a name, a run reference or a value: it clips, as Clip does, the
// strings it quotes with %q, the strings of one word (with no space) it
// prints, and the paths of the *Node values it prints. Text with spaces,
// such as a hint built beforehand, it prints as it is. It clips args in
// place, which a caller that passes a slice with args... sees: so go vet
// checks its calls as it checks fmt.Sprintf's.
func Sprintf(format string, args ...any) string {
	clipArgs(args)
	return fmt.Sprintf(format, args...)
}

// Errorf is fmt.Errorf with the arguments clipped as Sprintf clips them.
func Errorf(format string, args ...any) error {
	clipArgs(args)
	return fmt.Errorf(format, args...)
}

// clipArgs replaces the strings and nodes of args with what prints them
// clipped.
func clipArgs(args []any) {
	for i, a := range args {
		switch a := a.(type) {
		case string:
			args[i] = quoted(a)
		case *Node:
			if a != nil {
				args[i] = ClipPath(a.Path, "/")
			}
		}
	}
}

// quoted is a string argument of Sprintf.
type quoted string

func (q quoted) Format(f fmt.State, verb rune) {
	s := string(q)
	switch {
	case verb == 'q' && !f.Flag('#') && !f.Flag('+'):
		fmt.Fprint(f, Quote(s))
		return
	case (verb == 's' || verb == 'v') && !strings.ContainsFunc(s, unicode.IsSpace):
		s = Clip(s)
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}
