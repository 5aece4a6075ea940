package gen

import (
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io"
	"strings"
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

// TestNameConstraint checks that the constraint arbor reads from a file's
// name is the one the go command applies: for each name and each system,
// go/build matches the file exactly when it matches a file with the
// constraint as its //go:build line. (The go command reads a name up to
// its first dot: serve_linux.pb.go is for Linux, serve.pb_linux.go for
// every system.)
func TestNameConstraint(t *testing.T) {
	names := []string{
		"serve.go", "serve_linux.go", "serve_amd64.go", "serve_linux_amd64.go",
		"serve_linux_test.go", "linux.go", "linux_amd64.go", "serve_unix.go",
		"serve_linux.pb.go", "serve_windows.gen.go", "serve_linux_arm64.x.y.go",
		"serve.pb_linux.go", "serve.x_windows_amd64.go", "a.b_c_linux.go",
		"serve_linux.test.go", "x_darwin_amd64_test.go", "x_foo_linux.go",
	}
	systems := [][2]string{
		{"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"},
		{"darwin", "arm64"}, {"android", "arm64"}, {"ios", "arm64"},
	}
	match := func(goos, goarch, name, src string) bool {
		ctxt := build.Default
		ctxt.GOOS, ctxt.GOARCH = goos, goarch
		ctxt.CgoEnabled = false
		ctxt.OpenFile = func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(src)), nil }
		ok, err := ctxt.MatchFile("/p", name)
		if err != nil {
			t.Fatalf("MatchFile(%s): %v", name, err)
		}
		return ok
	}
	for _, name := range names {
		line := nameConstraint(name)
		src := "package p\n"
		if line != "" {
			src = "//go:build " + line + "\n\n" + src
		}
		for _, sys := range systems {
			want := match(sys[0], sys[1], name, "package p\n")
			if got := match(sys[0], sys[1], "p.go", src); got != want {
				t.Errorf("%s on %s/%s: the go command builds it: %v; with the constraint %q arbor reads from its name: %v", name, sys[0], sys[1], want, line, got)
			}
		}
	}
}
