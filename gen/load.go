package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/schema"
)

// This file loads the user's Go code. The spec's own package is parsed and
// type-checked here, in memory, without arbor_gen.go: the old file may no
// longer match the spec or even the package's name, and compiling it is
// what made generation slow (a 5,000-child file takes the compiler tens of
// seconds). Every other package comes from the export data the go command
// keeps in its build cache. Two go list runs describe the packages: one for
// the spec's directory, without compiling anything, and one for the
// packages it and the run references import, with -export.

// workspace is the user's code as the generator sees it.
type workspace struct {
	fset    *token.FileSet
	dir     string
	own     *packages.Package // the spec's own Go package, without arbor_gen.go; nil if the directory has none
	ownName string
	byPath  map[string]*packages.Package // every package imported so far, by path
	listed  map[string]*listed           // what go list said about each package
	own0    *listed                      // what go list said about the spec's directory
	types   map[string]*types.Package    // shared by every export data read
	broken  map[string]*scanner.Error    // the first syntax error of a package parsed from source
	typeErr map[string][]types.Error     // the type errors of a package parsed from source
	load    func(paths ...string) error  // lists packages with their dependencies
	// checking holds the packages being type-checked from source
	// (fromSource), against import cycles.
	checking map[string]bool
	overlay  string    // the go command's overlay file, until close
	closed   sync.Once // close may run when the context ends, and again
	// info makes checkSource record the types.Info of the syntax, which
	// only the static checks of run functions need (Options.Lint).
	info bool
	// batch is formatOutput's batch size; 0 means batchSize.
	batch     int
	tags      []string             // the build tags of Options.BuildFlags
	tests     []*ast.File          // the package's own test files, once parsed (testFiles)
	testNames map[string]token.Pos // what they declare (testDecls)
	// decls are the top-level names the generated file declares, which a
	// run field cannot name (see resolve).
	decls map[string]*schema.Node
}

// listed is what go list says about a package.
type listed struct {
	ImportPath     string
	Name           string
	Dir            string
	Export         string
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
	TestGoFiles    []string
	XTestGoFiles   []string
	Imports        []string
	ImportMap      map[string]string
	Deps           []string
	Module         *listedModule
	Error          *listError
	DepsErrors     []*listError
	// The files of other languages, with which a function may have no
	// body (see needsBody).
	CFiles, CXXFiles, MFiles, FFiles, SFiles, SysoFiles, SwigFiles, SwigCXXFiles []string
}

// listError is an error of go list about a package.
type listError struct {
	Pos, Err    string
	ImportStack []string
}

// listedModule is what go list says about a package's module.
type listedModule struct {
	Path, Version, GoMod string
	Main                 bool // the main module, or one of the workspace: the user's own code
	Replace              *listedModule
}

// listFields are the fields go list is asked for. EmbedFiles is not read,
// but go list checks the //go:embed patterns only when asked for it: a
// pattern that matches no file is an error of the package, as for go build.
const listFields = "ImportPath,Name,Dir,Export,GoFiles,CgoFiles,IgnoredGoFiles,TestGoFiles,XTestGoFiles,Imports,ImportMap,Deps,Module,Error,DepsErrors,EmbedFiles,CFiles,CXXFiles,MFiles,FFiles,SFiles,SysoFiles,SwigFiles,SwigCXXFiles"

// goList runs go list -e -json in dir, with -deps -export if export is
// set, and decodes its packages. A failure
// of the go command itself (no go.mod, a bad flag) is its own message.
func goList(ctx context.Context, dir string, opts *Options, overlay string, export bool, pkgs ...string) ([]*listed, error) {
	// Every flag of go list's own is set, as go/packages does: $GOFLAGS
	// applies those it names to go list too (-test, -deps, -m, -f), and
	// would change what it lists, or fail. So is -trimpath, which would
	// name the files of export data by import path, not where they are:
	// positions in messages, and the files whose build constraints the
	// generated file takes, are real paths.
	cmdArgs := []string{"list", "-e", "-json=" + listFields, "-f=", "-m=false", "-u=false", "-versions=false", "-retracted=false", "-reuse=",
		"-test=false", "-find=false", "-compiled=false", fmt.Sprintf("-deps=%t", export), fmt.Sprintf("-export=%t", export), "-trimpath=false"}
	if overlay != "" {
		cmdArgs = append(cmdArgs, "-overlay="+overlay)
	}
	cmdArgs = append(cmdArgs, opts.BuildFlags...)
	cmdArgs = append(cmdArgs, "--")
	cmdArgs = append(cmdArgs, pkgs...)
	cmd := exec.CommandContext(ctx, "go", cmdArgs...)
	cmd.Dir = dir
	cmd.Env = opts.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		if errs := goFileErrors(dir, msg); errs != nil {
			return nil, errs
		}
		if e := goVersionError(dir, msg); e != nil {
			return nil, schema.ErrorList{e}
		}
		return nil, schema.ErrorList{{Pos: schema.Pos{Filename: dir}, Msg: "cannot load the Go code: " + goLines(msg)}}
	}
	var list []*listed
	for dec := json.NewDecoder(&stdout); ; {
		p := new(listed)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %w", err)
		}
		list = append(list, p)
	}
	return list, nil
}

// loadGo loads the spec's Go package without arbor_gen.go, and the types of
// the packages it imports, of the runtime and of every package in paths.
func loadGo(ctx context.Context, dir string, paths []string, opts *Options) (*workspace, error) {
	ws, err := loadOwn(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	defer ws.close()
	if err := ws.loadRuns(paths); err != nil {
		return nil, err
	}
	return ws, nil
}

// loadOwn is what loadGo does before it needs the spec: it loads the
// spec's package and what it imports, and the runtime. The caller closes
// the workspace once it has loaded the packages of the run references
// (loadRuns), which go list may have to list.
func loadOwn(ctx context.Context, dir string, opts *Options) (*workspace, error) {
	ws := &workspace{
		fset:    token.NewFileSet(),
		dir:     dir,
		byPath:  map[string]*packages.Package{},
		listed:  map[string]*listed{},
		types:   map[string]*types.Package{},
		broken:  map[string]*scanner.Error{},
		typeErr: map[string][]types.Error{},
		info:    opts.Lint,
		batch:   opts.batch,
		tags:    buildTags(append(goFlags(opts.Env), opts.BuildFlags...)),
	}
	overlay, err := hideOutput(dir)
	if err != nil {
		return nil, err
	}
	ws.overlay = overlay
	ok := false
	defer func() {
		if !ok {
			ws.close()
		}
	}()

	// The spec's directory: its files and imports, compiling nothing.
	pkgs, err := goList(ctx, dir, opts, overlay, false, ".")
	if err != nil {
		return nil, err
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("go list . in %s listed %d packages", dir, len(pkgs))
	}
	ws.own0 = pkgs[0]
	own := ws.own0
	goFiles := append(slices.Clone(own.GoFiles), own.CgoFiles...)
	if own.Error != nil && (len(goFiles) > 0 || own.Dir == "") {
		// Such as a file without a package clause, two package names, or
		// a directory whose name cannot be part of an import path (then
		// go list gives no Dir nor files, and the generated file could
		// not build either).
		return nil, schema.ErrorList{packageError(dir, own)}
	}
	if len(goFiles) == 0 {
		// go list names no import path without Go files; the generated
		// file's must be one all the same.
		if err := checkDirImportPath(dir); err != nil {
			return nil, schema.ErrorList{{Pos: schema.Pos{Filename: dir}, Msg: unloadableDir + err.Error() + "; rename the directory"}}
		}
	}

	// Every package the spec's package or the generated code imports, with
	// export data: the go command compiles them, or finds them in its cache.
	need := []string{"context", "time", runtimePath}
	for _, path := range own.Imports {
		if mapped := own.ImportMap[path]; mapped != "" {
			path = mapped
		}
		if path != "C" && path != "unsafe" && path != own.ImportPath && !slices.Contains(need, path) {
			need = append(need, path)
		}
	}
	ws.load = func(paths ...string) error {
		deps, err := goList(ctx, dir, opts, overlay, true, paths...)
		if err != nil {
			return err
		}
		for _, p := range deps {
			if _, ok := ws.listed[p.ImportPath]; !ok {
				ws.listed[p.ImportPath] = p
			}
		}
		return nil
	}
	if err := ws.load(need...); err != nil {
		return nil, err
	}
	if err := ws.requireArbor(); err != nil {
		return nil, err
	}
	for _, path := range need[:3] {
		if _, err := ws.Import(path); err != nil {
			return nil, fmt.Errorf("loading %s: %w", path, err)
		}
	}
	if err := ws.sameArbor(); err != nil {
		return nil, err
	}
	// A directory of test files alone is a package all the same, which
	// go test and go vet build with arbor_gen.go: the generated file takes
	// its name, and avoids what its own test files declare.
	if len(goFiles) > 0 || len(own.TestGoFiles) > 0 {
		ws.own = ws.checkSource(own, goFiles)
		ws.byPath[own.ImportPath] = ws.own
	}
	ws.ownName = own.Name // "" without Go files; an external test's less _test
	ok = true
	return ws, nil
}

// loadRuns loads the types of the packages in paths, other than the
// spec's own, listing at once those that loadOwn did not. A package that
// does not load is reported where the spec names it.
func (ws *workspace) loadRuns(paths []string) error {
	var missing []string
	for _, path := range paths {
		if mapped := ws.own0.ImportMap[path]; mapped != "" {
			path = mapped
		}
		if path != ws.own0.ImportPath && ws.listed[path] == nil && !slices.Contains(missing, path) {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		if err := ws.load(missing...); err != nil {
			return err
		}
		// For a package that does not load, its namesake in the spec's
		// module, which the overlay's go command must list now if
		// renamedModule is to offer it.
		var renamed []string
		for _, path := range missing {
			if l := ws.listed[path]; l == nil || l.Error == nil {
				continue
			}
			for _, p := range ws.renamedPaths(path) {
				if ws.listed[p] == nil && !slices.Contains(renamed, p) {
					renamed = append(renamed, p)
				}
			}
		}
		if len(renamed) > 0 {
			ws.load(renamed...) // only a hint: its failure is no error
		}
	}
	for _, path := range paths {
		if path != ws.own0.ImportPath {
			ws.Import(path)
		}
	}
	return nil
}

// close removes the go command's overlay; loadOwn's go list runs are
// over.
func (ws *workspace) close() {
	ws.closed.Do(func() {
		if ws.overlay != "" {
			os.Remove(ws.overlay)
		}
	})
}

// packageError is the go command's error about the spec's directory, at
// the position it gives, or, for files of two packages, at the package
// clause of the first file that is not of the package most files are of.
func packageError(dir string, own *listed) *schema.Error {
	msg := goLines(own.Error.Err) // one error, one line
	e := &schema.Error{Pos: schema.Pos{Filename: dir}, Msg: msg}
	if own.Dir == "" || strings.Contains(msg, "invalid input directory name") {
		e.Msg = unloadableDir + msg
		if strings.Contains(msg, "malformed import path") || strings.Contains(msg, "invalid input directory name") {
			// Not for every such error: a directory outside go.work's
			// modules has a good name, and go says what to run.
			e.Msg += "; rename the directory"
		}
		return e
	}
	if pos, ok := listPos(dir, own.Error.Pos); ok {
		e.Pos = pos
		return e
	}
	if file, why, ok := unreadableFile(dir, msg); ok {
		return &schema.Error{Pos: schema.Pos{Filename: file}, Msg: why}
	}
	if c := cycleError(own.Error, func(string) *listed { return own }); c != nil {
		return c
	}
	type clause struct {
		file, name string
		pos        token.Position
	}
	var clauses []clause
	count := map[string]int{}
	fset := token.NewFileSet()
	for _, name := range append(slices.Clone(own.GoFiles), own.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.PackageClauseOnly)
		if err != nil || f.Name == nil {
			continue
		}
		clauses = append(clauses, clause{name, f.Name.Name, fset.Position(f.Name.Pos())})
		count[f.Name.Name]++
	}
	var most clause
	for _, c := range clauses {
		if count[c.name] > count[most.name] {
			most = c
		}
	}
	for _, c := range clauses {
		if c.name != most.name {
			e.Pos = schema.Pos{Filename: c.pos.Filename, Line: c.pos.Line, Column: c.pos.Column}
			e.Msg = schema.Sprintf("package %s, but %s is package %s: the Go files of a directory make one package", c.name, most.file, most.name)
			break
		}
	}
	return e
}

// cycleError is the go command's error about an import cycle, with the
// cycle, at the import of its first package that leads on (go list gives
// neither); or nil for another error. The import stack starts where go
// list started (the spec's package, say) and ends where the cycle closes.
func cycleError(le *listError, lookup func(path string) *listed) *schema.Error {
	if le == nil || len(le.ImportStack) < 2 || !strings.Contains(le.Err, "import cycle") {
		return nil
	}
	stack := le.ImportStack
	stack = stack[slices.Index(stack, stack[len(stack)-1]):]
	l := lookup(stack[0])
	if len(stack) < 2 || l == nil {
		return nil
	}
	cycle := make([]string, len(stack))
	for i, p := range stack {
		cycle[i] = schema.Clip(p)
	}
	e := &schema.Error{Pos: schema.Pos{Filename: l.Dir}, Msg: schema.Sprintf("package %s does not compile: %s: %s", schema.Clip(stack[0]), le.Err, strings.Join(cycle, " imports "))}
	if pos, ok := importPos(l, stack[1]); ok {
		e.Pos = pos
	}
	return e
}

// importPos returns the position of the first import of path among the
// Go files of package l.
func importPos(l *listed, path string) (schema.Pos, bool) {
	fset := token.NewFileSet()
	for _, name := range append(slices.Clone(l.GoFiles), l.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(l.Dir, name), nil, parser.ImportsOnly)
		if err != nil {
			continue
		}
		for _, spec := range f.Imports {
			if p, err := strconv.Unquote(spec.Path.Value); err == nil && p == path {
				at := fset.Position(spec.Path.Pos())
				return schema.Pos{Filename: at.Filename, Line: at.Line, Column: at.Column}, true
			}
		}
	}
	return schema.Pos{}, false
}

// unreadableFile reads go list's error about a file of dir it could not
// open ("open /abs/dir/x.go: too many levels of symbolic links"): the
// file, and why, said at the file as for a .cue file.
func unreadableFile(dir, msg string) (file, why string, ok bool) {
	rest, ok := strings.CutPrefix(msg, "open ")
	if !ok {
		return "", "", false
	}
	file, why, ok = strings.Cut(rest, ": ")
	if !ok || filepath.Dir(file) != filepath.Clean(dir) {
		return "", "", false
	}
	if to, err := os.Readlink(file); err == nil {
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return file, fmt.Sprintf("cannot read the file: it is a symbolic link to %s, which does not exist", to), true
		}
		return file, fmt.Sprintf("cannot read the file: it is a symbolic link to %s, which cannot be followed (%s)", to, why), true
	}
	return file, "cannot read the file: " + why, true
}

const unloadableDir = "the go command cannot load a package in this directory: "

// checkDirImportPath checks the import path of dir, in the module of the
// nearest go.mod above it, as the go command would once it holds Go files.
func checkDirImportPath(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	for root := abs; ; root = filepath.Dir(root) {
		data, err := os.ReadFile(filepath.Join(root, "go.mod"))
		if err == nil {
			rel, err := filepath.Rel(root, abs)
			if err != nil || rel == "." || modfile.ModulePath(data) == "" {
				return nil
			}
			for _, elem := range strings.Split(filepath.ToSlash(rel), "/") {
				if strings.HasPrefix(elem, "-") {
					return fmt.Errorf("invalid input directory name %q", elem)
				}
			}
			return module.CheckImportPath(modfile.ModulePath(data) + "/" + filepath.ToSlash(rel))
		}
		if filepath.Dir(root) == root {
			return nil
		}
	}
}

// listPos parses a position of go list's output, file:line:col relative to
// dir, where it ran.
func listPos(dir, s string) (schema.Pos, bool) {
	rest, col, ok := cutLastInt(s)
	if !ok {
		return schema.Pos{}, false
	}
	file, line, ok := cutLastInt(rest)
	if !ok {
		file, line, col = rest, col, 0
	}
	if file == "" {
		return schema.Pos{}, false
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	return schema.Pos{Filename: file, Line: line, Column: col}, true
}

// cutLastInt splits "s:n" into s and the number n.
func cutLastInt(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	return s[:i], n, err == nil && n > 0
}

// hideOutput returns an overlay for the go command that deletes dir's
// arbor_gen.go, or "" when there is none. Hidden, an old file with an old
// package clause (the package was renamed since) cannot stop go list.
func hideOutput(dir string) (string, error) {
	out := filepath.Join(dir, outputName)
	if _, err := os.Lstat(out); err != nil {
		return "", nil
	}
	data, err := json.Marshal(map[string]map[string]string{"Replace": {out: ""}})
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "arbor-overlay-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// checkSource parses and type-checks a package from source: the spec's
// own, or one that does not compile. Its errors are kept but stop nothing:
// the spec's package usually does not compile before generation (it
// already calls New<Tree>).
func (ws *workspace) checkSource(own *listed, files []string) *packages.Package {
	p := &packages.Package{ID: own.ImportPath, Name: own.Name, PkgPath: own.ImportPath}
	for _, name := range files {
		path := filepath.Join(own.Dir, name)
		p.GoFiles = append(p.GoFiles, path)
		f, err := parser.ParseFile(ws.fset, path, nil, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			p.Errors = append(p.Errors, packages.Error{Msg: err.Error(), Kind: packages.ParseError})
			var list scanner.ErrorList
			if errors.As(err, &list) && len(list) > 0 && ws.broken[own.ImportPath] == nil {
				ws.broken[own.ImportPath] = list[0]
			}
		}
		if f != nil {
			p.Syntax = append(p.Syntax, f)
		}
	}
	conf := types.Config{
		Importer:    ws,
		FakeImportC: true,
		Error: func(err error) {
			p.Errors = append(p.Errors, packages.Error{Msg: err.Error(), Kind: packages.TypeError})
			if te, ok := err.(types.Error); ok {
				ws.typeErr[own.ImportPath] = append(ws.typeErr[own.ImportPath], te)
			}
		},
	}
	if ws.info {
		p.TypesInfo = &types.Info{
			Types:      map[ast.Expr]types.TypeAndValue{},
			Defs:       map[*ast.Ident]types.Object{},
			Uses:       map[*ast.Ident]types.Object{},
			Selections: map[*ast.SelectorExpr]*types.Selection{},
		}
	}
	p.Types, _ = conf.Check(own.ImportPath, ws.fset, p.Syntax, p.TypesInfo)
	return p
}

// sourceFiles returns the files to type-check a package that does not
// compile from: its Go files, less an arbor_gen.go of another package name
// than theirs. That is the package's own generated file, gone stale when
// the package was renamed (arbor gen ./... rewrites it, maybe after the
// spec that names the package): kept, it would make go/types check the
// package under the old name and leave out every file the user wrote.
func sourceFiles(l *listed) []string {
	files := append(slices.Clone(l.GoFiles), l.CgoFiles...)
	i := slices.Index(files, outputName)
	if i < 0 {
		return files
	}
	clause := func(name string) (pkg string, generated bool) {
		src, err := os.ReadFile(filepath.Join(l.Dir, name))
		if err != nil {
			return "", false
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.PackageClauseOnly)
		if err != nil {
			return "", false
		}
		return f.Name.Name, Generated(src)
	}
	out, generated := clause(outputName)
	if !generated {
		return files
	}
	for j, name := range files {
		if pkg, _ := clause(name); j != i && pkg != "" && pkg != out {
			return slices.Delete(files, i, i+1)
		}
	}
	return files
}

// Import returns the package at path, read from the go command's export
// data; it makes the workspace a types.Importer.
func (ws *workspace) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if mapped := ws.own0.ImportMap[path]; mapped != "" {
		path = mapped
	}
	if p := ws.byPath[path]; p != nil && p.Types != nil {
		return p.Types, nil
	}
	l := ws.listed[path]
	if l == nil && ws.load != nil {
		if err := ws.load(path); err != nil {
			return nil, err
		}
		l = ws.listed[path]
	}
	if l == nil {
		return nil, fmt.Errorf("package %s was not listed", path)
	}
	if l.Export == "" {
		if p := ws.fromSource(l); p != nil {
			return p, nil
		}
		msg := "it does not compile"
		switch {
		case l.Error != nil:
			msg = l.Error.Err
		case len(l.GoFiles)+len(l.CgoFiles) == 0 && len(l.TestGoFiles)+len(l.XTestGoFiles) > 0:
			// As go build says; go list, which lists it alone, does not.
			msg = "no non-test Go files in " + l.Dir
		}
		return nil, errors.New(msg)
	}
	f, err := os.Open(l.Export)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := gcexportdata.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.Export, err)
	}
	pkg, err := gcexportdata.Read(r, ws.fset, ws.types, path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.Export, err)
	}
	ws.byPath[path] = &packages.Package{ID: path, Name: pkg.Name(), PkgPath: path, Types: pkg}
	return pkg, nil
}

// fromSource type-checks from source a package that does not compile, and
// so has no export data, or returns nil: it still serves if it declares
// anything. A package of the module often does not compile before
// generation, as the spec's own does: it calls the New<Tree> of its own
// spec, whose arbor_gen.go arbor gen ./... has not written yet.
func (ws *workspace) fromSource(l *listed) *types.Package {
	if len(l.GoFiles)+len(l.CgoFiles) == 0 || ws.checking[l.ImportPath] {
		return nil // or an import cycle, which go list reports
	}
	if ws.checking == nil {
		ws.checking = map[string]bool{}
	}
	ws.checking[l.ImportPath] = true
	defer delete(ws.checking, l.ImportPath)
	p := ws.checkSource(l, sourceFiles(l))
	if p.Types == nil || p.Types.Scope().Len() == 0 {
		return nil
	}
	ws.byPath[l.ImportPath] = p
	return p.Types
}

// requireArbor reports a module that cannot import the runtime because it
// does not require Arbor, with the command that adds the requirement, or
// whose requirement the go command cannot load, with its reason.
func (ws *workspace) requireArbor() error {
	rt := ws.listed[runtimePath]
	if rt == nil || rt.Error == nil || rt.Module != nil {
		return nil
	}
	msg, _, _ := strings.Cut(rt.Error.Err, "\n")
	msg = strings.TrimSuffix(msg, "; to add it:")
	if strings.HasPrefix(msg, "cannot find package ") {
		// go/build's message: GOPATH mode, where no module requires anything.
		return schema.ErrorList{{Pos: schema.Pos{Filename: ws.dir}, Msg: fmt.Sprintf(
			"the go command is not in module mode (GO111MODULE=off), and arbor needs a module that requires %s; unset GO111MODULE (go list: %s)",
			modulePath, strings.TrimSuffix(msg, " in any of:"))}}
	}
	modFile, _ := ws.ownModule()
	if modFile == "" {
		modFile = ws.dir
	}
	if line, v := requires(modFile); line > 0 {
		// A go.sum entry missing, a version that cannot be downloaded:
		// the go command says what to do, on lines of its own.
		msg := goLines(rt.Error.Err)
		return schema.ErrorList{{Pos: schema.Pos{Filename: modFile, Line: line, Column: 1}, Msg: fmt.Sprintf(
			"the module requires %s %s, but the go command cannot load its runtime, which the generated code imports (go list: %s)%s",
			modulePath, v, msg, vendorHint(msg))}}
	}
	hint := ""
	if outer := enclosing(modFile); outer != "" {
		hint = fmt.Sprintf("; this go.mod makes its directory a module of its own, apart from %s around it, whose requirements it does not share", outer)
	}
	return schema.ErrorList{{Pos: schema.Pos{Filename: modFile}, Msg: fmt.Sprintf(
		"the module does not require %s, whose runtime the generated code imports; add it with `go get %s@%s`, or with `go get -tool %s/cmd/arbor` to run arbor as a tool (go list: %s)%s",
		modulePath, modulePath, version(), modulePath, msg, hint)}}
}

// ownModule returns the go.mod file of the spec's module and its path,
// or "" if there is none.
func (ws *workspace) ownModule() (gomod, path string) {
	if m := ws.own0.Module; m != nil && m.GoMod != "" {
		return m.GoMod, m.Path
	}
	// go list gives no module for a directory without Go files.
	gomod = fileAbove(ws.dir, "go.mod")
	if data, err := os.ReadFile(gomod); err == nil {
		path = modfile.ModulePath(data)
	}
	return gomod, path
}

// fileAbove returns the file of that name at or above dir, or "".
func fileAbove(dir, name string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, name)); err == nil && st.Mode().IsRegular() {
			return filepath.Join(d, name)
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// enclosing returns, when the module of the go.mod file gomod lies in the
// directory of another module, that module's path, or "": a module of its
// own, nested in another, shares none of its requirements (and the go
// command's ./... there leaves it out).
func enclosing(gomod string) string {
	if filepath.Base(gomod) != "go.mod" {
		return ""
	}
	outer := fileAbove(filepath.Dir(filepath.Dir(gomod)), "go.mod")
	if outer == "" {
		return ""
	}
	data, err := os.ReadFile(outer)
	if err != nil {
		return ""
	}
	return modfile.ModulePath(data)
}

// goLines joins the lines of a message of the go command, so that each
// error stays on a line of its own: a line indented with a tab goes on the
// one before (go's remedies: "to add it:\n\tgo get ...").
func goLines(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	var b strings.Builder
	for i, l := range lines {
		switch {
		case i == 0:
		case strings.HasPrefix(l, "\t"):
			b.WriteString(" ")
		default:
			b.WriteString("; ")
		}
		b.WriteString(strings.TrimSpace(l))
	}
	return b.String()
}

// goFileLine is a line of the go command's message that names a line of
// go.mod or go.work: go.mod:8: unknown directive: bogus.
var goFileLine = regexp.MustCompile(`^(.*\bgo\.(?:mod|work)):(\d+)(?::\d+)?: (.+)$`)

// goFileErrors returns the errors of the go command's msg (as it says
// when it cannot read go.mod) each at the line of go.mod or go.work it
// names, or nil if it names none. The go command names the file relative
// to dir, where it ran, not to where the user is: the error's position
// is absolute, to be made relative to the working directory as the
// others are.
func goFileErrors(dir, msg string) schema.ErrorList {
	var errs schema.ErrorList
	header := ""
	for i, line := range strings.Split(strings.TrimSpace(msg), "\n") {
		line = strings.TrimSpace(line)
		m := goFileLine.FindStringSubmatch(line)
		if m == nil {
			if i > 0 || !strings.HasSuffix(line, ":") {
				return nil // a message of another form: as it is
			}
			header = line // go: errors parsing go.mod:
			continue
		}
		file := m[1]
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			return nil
		}
		text := "cannot load the Go code: "
		if header != "" {
			// go: errors parsing ../go.mod: names the file as the position does
			if h, ok := strings.CutSuffix(header, " "+m[1]+":"); ok {
				text += h + " " + filepath.Base(m[1]) + ": "
			} else {
				text += header + " "
			}
		}
		errs = append(errs, &schema.Error{Pos: schema.Pos{Filename: file, Line: n}, Msg: text + m[3]})
	}
	return errs
}

// goVersionLine is the go command's message about a go.mod or go.work
// whose go line asks for a newer Go than it is: go: ../go.mod requires go
// >= 1.99 (running go 1.26.1; GOTOOLCHAIN=local).
var goVersionLine = regexp.MustCompile(`^go: (.*\bgo\.(?:mod|work)) (requires go >= .*)$`)

// goWorkModule is the go command's message about a module of go.work
// that asks for a newer Go than go.work's go line, as goLines joins it:
// go: module ./app listed in go.work file requires go >= 1.26, but
// go.work lists go 1.25; to update it: go work use.
var goWorkModule = regexp.MustCompile(`^go: module (.+?) listed in go\.work file (requires go >= .*)$`)

// goDownload is the first line of the go command's message when it cannot
// switch to the Go that a go or toolchain line asks for (GOTOOLCHAIN=auto):
// go: downloading go1.99.0 (linux/amd64).
var goDownload = regexp.MustCompile(`^go: downloading (go\S+) `)

// goVersionError returns the go command's msg, when it is about the Go
// that the go or toolchain line of a go.mod or go.work asks for, as an
// error at that line, or nil. As for goFileErrors, the go command names
// the file relative to dir.
func goVersionError(dir, msg string) *schema.Error {
	msg = strings.TrimSpace(msg)
	if m := goVersionLine.FindStringSubmatch(msg); m != nil {
		file := m[1]
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		pos, _ := goLinePos(file, "")
		return &schema.Error{Pos: pos, Msg: "cannot load the Go code: go: " + filepath.Base(file) + " " + m[2]}
	}
	if m := goWorkModule.FindStringSubmatch(goLines(msg)); m != nil {
		if work := fileAbove(dir, "go.work"); work != "" {
			// go names the module relative to dir; go.work's use line,
			// where the error is, relative to go.work.
			name := m[1]
			if rel, err := filepath.Rel(filepath.Dir(work), filepath.Join(dir, name)); err == nil {
				name = filepath.ToSlash(rel)
				if !strings.HasPrefix(name, ".") {
					name = "./" + name
				}
			}
			pos, _ := goLinePos(work, "")
			return &schema.Error{Pos: pos, Msg: "cannot load the Go code: go: module " + name + " listed in go.work file " + m[2]}
		}
	}
	if m := goDownload.FindStringSubmatch(msg); m != nil {
		for _, name := range []string{"go.work", "go.mod"} {
			if pos, ok := goLinePos(fileAbove(dir, name), m[1]); ok {
				return &schema.Error{Pos: pos, Msg: "cannot load the Go code: " + goLines(msg)}
			}
		}
	}
	return nil
}

// parseMod parses a go.mod file, with its toolchain line, which
// modfile.ParseLax leaves out, if it can.
func parseMod(file string, data []byte) (*modfile.File, error) {
	if f, err := modfile.Parse(file, data, nil); err == nil {
		return f, nil
	}
	return modfile.ParseLax(file, data, nil)
}

// goLinePos returns the position of the go line of file, a go.mod or
// go.work; with want (go1.99.0), of its toolchain or go line that asks for
// that Go, and ok false when neither does.
func goLinePos(file, want string) (pos schema.Pos, ok bool) {
	pos = schema.Pos{Filename: file}
	data, err := os.ReadFile(file)
	if err != nil {
		return pos, false
	}
	var goLine, toolchain *modfile.Line
	var version, name string
	if filepath.Base(file) == "go.work" {
		if f, err := modfile.ParseWork(file, data, nil); err == nil {
			if f.Go != nil {
				goLine, version = f.Go.Syntax, f.Go.Version
			}
			if f.Toolchain != nil {
				toolchain, name = f.Toolchain.Syntax, f.Toolchain.Name
			}
		}
	} else if f, err := parseMod(file, data); err == nil {
		if f.Go != nil {
			goLine, version = f.Go.Syntax, f.Go.Version
		}
		if f.Toolchain != nil {
			toolchain, name = f.Toolchain.Syntax, f.Toolchain.Name
		}
	}
	line := goLine
	switch {
	case want == "":
	case toolchain != nil && name == want:
		line = toolchain
	case goLine != nil && ("go"+version == want || strings.HasPrefix(want, "go"+version+".")):
	default:
		line = nil
	}
	if line == nil {
		return pos, false
	}
	pos.Line, pos.Column = line.Start.Line, line.Start.LineRune
	return pos, true
}

// vendorHint says how to generate code that imports a package the vendor
// directory lacks, when the go command's msg says that is why it cannot
// load it, or returns "". go mod vendor copies only what the module's
// packages import: the code arbor is to write, not yet.
func vendorHint(msg string) string {
	if !strings.Contains(msg, "-mod=vendor") {
		return ""
	}
	return "; the vendor directory has only the packages the module imports: generate with GOFLAGS=-mod=mod, then run go mod vendor"
}

// requires returns the line of a go.mod's requirement of Arbor, and its
// version, or 0.
func requires(goMod string) (line int, version string) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return 0, ""
	}
	f, err := modfile.ParseLax(goMod, data, nil)
	if err != nil {
		return 0, ""
	}
	for _, r := range f.Require {
		if r.Mod.Path == modulePath && r.Syntax != nil {
			return r.Syntax.Start.Line, r.Mod.Version
		}
	}
	return 0, ""
}

// sameArbor reports a module whose Arbor is not the one running (an arbor
// installed apart from the go.mod's): its runtime lacks the version guard
// of the code this arbor writes, which could only fail to type-check.
func (ws *workspace) sameArbor() error {
	guard := fmt.Sprintf("GeneratedCodeV%d_RunArborGen", runtime.GeneratedCodeVersion)
	if rt, err := ws.Import(runtimePath); err != nil || rt.Scope().Lookup(guard) != nil {
		return err
	}
	mod := ws.listed[runtimePath].Module
	if mod == nil {
		mod = &listedModule{Path: modulePath}
	}
	which := mod.Path
	if mod.Version != "" {
		which += " " + mod.Version
	}
	if r := mod.Replace; r != nil {
		which += " (replaced by " + strings.TrimSpace(r.Path+" "+r.Version) + ")"
	}
	pos := schema.Pos{Filename: ws.dir}
	if m := ws.own0.Module; m != nil && m.GoMod != "" {
		pos = requirePos(m.GoMod)
	}
	return schema.ErrorList{{Pos: pos, Msg: fmt.Sprintf(
		"the module requires %s, whose runtime is not the one this arbor generates code for (it lacks runtime.%s); run the arbor of your go.mod, with `go tool arbor gen`, or require this one with `go get %s@%s`",
		which, guard, modulePath, version())}}
}

// requirePos returns the position of Arbor's module path in the require
// directive of the go.mod file, or the file alone.
func requirePos(gomod string) schema.Pos {
	pos := schema.Pos{Filename: gomod}
	src, err := os.ReadFile(gomod)
	if err != nil {
		return pos
	}
	block := false
	for i, line := range strings.Split(string(src), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case block && f[0] == ")":
			block = false
		case len(f) >= 2 && f[0] == "require" && f[1] == "(":
			block = true
		case block && f[0] == modulePath, len(f) >= 2 && f[0] == "require" && f[1] == modulePath:
			return schema.Pos{Filename: gomod, Line: i + 1, Column: strings.Index(line, modulePath) + 1}
		}
	}
	return pos
}

// declaredAside looks for a declaration of name (a method when recv is
// set) in the files of p that the build leaves out: files whose build
// constraints do not hold, and tests. It returns where it is and why that
// file was not seen, or ok false.
func (ws *workspace) declaredAside(p *listed, recv, name string) (decl token.Pos, why string, ok bool) {
	if p == nil {
		return token.NoPos, "", false
	}
	for _, group := range []struct {
		files []string
		why   func(f *ast.File, file string) string
	}{
		{p.IgnoredGoFiles, func(f *ast.File, file string) string {
			if importsC(f) && matchesWithCgo(p.Dir, file, ws.tags) {
				return `which the build ignores: it imports "C", and cgo is disabled (CGO_ENABLED=0, or no C compiler was found)`
			}
			if c := nameConstraint(file); c != "" && !matchesName(file, ws.tags) {
				return fmt.Sprintf("which the build ignores: its name's suffix %q does not hold for %s/%s (GOOS and GOARCH select such a build, not -tags)", "_"+strings.ReplaceAll(c, " && ", "_"), build.Default.GOOS, build.Default.GOARCH)
			}
			if c := buildLine(f); c == "ignore" {
				return `which the build ignores: its constraint "ignore" leaves it out of every build by convention; declare it in a file of the package`
			} else if c != "" {
				if !tagsSelect(c, ws.tags) {
					return fmt.Sprintf("which the build ignores: its constraint %q does not hold for %s/%s (GOOS, GOARCH, CGO_ENABLED and the Go release select such a build, not -tags)", c, build.Default.GOOS, build.Default.GOARCH)
				}
				return fmt.Sprintf("which the build ignores: its constraint %q does not hold (arbor gen -tags selects build tags)", c)
			}
			return "which the build ignores: its name's _GOOS or _GOARCH suffix does not match this build"
		}},
		{append(slices.Clone(p.TestGoFiles), p.XTestGoFiles...), func(*ast.File, string) string {
			return "a test file, which is not part of the package"
		}},
		{asideGoFiles(p.Dir), func(_ *ast.File, file string) string {
			return "which the go command ignores: its name starts with " + file[:1]
		}},
	} {
		for _, file := range group.files {
			path := filepath.Join(p.Dir, file)
			f, err := parser.ParseFile(ws.fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
			if f == nil || err != nil && f.Name == nil {
				continue
			}
			if pos := findDecl(f, recv, name); pos.IsValid() {
				return pos, fmt.Sprintf("%s, %s", filepath.Base(file), group.why(f, file)), true
			}
		}
	}
	return token.NoPos, "", false
}

// asideGoFiles returns the names of the .go files in dir whose names
// start with _ or ., which the go command does not even list as ignored.
func asideGoFiles(dir string) []string {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(name, ".go") && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
			out = append(out, name)
		}
	}
	return out
}

// tagsSelect reports whether some build tags, added to tags, would
// satisfy the constraint line: not when it holds only for another system,
// cgo setting or Go release, which -tags does not (or should not) select.
func tagsSelect(line string, tags []string) bool {
	x, err := constraint.Parse("//go:build " + line)
	if err != nil {
		return true
	}
	var free []string // the tags that -tags may set
	var walk func(x constraint.Expr)
	walk = func(x constraint.Expr) {
		switch x := x.(type) {
		case *constraint.TagExpr:
			special := knownOS[x.Tag] || knownArch[x.Tag] || x.Tag == "unix" || x.Tag == "cgo" || x.Tag == "gc" || x.Tag == "gccgo" || constraint.GoVersion(x) != ""
			if !special && !slices.Contains(free, x.Tag) {
				free = append(free, x.Tag)
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
	if len(free) > 12 {
		return true
	}
	src := []byte("//go:build " + line + "\n\npackage p\n")
	for set := range 1 << len(free) {
		ctxt := build.Default
		ctxt.BuildTags = slices.Clone(tags)
		for i, tag := range free {
			if set>>i&1 == 1 {
				ctxt.BuildTags = append(ctxt.BuildTags, tag)
			}
		}
		ctxt.OpenFile = func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(src)), nil }
		if ok, err := ctxt.MatchFile("", "p.go"); ok && err == nil {
			return true
		}
	}
	return false
}

// matchesName reports whether the build, with tags, takes a file of
// that name as far as the name goes: its _GOOS or _GOARCH suffix, if any,
// holds.
func matchesName(file string, tags []string) bool {
	ctxt := build.Default
	ctxt.BuildTags = tags
	ctxt.OpenFile = func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("package p\n")), nil }
	ok, err := ctxt.MatchFile("", filepath.Base(file))
	return ok && err == nil
}

// matchesWithCgo reports whether the build, with tags, would take the file
// in dir if cgo were enabled: when it is ignored, cgo is what leaves it out.
func matchesWithCgo(dir, file string, tags []string) bool {
	ctxt := build.Default
	ctxt.CgoEnabled = true
	ctxt.BuildTags = tags
	ok, err := ctxt.MatchFile(dir, file)
	return ok && err == nil
}

// goFlags returns the flags of $GOFLAGS in env (nil: the process's
// environment), which the go command takes before those of its command
// line.
func goFlags(env []string) []string {
	v, ok := os.Getenv("GOFLAGS"), env == nil
	for _, kv := range env {
		if val, found := strings.CutPrefix(kv, "GOFLAGS="); found {
			v, ok = val, true // the last one counts, as for exec.Cmd
		}
	}
	if !ok {
		return nil
	}
	return strings.Fields(v)
}

// buildTags returns the tags of the -tags flags in flags, as the go
// command reads them: "-tags=a,b", "-tags a,b", the last one counting.
func buildTags(flags []string) []string {
	var list string
	for i, f := range flags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "-"), "=")
		if name != "tags" && name != "-tags" {
			continue
		}
		if !hasValue && i+1 < len(flags) {
			value = flags[i+1]
		}
		list = value
	}
	return strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' })
}

// findDecl returns the position of the top-level function name, or of the
// method name of type recv, in f.
func findDecl(f *ast.File, recv, name string) token.Pos {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != name {
			continue
		}
		if recv == "" && fd.Recv == nil {
			return fd.Name.Pos()
		}
		if recv != "" && fd.Recv != nil && len(fd.Recv.List) == 1 && recvName(fd.Recv.List[0].Type) == recv {
			return fd.Name.Pos()
		}
	}
	if recv == "" {
		// A function must be a func; say where the name is anyway.
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok {
				for _, s := range gd.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name == name {
								return n.Pos()
							}
						}
					case *ast.TypeSpec:
						if s.Name.Name == name {
							return s.Name.Pos()
						}
					}
				}
			}
		}
	}
	return token.NoPos
}

// position is the position of pos after //line directives, as the go
// command gives it; but one that names no file (//line :40), which
// go/token and the compiler leave empty (":40"), keeps the file's name.
func (ws *workspace) position(pos token.Pos) token.Position {
	p := ws.fset.Position(pos)
	if p.Filename == "" {
		p.Filename = ws.fset.PositionFor(pos, false).Filename
	}
	return p
}

// declPosition returns the position of a declaration. Export data keeps
// only the line of a declaration; its column is then found in the source,
// so that messages point at the name as they do for parsed packages.
func (ws *workspace) declPosition(decl token.Pos) token.Position {
	p := ws.position(decl)
	file := p.Filename
	if rest, ok := strings.CutPrefix(file, "$GOROOT"+string(filepath.Separator)); ok {
		file = filepath.Join(build.Default.GOROOT, rest) // how export data names the standard library
	}
	if p.Column != 1 || !filepath.IsAbs(file) || ws.parsed(file) {
		return p
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		return p
	}
	ast.Inspect(f, func(n ast.Node) bool {
		var names []*ast.Ident
		switch n := n.(type) {
		case *ast.FuncDecl:
			names = []*ast.Ident{n.Name}
		case *ast.TypeSpec:
			names = []*ast.Ident{n.Name}
		case *ast.ValueSpec:
			names = n.Names
		}
		for _, id := range names {
			if q := fset.Position(id.Pos()); q.Line == p.Line {
				p.Column = q.Column
				return false
			}
		}
		return true
	})
	return p
}

// parsed reports whether file was parsed from source, not read from
// export data.
func (ws *workspace) parsed(file string) bool {
	for _, p := range ws.byPath {
		for _, f := range p.Syntax {
			if ws.fset.Position(f.Package).Filename == file {
				return true
			}
		}
	}
	return false
}

// recvName returns the type name of a receiver expression: T, *T, T[P].
func recvName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

const modulePath = "github.com/arbor-go/arbor"

// version returns the version of Arbor this program was built from, for
// the go get command a message suggests, or "latest" when it is unknown
// (a development build).
func version() string {
	if v := Version(); v != devel {
		return v
	}
	return "latest"
}

const devel = "(devel)"

// Version returns the version of Arbor this program was built from, such
// as v0.2.0, or "(devel)" for a development build, as go version -m says.
func Version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi)
}

// versionOf returns the version of Arbor that bi says the program was
// built from: the main module's (go install, go tool) or a dependency's.
// A module replaced by a directory has no version: the one a go.mod
// requires says nothing of the code.
func versionOf(bi *debug.BuildInfo) string {
	if bi == nil {
		return devel
	}
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if m.Path != modulePath {
			continue
		}
		if m.Replace != nil {
			m = m.Replace
		}
		if m.Version != "" && m.Version != devel {
			return m.Version
		}
	}
	return devel
}
