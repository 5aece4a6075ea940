package gen

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/build"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"

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
	bad := schema.Errorf("run: invalid reference %q: want Func, (*Type).Method, (Type).Method, import/path.Func or (*import/path.Type).Method", s)
	if strings.ContainsAny(s, "[]") {
		// Only what would read as a reference once its type arguments
		// are gone is an instantiation: Box[int], (*Box[K, V]).Run.
		i, j := strings.IndexByte(s, '['), strings.LastIndexByte(s, ']')
		if i < 0 || j <= i+1 {
			return r, bad
		}
		if _, err := parseRun(s[:i] + s[j+1:]); err != nil {
			return r, bad
		}
		return r, schema.Errorf("run: invalid reference %q: a run reference cannot instantiate a generic type or function; name an instance of a type with an alias (type IntBox = Box[int]) and write its method, or call the function from one without type parameters", s)
	}
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
	if r.pkgPath != "" {
		if err := checkImportPath(r.pkgPath); err != nil {
			return r, err
		}
	}
	if !token.IsIdentifier(r.name) || (r.recv != "" && !token.IsIdentifier(r.recv)) || (strings.HasPrefix(s, "(") && r.recv == "") {
		return r, bad
	}
	return r, nil
}

// importPathOf suggests the reference with the import path of the
// package that ref names by a relative directory, when it is in the
// module.
func (ws *workspace) importPathOf(ref runRef) string {
	m := ws.own0.Module
	if !strings.HasPrefix(ref.pkgPath, ".") || m == nil || m.GoMod == "" {
		return ""
	}
	rel, err := filepath.Rel(filepath.Dir(m.GoMod), filepath.Join(ws.dir, ref.pkgPath))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	path := m.Path
	if rel != "." {
		path += "/" + filepath.ToSlash(rel)
	}
	ref.pkgPath = path
	return schema.Sprintf(" (did you mean %q?)", ref.String())
}

// renamedPaths returns, for the import path of a package outside the
// spec's module, the paths of that module's packages in a directory the
// path ends with, longest first: after the module's path was renamed in
// go.mod and in the Go code, but not in the spec, "example.com/old/store"
// is now "example.com/new/store". loadRuns lists them for renamedModule
// when path does not load.
func (ws *workspace) renamedPaths(path string) []string {
	m := ws.own0.Module
	if m == nil || m.GoMod == "" || path == m.Path || strings.HasPrefix(path, m.Path+"/") {
		return nil
	}
	root := filepath.Dir(m.GoMod)
	var out []string
	elems := strings.Split(path, "/")
	for i := 1; i < len(elems); i++ {
		rel := strings.Join(elems[i:], "/")
		if st, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err == nil && st.IsDir() {
			out = append(out, m.Path+"/"+rel)
		}
	}
	return out
}

// renamedModule hints, for a reference to a package that does not load,
// at the package of the spec's module that renamedPaths finds and that
// declares what the reference names, or returns "".
func (ws *workspace) renamedModule(ref runRef) string {
	name := ref.name
	if ref.recv != "" {
		name = ref.recv
	}
	for _, path := range ws.renamedPaths(ref.pkgPath) {
		if ws.listed[path] == nil { // not listed by loadRuns: no package
			continue
		}
		if p := ws.lookupPkg(path); p != nil && p.Scope().Lookup(name) != nil {
			ref.pkgPath = path
			return suggestion(ref.String())
		}
	}
	return ""
}

// checkImportPath rejects what the go command would not read as the
// import path of one package: a path relative to the spec's directory or
// absolute, a pattern (std, all, ...), cgo's C, or a malformed path. The go
// command is never asked to list such a path.
func checkImportPath(path string) error {
	switch {
	case path == "." || path == ".." || strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../") || strings.HasPrefix(path, "/"):
		return schema.Errorf("run: %s is a directory, not an import path: name the package by its import path, its module's path then its directory", path)
	case strings.Contains(path, "..."), path == "std" || path == "cmd" || path == "all" || path == "tool" || path == "work":
		return schema.Errorf("run: %s is a pattern of the go command, not the import path of a package", path)
	case path == "C":
		return schema.Errorf("run: C is cgo's pseudo-package, not one a run function can be declared in")
	case path == "main":
		return schema.Errorf("run: main is not an import path; a function of the spec's own package is named without one")
	}
	if i := strings.LastIndex("/"+path, "/vendor/"); i >= 0 {
		// The go command refuses to import a vendor directory by its path:
		// "must be imported as".
		own := path[i+len("vendor/"):]
		return schema.Errorf("run: %s is a vendored copy of %s, which Go code imports by its own path: name the package %s", path, own, own)
	}
	for _, elem := range strings.Split(path, "/") {
		if elem == "" || elem[0] == '.' || elem[len(elem)-1] == '.' || strings.IndexFunc(elem, func(c rune) bool {
			return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~+", c))
		}) >= 0 {
			return schema.Errorf("run: %q is not a valid import path (its element %q)", path, elem)
		}
	}
	return nil
}

// String returns the reference as a spec writes it.
func (r runRef) String() string {
	qual := r.pkgPath
	if qual != "" {
		qual += "."
	}
	if r.recv == "" {
		return qual + r.name
	}
	star := ""
	if r.ptr {
		star = "*"
	}
	return fmt.Sprintf("(%s%s%s).%s", star, qual, r.recv, r.name)
}

// target is a resolved run reference.
type target struct {
	ref      runRef
	obj      *types.Func
	pkg      *types.Package  // where the symbol lives
	recv     types.Type      // the constructor parameter type, for methods
	recvName *types.TypeName // the receiver's type as the spec names it (maybe an alias)
	attempt  bool            // takes a *runtime.Attempt
	arg      types.Type      // a pool's argument type, the last parameter; nil for other workers
	// late is set for a method whose method value, taken when the tree
	// is built, would dereference the receiver (see derefs): the generated
	// code looks the method up at each attempt instead.
	late bool
	// embeds is the way to a promoted method: each struct type on it, and
	// the field it embeds that leads on (see outputConstraint).
	embeds []embedding
}

// embedding is a struct type's field on the way to a promoted method.
type embedding struct {
	typ   *types.TypeName
	field string
}

// resolve finds the Go declaration a worker's run names and checks it.
func (ws *workspace) resolve(n *schema.Node, errs *schema.ErrorList) *target {
	ref, err := parseRun(n.Run)
	if err != nil {
		errs.Add(n.RunPos, schema.Sprintf("%s: %v%s", n, err, ws.importPathOf(ref)))
		return nil
	}
	if ref.pkgPath != "" && ref.pkgPath == ws.ownPath() {
		// The spec's own package by its import path is the package the
		// generated file is in: not imported (it may be a main package),
		// and its unexported names are its own.
		ref.pkgPath = ""
	}
	var pkg *types.Package // nil when the directory has no Go files yet
	if ws.own != nil {
		pkg = ws.own.Types
	}
	where := "the spec's package"
	listing := ws.own0 // what go list said about pkg
	if ref.pkgPath != "" {
		listing = ws.listed[ref.pkgPath]
		p := ws.lookupPkg(ref.pkgPath)
		if p == nil {
			if hint := ws.notAPackage(ref); hint != "" {
				errs.Add(n.RunPos, schema.Sprintf("%s: run: %s", n, hint))
				return nil
			}
			hint := ws.inModule(ref) // lib.Work for example.com/m/lib.Work
			if hint == "" {
				hint = ws.renamedModule(ref) // the module's old path
			}
			if hint == "" {
				hint = ws.outerModule(ref)
			}
			errs.Add(n.RunPos, schema.Sprintf("%s: run: cannot load package %q%s%s", n, ref.pkgPath, ws.loadMsg(ref.pkgPath), hint))
			return nil
		}
		if msg := ws.unimportable(p); msg != "" {
			errs.Add(n.RunPos, schema.Sprintf("%s: run: cannot import %s: %s", n, ref.pkgPath, msg))
			return nil
		}
		pkg = p
		where = schema.Sprintf("package %s", ref.pkgPath)
		if !token.IsExported(ref.name) || (ref.recv != "" && !token.IsExported(ref.recv)) {
			errs.Add(n.RunPos, schema.Sprintf("%s: run: %s is not exported by %s", n, strings.TrimPrefix(n.Run, ref.pkgPath+"."), ref.pkgPath))
			return nil
		}
	}
	// undeclared is where the target is not declared, with why the
	// package does not load, if it does not: with files of two package
	// names, say, go/types saw only some of them.
	undeclared := where
	if ref.pkgPath != "" && listing != nil && listing.Error != nil && !strings.HasPrefix(listing.Error.Err, "# ") && ws.broken[pkg.Path()] == nil {
		// (Not a compile error, "# path" and the compiler's lines: vet
		// reports those.)
		undeclared += " (it does not load" + ws.loadMsg(ref.pkgPath) + ")"
	}
	// notSeen reports a target that is only in a file the build leaves out,
	// or that may be in a file that does not parse.
	notSeen := func() bool {
		decl, why, ok := ws.declaredAside(listing, ref.recv, ref.name)
		if ok {
			ws.addDecl(errs, n.RunPos, decl, "%s: run: %s is declared only in %s", n, strings.TrimPrefix(n.Run, ref.pkgPath+"."), why)
			return true
		}
		if pkg == nil {
			return false
		}
		if e := ws.broken[pkg.Path()]; e != nil {
			*errs = append(*errs, &schema.Error{Pos: n.RunPos, Msg: schema.Sprintf("%s: run: %s is not declared in %s, whose Go code does not parse: %s",
				n, strings.TrimPrefix(n.Run, ref.pkgPath+"."), where, e.Msg), Also: []schema.Pos{{Filename: e.Pos.Filename, Line: e.Pos.Line, Column: e.Pos.Column}}})
			return true
		}
		return false
	}
	if pkg == nil {
		if !notSeen() {
			errs.Add(n.RunPos, schema.Sprintf("%s: run: the directory has no Go package to find %s in", n, strings.TrimPrefix(n.Run, ref.pkgPath+".")))
		}
		return nil
	}
	t := &target{ref: ref, pkg: pkg}
	if ref.recv == "" {
		obj := pkg.Scope().Lookup(ref.name)
		if g := ws.decls[ref.name]; obj == nil && ref.pkgPath == "" && g != nil {
			ws.generatedRef(n, "the constructor", ref.name, g, errs)
			return nil
		}
		if obj == nil {
			if !notSeen() {
				errs.Add(n.RunPos, schema.Sprintf("%s: run: %s is not declared in %s%s", n, ref.name, undeclared, cmp.Or(ws.dotImported(ref), suggestRun(ref, pkg, ref.pkgPath == "", n.IsPool()), otherSpec(ref, listing), ws.inModule(ref))))
			}
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
		if g := ws.decls[ref.recv]; !ok && ref.pkgPath == "" && g != nil {
			ws.generatedRef(n, "the type", ref.recv, g, errs)
			return nil
		}
		if !ok {
			if !notSeen() {
				errs.Add(n.RunPos, schema.Sprintf("%s: run: %s is not a type declared in %s%s", n, ref.recv, undeclared, cmp.Or(ws.dotImported(ref), suggestRun(ref, pkg, ref.pkgPath == "", n.IsPool()), otherSpec(ref, listing))))
			}
			return nil
		}
		if generic(tn) {
			ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: %s is a generic type; a run method needs a receiver type without type parameters: name an instance with an alias (such as type Int%s = %s[int]) and write its method", n, ref.recv, ref.recv, ref.recv)
			return nil
		}
		recv := tn.Type()
		if ref.ptr {
			recv = types.NewPointer(recv)
		}
		sel, index, indirect := types.LookupFieldOrMethod(recv, false, pkg, ref.name)
		fn, ok := sel.(*types.Func)
		if !ok {
			typ := types.TypeString(recv, short(pkg))
			switch {
			case sel == nil && index != nil:
				// Embedded fields at the same depth have it: Go's selector
				// is ambiguous, and so is the spec's.
				ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: %s of %s is ambiguous: more than one field embedded at the same depth has it; name the embedded type's method, or declare %s on %s", n, ref.name, typ, ref.name, ref.recv)
			case sel == nil && indirect:
				errs.Add(n.RunPos, schema.Sprintf("%s: run: method %s has a pointer receiver; write (*%s).%s", n, ref.name, strings.TrimPrefix(strings.TrimSuffix(n.Run[1:], ")."+ref.name), "*"), ref.name))
			case sel != nil:
				ws.addDecl(errs, n.RunPos, sel.Pos(), "%s: run: %s is a field of %s, not a method; run names a function or a method: declare a method that calls the field", n, ref.name, typ)
			case ref.ptr && types.IsInterface(tn.Type()) && hasMethod(tn.Type(), pkg, ref.name):
				ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: %s is an interface, and a pointer to an interface has no methods; write (%s", n, ref.recv, strings.TrimPrefix(n.Run[1:], "*"))
			case !notSeen():
				ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: %s has no method %s%s", n, typ, ref.name, suggestRun(ref, pkg, ref.pkgPath == "", n.IsPool()))
			}
			return nil
		}
		if lock := lockIn(recv); lock != nil {
			ws.addDecl(errs, n.RunPos, tn.Pos(), "%s: run: the constructor would take %s by value, which copies the %s it holds (go vet: copylocks); write %s", n, ref.recv, types.TypeString(lock, short(pkg)), "(*"+n.Run[1:])
			return nil
		}
		t.obj = fn
		t.recv = recv
		t.recvName = tn
		t.late = derefs(recv, index, fn)
		t.embeds = embeddings(recv, index)
	}
	sig := t.obj.Type().(*types.Signature)
	if sig.TypeParams().Len() > 0 {
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s is generic; a run function cannot have type parameters", n, n.Run)
		return nil
	}
	if !typeChecks(sig) || ws.sigError(t.obj) != nil {
		ws.invalidDecl(errs, n, t.obj)
		return nil
	}
	if ws.bodyless(t.obj) {
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s has no body, which go build refuses (missing function body): its package has no assembly or other file to provide one, and no //go:linkname directive names it; write the body", n, n.Run)
		return nil
	}
	attempt, arg, ok := runSignature(sig)
	found := types.TypeString(withoutRecv(sig), short(pkg))
	why := sigTrouble(sig, short(pkg))
	switch {
	case !ok && n.IsPool() && why == "":
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s has type %s; a pool's run takes one argument after the context (and the attempt): want func(context.Context, T) error or func(context.Context, *runtime.Attempt, T) error",
			n, n.Run, found)
		return nil
	case why != "" && (!ok || attemptLike(arg)):
		// Say what is wrong before what is wanted: "has type
		// func(ctx context.Context, a runtime.Attempt) error; want ...
		// *runtime.Attempt" leaves the reader to spot one star.
		want := "func(context.Context) error or func(context.Context, *runtime.Attempt) error"
		if n.IsPool() {
			want = "func(context.Context, T) error or func(context.Context, *runtime.Attempt, T) error"
		}
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s has type %s; %s: want %s", n, n.Run, found, why, want)
		return nil
	case !ok:
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s has type %s; want func(context.Context) error or func(context.Context, *runtime.Attempt) error",
			n, n.Run, found)
		return nil
	case n.IsPool() && arg == nil:
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s has type %s, with no argument for the pool's instances; want func(context.Context, T) error or func(context.Context, *runtime.Attempt, T) error, where T is what Start passes to each instance",
			n, n.Run, found)
		return nil
	case !n.IsPool() && arg != nil:
		ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: %s has type %s; want func(context.Context) error or func(context.Context, *runtime.Attempt) error, or add pool: {} to make %s a pool, whose instances are each started with an argument of type %s",
			n, n.Run, found, n, types.TypeString(arg, short(pkg)))
		return nil
	}
	if arg != nil {
		if why, decl := ws.unnameable(arg); why != "" {
			var own *types.Package
			if ws.own != nil {
				own = ws.own.Types
			}
			ws.addDecl(errs, n.RunPos, decl, "%s: run: the generated Start would take %s, which the spec's package cannot write: %s",
				n, article(types.TypeString(arg, short(own))), why)
			return nil
		}
		if lock := lockIn(arg); lock != nil {
			// As for a receiver: the generated Start and its closure would
			// copy it, and fail go vet.
			var own *types.Package
			if ws.own != nil {
				own = ws.own.Types
			}
			ws.addDecl(errs, n.RunPos, t.obj.Pos(), "%s: run: the generated Start would take %s by value, which copies the %s it holds (go vet: copylocks); take a pointer to it",
				n, article(types.TypeString(arg, short(own))), types.TypeString(lock, short(own)))
			return nil
		}
	}
	t.attempt = attempt
	t.arg = arg
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
					n, need.field, need.call, n.Run, types.TypeString(withoutRecv(sig), short(pkg)))
			}
		}
	}
	return t
}

// generic reports whether tn is a generic type, or a generic alias, that
// a receiver cannot name without type arguments.
func generic(tn *types.TypeName) bool {
	if a, ok := tn.Type().(*types.Alias); ok && a.TypeParams().Len() > 0 {
		return true
	}
	named, ok := types.Unalias(tn.Type()).(*types.Named)
	return ok && named.TypeParams().Len() > 0 && named.TypeArgs().Len() == 0
}

// derefs reports whether the method value x.M, for x of type recv and M
// the method fn that index selects, dereferences a pointer or goes through
// an interface when it is evaluated: a field selected through a pointer on
// the way to a promoted method, a method with a value receiver named
// through a pointer, or an interface's method. A nil x, or a nil embedded
// field, then panics where the value is taken.
func derefs(recv types.Type, index []int, fn *types.Func) bool {
	t := recv
	for _, i := range index[:len(index)-1] {
		if _, ok := types.Unalias(t).(*types.Pointer); ok {
			return true
		}
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			return true // not a struct: be safe
		}
		t = st.Field(i).Type()
	}
	if types.IsInterface(t) {
		return true
	}
	_, ptr := types.Unalias(t).(*types.Pointer)
	_, ptrRecv := types.Unalias(fn.Signature().Recv().Type()).(*types.Pointer)
	return ptr && !ptrRecv
}

// article puts "a" or "an" before a type for a message: an atomic.Int64,
// an unsafe.Pointer, a uint.
func article(typ string) string {
	if strings.HasPrefix(typ, "un") || strings.ContainsAny(typ[:min(1, len(typ))], "aeioAEIO") {
		return "an " + typ
	}
	return "a " + typ
}

// embeddings returns the named struct types, and the fields they embed,
// on the way from recv to the method index selects.
func embeddings(recv types.Type, index []int) []embedding {
	var out []embedding
	t := recv
	for _, i := range index[:len(index)-1] {
		if p, ok := types.Unalias(t).(*types.Pointer); ok {
			t = p.Elem()
		}
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			break
		}
		if n, ok := types.Unalias(t).(*types.Named); ok {
			out = append(out, embedding{n.Obj(), st.Field(i).Name()})
		}
		t = st.Field(i).Type()
	}
	return out
}

func posOf(p *schema.Probe) schema.Pos {
	if p == nil {
		return schema.Pos{}
	}
	return p.Pos
}

// notAPackage explains a reference written as Go code would write it,
// whose "package" is a name in the spec's package: a type (Pool.Run, a
// method expression), a variable (srv.Run, a method value) or the name a
// file imports a package by (ext.Work). It returns "" for other names.
func (ws *workspace) notAPackage(ref runRef) string {
	name := ref.pkgPath
	if ref.recv != "" || !token.IsIdentifier(name) || ws.own == nil || ws.own.Types == nil {
		return ""
	}
	own := ws.own.Types
	// method returns the reference to the method of typ, "" if it has none.
	method := func(typ types.Type) string {
		named, ok := types.Unalias(typ).(*types.Named)
		if !ok || named.Obj().Pkg() != own {
			return ""
		}
		for _, ptr := range []bool{false, true} {
			recv := types.Type(named)
			if ptr {
				recv = types.NewPointer(recv)
			}
			if sel, _, _ := types.LookupFieldOrMethod(recv, false, own, ref.name); sel != nil {
				if _, ok := sel.(*types.Func); !ok {
					return ""
				}
				return runRef{recv: named.Obj().Name(), ptr: ptr, name: ref.name}.String()
			}
		}
		return ""
	}
	switch obj := own.Scope().Lookup(name).(type) {
	case *types.TypeName:
		if m := method(obj.Type()); m != "" {
			return schema.Sprintf("%s is a type of the spec's package, not a package: write %q", name, m)
		}
	case *types.Var:
		typ := obj.Type()
		if p, ok := types.Unalias(typ).(*types.Pointer); ok {
			typ = p.Elem()
		}
		if m := method(typ); m != "" {
			return schema.Sprintf("%s is a variable of the spec's package, not a package: write %q, and pass the value to the constructor", name, m)
		}
	}
	for _, f := range ws.own.Syntax {
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil || path == "C" {
				continue
			}
			as := ""
			if imp.Name != nil {
				as = imp.Name.Name
			} else if p := ws.lookupImport(path); p != nil {
				as = p.Name()
			}
			if as == name {
				return schema.Sprintf("%s is the name a file of the spec's package imports %s by, not an import path: write %q", name, path, path+"."+ref.name)
			}
		}
	}
	return ""
}

// lookupPkg returns the package at path, or nil when it could not be
// loaded. A package that does not compile, and so has no export data, is
// type-checked from source (Import): it still serves if it declares
// anything.
func (ws *workspace) lookupPkg(path string) *types.Package {
	if ws.own != nil && path == ws.own.PkgPath {
		return ws.own.Types
	}
	p, err := ws.Import(path)
	if err != nil {
		return nil
	}
	return p
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
	if own != "" && ws.imports(p.Path(), own) {
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

// imports reports whether the package at from depends on the one at path.
func (ws *workspace) imports(from, path string) bool {
	l := ws.listed[from]
	return l != nil && slices.Contains(l.Deps, path)
}

// inModule suggests the reference with the module's path before its
// package path, when that names a directory of the spec's module: "lib.Work"
// or "time.Work" written for "example.com/m/lib.Work", as a path relative
// to the module. It returns "" otherwise.
func (ws *workspace) inModule(ref runRef) string {
	if ref.pkgPath == "" || ws.own0 == nil || ws.own0.Module == nil || ws.own0.Module.GoMod == "" {
		return ""
	}
	mod := ws.own0.Module
	if ref.pkgPath == mod.Path || strings.HasPrefix(ref.pkgPath, mod.Path+"/") {
		return ""
	}
	dir := filepath.Join(filepath.Dir(mod.GoMod), filepath.FromSlash(ref.pkgPath))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	ref.pkgPath = mod.Path + "/" + ref.pkgPath
	return suggestion(ref.String())
}

// outerModule says, when the package of ref does not load and is one of
// the module around the spec's, that the spec's directory is in a nested
// module, which does not require that one; or it returns "".
func (ws *workspace) outerModule(ref runRef) string {
	gomod, path := ws.ownModule()
	outer := enclosing(gomod)
	if outer == "" || ref.pkgPath != outer && !strings.HasPrefix(ref.pkgPath, outer+"/") {
		return ""
	}
	if data, err := os.ReadFile(gomod); err == nil {
		if f, err := modfile.ParseLax(gomod, data, nil); err == nil && slices.ContainsFunc(f.Require, func(r *modfile.Require) bool { return r.Mod.Path == outer }) {
			return "" // it requires it: the package is missing there
		}
	}
	return schema.Sprintf("; the spec's directory is in %s, a module of its own nested in %s, which it does not require", path, outer)
}

func (ws *workspace) loadMsg(path string) string {
	msg := ""
	if l := ws.listed[path]; l != nil && l.Error != nil {
		msg = l.Error.Err
	} else if _, err := ws.Import(path); err != nil {
		msg = err.Error()
	}
	if msg == "" {
		return ""
	}
	hint := vendorHint(msg)
	msg, _, _ = strings.Cut(msg, "\n")
	msg, _, _ = strings.Cut(msg, "; to add it")
	// The go command repeats the path, which the message has quoted.
	return ": " + strings.ReplaceAll(msg, path, schema.Clip(path)) + hint
}

// invalidDecl reports a run function whose declaration does not compile
// (a type it names is undefined, say) at the Go error, rather than a
// signature full of invalid types.
func (ws *workspace) invalidDecl(errs *schema.ErrorList, n *schema.Node, fn *types.Func) {
	msg := "go build says why"
	var at token.Pos
	fd := ws.funcDecl(fn)
	if c := cgoName(fd); c != nil {
		// No compile error: go/types, without cgo's rewriting, leaves C's
		// names invalid and quiet.
		ws.addDecl(errs, n.RunPos, fn.Pos(), "%s: run: %s takes cgo's C.%s, which arbor_gen.go cannot write (a C name belongs to the file that imports \"C\"); take a Go type", n, n.Run, c.Sel.Name)
		return
	}
	te := ws.sigError(fn)
	if te != nil {
		msg, at = goLines(te.Msg), te.Pos
	}
	if path, e := ws.brokenImport(fn, fd, te); e != nil {
		// The error is the imported package's: an undefined name of it
		// only follows from that.
		ws.addDecl(errs, n.RunPos, fn.Pos(), "%s: run: the declaration of %s does not compile: it names package %s, which %s", n, n.Run, path, e.Msg)
		(*errs)[len(*errs)-1].At = e.Pos
		return
	}
	ws.addDecl(errs, n.RunPos, fn.Pos(), "%s: run: the declaration of %s does not compile: %s; fix the Go code", n, n.Run, msg)
	if at.IsValid() {
		p := ws.fset.Position(at)
		(*errs)[len(*errs)-1].At = schema.Pos{Filename: p.Filename, Line: p.Line, Column: p.Column}
	}
}

// bodyless reports whether fn, parsed from source, is declared without
// a body that the compiler requires.
func (ws *workspace) bodyless(fn *types.Func) bool {
	fd := ws.funcDecl(fn)
	if fd == nil {
		return false
	}
	path := fn.Pkg().Path()
	l := ws.listed[path]
	if path == ws.ownPath() {
		l = ws.own0
	}
	return needsBody(ws.byPath[path], l)(fd)
}

// brokenImport returns a package that the signature of fn (declared by
// fd) names and that does not build, with its first error, when te, the
// signature's first type error (nil: none), is at that package's name or
// import: then te only follows from that error. A package that fn's own
// file fails to import (a missing one) is te's business.
func (ws *workspace) brokenImport(fn *types.Func, fd *ast.FuncDecl, te *types.Error) (string, *schema.Error) {
	if fd == nil {
		return "", nil
	}
	for _, spec := range ws.sigImports(fn.Pkg().Path(), fd) {
		path, err := strconv.Unquote(spec.Path.Value)
		l := ws.listed[path]
		if err != nil || l == nil || len(l.GoFiles)+len(l.CgoFiles) == 0 {
			continue // a missing package: fn's file fails to import it
		}
		var found schema.ErrorList
		for _, le := range append([]*listError{l.Error}, l.DepsErrors...) {
			if le != nil && !cycle(le) {
				found = ws.buildErrors(path, le)
				break
			}
		}
		if len(found) == 0 {
			continue
		}
		e := *found[0]
		blame, why, _ := strings.Cut(e.Msg, " does not compile: ")
		if blame == ws.notCompiling(fn.Pkg().Path()) || te != nil && !ws.namesImport(fd, spec, te.Pos) {
			continue
		}
		e.Msg = "does not compile: " + why
		if blame != ws.notCompiling(path) {
			e.Msg = "depends on " + blame + ", which " + e.Msg
		}
		return path, &e
	}
	return "", nil
}

// namesImport reports whether pos is in the import spec, or in a name of
// its package in the signature of fd.
func (ws *workspace) namesImport(fd *ast.FuncDecl, spec *ast.ImportSpec, pos token.Pos) bool {
	if spec.Pos() <= pos && pos < spec.End() {
		return true
	}
	path, _ := strconv.Unquote(spec.Path.Value)
	name := fileName(ws.listed[path], path, spec)
	found := false
	for _, list := range []*ast.FieldList{fd.Recv, fd.Type.Params, fd.Type.Results} {
		if list == nil {
			continue
		}
		ast.Inspect(list, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Pos() <= pos && pos < sel.End() {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == name {
					found = true
				}
			}
			return !found
		})
	}
	return found
}

// fileName returns the name a file knows the package at path by, which
// l lists (nil: not listed), through the import spec.
func fileName(l *listed, path string, spec *ast.ImportSpec) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	if l != nil && l.Name != "" {
		return l.Name
	}
	return path[strings.LastIndex(path, "/")+1:]
}

// sigError returns the first type error in the signature of fn (its
// receiver, parameters and results), if its package was parsed from
// source. A signature may be free of invalid types and still not compile:
// a constraint interface used as a parameter's type, for one.
func (ws *workspace) sigError(fn *types.Func) *types.Error {
	fd := ws.funcDecl(fn)
	if fd == nil {
		return nil
	}
	in := func(p token.Pos, n ast.Node) bool { return p >= n.Pos() && p < n.End() }
	errs := ws.typeErr[fn.Pkg().Path()]
	for i, te := range errs {
		// Not at the name: a redeclaration is no error of the signature.
		if in(te.Pos, fd.Type.Params) || fd.Type.Results != nil && in(te.Pos, fd.Type.Results) || fd.Recv != nil && in(te.Pos, fd.Recv) {
			return &errs[i]
		}
	}
	// A type of a package that did not import is invalid without an error
	// of its own: the error is at the file's import of it.
	for _, spec := range ws.sigImports(fn.Pkg().Path(), fd) {
		for i, te := range errs {
			if in(te.Pos, spec) {
				return &errs[i]
			}
		}
	}
	return nil
}

// sigImports returns the import declarations of fd's file, in the package
// at path, whose packages fd's signature (its receiver, parameters and
// results) names.
func (ws *workspace) sigImports(path string, fd *ast.FuncDecl) []*ast.ImportSpec {
	p := ws.byPath[path]
	if p == nil {
		return nil
	}
	var file *ast.File
	for _, f := range p.Syntax {
		if f.Pos() <= fd.Pos() && fd.Pos() < f.End() {
			file = f
		}
	}
	if file == nil {
		return nil
	}
	names := map[string]bool{}
	for _, list := range []*ast.FieldList{fd.Recv, fd.Type.Params, fd.Type.Results} {
		if list == nil {
			continue
		}
		ast.Inspect(list, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok {
					names[x.Name] = true
				}
			}
			return true
		})
	}
	var out []*ast.ImportSpec
	for _, spec := range file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		if names[fileName(ws.listed[path], path, spec)] {
			out = append(out, spec)
		}
	}
	return out
}

// cgoName returns the first name of cgo's pseudo-package C in the
// signature of fd, or nil.
func cgoName(fd *ast.FuncDecl) *ast.SelectorExpr {
	var found *ast.SelectorExpr
	if fd != nil {
		ast.Inspect(fd.Type, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && found == nil {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "C" {
					found = sel
				}
			}
			return found == nil
		})
	}
	return found
}

// funcDecl returns the declaration of fn in a package parsed from source,
// or nil.
func (ws *workspace) funcDecl(fn *types.Func) *ast.FuncDecl {
	p := ws.byPath[fn.Pkg().Path()]
	if p == nil {
		return nil
	}
	for _, f := range p.Syntax {
		if f.Pos() > fn.Pos() || fn.Pos() >= f.End() {
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Pos() == fn.Pos() {
				return fd
			}
		}
	}
	return nil
}

// addDecl adds an error about a Go declaration, with its position. Files of
// the standard library are named from $GOROOT, so that messages do not
// depend on where Go is installed.
func (ws *workspace) addDecl(errs *schema.ErrorList, pos schema.Pos, decl token.Pos, format string, args ...any) {
	p := ws.declPosition(decl)
	d := schema.Pos{Filename: p.Filename, Line: p.Line, Column: p.Column}
	if root := build.Default.GOROOT; root != "" {
		if rel, err := filepath.Rel(root, p.Filename); err == nil && !strings.HasPrefix(rel, "..") {
			d.Filename = filepath.Join("$GOROOT", rel)
		}
	}
	*errs = append(*errs, &schema.Error{Pos: pos, Msg: schema.Sprintf(format, args...), Decl: d})
}

// generatedRef reports a run field of n that names what the generated file
// declares for g (a tree's type or constructor, a nested supervisor's
// type): a tree is not run as another's child that way.
func (ws *workspace) generatedRef(n *schema.Node, what, name string, g *schema.Node, errs *schema.ErrorList) {
	errs.Add(n.RunPos, schema.Sprintf("%s: run: %s is %s arbor generates for %s, which run cannot name (the generated file is not part of the code arbor checks); to supervise it under %s, declare it there as a nested supervisor (children: {...}), or run it from a function of yours", n, name, what, g, strings.Join(n.Path[:len(n.Path)-1], "/")))
}

// runSignature reports whether sig is one of the accepted run signatures:
// a context, then maybe a *runtime.Attempt (attempt), then maybe one
// argument of any other type (arg, which a pool's run has), returning an
// error.
func runSignature(sig *types.Signature) (attempt bool, arg types.Type, ok bool) {
	if sig.TypeParams().Len() > 0 || sig.Variadic() {
		return false, nil, false
	}
	res := sig.Results()
	params := sig.Params()
	if res.Len() != 1 || !isNamed(res.At(0).Type(), "", "error") || params.Len() == 0 || !isNamed(params.At(0).Type(), "context", "Context") {
		return false, nil, false
	}
	i := 1
	if i < params.Len() && isAttempt(params.At(i).Type()) {
		attempt = true
		i++
	}
	if i < params.Len() && !isAttempt(params.At(i).Type()) {
		arg = params.At(i).Type()
		i++
	}
	return attempt, arg, i == params.Len()
}

// sigTrouble names what keeps sig from being a run signature when it is
// one thing a reader could miss: no error result or more results, a
// variadic or missing context, or an attempt that is not Arbor's
// *runtime.Attempt (taken by value, or another package's Attempt). It
// returns "" for a wrong count of parameters, which the messages say
// themselves.
func sigTrouble(sig *types.Signature, q types.Qualifier) string {
	res, params := sig.Results(), sig.Params()
	switch {
	case res.Len() == 0:
		return "it returns nothing, and a run function returns an error"
	case res.Len() > 1:
		return fmt.Sprintf("it returns %s, and a run function returns only an error", types.TypeString(res, q))
	case !isNamed(res.At(0).Type(), "", "error"):
		return fmt.Sprintf("it returns %s, not error", types.TypeString(res.At(0).Type(), q))
	case params.Len() == 0:
		return "it takes no context.Context"
	case !isNamed(params.At(0).Type(), "context", "Context"):
		return fmt.Sprintf("its first parameter is %s, not context.Context", types.TypeString(params.At(0).Type(), q))
	case params.Len() > 1 && attemptLike(params.At(1).Type()):
		return fmt.Sprintf("its second parameter is %s, not *runtime.Attempt", types.TypeString(params.At(1).Type(), q))
	case sig.Variadic():
		return "it is variadic, and Start passes one argument"
	}
	return ""
}

// attemptLike reports whether t looks meant as the attempt but is not
// *runtime.Attempt: runtime.Attempt by value, or a type named Attempt of
// another package (a pool argument of such a type is unlikely).
func attemptLike(t types.Type) bool {
	if t == nil || isAttempt(t) {
		return false
	}
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Name() == "Attempt"
}

func isAttempt(t types.Type) bool {
	p, ok := types.Unalias(t).(*types.Pointer)
	return ok && isNamed(p.Elem(), runtimePath, "Attempt")
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

// short qualifies names in messages by their package's name, as the Go
// compiler's errors do (*runtime.Attempt), and not at all in pkg. A
// package named context or runtime that is not the one a run signature
// wants is qualified by its path: "has type func(context.Context) error;
// want func(context.Context) error" would say nothing.
func short(pkg *types.Package) types.Qualifier {
	return func(p *types.Package) string {
		switch {
		case p == pkg:
			return ""
		case p.Name() == "context" && p.Path() != "context", p.Name() == "runtime" && p.Path() != runtimePath:
			return p.Path()
		}
		return p.Name()
	}
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

// hasMethod reports whether typ has the method name, as pkg sees it.
func hasMethod(typ types.Type, pkg *types.Package, name string) bool {
	sel, _, _ := types.LookupFieldOrMethod(typ, false, pkg, name)
	_, ok := sel.(*types.Func)
	return ok
}
