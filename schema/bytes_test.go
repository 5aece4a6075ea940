package schema

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
)

// TestHostileBytes: spec files as editors and careless tools write them.
// Byte-order marks and CRLF line ends are read as the same spec; NUL
// bytes, invalid UTF-8 and unterminated strings are errors at the byte,
// with the line and column of the file as an editor shows them.
func TestHostileBytes(t *testing.T) {
	spec := "package p\n\ntrees: t: children: a: {run: \"Work\", restart: \"transient\"}\n"
	u16 := func(bom uint16, be bool, s string) []byte {
		var b []byte
		for _, u := range append([]uint16{bom}, utf16.Encode([]rune(s))...) {
			if be {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		return b
	}
	for _, c := range []struct {
		name string
		src  []byte
		want string // the errors, or "" for a spec like spec
	}{
		{"utf-8 bom", append([]byte("\ufeff"), spec...), ""},
		{"crlf", []byte(strings.ReplaceAll(spec, "\n", "\r\n")), ""},
		{"utf-16le bom", u16(0xfeff, false, spec), ""},
		{"utf-16be bom", u16(0xfeff, true, spec), ""},
		{"crlf error", []byte("package p\r\n\r\ntrees: t: children: a: {run: \"Work\", restart: \"nope\"}\r\n"),
			`spec.cue:3:47: trees.t.children.a.restart: invalid value "nope" (must be permanent, transient or temporary)`},
		{"no final newline", []byte("package p\n\ntrees: t: children: a: {run: \"Work\", restart: \"nope\"}"),
			`spec.cue:3:47: trees.t.children.a.restart: invalid value "nope" (must be permanent, transient or temporary)`},
		{"utf-8 bom, error on line 1", []byte("\ufeffpackage p trees: 1\n"), "spec.cue:1:11: expected ',', found 'IDENT' trees"},
		{"nul", []byte("package p\n\ntrees: t: children: a: run: \"Wo\x00rk\"\n"), "spec.cue:3:32: illegal character NUL"},
		{"nul outside a string", []byte("package p\n\x00\ntrees: t: children: a: run: \"Work\"\n"), "spec.cue:2:1: illegal character NUL"},
		{"invalid utf-8 label", []byte("package p\n\ntrees: t: children: \xff: run: \"Work\"\n"), "spec.cue:3:21: illegal character U+FFFD '\ufffd'"},
		{"latin-1 in a string", []byte("package p\n\ntrees: t: children: a: run: \"W\xe9rk\"\n"),
			"spec.cue:3:31: invalid UTF-8 encoding (byte 0xe9): CUE, like Go, reads UTF-8 only; save the file as UTF-8"},
		{"latin-1 in a comment", []byte("package p\n\n// caf\xe9\ntrees: t: children: a: run: \"Work\"\n"),
			"spec.cue:3:7: invalid UTF-8 encoding (byte 0xe9): CUE, like Go, reads UTF-8 only; save the file as UTF-8"},
		{"unterminated string", []byte("package p\n\ntrees: t: children: a: run: \"Work\n"), "spec.cue:3:29: string literal not terminated"},
		{"unterminated crlf", []byte("package p\r\n\r\ntrees: t: children: a: run: \"Work\r\n"), "spec.cue:3:29: string literal not terminated"},
		{"unterminated multiline", []byte("package p\n\ntrees: t: children: a: run: \"\"\"\n\tWork\n"), "spec.cue:3:29: string literal not terminated"},
		{"empty", nil, "spec.cue:1:1: file has no package clause, so it is not part of the spec (start it with a line such as `package shop`)"},
		{"comments only", []byte("// trees: t: children: a: run: \"Work\"\n"), "spec.cue:1:1: file has no package clause, so it is not part of the spec (start it with a line such as `package shop`)"},
		{"whitespace only", []byte(" \t\r\n\n"), "spec.cue:1:1: file has no package clause, so it is not part of the spec (start it with a line such as `package shop`)"},
		{"package _", []byte("package _\n\ntrees: t: children: a: run: \"Work\"\n"), "spec.cue:1:9: package _ is no package name: CUE leaves the file out of every package; name the package, such as `package shop`"},
		{"package only", []byte("package p\n// nothing else\n"), "spec.cue:1:9: missing field trees (a spec declares its trees as trees: <name>: {children: ...})"},
		{"a list", []byte("package p\n\n[{trees: t: children: a: run: \"Work\"}]\n"), "spec.cue:3:1: the package must be a struct, not list"},
		{"a string", []byte("package p\n\n// A comment.\n\"trees\"\n"), "spec.cue:4:1: the package must be a struct, not string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := LoadFiles(dir, map[string][]byte{"spec.cue": c.src})
			if c.want != "" {
				if assert.Error(t, err) {
					var list ErrorList
					if assert.ErrorAs(t, err, &list) {
						assert.Equal(t, c.want, list.Relative(dir).Error())
					}
				}
				return
			}
			if assert.NoError(t, err) && assert.Len(t, s.Trees, 1) && assert.Len(t, s.Trees[0].Children, 1) {
				a := s.Trees[0].Children[0]
				assert.Equal(t, "Work", a.Run)
				assert.Equal(t, "transient", a.Restart)
				assert.Equal(t, 3, a.RunPos.Line)
				assert.Equal(t, 25, a.RunPos.Column)
			}
		})
	}
}
