package schema

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
)

// IsSpecDir reports whether dir holds a spec: a .cue file that declares
// trees at its top level, or one that does not parse (so that loading it
// reports the error). The field may be written in what the package embeds
// at its top level: a struct, a comprehension (if on {trees: ...}), or a
// definition, hidden field or let of the directory's files (#Base). Other
// CUE, such as configuration that happens to live in the same repository,
// is not a spec. Files whose names start with . or _ do not count, as CUE
// ignores them.
func IsSpecDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	var files []*ast.File
	mentions := false // some file says trees: without, none declares them
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !isSpecFile(name) {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.Mode().IsRegular() {
			return true // not to be read (a pipe, a device): loading it says what it is
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		has := bytes.Contains(src, []byte("trees"))
		f, err := parser.ParseFile(name, src)
		if err != nil {
			if has {
				return true
			}
			continue
		}
		mentions = mentions || has
		files = append(files, f)
	}
	if !mentions {
		return false
	}
	// What an identifier of the top level may stand for: the directory's
	// definitions, hidden fields and lets.
	named := map[string]ast.Expr{}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.Field:
				if label, _, _ := ast.LabelName(d.Label); strings.HasPrefix(label, "#") || strings.HasPrefix(label, "_") {
					named[label] = d.Value
				}
			case *ast.LetClause:
				named[d.Ident.Name] = d.Expr
			}
		}
	}
	seen := map[string]bool{}
	for _, f := range files {
		if declaresTrees(f.Decls, named, seen) {
			return true
		}
	}
	return false
}

// declaresTrees reports whether decls, the top level of a file or a
// struct it embeds, declare the field trees, directly or in what they
// embed.
func declaresTrees(decls []ast.Decl, named map[string]ast.Expr, seen map[string]bool) bool {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			if label, _, _ := ast.LabelName(d.Label); label == "trees" {
				return true
			}
		case *ast.EmbedDecl:
			if embedsTrees(d.Expr, named, seen) {
				return true
			}
		case *ast.Comprehension:
			if embedsTrees(d, named, seen) {
				return true
			}
		}
	}
	return false
}

// embedsTrees reports whether the embedded expression x declares trees.
func embedsTrees(x ast.Expr, named map[string]ast.Expr, seen map[string]bool) bool {
	switch x := x.(type) {
	case *ast.StructLit:
		return declaresTrees(x.Elts, named, seen)
	case *ast.Comprehension:
		if x.Fallback != nil && x.Fallback.Body != nil && declaresTrees(x.Fallback.Body.Elts, named, seen) {
			return true
		}
		return embedsTrees(x.Value, named, seen)
	case *ast.BinaryExpr:
		return embedsTrees(x.X, named, seen) || embedsTrees(x.Y, named, seen)
	case *ast.ParenExpr:
		return embedsTrees(x.X, named, seen)
	case *ast.Ident:
		v, ok := named[x.Name]
		if !ok || seen[x.Name] {
			return false
		}
		seen[x.Name] = true
		return embedsTrees(v, named, seen)
	}
	return false
}

// isSpecFile reports whether a file of that name is part of a spec: a .cue
// file whose name does not start with . or _, which CUE ignores.
func isSpecFile(name string) bool {
	return strings.HasSuffix(name, ".cue") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// FileKind names the kind of a file that is neither regular nor a
// directory, such as "a named pipe".
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}
