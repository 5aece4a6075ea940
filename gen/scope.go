package gen

import (
	"go/ast"
	"go/types"
	"maps"
	pathpkg "path"
	"slices"
	"strconv"

	"github.com/arbor-go/arbor/schema"
)

// This file chooses the identifiers of the generated file so that none
// collides with anything in scope: the package's own declarations, Go's
// predeclared names, the file's imports, and each other. What cannot be
// renamed (an exported type, constructor or method of the generated API)
// and collides with the user's code is a positioned error.

// locals are the names the generated functions declare inside their bodies
// or as receivers, where the bodies refer to nothing of the package's but
// generated names. No other generated identifier may have one of these
// names. (The children of a wide supervisor, built where run functions are
// named, are held in a variable whose name is chosen like the others.)
var locals = []string{"t", "s", "err", "opts", "ctx"}

// predeclared are the predeclared identifiers the generated code uses (the
// spec functions of wide supervisors also use append and make). A package
// that declares one of them hides Go's own from the generated file.
var predeclared = []string{"error", "nil", "panic", "string", "true"}

// names holds the identifiers chosen for one generated file.
type names struct {
	taken    map[string]bool // package-level names and imports, in use
	imports  map[string]importName
	children string // the variable of a wide supervisor's children
	nilRecv  string // the function a method on a nil receiver calls
	funcs    map[*schema.Node]*specFuncs
	params   map[string][]param      // per tree name, in order of first use
	recv     map[*schema.Node]string // per worker with a method: its parameter
	// kept are the receivers a generated type keeps, for the pools at or
	// below its node (a supervisor or a pool): a pool's Start calls its
	// run method on the receiver given to the constructor.
	kept map[*schema.Node][]param
	// universe are the predeclared names that pools' argument types use.
	universe []string
	// late is the function that makes the run function of each worker
	// whose method is looked up at each attempt (target.late), and
	// lateFuncs are those functions, in order.
	late      map[*schema.Node]string
	lateFuncs []lateFunc
}

// lateFunc is a function of the generated file that returns a run function
// calling the method name on the receiver p at each attempt.
type lateFunc struct {
	name    string
	p       param
	method  string
	attempt bool
}

// importName is the name a file gives an import, and the package's own.
type importName struct{ name, pkgName string }

// specFuncs are the unexported functions that build a supervisor's spec:
// one per supervisor, and one per chunk of a wide supervisor's children.
type specFuncs struct {
	spec   string
	chunks []string
}

// childrenPerFunc is the most children one generated function builds.
// The Go compiler's time grows faster than linearly with the size of a
// function, so a wide supervisor's children are built by several.
const childrenPerFunc = 100

// param is one constructor parameter: a receiver of run methods.
type param struct {
	name  string
	typ   types.Type
	obj   *types.TypeName // how to write the type
	ptr   bool
	field string // its field in the generated types that keep it
}

// chooseNames picks every identifier of the file for spec: import names,
// the spec functions, and the constructors' parameters. decls are the
// exported names the file declares.
func (ws *workspace) chooseNames(spec *schema.Spec, decls map[string]*schema.Node, targets map[*schema.Node]*target) *names {
	nm := &names{taken: map[string]bool{}, imports: map[string]importName{}, funcs: map[*schema.Node]*specFuncs{},
		params: map[string][]param{}, recv: map[*schema.Node]string{}, kept: map[*schema.Node][]param{}}
	for _, name := range types.Universe.Names() {
		nm.taken[name] = true
	}
	// init: a name Go reserves for functions; handleMethod: a method of the
	// generated types, which no field of theirs may have.
	for _, name := range append([]string{"init", handleMethod}, locals...) {
		nm.taken[name] = true
	}
	if ws.own != nil && ws.own.Types != nil {
		for _, name := range ws.own.Types.Scope().Names() {
			nm.taken[name] = true
		}
		for name := range ws.testDecls() {
			nm.taken[name] = true
		}
	}
	for name := range decls {
		nm.taken[name] = true
	}

	// Imports: the runtime, then the standard library, then the packages
	// of run targets and receiver types, each by its own name if it is free.
	paths := map[string]string{runtimePath: "runtime", "context": "context", "time": "time"}
	for _, t := range targets {
		pkgs := []*types.Package{t.pkg, recvPkg(t)}
		if t.arg != nil {
			argPkgs, universe := argImports(t.arg, ws.ownPath(), ws.hidden)
			pkgs = append(pkgs, argPkgs...)
			for _, name := range universe {
				if !slices.Contains(nm.universe, name) {
					nm.universe = append(nm.universe, name)
				}
			}
		}
		for _, p := range pkgs {
			if p != nil && p.Path() != ws.ownPath() {
				paths[p.Path()] = p.Name()
			}
		}
	}
	slices.Sort(nm.universe)
	order := []string{runtimePath, "context", "time"}
	var others []string
	for path := range paths {
		if !slices.Contains(order, path) {
			others = append(others, path)
		}
	}
	slices.Sort(others)
	for _, path := range append(order, others...) {
		nm.imports[path] = importName{unique(paths[path], nm.taken), paths[path]}
	}

	nm.children = unique("children", nm.taken)

	// The spec functions, named after the type of their supervisor. Being
	// top-level, they also avoid the names the package's files import
	// under, which Go refuses to redeclare.
	imported := ws.importNames()
	topLevel := func(name string) string {
		for {
			if free := unique(name, nm.taken); !imported[free] {
				return free
			}
		}
	}
	nm.nilRecv = topLevel("arborNil")
	for _, tree := range spec.Trees {
		var walk func(n *schema.Node, typeName string)
		walk = func(n *schema.Node, typeName string) {
			f := &specFuncs{spec: topLevel(lowerCamel(typeName) + "Spec")}
			if len(n.Children) > childrenPerFunc {
				for i := 0; i*childrenPerFunc < len(n.Children); i++ {
					f.chunks = append(f.chunks, topLevel(lowerCamel(typeName)+"Children"+strconv.Itoa(i+1)))
				}
			}
			nm.funcs[n] = f
			for _, c := range n.Children {
				if c.IsSupervisor() {
					walk(c, typeName+goName(c.Name))
				}
			}
		}
		walk(tree, goName(tree.Name))
	}

	// Parameters: one per receiver type, in order of first use. They may
	// shadow nothing the bodies refer to, so they avoid every name above.
	for _, tree := range spec.Trees {
		taken := maps.Clone(nm.taken)
		var params []param
		tree.Walk(func(n *schema.Node) bool {
			t := targets[n]
			if t == nil || t.recv == nil {
				return true
			}
			for _, p := range params {
				if types.Identical(p.typ, t.recv) {
					nm.recv[n] = p.name
					return true
				}
			}
			p := param{name: paramName(t.recvName.Name(), taken), typ: t.recv, obj: t.recvName, ptr: t.ref.ptr}
			// A field of the generated types, next to tree and pool.
			p.field = p.name
			if p.field == "tree" || p.field == "pool" {
				p.field = unique(p.field, map[string]bool{"tree": true, "pool": true})
			}
			params = append(params, p)
			nm.recv[n] = p.name
			return true
		})
		nm.params[tree.Name] = params
		nm.keep(tree, params)
	}

	// The functions of late methods: one per receiver type and method,
	// shared by the trees, top-level like the spec functions.
	nm.late = map[*schema.Node]string{}
	byKey := map[string]string{}
	params := map[string]bool{} // which the spec functions' parameters would shadow
	for _, ps := range nm.params {
		for _, p := range ps {
			params[p.name] = true
		}
	}
	lateName := func(name string) string {
		for {
			if free := topLevel(name); !params[free] {
				return free
			}
		}
	}
	for _, tree := range spec.Trees {
		tree.Walk(func(n *schema.Node) bool {
			t := targets[n]
			if t == nil || !t.late || n.IsPool() {
				return true // a pool's Start calls the method at each start already
			}
			key := types.TypeString(t.recv, nil) + "." + t.ref.name
			if byKey[key] == "" {
				p := nm.paramOf(tree, n)
				f := lateFunc{name: lateName(p.name + goName(t.ref.name)), p: p, method: t.ref.name, attempt: t.attempt}
				nm.lateFuncs = append(nm.lateFuncs, f)
				byKey[key] = f.name
			}
			nm.late[n] = byKey[key]
			return true
		})
	}
	return nm
}

// paramOf returns the constructor parameter of tree that is the receiver
// of the worker n.
func (nm *names) paramOf(tree, n *schema.Node) param {
	for _, p := range nm.params[tree.Name] {
		if p.name == nm.recv[n] {
			return p
		}
	}
	panic("arbor: no parameter for " + n.String())
}

// importNames returns the names under which the files of the spec's
// package import packages (a dot-import brings in names of its own; see
// checkFileScopes).
func (ws *workspace) importNames() map[string]bool {
	names := map[string]bool{}
	if ws.own == nil || ws.own.Types == nil {
		return names
	}
	for _, f := range ws.ownFiles() {
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			switch {
			case err != nil:
			case imp.Name != nil:
				names[imp.Name.Name] = true
			case ws.lookupImport(path) != nil:
				names[ws.lookupImport(path).Name()] = true
			default: // imported by a test file alone: by its last element, as a rule
				names[pathpkg.Base(path)] = true
			}
		}
	}
	return names
}

// keep records the receivers that n's generated type keeps, and those of
// the nodes below it, and returns n's.
func (nm *names) keep(n *schema.Node, params []param) []param {
	used := map[string]bool{}
	if n.IsPool() && nm.recv[n] != "" {
		used[nm.recv[n]] = true
	}
	for _, c := range n.Children {
		for _, p := range nm.keep(c, params) {
			used[p.name] = true
		}
	}
	var kept []param
	for _, p := range params {
		if used[p.name] {
			kept = append(kept, p)
		}
	}
	if len(kept) > 0 {
		nm.kept[n] = kept
	}
	return kept
}

// recvPkg is the package of a method target's receiver type, as the
// constructor's signature names it; nil for functions.
func recvPkg(t *target) *types.Package {
	if t.recvName == nil {
		return nil
	}
	return t.recvName.Pkg()
}

// ownPath is the import path of the spec's Go package, "" if it has none.
func (ws *workspace) ownPath() string {
	if ws.own == nil {
		return ""
	}
	return ws.own.PkgPath
}

// checkScope reports what in the package's own code collides with the
// generated API: a predeclared name the generated code needs and the
// package redeclares, and a method the package declares on a generated
// type under the name of a generated method.
func (ws *workspace) checkScope(spec *schema.Spec, nm *names, errs *schema.ErrorList) {
	if ws.own == nil || ws.own.Types == nil || len(spec.Trees) == 0 {
		return
	}
	scope := ws.own.Types.Scope()
	used := append(slices.Clip(predeclared), nm.universe...)
	for _, f := range nm.funcs {
		if len(f.chunks) > 0 {
			used = append(used, "append", "make")
			break
		}
	}
	slices.Sort(used)
	used = slices.Compact(used)
	for _, name := range used {
		decl, ok := ws.testDecls()[name]
		if obj := scope.Lookup(name); obj != nil {
			decl, ok = obj.Pos(), true
		}
		if ok {
			tree := spec.Trees[0]
			ws.addDecl(errs, tree.Pos, decl, "%s: the package declares %s, which hides Go's predeclared %s that the generated code uses; rename the Go declaration", tree, name, name)
		}
	}

	// The generated methods, by type name and method name.
	// The generated members (the field tree and the methods), by type name
	// and name.
	type method struct {
		node  *schema.Node
		child bool // a child's accessor, not Run, Tree, Handle or a field
		field bool // a field of the generated type
	}
	methods := map[string]map[string]method{}
	var walk func(n *schema.Node, typeName string)
	walk = func(n *schema.Node, typeName string) {
		ms := map[string]method{"tree": {n, false, true}, "Handle": {n, false, false}, handleMethod: {n, false, false}}
		switch {
		case n.Tree:
			ms = map[string]method{"tree": {n, false, true}, "Run": {n, false, false}, "Tree": {n, false, false}, handleMethod: {n, false, false}}
		case n.IsPool():
			ms = map[string]method{"pool": {n, false, true}, "Start": {n, false, false}, "StartNamed": {n, false, false}, "Pool": {n, false, false}}
		}
		for _, p := range nm.kept[n] {
			ms[p.field] = method{n, false, true}
		}
		for _, c := range n.Children {
			ms[goName(c.Name)] = method{c, true, false}
			if c.IsSupervisor() || c.IsPool() {
				walk(c, typeName+goName(c.Name))
			}
		}
		methods[typeName] = ms
	}
	for _, tree := range spec.Trees {
		walk(tree, goName(tree.Name))
	}
	for _, f := range ws.ownFiles() {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
				continue
			}
			typeName := recvName(fd.Recv.List[0].Type)
			m, ok := methods[typeName][fd.Name.Name]
			if !ok {
				continue
			}
			switch {
			case m.child:
				ws.addDecl(errs, m.node.Pos, fd.Name.Pos(), "%s: the package declares the method %s of %s, which is the generated accessor of %s; rename the child or the Go method", m.node, fd.Name.Name, typeName, m.node)
			case m.field:
				ws.addDecl(errs, m.node.Pos, fd.Name.Pos(), "%s: the package declares the method %s of %s, which is a field of the generated type; rename the Go method", m.node, fd.Name.Name, typeName)
			default:
				ws.addDecl(errs, m.node.Pos, fd.Name.Pos(), "%s: the package declares the method %s of %s, which the generated type has; rename the Go method", m.node, fd.Name.Name, typeName)
			}
		}
	}
}
