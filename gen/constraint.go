package gen

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A run target in a file with a build constraint (//go:build special) is
// there only in builds that satisfy it, such as arbor gen -tags special.
// The generated file must then carry the constraint too, or the default
// build would compile a file that calls a function it does not have. As
// wire does, the output gets the //go:build line of the files it depends
// on: their constraints, joined with &&. A file name's _GOOS or _GOARCH
// suffix (worker_linux.go) is a constraint too, which arbor_gen.go, a name
// without one, must write out, and so is a file's import "C" (cgo). A
// target written once per platform (work_linux.go, and work_other.go with
// //go:build !linux) is there wherever one of its files is: its files'
// constraints are joined with ||, and dropped when they hold in every
// build.

// outputConstraint returns the build constraint the generated file needs:
// for each declaration the targets depend on (the function or method, and
// a method's receiver type), the constraints of the files that declare
// it, in this build or in another one, joined with ||; all of them joined
// with &&; or nil when there is none.
func (ws *workspace) outputConstraint(targets map[*target]bool) constraint.Expr {
	type decl struct {
		file, recv, name string
		pkg              *listed
		embeds           string // a struct type's embedded field that leads to a promoted method
	}
	listing := func(p *types.Package) *listed {
		if ws.own != nil && p.Path() == ws.own.PkgPath {
			return ws.own0
		}
		return ws.listed[p.Path()]
	}
	var decls []decl
	for t := range targets {
		recv := ""
		if r := t.obj.Type().(*types.Signature).Recv(); r != nil {
			recv = recvTypeName(r.Type())
		}
		if f := ws.fset.File(t.obj.Pos()); f != nil {
			decls = append(decls, decl{f.Name(), recv, t.obj.Name(), listing(t.obj.Pkg()), ""})
		}
		if pos := recvPos(t); pos.IsValid() && ws.fset.File(pos) != nil {
			// The receiver's type, maybe of another package than a method
			// it embeds.
			decls = append(decls, decl{ws.fset.File(pos).Name(), "", t.recvName.Name(), listing(t.recvName.Pkg()), ""})
		}
		// A promoted method is there only where each struct type on the
		// way embeds the field that leads to it: the declarations of the
		// type for other builds that do not are no alternative.
		for _, e := range t.embeds {
			if f := ws.fset.File(e.typ.Pos()); f != nil {
				decls = append(decls, decl{f.Name(), "", e.typ.Name(), listing(e.typ.Pkg()), e.field})
			}
		}
	}
	// The output is the same whichever of a declaration's files this build
	// sees (arbor diff agrees on every system): declarations in order of
	// name, each one's files in order of name.
	key := func(d decl) string {
		path := ""
		if d.pkg != nil {
			path = d.pkg.ImportPath
		}
		return path + "\x00" + d.recv + "." + d.name + "\x00" + d.embeds
	}
	for i, d := range decls {
		decls[i].file = sourceFile(d.pkg, d.file, d.recv, d.name)
	}
	slices.SortFunc(decls, func(a, b decl) int { return strings.Compare(key(a), key(b)) })
	var expr constraint.Expr
	seen := map[string]bool{}
	for _, d := range decls {
		var x constraint.Expr
		if ws.fileConstraint(d.file) != nil {
			files := append(ws.declaredElsewhere(d.pkg, d.file, d.recv, d.name, d.embeds), d.file)
			slices.SortFunc(files, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
			for _, file := range files {
				y := ws.fileConstraint(file)
				if y == nil {
					x = nil
					break
				}
				if x == nil {
					x = y
				} else {
					x = &constraint.OrExpr{X: x, Y: y}
				}
			}
		}
		if x != nil && !always(x) {
			expr = andNew(expr, x, seen)
		}
	}
	return expr
}

// sourceFile returns file if it is one of package p's Go files, or else
// the Go file of p that declares the function name (the method of type
// recv, or the type name when recv is ""), if one does. A //line directive
// (a parser generator's) makes export data name its file instead
// (grammar.y), whose constraint is not the Go file's.
func sourceFile(p *listed, file, recv, name string) string {
	if p == nil || p.Dir == "" {
		return file
	}
	files := slices.Concat(p.GoFiles, p.CgoFiles)
	for _, base := range files {
		if filepath.Join(p.Dir, base) == file {
			return file
		}
	}
	for _, base := range files {
		path := filepath.Join(p.Dir, base)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err == nil && findDecl(f, recv, name).IsValid() {
			return path
		}
	}
	return file
}

// andNew returns expr && x, or x when expr is nil, or expr when seen holds
// x already; it adds x to seen.
func andNew(expr, x constraint.Expr, seen map[string]bool) constraint.Expr {
	if seen[x.String()] {
		return expr
	}
	seen[x.String()] = true
	if expr == nil {
		return x
	}
	return &constraint.AndExpr{X: expr, Y: x}
}

// fileConstraint returns the constraint under which the go command builds
// file: its name's, its //go:build line's and cgo's, if it imports "C";
// nil when it has none.
func (ws *workspace) fileConstraint(file string) constraint.Expr {
	lines := []string{nameConstraint(file)}
	if f := ws.fileHeader(file); f != nil {
		lines = append(lines, buildLine(f))
		if importsC(f) {
			lines = append(lines, "cgo")
		}
	}
	var expr constraint.Expr
	seen := map[string]bool{}
	for _, line := range lines {
		if line == "" {
			continue
		}
		if x, err := constraint.Parse("//go:build " + line); err == nil {
			expr = andNew(expr, x, seen)
		}
	}
	return expr
}

// declaredElsewhere returns the files of package p, other than file, that
// the build ignores and that declare the function name (the method of
// type recv), or the type name when recv is "" and the name is a type's:
// the same declaration for other builds; if embeds is set, only those
// whose struct type embeds that field. Test files, and files of another
// package name (a generator script with //go:build ignore), are none.
func (ws *workspace) declaredElsewhere(p *listed, file, recv, name, embeds string) []string {
	if p == nil {
		return nil
	}
	var out []string
	sig := "" // a function's, which its alternatives must share
	for _, base := range p.IgnoredGoFiles {
		path := filepath.Join(p.Dir, base)
		if path == file || strings.HasSuffix(base, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil || f.Name.Name != p.Name || !findDecl(f, recv, name).IsValid() || embeds != "" && !embedsField(f, name, embeds) {
			continue
		}
		if sig == "" {
			if cur, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution); err == nil {
				sig = sigText(cur, recv, name)
			}
		}
		if sig == sigText(f, recv, name) {
			out = append(out, path)
		}
	}
	return out
}

// sigText returns the types of the receiver, parameters and results of
// the function name (the method of type recv) that f declares, as
// written but for packages, named by import path; or "" if f declares no
// such function. A function declared for
// another build with another signature is no alternative: the generated
// code, written for this one, would not compile there.
func sigText(f *ast.File, recv, name string) string {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != name || (recv == "") != (fd.Recv == nil) {
			continue
		}
		if recv != "" && (len(fd.Recv.List) != 1 || recvName(fd.Recv.List[0].Type) != recv) {
			continue
		}
		// A package is written by its import path, whatever name the file
		// imports it by (context.Context, stdctx.Context): f is the
		// caller's own parse, renamed for the purpose.
		paths := map[string]string{}
		for _, spec := range f.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				continue
			}
			name := path[strings.LastIndex(path, "/")+1:]
			if spec.Name != nil {
				name = spec.Name.Name
			}
			paths[name] = strconv.Quote(path)
		}
		var b strings.Builder
		for _, list := range []*ast.FieldList{fd.Recv, fd.Type.Params, fd.Type.Results} {
			b.WriteString("(")
			if list != nil {
				for _, fl := range list.List {
					ast.Inspect(fl.Type, func(n ast.Node) bool {
						if sel, ok := n.(*ast.SelectorExpr); ok {
							if x, ok := sel.X.(*ast.Ident); ok && paths[x.Name] != "" {
								x.Name = paths[x.Name]
							}
						}
						return true
					})
					for range max(1, len(fl.Names)) {
						b.WriteString(types.ExprString(fl.Type) + ",")
					}
				}
			}
			b.WriteString(")")
		}
		return b.String()
	}
	return ""
}

// embedsField reports whether the struct type name that f declares
// embeds a field of that name.
func embedsField(f *ast.File, name, field string) bool {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range gd.Specs {
			ts, ok := s.(*ast.TypeSpec)
			if !ok || ts.Name.Name != name {
				continue
			}
			st, ok := ast.Unparen(ts.Type).(*ast.StructType)
			if !ok {
				return false
			}
			for _, fl := range st.Fields.List {
				x := ast.Unparen(fl.Type)
				if star, ok := x.(*ast.StarExpr); ok {
					x = ast.Unparen(star.X)
				}
				if ix, ok := x.(*ast.IndexExpr); ok {
					x = ix.X // G[int]
				} else if ix, ok := x.(*ast.IndexListExpr); ok {
					x = ix.X
				}
				if sel, ok := x.(*ast.SelectorExpr); ok {
					x = sel.Sel
				}
				if len(fl.Names) == 0 && recvName(x) == field {
					return true
				}
			}
			return false
		}
	}
	return false
}

// recvTypeName returns the name of a method's receiver type, T for *T.
func recvTypeName(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := types.Unalias(t).(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}

// always reports whether x holds whatever its tags, as linux || !linux
// does. (With more tags than it can try, it says no: the constraint is
// then written out, which is right, if long.)
func always(x constraint.Expr) bool {
	var tags []string
	var walk func(x constraint.Expr)
	walk = func(x constraint.Expr) {
		switch x := x.(type) {
		case *constraint.TagExpr:
			if !slices.Contains(tags, x.Tag) {
				tags = append(tags, x.Tag)
			}
		case *constraint.NotExpr:
			walk(x.X)
		case *constraint.AndExpr:
			walk(x.X)
			walk(x.Y)
		case *constraint.OrExpr:
			walk(x.X)
			walk(x.Y)
		}
	}
	walk(x)
	if len(tags) > 12 {
		return false
	}
	for set := range 1 << len(tags) {
		if !x.Eval(func(tag string) bool { return set>>slices.Index(tags, tag)&1 == 1 }) {
			return false
		}
	}
	return true
}

// nameConstraint returns the constraint that file's name implies, as the go
// command reads it (name_GOOS_GOARCH.go, name_GOOS.go, name_GOARCH.go), or
// "". Like go/build, it reads the name only up to its first dot:
// serve_linux.pb.go is for Linux, serve.pb_linux.go for every system.
func nameConstraint(file string) string {
	name, _, _ := strings.Cut(filepath.Base(file), ".")
	i := strings.Index(name, "_")
	if i < 0 {
		return ""
	}
	parts := strings.Split(name[i+1:], "_") // what precedes the first _ never counts
	if n := len(parts); parts[n-1] == "test" {
		parts = parts[:n-1]
	}
	n := len(parts)
	if n >= 2 && knownOS[parts[n-2]] && knownArch[parts[n-1]] {
		return parts[n-2] + " && " + parts[n-1]
	}
	if n >= 1 && (knownOS[parts[n-1]] || knownArch[parts[n-1]]) {
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
