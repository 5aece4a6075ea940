package gen

import (
	"go/build/constraint"
	"go/parser"
	"go/token"
	"testing"
)

// TestBuildLine checks that the constraint read from a file's header is
// the one the go command applies: a //go:build line, or else the // +build
// lines that a blank line separates from the package clause.
func TestBuildLine(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"//go:build a && b\n\npackage p\n", "a && b"},
		{"//go:build a\n// +build z\n\npackage p\n", "a"},
		{"// +build z\n\n//go:build a\n\npackage p\n", "a"},
		{"// +build a,!b c\n// +build d\n\npackage p\n", "((a && !b) || c) && d"},
		{"// Copyright.\n\n// +build a\n\n// Package p.\npackage p\n", "a"},
		// In the doc comment, or with no blank line after it, +build is text.
		{"// +build a\npackage p\n", ""},
		{"// +build a\n// Package p.\npackage p\n", ""},
		// A /* */ comment ends the header go/build reads +build lines in.
		{"/* x */\n\n// +build a\n\npackage p\n", ""},
		{"// +build a\n/* x */\n\npackage p\n", ""},
		{"package p\n\n// +build a\n", ""},
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "p.go", tc.src, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		if got := buildLine(f); got != tc.want {
			t.Errorf("buildLine(%q) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestAlways(t *testing.T) {
	for line, want := range map[string]bool{
		"linux || !linux":                         true,
		"linux":                                   false,
		"(linux && amd64) || !linux || !amd64":    true,
		"(linux && amd64) || !linux":              false,
		"cgo && special || !cgo || !special":      true,
		"a && b && c && d || !a":                  false,
		"unix || windows":                         false, // not every system: plan9, js
		"(a || b) && (!a || c) || !b && !a || !c": true,
	} {
		x, err := constraint.Parse("//go:build " + line)
		if err != nil {
			t.Fatal(err)
		}
		if got := always(x); got != want {
			t.Errorf("always(%s) = %v, want %v", line, got, want)
		}
	}
}
