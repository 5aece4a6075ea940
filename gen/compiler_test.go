package gen

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompilerOutputOfC reads what go list -export gives for a cgo package
// whose C does not compile: each error of the C compiler is one error at
// its position, without the source excerpts, carets, context lines and
// summaries gcc and clang print around it, which are no errors and would
// otherwise run on into the error's message or stand apart at the
// package's directory.
func TestCompilerOutputOfC(t *testing.T) {
	dir := t.TempDir()
	l := &listed{ImportPath: "example.com/m/cg", Dir: filepath.Join(dir, "cg")}
	for _, c := range []struct{ name, out, want string }{
		{"gcc", `cg/cg.go: In function 'two':
cg/cg.go:4:27: error: expected expression before ';' token
    4 | int two(void) { return 2 +; }
      |                           ^
cg/cg.go:3:5: note: previous declaration of 'x' with type 'int'
cg/cg.go:5:5: warning: unused variable 'y' [-Wunused-variable]
    5 | int y;
      |     ^
cg/cg.go:2:1: note: in expansion of macro 'Y'
`, "DIR/cg/cg.go:4:27: package example.com/m/cg does not compile: error: expected expression before ';' token (also at DIR/cg/cg.go:3:5)"},
		{"gcc warning first", `cg/cg.go:5:5: warning: unused variable 'y' [-Wunused-variable]
cg/cg.go:2:1: note: in expansion of macro 'Y'
cg/cg.go:4:27: error: expected expression before ';' token
`, "DIR/cg/cg.go:4:27: package example.com/m/cg does not compile: error: expected expression before ';' token"},
		{"gcc fatal", `In file included from cg/cg.go:4:
cg/x.h:1:10: fatal error: nothere.h: No such file or directory
    1 | #include <nothere.h>
      |          ^~~~~~~~~~~
compilation terminated.
`, "DIR/cg/x.h:1:10: package example.com/m/cg does not compile: fatal error: nothere.h: No such file or directory"},
		{"clang", `cg/cg.go:5:10: fatal error: 'nothere.h' file not found
#include <nothere.h>
         ^~~~~~~~~~~~
1 error generated.
`, "DIR/cg/cg.go:5:10: package example.com/m/cg does not compile: fatal error: 'nothere.h' file not found"},
		{"no position", "cgo: cannot parse the output of gcc\n", "DIR/cg: package example.com/m/cg does not compile: cgo: cannot parse the output of gcc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := compilerOutput(dir, l.ImportPath, c.out, l)
			var got []string
			for _, e := range errs {
				got = append(got, strings.ReplaceAll(e.Error(), dir, "DIR"))
			}
			if strings.Join(got, "\n") != c.want {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
}

// TestCompilerOutputOddNames reads the compiler's errors in files
// whose path has a newline, or a colon and a number, in its name or a
// directory's (a module's directory may be named anyhow): the error is at
// that file, not at a file named after the path's last line, or its part
// before the colon.
func TestCompilerOutputOddNames(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, pkgDir, file, out string }{
		{"file", "lib", "a\nb.go", "lib/a\nb.go:3:13: undefined: x\n\tlib/a\nb.go:2:6: other declaration of y\n"},
		{"directory", "x\ny/lib", "a.go", "x\ny/lib/a.go:3:13: undefined: x\n\tx\ny/lib/a.go:2:6: other declaration of y\n"},
		{"colon", "x:1: y/lib", "a.go", "x:1: y/lib/a.go:3:13: undefined: x\n\tx:1: y/lib/a.go:2:6: other declaration of y\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := &listed{ImportPath: "example.com/m/lib", Dir: filepath.Join(dir, c.pkgDir), GoFiles: []string{c.file}}
			errs := compilerOutput(dir, l.ImportPath, c.out, l)
			file := filepath.Join(l.Dir, c.file)
			if len(errs) != 1 || errs[0].Pos.Filename != file || errs[0].Pos.Line != 3 || len(errs[0].Also) != 1 || errs[0].Also[0].Filename != file {
				t.Fatalf("got %q, want one error at %q:3:13, also at line 2", errs, file)
			}
			if want := "package example.com/m/lib does not compile: undefined: x"; errs[0].Msg != want {
				t.Errorf("got %q, want %q", errs[0].Msg, want)
			}
		})
	}
}

// TestEmbedPatterns splits //go:embed arguments as the compiler does.
func TestEmbedPatterns(t *testing.T) {
	for _, c := range []struct{ args, want, err string }{
		{"", "", ""},
		{"a.txt  b/*.txt", "a.txt|b/*.txt", ""},
		{"`x y` \"a\\\"b\" c", "x y|a\"b|c", ""},
		{`"a\\" b`, `a\|b`, ""},
		{`"a.txt`, "", `invalid quoted string in //go:embed: "a.txt`},
		{"`a.txt", "", "invalid quoted string in //go:embed: `a.txt"},
		{`"a"b`, "", "invalid quoted string in //go:embed: b"},
		{`"\q" x`, "", `invalid quoted string in //go:embed: "\q"`},
	} {
		got, err := embedPatterns(c.args)
		if gotErr := fmt.Sprint(err); c.err != "" && gotErr != c.err || c.err == "" && err != nil {
			t.Errorf("embedPatterns(%q): error %v, want %q", c.args, err, c.err)
		}
		if strings.Join(got, "|") != c.want {
			t.Errorf("embedPatterns(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}
