package gen

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/arbor-go/arbor/schema"
)

// typecheck checks the generated code together with the user's package, in
// memory, before anything is written. Only errors in the generated file
// count: the rest of the package may not compile until it exists.
func (ws *workspace) typecheck(src []byte) (*checked, error) {
	c, problems, err := ws.check(src, nil)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w:\n%s", ErrInternal, strings.Join(problems, "\n"))
	}
	return c, nil
}

// checked is the user's package type-checked with the generated file.
type checked struct {
	files []*ast.File // the generated file first
	pkg   *types.Package
	user  []types.Error // the errors in the package's own files
}

// check type-checks src, as arbor_gen.go, with the package's other files,
// filling info if it is not nil. It returns the errors in the generated
// file.
func (ws *workspace) check(src []byte, info *types.Info) (*checked, []string, error) {
	name := filepath.Join(ws.dir, outputName)
	gf, err := parser.ParseFile(ws.fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInternal, err)
	}
	files := []*ast.File{gf}
	path := "arbor.gen/check"
	if ws.own != nil {
		path = ws.own.PkgPath
		for _, f := range ws.own.Syntax {
			if ws.fset.Position(f.Package).Filename != name {
				files = append(files, f)
			}
		}
	}
	var problems []string
	var user []types.Error
	conf := types.Config{
		Importer:    ws,
		FakeImportC: true,
		Error: func(err error) {
			te, ok := err.(types.Error)
			switch {
			case !ok:
			case ws.fset.Position(te.Pos).Filename == name:
				problems = append(problems, te.Error())
			default:
				user = append(user, te)
			}
		},
	}
	pkg, _ := conf.Check(path, ws.fset, files, info)
	return &checked{files: files, pkg: pkg, user: user}, problems, nil
}

// maxCompileErrors is how many errors of a package vet reports, as the
// go command stops after ten.
const maxCompileErrors = 10

// compileErrors returns, for arbor vet, what keeps the user's code from
// building with the generated file: the errors of the spec's own package
// (its first syntax error, or its type errors with the generated file, c,
// and what the compiler alone refuses, see compilerChecks) and those go
// list gives for the packages the build needs besides: the
// packages that run fields name, and every package that they and the
// spec's package import, however deep, with their own positions, as go
// build says them. gen reports none of them: the package often does not
// compile before generation.
func (ws *workspace) compileErrors(c *checked, targets map[*schema.Node]*target, spec *schema.Spec) schema.ErrorList {
	var errs schema.ErrorList
	add := func(what string, pos token.Pos, msg string) {
		p := ws.fset.Position(pos)
		errs.Add(schema.Pos{Filename: p.Filename, Line: p.Line, Column: p.Column}, what+" does not compile: "+msg)
	}
	if ws.own != nil {
		if e := ws.broken[ws.own.PkgPath]; e != nil {
			errs.Add(schema.Pos{Filename: e.Pos.Filename, Line: e.Pos.Line, Column: e.Pos.Column}, "the package does not compile: "+e.Msg)
		} else {
			n := 0
			for _, te := range c.user {
				if strings.HasPrefix(te.Msg, "\t") && n > 0 {
					// The second line of the error before, such as the other
					// declaration of a name redeclared.
					if n <= maxCompileErrors {
						p := ws.fset.Position(te.Pos)
						last := errs[len(errs)-1]
						last.Also = append(last.Also, schema.Pos{Filename: p.Filename, Line: p.Line, Column: p.Column})
					}
					continue
				}
				if n++; n <= maxCompileErrors && !ws.importFailed(te.Msg) {
					add("the package", te.Pos, te.Msg)
				}
			}
		}
	}
	if ws.own == nil || ws.broken[ws.own.PkgPath] == nil {
		errs = append(errs, ws.compilerChecks(ws.own, ws.own0, cmp.Or(ws.ownName, spec.Package), packagePos(spec))...)
	}
	// The other packages: those the run fields name, and what they and
	// the spec's package import.
	var roots []string
	if ws.own0 != nil {
		for _, path := range ws.own0.Imports {
			roots = append(roots, cmp.Or(ws.own0.ImportMap[path], path))
		}
	}
	seen := map[string]bool{}
	for _, t := range targets {
		path := t.pkg.Path()
		if !seen[path] && (ws.own == nil || path != ws.own.PkgPath) {
			seen[path] = true
			roots = append(roots, path)
		}
	}
	need := map[string]bool{}
	for _, path := range roots {
		need[path] = true
		if l := ws.listed[path]; l != nil {
			for _, dep := range l.Deps {
				need[dep] = true
			}
		}
	}
	for _, path := range slices.Sorted(maps.Keys(need)) {
		if l := ws.listed[path]; l != nil && l.Error != nil && !cycle(l.Error) {
			errs = append(errs, ws.buildErrors(path, l.Error)...)
		}
	}
	// An import cycle that the spec's package or a run package depends
	// on: each package of a cycle type-checks, against the others, and
	// the go command reports it alone.
	var lists []*listError
	if ws.own0 != nil {
		lists = append(lists, ws.own0.DepsErrors...)
	}
	for path := range seen {
		if l := ws.listed[path]; l != nil {
			lists = append(append(lists, l.Error), l.DepsErrors...)
		}
	}
	lookup := func(path string) *listed { return ws.listed[path] }
	cycles := map[string]bool{}
	for _, le := range lists {
		if e := cycleError(le, lookup); e != nil && !cycles[e.Msg] {
			cycles[e.Msg] = true
			errs = append(errs, e)
		}
	}
	errs.RemoveMultiples()
	return errs
}

// importFailed reports whether msg is go/types' error about an import
// whose package go list reports itself: "could not import P (...)".
func (ws *workspace) importFailed(msg string) bool {
	rest, ok := strings.CutPrefix(msg, "could not import ")
	if !ok {
		return false
	}
	path, _, _ := strings.Cut(rest, " ")
	l := ws.listed[path]
	return l != nil && l.Error != nil
}

// buildErrors returns the errors that le, go list's error about the
// package at path, stands for, as go build gives them: the compiler's
// (go list -export compiled the package, and printed "# path" and its
// lines), or go list's own, at the import or directive it names. Each
// says which package does not compile: the one that go list blames, the
// last of its import stack (the importer of a missing package), or path.
func (ws *workspace) buildErrors(path string, le *listError) schema.ErrorList {
	if header, out, ok := strings.Cut(le.Err, "\n"); ok && strings.HasPrefix(header, "# ") {
		return compilerOutput(ws.dir, strings.TrimPrefix(header, "# "), out, ws.listed[path])
	}
	blame := path
	if n := len(le.ImportStack); n > 0 {
		blame = le.ImportStack[n-1]
	}
	msg := goLines(le.Err)
	pos, ok := listPos(ws.dir, le.Pos)
	if l := ws.listed[path]; !ok && blame == path && (l == nil || len(l.GoFiles)+len(l.CgoFiles) == 0) {
		// A package that is missing, or has no Go files for this build:
		// its importer does not compile, at the import, as go build says.
		var importer string
		if pos, importer, ok = ws.importedAt(path); ok {
			blame = importer
			if !strings.Contains(msg, path) {
				msg = "import " + strconv.Quote(path) + ": " + msg
			}
		}
	}
	if !ok {
		pos = schema.Pos{Filename: ws.dir}
		if l := ws.listed[blame]; l != nil && l.Dir != "" {
			pos.Filename = l.Dir
		}
	}
	return schema.ErrorList{{Pos: pos, Msg: ws.notCompiling(blame) + " does not compile: " + msg}}
}

// notCompiling names the package at path in an error that says it does not
// compile: the spec's own is "the package", as for its type errors.
func (ws *workspace) notCompiling(path string) string {
	if ws.own0 != nil && path == ws.own0.ImportPath {
		return "the package"
	}
	return "package " + schema.Clip(path)
}

// importedAt returns the position of an import of the package at path,
// whose error go list gives without one, and the importer: the spec's
// package, or else the first package listed that imports it.
func (ws *workspace) importedAt(path string) (schema.Pos, string, bool) {
	importers := []*listed{ws.own0}
	for _, p := range slices.Sorted(maps.Keys(ws.listed)) {
		importers = append(importers, ws.listed[p])
	}
	for _, l := range importers {
		if l == nil {
			continue
		}
		for _, imp := range l.Imports {
			if cmp.Or(l.ImportMap[imp], imp) == path {
				pos, ok := importPos(l, imp)
				return pos, l.ImportPath, ok
			}
		}
	}
	return schema.Pos{}, "", false
}

// compilerLine is a line of the compiler's output that names a position:
// lib/lib.go:7:23: undefined: missing.
var compilerLine = regexp.MustCompile(`^(\S.*?):(\d+)(?::(\d+))?: (.+)$`)

// compilerOutput reads the compiler's output about the package at path,
// as go list -export gives it: a line per error, the file relative to dir
// where the go command ran, with the other positions of an error
// (another declaration of a name) on the lines after it, indented. The C
// compiler of a cgo package says more around its errors, on lines that
// are not indented: context (In function 'f':), source excerpts, carets
// and summaries, which are left out, as are its warnings and their notes.
// A note of an error is another position of it.
func compilerOutput(dir, path, out string, l *listed) schema.ErrorList {
	var errs schema.ErrorList
	out, names := oddNames(dir, out, l)
	var other []string // the lines of no error, C compiler's or not
	dropped := false   // the error before was one too many, or a warning
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		indented := strings.HasPrefix(line, "\t")
		line = strings.TrimSpace(line)
		if line == "" || line == "too many errors" {
			continue
		}
		m := compilerLine.FindStringSubmatch(line)
		var pos schema.Pos
		if m != nil {
			pos.Filename = compilerFile(dir, m[1], l)
			if file, ok := names[m[1]]; ok {
				pos.Filename = file
			}
			pos.Line, _ = strconv.Atoi(m[2])
			pos.Column, _ = strconv.Atoi(m[3])
		}
		note := m != nil && strings.HasPrefix(m[4], "note: ")
		switch {
		case m == nil && !indented:
			other = append(other, line)
		case len(errs) > 0 && (indented || note):
			// Another position of the error before, or more of its text.
			last := errs[len(errs)-1]
			switch {
			case dropped:
			case m != nil:
				last.Also = append(last.Also, pos)
			default:
				last.Msg += "; " + line
			}
		case m == nil:
			other = append(other, line)
		case note: // of a warning before any error
		case strings.HasPrefix(m[4], "warning: "):
			dropped = true
		case len(errs) == maxCompileErrors:
			dropped = true
		default:
			dropped = false
			errs.Add(pos, schema.Sprintf("package %s does not compile: %s", schema.Clip(path), m[4]))
		}
	}
	if len(errs) == 0 && len(other) > 0 {
		where := dir
		if l != nil && l.Dir != "" {
			where = l.Dir
		}
		errs.Add(schema.Pos{Filename: where}, schema.Sprintf("package %s does not compile: %s", schema.Clip(path), strings.Join(other, "; ")))
	}
	return errs
}

// oddNames returns the compiler's output, out, with each path of a file
// of the package l that has a newline or a colon (in its name, or in a
// directory's: a module's may be named anyhow) replaced by a name of one
// line without one, which names maps to the file: else the path's last
// line, or its part before a colon and a number, would read as the file.
func oddNames(dir, out string, l *listed) (string, map[string]string) {
	if l == nil {
		return out, nil
	}
	names := map[string]string{}
	for _, files := range [][]string{l.GoFiles, l.CgoFiles, l.CFiles, l.CXXFiles, l.MFiles, l.FFiles, l.SFiles, l.SwigFiles, l.SwigCXXFiles} {
		for _, f := range files {
			file := filepath.Join(l.Dir, f)
			if !strings.ContainsAny(file, "\n:") {
				continue
			}
			name := fmt.Sprintf("\x00%d", len(names))
			names[name] = file
			paths := []string{file}
			if rel, err := filepath.Rel(dir, file); err == nil {
				paths = append(paths, rel)
			}
			for _, p := range paths {
				out = strings.ReplaceAll(out, p+":", name+":")
			}
		}
	}
	return out, names
}

// compilerFile returns the file that name, of a position in the
// compiler's output about the package l, stands for. The go command names
// a file of the package relative to dir, where it ran, but leaves a
// //line directive's as the directive gives it, relative to the
// directory of the file that holds it as go/scanner reads it: a name
// that is no file from dir, or leads out of the package's directory, is
// one of those.
func compilerFile(dir, name string, l *listed) string {
	if filepath.IsAbs(name) {
		return name
	}
	fromDir := filepath.Join(dir, name)
	if l == nil || l.Dir == "" {
		return fromDir
	}
	fromPkg := filepath.Join(l.Dir, name)
	_, errDir := os.Stat(fromDir)
	_, errPkg := os.Stat(fromPkg)
	switch {
	case (errDir == nil) != (errPkg == nil):
		if errPkg == nil {
			return fromPkg
		}
		return fromDir
	case strings.HasPrefix(fromDir, filepath.Clean(l.Dir)+string(filepath.Separator)):
		return fromDir
	}
	return fromPkg
}

// cycle reports whether a go list error is an import cycle.
func cycle(le *listError) bool {
	return le != nil && strings.Contains(le.Err, "import cycle")
}
