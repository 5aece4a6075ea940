package gen

import (
	"context"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/arbor-go/arbor/schema"
)

const (
	runtimePath = "github.com/arbor-go/arbor/runtime"
	outputName  = "arbor_gen.go"
)

// runRef is a parsed run reference.
type runRef struct {
	pkgPath string // "" for the spec's own package
	recv    string // the receiver's type name; "" for a function
	ptr     bool   // the receiver is a pointer
	name    string
}

// parseRun parses the run forms: Func, (*Type).Method, (Type).Method,
// import/path.Func and (*import/path.Type).Method.
func parseRun(s string) (runRef, error) {
	var r runRef
	bad := fmt.Errorf("run: invalid reference %q: want Func, (*Type).Method, (Type).Method, import/path.Func or (*import/path.Type).Method", s)
	target := s
	if strings.HasPrefix(s, "(") {
		end := strings.Index(s, ").")
		if end < 0 {
			return r, bad
		}
		recv := s[1:end]
		r.name = s[end+2:]
		if r.ptr = strings.HasPrefix(recv, "*"); r.ptr {
			recv = recv[1:]
		}
		target = recv
	}
	if i := strings.LastIndex(target, "."); i >= 0 {
		r.pkgPath, target = target[:i], target[i+1:]
		if r.pkgPath == "" || strings.ContainsAny(r.pkgPath, " \t()*") {
			return r, bad
		}
	}
	if r.name == "" {
		r.name = target
	} else {
		r.recv = target
	}
	if !token.IsIdentifier(r.name) || (r.recv != "" && !token.IsIdentifier(r.recv)) || (strings.HasPrefix(s, "(") && r.recv == "") {
		return r, bad
	}
	return r, nil
}

// workspace is the user's code as go/packages loaded it.
type workspace struct {
	fset    *token.FileSet
	dir     string
	own     *packages.Package // the spec's own Go package, without arbor_gen.go
	byPath  map[string]*packages.Package
	ownName string
}

// loadGo loads the spec's Go package, hiding any old arbor_gen.go (it may no
// longer match the spec), along with every package the refs name.
func loadGo(ctx context.Context, dir string, paths []string, opts *Options) (*workspace, error) {
	out := filepath.Join(dir, outputName)
	ws := &workspace{fset: token.NewFileSet(), dir: dir, byPath: map[string]*packages.Package{}}
	cfg := &packages.Config{
		Context:    ctx,
		Dir:        dir,
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports,
		Fset:       ws.fset,
		Env:        opts.Env,
		BuildFlags: opts.BuildFlags,
		// The old arbor_gen.go may no longer match the spec: parse only its
		// package clause. (An overlay would do too, but with one go/packages
		// type-checks every dependency from source, twice as slow.)
		ParseFile: func(fset *token.FileSet, filename string, src []byte) (*ast.File, error) {
			mode := parser.AllErrors | parser.ParseComments | parser.SkipObjectResolution
			if filename == out {
				mode = parser.PackageClauseOnly
			}
			return parser.ParseFile(fset, filename, src, mode)
		},
	}
	patterns := append([]string{".", "context", "time", runtimePath}, paths...)
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("loading Go packages: %w", err)
	}
	for _, p := range pkgs {
		if p.Types == nil {
			continue
		}
		packages.Visit([]*packages.Package{p}, nil, func(q *packages.Package) {
			if _, ok := ws.byPath[q.PkgPath]; !ok && q.Types != nil {
				ws.byPath[q.PkgPath] = q
			}
		})
	}
	if ws.byPath["context"] == nil {
		// The go command itself failed: go/packages then returns nothing.
		return nil, fmt.Errorf("%s: cannot load Go packages there: is the directory inside a Go module?", dir)
	}
	ws.own = ownPackage(pkgs, dir, patterns[1:])
	if ws.own != nil {
		ws.ownName = ws.own.Name
	}
	return ws, nil
}

// ownPackage picks the directory's package among the loaded roots: the one
// with files in dir or, when dir has no Go files yet, the one no other
// pattern asked for. It is nil when dir has no usable package.
func ownPackage(pkgs []*packages.Package, dir string, others []string) *packages.Package {
	for _, p := range pkgs {
		for _, f := range p.GoFiles {
			if filepath.Dir(f) == dir {
				return p
			}
		}
	}
	for _, p := range pkgs {
		if !slices.Contains(others, p.PkgPath) && p.Name != "" {
			return p
		}
	}
	return nil
}

// target is a resolved run reference.
type target struct {
	ref      runRef
	obj      *types.Func
	pkg      *types.Package  // where the symbol lives
	recv     types.Type      // the constructor parameter type, for methods
	recvName *types.TypeName // the receiver's type as the spec names it (maybe an alias)
	attempt  bool            // takes a *runtime.Attempt
}

// resolve finds the Go declaration a worker's run names and checks it.
func (ws *workspace) resolve(n *schema.Node, errs *schema.ErrorList) *target {
	ref, err := parseRun(n.Run)
	if err != nil {
		errs.Add(n.RunPos, fmt.Sprintf("%s: %v", n, err))
		return nil
	}
	var pkg *types.Package // nil when the directory has no Go files yet
	if ws.own != nil {
		pkg = ws.own.Types
	}
	where := "the spec's package"
	if ref.pkgPath != "" {
		p := ws.lookupPkg(ref.pkgPath)
		if p == nil {
			errs.Add(n.RunPos, fmt.Sprintf("%s: run: cannot load package %q%s", n, ref.pkgPath, ws.loadMsg(ref.pkgPath)))
			return nil
		}
		if msg := ws.unimportable(p); msg != "" {
			errs.Add(n.RunPos, fmt.Sprintf("%s: run: cannot import %s: %s", n, ref.pkgPath, msg))
			return nil
		}
		pkg = p
		where = fmt.Sprintf("package %s", ref.pkgPath)
		if !token.IsExported(ref.name) || (ref.recv != "" && !token.IsExported(ref.recv)) {
			errs.Add(n.RunPos, fmt.Sprintf("%s: run: %s is not exported by %s", n, strings.TrimPrefix(n.Run, ref.pkgPath+"."), ref.pkgPath))
			return nil
		}
	}
	if pkg == nil {
		errs.Add(n.RunPos, fmt.Sprintf("%s: run: the directory has no Go package to find %s in", n, ref.name))
		return nil
	}
	t := &target{ref: ref, pkg: pkg}
	if ref.recv == "" {
		obj := pkg.Scope().Lookup(ref.name)
		if obj == nil {
			errs.Add(n.RunPos, fmt.Sprintf("%s: run: %s is not declared in %s%s", n, ref.name, where, suggestRun(ref, pkg, ref.pkgPath == "")))
			return nil
		}
		fn, ok := obj.(*types.Func)
		if !ok {
			ws.addDecl(errs, n.RunPos, obj.Pos(), "%s: run: %s is a %s, not a function", n, ref.name, kindOf(obj))
			return nil
		}
		t.obj = fn
	} else {
		obj := pkg.Scope().Lookup(ref.recv)
		tn, ok := obj.(*types.TypeName)
		if !ok {
			errs.Add(n.RunPos, fmt.Sprintf("%s: run: %s is not a type declared in %s%s", n, ref.recv, where, suggestRun(ref, pkg, ref.pkgPath == "")))
			return nil
		}
		if named, ok := types.Unalias(tn.Type()).(*types.Named); ok && named.TypeParams().Len() > 0 {
			ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: %s is a generic type; a run method needs a receiver type without type parameters", n, ref.recv)
			return nil
		}
		recv := tn.Type()
		if ref.ptr {
			recv = types.NewPointer(recv)
		}
		sel, _, _ := types.LookupFieldOrMethod(recv, false, pkg, ref.name)
		fn, ok := sel.(*types.Func)
		if !ok {
			if _, _, indirect := types.LookupFieldOrMethod(types.NewPointer(tn.Type()), false, pkg, ref.name); !ref.ptr && indirect {
				errs.Add(n.RunPos, fmt.Sprintf("%s: run: method %s has a pointer receiver; write (*%s).%s", n, ref.name, strings.TrimPrefix(strings.TrimSuffix(n.Run[1:], ")."+ref.name), "*"), ref.name))
				return nil
			}
			ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: %s has no method %s%s", n, types.TypeString(recv, types.RelativeTo(pkg)), ref.name, suggestRun(ref, pkg, ref.pkgPath == ""))
			return nil
		}
		if lock := lockIn(recv); lock != nil {
			ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: the constructor would take %s by value, which copies the %s it holds (go vet: copylocks); write %s", n, ref.recv, types.TypeString(lock, types.RelativeTo(pkg)), "(*"+n.Run[1:])
			return nil
		}
		t.obj = fn
		t.recv = recv
		t.recvName = tn
	}
	sig := t.obj.Type().(*types.Signature)
	if sig.TypeParams().Len() > 0 {
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s is generic; a run function cannot have type parameters", n, n.Run)
		return nil
	}
	attempt, ok := runSignature(sig)
	if !ok {
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s has type %s; want func(context.Context) error or func(context.Context, *runtime.Attempt) error",
			n, n.Run, types.TypeString(withoutRecv(sig), types.RelativeTo(pkg)))
		return nil
	}
	t.attempt = attempt
	if !attempt {
		for _, need := range []struct {
			set   bool
			field string
			call  string
			pos   schema.Pos
		}{
			{n.Ready != nil, "ready", "Ready", posOf(n.Ready)},
			{n.Heartbeat != nil, "heartbeat", "Beat", posOf(n.Heartbeat)},
		} {
			if need.set {
				ws.addDecl(errs, need.pos, t.obj.Pos(), "%s: %s needs a run function that takes a *runtime.Attempt, to call a.%s(); %s has type %s",
					n, need.field, need.call, n.Run, types.TypeString(withoutRecv(sig), types.RelativeTo(pkg)))
			}
		}
	}
	return t
}

func posOf(p *schema.Probe) schema.Pos {
	if p == nil {
		return schema.Pos{}
	}
	return p.Pos
}

// lookupPkg returns the loaded package at path, or nil when it could not be
// loaded. A package with errors still serves if it declares anything.
func (ws *workspace) lookupPkg(path string) *types.Package {
	p := ws.byPath[path]
	if p == nil || p.Types == nil || (len(p.Errors) > 0 && p.Types.Scope().Len() == 0) {
		return nil
	}
	return p.Types
}

// unimportable says why the spec's package cannot import p, or "". The
// go command enforces these rules; go/types does not.
func (ws *workspace) unimportable(p *types.Package) string {
	if p.Name() == "main" {
		return "it is a program, not an importable package"
	}
	own := ""
	if ws.own != nil {
		own = ws.own.PkgPath
	}
	if parent, ok := internalParent(p.Path()); ok && own != parent && !strings.HasPrefix(own, parent+"/") {
		return "use of an internal package is not allowed here"
	}
	if own != "" && imports(p, own, map[*types.Package]bool{}) {
		return "it imports the spec's own package: an import cycle"
	}
	return ""
}

// internalParent returns the directory that may import an internal package.
func internalParent(path string) (string, bool) {
	switch {
	case strings.HasPrefix(path, "internal/") || path == "internal":
		return "", true
	case strings.HasSuffix(path, "/internal"):
		return strings.TrimSuffix(path, "/internal"), true
	}
	if i := strings.LastIndex(path, "/internal/"); i >= 0 {
		return path[:i], true
	}
	return "", false
}

// imports reports whether p depends on the package at path.
func imports(p *types.Package, path string, seen map[*types.Package]bool) bool {
	for _, q := range p.Imports() {
		if q.Path() == path {
			return true
		}
		if !seen[q] {
			seen[q] = true
			if imports(q, path, seen) {
				return true
			}
		}
	}
	return false
}

func (ws *workspace) loadMsg(path string) string {
	if p := ws.byPath[path]; p != nil && len(p.Errors) > 0 {
		msg := p.Errors[0].Msg
		msg, _, _ = strings.Cut(msg, "\n")
		msg, _, _ = strings.Cut(msg, "; to add it")
		return ": " + msg
	}
	return ""
}

// addDecl adds an error about a Go declaration, with its position. Files of
// the standard library are named from $GOROOT, so that messages do not
// depend on where Go is installed.
func (ws *workspace) addDecl(errs *schema.ErrorList, pos schema.Pos, decl token.Pos, format string, args ...any) {
	p := ws.fset.Position(decl)
	d := schema.Pos{Filename: p.Filename, Line: p.Line, Column: p.Column}
	if root := build.Default.GOROOT; root != "" {
		if rel, err := filepath.Rel(root, p.Filename); err == nil && !strings.HasPrefix(rel, "..") {
			d.Filename = filepath.Join("$GOROOT", rel)
		}
	}
	*errs = append(*errs, &schema.Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Decl: d})
}

// runSignature reports whether sig is one of the accepted run signatures,
// and whether it takes a *runtime.Attempt.
func runSignature(sig *types.Signature) (attempt, ok bool) {
	if sig.TypeParams().Len() > 0 || sig.Variadic() {
		return false, false
	}
	res := sig.Results()
	if res.Len() != 1 || !isNamed(res.At(0).Type(), "", "error") {
		return false, false
	}
	params := sig.Params()
	switch params.Len() {
	case 1:
		return false, isNamed(params.At(0).Type(), "context", "Context")
	case 2:
		p, ok := params.At(1).Type().(*types.Pointer)
		return true, ok && isNamed(params.At(0).Type(), "context", "Context") && isNamed(p.Elem(), runtimePath, "Attempt")
	}
	return false, false
}

func isNamed(t types.Type, pkgPath, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	if obj.Pkg() == nil {
		return pkgPath == "" && obj.Name() == name
	}
	return obj.Pkg().Path() == pkgPath && obj.Name() == name
}

func withoutRecv(sig *types.Signature) *types.Signature {
	return types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), sig.Variadic())
}

func kindOf(obj types.Object) string {
	switch obj.(type) {
	case *types.Var:
		return "variable"
	case *types.Const:
		return "constant"
	case *types.TypeName:
		return "type"
	}
	return "declaration"
}
