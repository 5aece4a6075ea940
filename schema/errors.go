package schema

import (
	"cmp"
	"path/filepath"
	"slices"
	"strings"
)

// Error is a spec error at a position. Decl, when set, is the position of
// the Go declaration the error concerns; At, that of a statement or
// expression in Go code, such as what a static check of a run function
// found; Also are the other places the error concerns, such as the other
// side of a conflict.
type Error struct {
	Pos  Pos
	Msg  string
	Decl Pos
	At   Pos
	Also []Pos
}

// Error returns "file:line:col: message", or just the message when the
// error has no position, followed by "(declared at file:line:col)" when
// Decl is set, "(at file:line:col)" when At is, and "(also at
// file:line:col, ...)" when Also is.
func (e *Error) Error() string {
	msg := e.Msg
	if e.Decl.IsValid() {
		msg += " (declared at " + e.Decl.String() + ")"
	}
	if e.At.IsValid() {
		msg += " (at " + e.At.String() + ")"
	}
	if len(e.Also) > 0 {
		var also []string
		for _, p := range e.Also {
			also = append(also, p.String())
		}
		msg += " (also at " + strings.Join(also, ", ") + ")"
	}
	if e.Pos.Filename == "" && !e.Pos.IsValid() {
		return msg
	}
	return e.Pos.String() + ": " + msg
}

// ErrorList is a list of spec errors. The errors Load returns are an
// ErrorList, sorted and without duplicates.
type ErrorList []*Error

// Add appends an error with the given position and message.
func (p *ErrorList) Add(pos Pos, msg string) {
	*p = append(*p, &Error{Pos: pos, Msg: msg})
}

func compareErrors(a, b *Error) int {
	return cmp.Or(
		comparePos(a.Pos, b.Pos),
		cmp.Compare(a.Msg, b.Msg),
		comparePos(a.Decl, b.Decl),
		comparePos(a.At, b.At),
	)
}

func comparePos(a, b Pos) int {
	return cmp.Or(cmp.Compare(a.Filename, b.Filename), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
}

// Sort sorts the list by file, line, column and message, then by the Go
// positions Decl and At.
func (p ErrorList) Sort() { slices.SortFunc(p, compareErrors) }

// RemoveMultiples sorts the list and removes all but the first of the
// errors with the same positions and message.
func (p *ErrorList) RemoveMultiples() {
	p.Sort()
	*p = slices.CompactFunc(*p, func(a, b *Error) bool { return compareErrors(a, b) == 0 })
}

// Error returns the errors one per line, with no trailing newline.
func (p ErrorList) Error() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns p as an error, or nil when p is empty.
func (p ErrorList) Err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

// Relative returns a copy of p with file names made relative to dir where
// possible, for printing. Names that cannot be made relative are kept.
func (p ErrorList) Relative(dir string) ErrorList {
	q := make(ErrorList, len(p))
	for i, e := range p {
		c := *e
		c.Pos = c.Pos.Relative(dir)
		c.Decl = c.Decl.Relative(dir)
		c.At = c.At.Relative(dir)
		c.Also = nil
		for _, a := range e.Also {
			c.Also = append(c.Also, a.Relative(dir))
		}
		q[i] = &c
	}
	return q
}

// Relative returns a list like list with file names relative to dir; see
// ErrorList.Relative.
func Relative(list ErrorList, dir string) ErrorList { return list.Relative(dir) }

// Relative returns p with its file name relative to dir where possible.
func (p Pos) Relative(dir string) Pos {
	if p.Filename == "" || !filepath.IsAbs(p.Filename) {
		return p
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(abs, p.Filename); err == nil {
		p.Filename = rel
	}
	return p
}
