package gen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
)

// The package's own test files (package m, not m_test) are no part of the
// build that generation type-checks, but go test and go vet compile them
// with arbor_gen.go: a name they declare at package level is as taken as
// one of the package's other files.

// testFiles returns the syntax of the package's own test files, parsed
// once. A file that does not parse is left out: go test will say why.
func (ws *workspace) testFiles() []*ast.File {
	if ws.tests != nil || ws.own0 == nil {
		return ws.tests
	}
	ws.tests = []*ast.File{}
	for _, name := range ws.own0.TestGoFiles {
		f, err := parser.ParseFile(ws.fset, filepath.Join(ws.own0.Dir, name), nil, parser.SkipObjectResolution)
		if err == nil {
			ws.tests = append(ws.tests, f)
		}
	}
	return ws.tests
}

// testDecls returns the package-level names the package's own test files
// declare, each with its position, found once.
func (ws *workspace) testDecls() map[string]token.Pos {
	if ws.testNames != nil {
		return ws.testNames
	}
	names := map[string]token.Pos{}
	ws.testNames = names
	add := func(id *ast.Ident) {
		if _, ok := names[id.Name]; !ok && id.Name != "_" && id.Name != "init" {
			names[id.Name] = id.Pos()
		}
	}
	for _, f := range ws.testFiles() {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					add(d.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						add(s.Name)
					case *ast.ValueSpec:
						for _, id := range s.Names {
							add(id)
						}
					}
				}
			}
		}
	}
	return names
}

// ownFiles returns the syntax of the package's files and of its own test
// files.
func (ws *workspace) ownFiles() []*ast.File {
	if ws.own == nil {
		return nil
	}
	return slices.Concat(ws.own.Syntax, ws.testFiles())
}
