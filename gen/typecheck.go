package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/types"
	"path/filepath"
	"strings"
)

// typecheck checks the generated code together with the user's package, in
// memory, before anything is written. Only errors in the generated file
// count: the rest of the package may not compile until it exists.
func (ws *workspace) typecheck(src []byte) error {
	_, problems, err := ws.check(src, nil)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w:\n%s", ErrInternal, strings.Join(problems, "\n"))
	}
	return nil
}

// checked is the user's package type-checked with the generated file.
type checked struct {
	files []*ast.File // the generated file first
	pkg   *types.Package
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
	conf := types.Config{
		Importer: ws,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok && ws.fset.Position(te.Pos).Filename == name {
				problems = append(problems, te.Error())
			}
		},
	}
	pkg, _ := conf.Check(path, ws.fset, files, info)
	return &checked{files: files, pkg: pkg}, problems, nil
}
