package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/tools/go/packages"

	"github.com/arbor-go/arbor/schema"
)

// Arbor type-checks the spec's package from source and never compiles it.
// This file checks what the compiler refuses but go/types accepts, so that
// vet does not pass a package that go build fails on.

// needsBody returns what tells whether a function of the package p, which
// go list lists as l, must have a body, as the compiler decides: unless
// files of another language (assembly, cgo, C...) may provide it, or a
// //go:linkname directive names it.
func needsBody(p *packages.Package, l *listed) func(fd *ast.FuncDecl) bool {
	other := 0
	if l != nil {
		for _, files := range [][]string{l.CgoFiles, l.CFiles, l.CXXFiles, l.MFiles, l.FFiles, l.SFiles, l.SysoFiles, l.SwigFiles, l.SwigCXXFiles} {
			other += len(files)
		}
	}
	linked := map[string]bool{}
	for _, f := range p.Syntax {
		if !imports(f, "unsafe") {
			continue // the directive is an error there
		}
		for _, d := range directives(f, "go:linkname") {
			if fields := strings.Fields(d.args); len(fields) > 0 && len(fields) <= 2 {
				linked[fields[0]] = true
			}
		}
	}
	return func(fd *ast.FuncDecl) bool {
		if fd.Body != nil || fd.Type.TypeParams != nil || fd.Recv == nil && fd.Name.Name == "init" {
			return false // go/types reports a generic one, and func init
		}
		return (other == 0 || fd.Name.Name == "init") && (fd.Recv != nil || !linked[fd.Name.Name])
	}
}

// imports reports whether f imports the package at path.
func imports(f *ast.File, path string) bool {
	for _, spec := range f.Imports {
		if p, err := strconv.Unquote(spec.Path.Value); err == nil && p == path {
			return true
		}
	}
	return false
}

// declares reports whether the top-level declaration d declares name
// in the package scope.
func declares(d ast.Decl, name string) bool {
	switch d := d.(type) {
	case *ast.FuncDecl:
		return d.Recv == nil && d.Name.Name == name
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.Name == name {
						return true
					}
				}
			case *ast.TypeSpec:
				if s.Name.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// directive is a //go:name line comment.
type directive struct {
	pos  token.Pos // of its name, after the slashes, as the compiler says
	args string
}

// directives returns the //go:name directives of f.
func directives(f *ast.File, name string) []directive {
	var out []directive
	for _, g := range f.Comments {
		for _, c := range g.List {
			rest, ok := strings.CutPrefix(c.Text, "//"+name)
			if ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
				out = append(out, directive{c.Pos() + 2, strings.TrimSpace(rest)})
			}
		}
	}
	return out
}

// compilerChecks returns what the compiler, and not go/types, finds wrong in
// the package p, listed as l, whose name is name (the generated file's
// when it has no Go files yet): a function without a body where nothing
// provides one, a //go:embed directive where it cannot apply or in a file
// that does not import "embed", a //go:linkname directive in a file that
// does not import "unsafe", and a main package without func main. Each is
// at the position the compiler gives, or for func main at the package
// clause of the package's first file (at, without one).
func (ws *workspace) compilerChecks(p *packages.Package, l *listed, name string, at schema.Pos) schema.ErrorList {
	var errs schema.ErrorList
	add := func(pos token.Pos, msg string) {
		q := ws.fset.Position(pos)
		errs.Add(schema.Pos{Filename: q.Filename, Line: q.Line, Column: q.Column}, "the package does not compile: "+msg)
	}
	hasMain := false // a main that is no func is go/types' error
	if p != nil {
		needs := needsBody(p, l)
		for _, f := range p.Syntax {
			for _, d := range directives(f, "go:linkname") {
				switch n := len(strings.Fields(d.args)); {
				case n > 2:
					add(d.pos, "usage: //go:linkname localname [linkname]")
				case n > 0 && !imports(f, "unsafe"):
					add(d.pos, `//go:linkname only allowed in Go files that import "unsafe"`)
				}
			}
			directiveErrors(f, add)
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && needs(fd) {
					add(fd.Name.Pos(), "missing function body")
				}
				hasMain = hasMain || declares(d, "main")
			}
			var scope *types.Scope
			if p.Types != nil {
				scope = p.Types.Scope()
			}
			ws.embedErrors(f, imports(f, "embed"), scope, add)
		}
		if len(p.Syntax) > 0 && p.Syntax[0].Name != nil {
			q := ws.fset.Position(p.Syntax[0].Name.Pos())
			at = schema.Pos{Filename: q.Filename, Line: q.Line, Column: q.Column}
		}
	}
	if name == "main" && !hasMain {
		errs.Add(at, "the package does not compile: function main is undeclared in the main package; declare func main, or give the package another name")
	}
	return errs
}

// embedErrors reports each var declaration of f with a //go:embed
// directive that the compiler refuses: in a file that does not import
// "embed" (haveEmbed false), for more than one name, with a value, in a
// function, or of a type it cannot fill (looked up in scope, the
// package's); and each directive outside a function that no var takes.
func (ws *workspace) embedErrors(f *ast.File, haveEmbed bool, scope *types.Scope, add func(token.Pos, string)) {
	var embeds []directive
	for _, d := range directives(f, "go:embed") {
		// One without a pattern is no directive of a var's; the compiler
		// says so, and how it is written.
		patterns, err := embedPatterns(d.args)
		if err != nil {
			add(d.pos, err.Error())
		}
		if len(patterns) == 0 {
			add(d.pos, "usage: //go:embed pattern...")
			continue
		}
		embeds = append(embeds, d)
	}
	for _, d := range embeds {
		if misplaced(f, d.pos) {
			add(d.pos, "misplaced go:embed directive")
		}
	}
	// The directive of a var is in the comment just before it.
	check := func(doc *ast.CommentGroup, spec *ast.ValueSpec, inFunc bool) {
		if doc == nil {
			return
		}
		var pos token.Pos
		for _, d := range embeds {
			if doc.Pos() <= d.pos && d.pos < doc.End() && !pos.IsValid() {
				pos = d.pos
			}
		}
		switch {
		case !pos.IsValid():
		case !haveEmbed:
			add(pos, `go:embed requires import "embed" (or import _ "embed", if package is not used)`)
		case len(spec.Names) > 1:
			add(pos, "go:embed cannot apply to multiple vars")
		case spec.Values != nil:
			add(pos, "go:embed cannot apply to var with initializer")
		case inFunc:
			add(pos, "go:embed cannot apply to var inside func")
		case scope != nil:
			if v, ok := scope.Lookup(spec.Names[0].Name).(*types.Var); ok && !embeddable(v.Type()) {
				q := types.RelativeTo(v.Pkg())
				add(spec.Names[0].Pos(), "go:embed cannot apply to var of type "+types.TypeString(v.Type(), func(p *types.Package) string {
					if q(p) == "" {
						return ""
					}
					return p.Name()
				}))
			}
		}
	}
	var decl func(d *ast.GenDecl, inFunc bool)
	decl = func(d *ast.GenDecl, inFunc bool) {
		if d.Tok != token.VAR {
			return
		}
		for _, s := range d.Specs {
			spec, ok := s.(*ast.ValueSpec)
			if !ok {
				continue
			}
			doc := spec.Doc
			if !d.Lparen.IsValid() {
				doc = d.Doc
			}
			check(doc, spec, inFunc)
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			decl(d, false)
		case *ast.FuncDecl:
			if d.Body != nil {
				ast.Inspect(d.Body, func(n ast.Node) bool {
					if ds, ok := n.(*ast.DeclStmt); ok {
						if gd, ok := ds.Decl.(*ast.GenDecl); ok {
							decl(gd, true)
						}
					}
					return true
				})
			}
		}
	}
}

// flagDirectives are the compiler's directives that mark a function, and
// whether only the runtime may use each; go:build marks a file.
var flagDirectives = map[string]bool{
	"go:build": false, "go:noescape": false, "go:norace": false, "go:nosplit": false,
	"go:noinline": false, "go:nocheckptr": false, "go:cgo_unsafe_args": false,
	"go:uintptrkeepalive": false, "go:uintptrescapes": false, "go:registerparams": false,
	"go:systemstack": true, "go:nowritebarrier": true, "go:nowritebarrierrec": true, "go:yeswritebarrierrec": true,
}

// directiveErrors reports, as the compiler does, each directive of
// flagDirectives in f that nothing it may mark takes (go:build, the file,
// before the package clause; the others, the function declared next) and
// each that only the runtime or the standard library may use.
func directiveErrors(f *ast.File, add func(token.Pos, string)) {
	for _, g := range f.Comments {
		for _, c := range g.List {
			text, ok := strings.CutPrefix(c.Text, "//")
			if !ok || !strings.HasPrefix(text, "go:") {
				continue
			}
			verb, _, _ := strings.Cut(text, " ")
			runtimeOnly, known := flagDirectives[verb]
			if !known {
				continue
			}
			pos := c.Pos() + 2
			switch {
			case runtimeOnly:
				add(pos, "//"+verb+" only allowed in runtime")
			case verb == "go:uintptrkeepalive":
				add(pos, "//"+verb+" is only allowed in the standard library")
			}
			if !directivePlaced(f, pos, verb == "go:build") {
				add(pos, "misplaced compiler directive")
			}
		}
	}
}

// directivePlaced reports whether the directive at pos is taken by what
// it marks: the file, before the package clause, when build is set, or
// else the function declared next at the top level.
func directivePlaced(f *ast.File, pos token.Pos, build bool) bool {
	if pos < f.Package {
		return build
	}
	for _, d := range f.Decls {
		if d.End() <= pos {
			continue
		}
		_, isFunc := d.(*ast.FuncDecl)
		return pos < d.Pos() && isFunc && !build
	}
	return false
}

// embedPatterns splits the arguments of a //go:embed directive as the
// compiler does: separated by spaces, each bare, "quoted" or `raw`.
func embedPatterns(args string) ([]string, error) {
	bad := func(s string) error { return fmt.Errorf("invalid quoted string in //go:embed: %s", s) }
	var list []string
	for args = strings.TrimSpace(args); args != ""; args = strings.TrimSpace(args) {
		var pattern string
		switch args[0] {
		case '`':
			i := strings.IndexByte(args[1:], '`')
			if i < 0 {
				return nil, bad(args)
			}
			pattern, args = args[1:1+i], args[2+i:]
		case '"':
			i := 1
			for ; i < len(args) && args[i] != '"'; i++ {
				if args[i] == '\\' {
					i++
				}
			}
			if i >= len(args) {
				return nil, bad(args)
			}
			q, err := strconv.Unquote(args[:i+1])
			if err != nil {
				return nil, bad(args[:i+1])
			}
			pattern, args = q, args[i+1:]
		default:
			i := strings.IndexFunc(args, unicode.IsSpace)
			if i < 0 {
				i = len(args)
			}
			pattern, args = args[:i], args[i:]
		}
		if r, _ := utf8.DecodeRuneInString(args); args != "" && !unicode.IsSpace(r) {
			return nil, bad(args)
		}
		list = append(list, pattern)
	}
	return list, nil
}

// embeddable reports whether the compiler fills a var of type t from a
// //go:embed directive: a string, a slice of bytes, named or not, or an
// embed.FS. An invalid type is its own error.
func embeddable(t types.Type) bool {
	if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "embed" && n.Obj().Name() == "FS" {
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Kind() == types.String || u.Kind() == types.Invalid
	case *types.Slice:
		b, ok := u.Elem().Underlying().(*types.Basic)
		return ok && (b.Kind() == types.Uint8 || b.Kind() == types.Invalid)
	}
	return false
}

// misplaced reports whether the //go:embed directive at pos, outside a
// function, is one that no var takes, as the compiler reads it: one
// before the package clause, a declaration other than a single var, the
// parenthesis of a group, a spec of a group other than var's, or nothing.
func misplaced(f *ast.File, pos token.Pos) bool {
	if f.Name != nil && pos < f.Name.Pos() {
		return true
	}
	for _, d := range f.Decls {
		if d.End() <= pos {
			continue
		}
		gd, ok := d.(*ast.GenDecl)
		if pos < d.Pos() {
			return !ok || gd.Tok != token.VAR || gd.Lparen.IsValid()
		}
		if !ok || !gd.Lparen.IsValid() || pos < gd.Lparen || pos > gd.Rparen {
			return false // in a function or an expression: not checked
		}
		for _, s := range gd.Specs {
			if s.End() > pos {
				return s.Pos() > pos && gd.Tok != token.VAR
			}
		}
		return true
	}
	return true
}
