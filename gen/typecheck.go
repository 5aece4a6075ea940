package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
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
// (its first syntax error, or its type errors with the generated file, c)
// and of the other packages that run fields name and that were
// type-checked from source because they do not compile. gen reports none
// of them: the package often does not compile before generation.
func (ws *workspace) compileErrors(c *checked, targets map[*schema.Node]*target) schema.ErrorList {
	var errs schema.ErrorList
	add := func(what string, pos token.Pos, msg string) {
		p := ws.fset.Position(pos)
		errs.Add(schema.Pos{Filename: p.Filename, Line: p.Line, Column: p.Column}, what+" does not compile: "+msg)
	}
	report := func(path, what string, list []types.Error) {
		if e := ws.broken[path]; e != nil {
			errs.Add(schema.Pos{Filename: e.Pos.Filename, Line: e.Pos.Line, Column: e.Pos.Column}, what+" does not compile: "+e.Msg)
			return
		}
		n := 0
		for _, te := range list {
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
			if n++; n <= maxCompileErrors {
				add(what, te.Pos, te.Msg)
			}
		}
	}
	if ws.own != nil {
		report(ws.own.PkgPath, "the package", c.user)
	}
	seen := map[string]bool{}
	for _, t := range targets {
		path := t.pkg.Path()
		if seen[path] || ws.own != nil && path == ws.own.PkgPath {
			continue
		}
		seen[path] = true
		if l := ws.listed[path]; l != nil && cycle(l.Error) {
			continue // below
		}
		if p := ws.byPath[path]; p != nil && p.Syntax != nil {
			report(path, "package "+path, ws.typeErr[path])
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
	return errs
}

// cycle reports whether a go list error is an import cycle.
func cycle(le *listError) bool {
	return le != nil && strings.Contains(le.Err, "import cycle")
}
