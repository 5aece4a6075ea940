package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestDocComments checks, in every Go file of the repository (nested
// modules and examples included, tests and testdata not), that each
// exported function, method of an exported type, type, constant and
// variable has a doc comment that starts with its name, as go doc and the
// project's conventions expect. A constant or variable in a documented
// group may rely on the group's comment.
func TestDocComments(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		check := func(name string, doc *ast.CommentGroup, pos token.Pos) {
			if !ast.IsExported(name) {
				return
			}
			if doc == nil {
				t.Errorf("%s:%d: %s has no doc comment", rel, fset.Position(pos).Line, name)
				return
			}
			if !startsWithName(doc.Text(), name) {
				first, _, _ := strings.Cut(doc.Text(), "\n")
				t.Errorf("%s:%d: the doc comment of %s does not start with its name: %q", rel, fset.Position(pos).Line, name, first)
			}
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && !ast.IsExported(receiverName(d.Recv.List[0].Type)) {
					continue
				}
				check(d.Name.Name, d.Doc, d.Pos())
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						doc := s.Doc
						if doc == nil && len(d.Specs) == 1 {
							doc = d.Doc
						}
						check(s.Name.Name, doc, s.Pos())
					case *ast.ValueSpec:
						doc := s.Doc
						if doc == nil && d.Doc != nil {
							if len(d.Specs) > 1 {
								continue // a documented group
							}
							doc = d.Doc
						}
						for _, n := range s.Names {
							check(n.Name, doc, n.Pos())
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("checked %d Go files; want the whole repository", files)
	}
}

// startsWithName reports whether text starts with the word name (or is
// a deprecation notice).
func startsWithName(text, name string) bool {
	if strings.HasPrefix(text, "Deprecated:") {
		return true
	}
	rest, ok := strings.CutPrefix(text, name)
	if !ok {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
}

// receiverName is the name of a method's receiver type.
func receiverName(x ast.Expr) string {
	for {
		switch e := x.(type) {
		case *ast.StarExpr:
			x = e.X
		case *ast.IndexExpr:
			x = e.X
		case *ast.IndexListExpr:
			x = e.X
		case *ast.ParenExpr:
			x = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}
