package gen

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// A run target in a file with a build constraint (//go:build special) is
// there only in builds that satisfy it, such as arbor gen -tags special.
// The generated file must then carry the constraint too, or the default
// build would compile a file that calls a function it does not have. As
// wire does, the output gets the //go:build line of the files it depends
// on: their constraints, joined with &&. A file name's _GOOS or _GOARCH
// suffix (worker_linux.go) is a constraint too, which arbor_gen.go, a name
// without one, must write out, and so is a file's import "C" (cgo).

// outputConstraint returns the build constraint the generated file needs:
// the conjunction of the //go:build lines of the files that declare the
// targets (and their receiver types), with cgo for those that import "C",
// or nil when none has one.
func (ws *workspace) outputConstraint(targets map[*target]bool) constraint.Expr {
	var files []string
	for t := range targets {
		for _, pos := range []token.Pos{t.obj.Pos(), recvPos(t)} {
			if f := ws.fset.File(pos); pos.IsValid() && f != nil && !slices.Contains(files, f.Name()) {
				files = append(files, f.Name())
			}
		}
	}
	slices.Sort(files)
	var expr constraint.Expr
	seen := map[string]bool{}
	for _, file := range files {
		lines := []string{nameConstraint(file)}
		if f := ws.fileHeader(file); f != nil {
			lines = append(lines, buildLine(f))
			if importsC(f) {
				lines = append(lines, "cgo")
			}
		}
		for _, line := range lines {
			if line == "" {
				continue
			}
			x, err := constraint.Parse("//go:build " + line)
			if err != nil || seen[x.String()] {
				continue
			}
			seen[x.String()] = true
			if expr == nil {
				expr = x
			} else {
				expr = &constraint.AndExpr{X: expr, Y: x}
			}
		}
	}
	return expr
}

// nameConstraint returns the constraint that file's name implies, as the go
// command reads it (name_GOOS_GOARCH.go, name_GOOS.go, name_GOARCH.go), or
// "".
func nameConstraint(file string) string {
	name := strings.TrimSuffix(filepath.Base(file), ".go")
	name = strings.TrimSuffix(name, "_test")
	parts := strings.Split(name, "_")
	if len(parts) < 2 || parts[0] == "" {
		return ""
	}
	n := len(parts)
	if n >= 3 && knownOS[parts[n-2]] && knownArch[parts[n-1]] {
		return parts[n-2] + " && " + parts[n-1]
	}
	if knownOS[parts[n-1]] || knownArch[parts[n-1]] {
		return parts[n-1]
	}
	return ""
}

// The GOOS and GOARCH values the go command knows in file names (from
// internal/syslist, which cannot be imported).
var (
	knownOS   = set("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris wasip1 windows zos")
	knownArch = set("386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm")
)

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

func recvPos(t *target) token.Pos {
	if t.recvName == nil {
		return token.NoPos
	}
	return t.recvName.Pos()
}

// fileHeader returns file's syntax up to its imports, or nil. The spec's
// own files are parsed already; others (whose types came from export data)
// are read up to their imports.
func (ws *workspace) fileHeader(file string) *ast.File {
	if ws.own != nil {
		for _, f := range ws.own.Syntax {
			if ws.fset.Position(f.Package).Filename == file {
				return f
			}
		}
	}
	if !filepath.IsAbs(file) {
		return nil
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return nil
	}
	return f
}

// importsC reports whether f uses cgo, which a build without cgo leaves
// out as if it had the constraint cgo.
func importsC(f *ast.File) bool {
	return slices.ContainsFunc(f.Imports, func(imp *ast.ImportSpec) bool { return imp.Path.Value == `"C"` })
}

// buildLine returns the expression of f's build constraint, or "": its
// //go:build line, or, without one, the conjunction of its // +build
// lines, which the go command still honours. As go/build reads them, +build
// lines count only in the // comments before the package clause that a
// blank line separates from it (not in its doc comment).
func buildLine(f *ast.File) string {
	var plus constraint.Expr
	stop := false // from a /* */ comment on, go/build reads no more +build lines
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		stop = stop || slices.ContainsFunc(g.List, func(c *ast.Comment) bool { return strings.HasPrefix(c.Text, "/*") })
		for _, c := range g.List {
			if constraint.IsGoBuild(c.Text) {
				x, err := constraint.Parse(c.Text)
				if err != nil {
					return ""
				}
				return x.String()
			}
			if stop || g == f.Doc || !constraint.IsPlusBuild(c.Text) {
				continue
			}
			if x, err := constraint.Parse(c.Text); err == nil {
				if plus == nil {
					plus = x
				} else {
					plus = &constraint.AndExpr{X: plus, Y: x}
				}
			}
		}
	}
	if plus == nil {
		return ""
	}
	return plus.String()
}

// withConstraint adds the line //go:build expr to the generated src, after
// its header comments.
func withConstraint(src []byte, expr constraint.Expr) []byte {
	if expr == nil {
		return src
	}
	s := string(src)
	i := strings.Index(s, "\npackage ")
	if i < 0 {
		return src
	}
	return []byte(s[:i+1] + "//go:build " + expr.String() + "\n\n" + s[i+1:])
}
