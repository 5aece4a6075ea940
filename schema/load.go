// Package schema loads an arbor spec, the CUE package in a directory,
// checks it against the arbor schema (arbor.cue, see Source) and decodes
// it into a plain Go model with source positions, for the generator.
//
// It is the only arbor package that imports cuelang.org/go. Errors are
// collected, not stopped at: Load returns an ErrorList of positioned
// errors, in the style of go/scanner.
//
// Load checks what the schema can: syntax, unknown fields, types, values
// (durations, ranges, enumerations), name syntax and that a child has
// exactly one of run and children. It does not check Go names, after
// references and cycles, or run targets: the generator does.
package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

//go:embed arbor.cue
var schemaSrc string

// schemaFile is the file name the embedded schema is compiled under. It is
// never shown: positions in it are replaced by positions in the user's
// files.
const schemaFile = "$arbor/arbor.cue"

// Source returns the text of the CUE schema that specs are checked
// against, with every field's meaning and default in its comments.
func Source() string { return schemaSrc }

// buildSchema compiles the schema into ctx. The schema is parsed anew for
// each Load (about half a millisecond, next to some hundred for a large
// spec): CUE's compiler writes into the syntax tree it compiles, and a
// cue.Context is not safe for concurrent use and keeps every value built in
// it alive, so neither a shared tree nor a shared compiled value would
// allow concurrent loads without leaking.
func buildSchema(ctx *cue.Context) cue.Value {
	f, err := parser.ParseFile(schemaFile, schemaSrc)
	if err != nil {
		panic("schema: embedded arbor.cue: " + err.Error())
	}
	v := ctx.BuildFile(f)
	if err := v.Err(); err != nil {
		panic("schema: embedded arbor.cue: " + err.Error())
	}
	return v
}

// Load loads the spec in dir: the CUE package made of the directory's .cue
// files. On failure the error is an ErrorList with absolute file names
// (see ErrorList.Relative).
func Load(dir string) (*Spec, error) {
	spec, err := loadSpec(dir, nil, true)
	if err != nil {
		return nil, err
	}
	return spec, nil
}

// LoadPartial is Load, but when the spec has errors it also returns what
// could be decoded of it, so that a caller can report the errors its own
// checks find (a run function that does not exist, an after cycle) with
// those of the spec itself, rather than once the user has fixed those. Each node
// that an error concerns is marked Broken, with every node below it when
// the error may have left out or changed what is below (its children, a
// supervisor's limit, backoff or budget, which its children's checks
// read): checks of a broken node could report what is only a consequence
// of the error. The spec is nil when an error concerns no node (a syntax
// error, a package clause, the trees field itself), when a tree or child
// name is invalid (the checks could not make a Go name of it), or when
// nothing could be decoded.
//
// files, when not nil, are overlaid on dir as LoadFiles does.
func LoadPartial(dir string, files map[string][]byte) (*Spec, error) {
	spec, err := loadSpec(dir, files, true)
	if err == nil || spec == nil {
		return spec, err
	}
	var list ErrorList
	if !errors.As(err, &list) || !markBroken(spec, list) {
		return nil, err
	}
	return spec, err
}

// markBroken marks the nodes of spec that the errors concern, from the path
// each error's message starts with, and reports whether every error
// concerns a node.
func markBroken(spec *Spec, errs ErrorList) bool {
	named := true // every name is one the checks can make Go names of
	for _, tree := range spec.Trees {
		tree.Walk(func(n *Node) bool {
			named = named && nameRE.MatchString(n.Name)
			return named
		})
	}
	if !named {
		return false
	}
	for _, e := range errs {
		path, _, ok := strings.Cut(e.Msg, ": ")
		if !ok || !strings.HasPrefix(path, "trees.") || strings.Contains(path, "…") {
			return false
		}
		var owner *Node // the deepest node whose path starts the error's
		for _, tree := range spec.Trees {
			tree.Walk(func(n *Node) bool {
				if path == n.CUEPath || strings.HasPrefix(path, n.CUEPath+".") {
					owner = n
					return true
				}
				return false
			})
		}
		if owner == nil {
			return false
		}
		rest := strings.TrimPrefix(strings.TrimPrefix(path, owner.CUEPath), ".")
		field, _, _ := strings.Cut(rest, ".")
		switch {
		case rest == "", field == "children",
			owner.IsSupervisor() && (field == "restartLimit" || field == "backoff" || field == "shutdown"):
			owner.Walk(func(n *Node) bool { n.Broken = true; return true })
		default:
			owner.Broken = true
		}
	}
	return true
}

// LoadFiles is like Load, but overlays files on dir: each key is a file
// name relative to dir (or absolute), each value the file's contents.
// Files in the overlay replace files of the same name on disk and are
// added to the others; dir need not exist, which makes a purely in-memory
// load.
func LoadFiles(dir string, files map[string][]byte) (*Spec, error) {
	if files == nil {
		files = map[string][]byte{}
	}
	spec, err := loadSpec(dir, files, true)
	if err != nil {
		return nil, err
	}
	return spec, nil
}

// loader holds the state of one Load.
type loader struct {
	dir    string
	errs   ErrorList
	inst   *build.Instance
	all    *build.Instance // as cue/load made it, with the files it ignored
	user   cue.Value       // the user's package alone
	files  []string
	pkgPos Pos // the first file's package clause: where missing things are

	overlay map[string][]byte // LoadFiles's sources, by clean absolute path

	realFiles map[string]bool // isUser's answers, by file name

	// reported holds the paths of the CUE errors reported so far, so that
	// decoding does not report them again.
	reported map[string]bool
	// badAttrs, once set, says whether a file has an @if that is no tag
	// expression, reported at the attribute.
	badAttrs *bool

	// strict makes the decoder check what otherwise only the schema checks
	// (unknown fields, fields of the other kind of node); unsure records
	// that it met something it cannot vouch for. See fast.
	strict, unsure bool
}

// fastLoads counts the loads that took the fast path, for tests.
var fastLoads atomic.Int64

// loadSpec loads a spec; fast lets it skip the unification with the schema
// for a spec that the decoder accepts on its own (see loader.fast). Tests
// turn it off to compare both ways.
func loadSpec(dir string, overlay map[string][]byte, fast bool) (spec *Spec, err error) {
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		return nil, ErrorList{{Pos: Pos{Filename: dir}, Msg: aerr.Error()}}
	}
	l := &loader{dir: abs, reported: map[string]bool{}}
	defer func() {
		if r := recover(); r != nil {
			// A last-resort guard: CUE must not take the caller down.
			pos := l.pkgPos
			if pos.Filename == "" {
				pos.Filename = abs
			}
			l.errs.Add(pos, fmt.Sprintf("internal error: CUE panicked on this spec (please report it): %v", r))
			spec, err = nil, l.finish()
		}
	}()
	spec = l.load(overlay, fast)
	if l.all != nil {
		l.treesLeftOut(l.all)
	}
	// With errors, spec is what could be decoded, for LoadPartial.
	return spec, l.finish()
}

func (l *loader) finish() error {
	// A CUE error without a path (a _|_ in the spec) that is also
	// reported with its path at the same place: once, with the path.
	l.errs = slices.DeleteFunc(l.errs, func(e *Error) bool {
		return slices.ContainsFunc(l.errs, func(o *Error) bool {
			return o != e && o.Pos == e.Pos && strings.HasSuffix(o.Msg, ": "+e.Msg)
		})
	})
	l.errs.RemoveMultiples()
	return l.errs.Err()
}

func (l *loader) load(overlay map[string][]byte, fast bool) *Spec {
	cfg := &load.Config{Dir: l.dir}
	inDir := 0 // overlay files in the directory
	if overlay != nil {
		cfg.Overlay = map[string]load.Source{}
		for name, src := range overlay {
			if !filepath.IsAbs(name) {
				name = filepath.Join(l.dir, name)
			}
			name = filepath.Clean(name)
			if filepath.Dir(name) == l.dir {
				inDir++
			}
			cfg.Overlay[name] = load.FromBytes(src)
			if l.overlay == nil {
				l.overlay = map[string][]byte{}
			}
			l.overlay[name] = src
		}
	}
	if fi, err := os.Stat(l.dir); err != nil && inDir == 0 {
		if errors.Is(err, fs.ErrNotExist) {
			l.errs.Add(Pos{Filename: l.dir}, "spec directory does not exist")
		} else {
			l.errs.Add(Pos{Filename: l.dir}, err.Error())
		}
		return nil
	} else if err == nil && !fi.IsDir() {
		l.errs.Add(Pos{Filename: l.dir}, "not a directory")
		return nil
	}

	if !l.unreadable(cfg) || !l.loadableNames() {
		return nil
	}
	if !l.hasFiles(cfg) {
		// cue/load would say `"." matched no packages`.
		l.errs.Add(Pos{Filename: l.dir}, "no .cue files in the spec directory"+skipped(l.dir))
		return nil
	}
	insts := load.Instances([]string{"."}, cfg)
	if len(insts) != 1 {
		l.errs.Add(Pos{Filename: l.dir}, fmt.Sprintf("found %d CUE instances, want 1", len(insts)))
		return nil
	}
	l.inst = insts[0]
	if l.inst.Err == nil {
		l.inst = l.ownFiles(l.inst, cfg)
	}
	if l.inst.Err != nil {
		l.loadErrors(l.inst)
		return nil
	}
	for _, f := range l.inst.BuildFiles {
		l.files = append(l.files, f.Filename)
	}
	sort.Strings(l.files)
	if !l.utf8() {
		return nil
	}
	l.pkgPos = l.packagePos()
	l.all = insts[0]

	ctx := cuecontext.New()
	l.user = ctx.BuildInstance(l.inst)
	if k := l.user.IncompleteKind(); k != cue.StructKind && k != cue.BottomKind {
		l.errs.Add(l.embedPos(), fmt.Sprintf("the package must be a struct, not %v", k))
		return nil
	}
	if fast {
		if spec := l.fast(); spec != nil {
			fastLoads.Add(1)
			return spec
		}
	}
	sch := buildSchema(ctx)

	// The errors of the spec under the schema: everything in trees and
	// the fields the spec must not have.
	v := sch.LookupPath(cue.MakePath(cue.Def("#Spec"))).Unify(l.user)
	if err := v.Validate(cue.Concrete(true)); err != nil {
		l.addCUE(err)
	}
	// The errors in the user's own helpers (hidden fields and
	// definitions), which the schema does not see. (l.user.Err() would
	// give only the first error.)
	if err := l.user.Validate(cue.Hidden(true), cue.Definitions(true)); err != nil {
		var rest []cueerrors.Error
		for _, e := range cueerrors.Errors(err) {
			if p := e.Path(); len(p) == 0 || (p[0] != "trees" && !l.reported[p[0]]) {
				rest = append(rest, e)
			}
		}
		l.addErrors(rest)
	}
	if len(l.errs) == 0 && l.user.Err() != nil {
		l.addCUE(l.user.Err())
	}

	spec := &Spec{Dir: l.dir, Package: l.inst.PkgName, Files: l.files}
	// Decode the user's value, not the unified one: it holds the same
	// fields (the schema adds no defaults), without the schema's errors,
	// which make every struct around them an error value. Decoding goes
	// on past errors all the same, to report those only Go finds.
	spec.Trees = l.decodeTrees(l.user)
	return spec
}

// unreadable finds the entries of the directory that cue/load cannot read.
// It hides the symbolic links that lead nowhere, on which cue/load fails
// (an editor's lock file such as .#spec.cue, a link to a file not checked
// out), and the other files that are no regular files, which cue/load
// reads too (.x.cue, .txt, .json): a read of a named pipe blocks for ever,
// one of /dev/zero never ends. Such a file is no part of the spec, unless
// its name makes it a spec file, which is an error at it. It reports whether the load can go on.
func (l *loader) unreadable(cfg *load.Config) bool {
	entries, _ := os.ReadDir(l.dir)
	ok := true
	for _, e := range entries {
		path := filepath.Join(l.dir, e.Name())
		if _, over := cfg.Overlay[path]; over || e.Type().IsRegular() || e.IsDir() {
			continue
		}
		spec, link := isSpecFile(e.Name()), e.Type()&fs.ModeSymlink != 0
		st, err := os.Stat(path) // through a link
		switch {
		case err == nil && (st.Mode().IsRegular() || st.IsDir()):
			continue
		case err == nil && spec:
			l.errs.Add(Pos{Filename: path}, fmt.Sprintf("not a regular file (%s); refusing to read it", FileKind(st.Mode())))
			ok = false
			continue
		case err != nil && !link:
			continue
		case err != nil && spec:
			target, _ := os.Readlink(path)
			why := "which does not exist"
			if !errors.Is(err, fs.ErrNotExist) {
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				why = fmt.Sprintf("which cannot be followed (%v)", err) // such as a loop of links
			}
			l.errs.Add(Pos{Filename: path}, fmt.Sprintf("cannot read the file: it is a symbolic link to %s, %s", target, why))
			ok = false
			continue
		}
		// A dangling link, or a file that is no spec file (.x.cue, _x.cue,
		// notes.txt, data.json), which cue/load reads all the same.
		if cfg.Overlay == nil {
			cfg.Overlay = map[string]load.Source{}
		}
		cfg.Overlay[path] = load.FromString("")
	}
	return ok
}

// utf8 reports whether every spec file is UTF-8, and reports each that is
// not, at its first bad byte. CUE reads such a byte as U+FFFD without a
// word, so a Latin-1 "é" would surface as a run or a name no one wrote;
// Go rejects such source too.
func (l *loader) utf8() bool {
	ok := true
	for _, name := range l.files {
		src, over := l.overlay[name]
		if !over {
			var err error
			if src, err = os.ReadFile(name); err != nil {
				continue // cue/load read it; the loader reports what it must
			}
		}
		if utf8.Valid(src) || bytes.HasPrefix(src, []byte{0xff, 0xfe}) || bytes.HasPrefix(src, []byte{0xfe, 0xff}) {
			continue // UTF-16 with its byte-order mark, which cue/load decodes
		}
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		line := bytes.Count(src[:i], []byte("\n")) + 1
		col := i - bytes.LastIndexByte(src[:i], '\n')
		l.errs.Add(Pos{Filename: name, Line: line, Column: col}, fmt.Sprintf("invalid UTF-8 encoding (byte %#x): CUE, like Go, reads UTF-8 only; save the file as UTF-8", src[i]))
		ok = false
	}
	return ok
}

// loadableNames reports whether cue/load can read every spec file of the
// directory: it refuses a name with a colon or a backslash, with an error
// at no position ("invalid io/fs path"), which is reported at the file.
func (l *loader) loadableNames() bool {
	entries, _ := os.ReadDir(l.dir)
	ok := true
	for _, e := range entries {
		if isSpecFile(e.Name()) && strings.ContainsAny(e.Name(), `:\`) {
			l.errs.Add(Pos{Filename: filepath.Join(l.dir, e.Name())}, `CUE cannot load a file whose name has ":" or "\"; rename it`)
			ok = false
		}
	}
	return ok
}

// hasFiles reports whether the directory, with the overlay, holds anything
// but subdirectories.
func (l *loader) hasFiles(cfg *load.Config) bool {
	for path := range cfg.Overlay {
		if filepath.Dir(path) == l.dir {
			return true
		}
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return true // cue/load tells why it cannot read it, not that it is empty
	}
	return slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return !e.IsDir() })
}

// ownFiles returns inst restricted to the files of the spec's directory.
// In a CUE module, cue/load adds the files of the same package in the
// parent directories, up to the module root; but a spec is one
// directory, like a Go package, so that a parent's trees never leak into
// a subdirectory's arbor_gen.go.
func (l *loader) ownFiles(inst *build.Instance, cfg *load.Config) *build.Instance {
	var own []string
	for _, f := range inst.BuildFiles {
		if filepath.Dir(f.Filename) == l.dir {
			own = append(own, f.Filename)
		}
	}
	if len(own) == len(inst.BuildFiles) || len(own) == 0 {
		return inst
	}
	insts := load.Instances(own, cfg)
	if len(insts) != 1 {
		return inst
	}
	return insts[0]
}

// fast decodes the spec without the schema, with the decoder's strict
// checks, and returns it if nothing was wrong or doubtful, or nil. For a
// valid spec it saves unifying the whole spec with the schema, about half
// the time of a load (a second at 10,000 children); an invalid or unusual
// one is loaded again the usual way, so that its errors are CUE's and the
// schema's, as always. TestFastPath and FuzzLoad check that the two ways
// accept the same specs and decode them alike.
func (l *loader) fast() *Spec {
	l.strict = true
	defer func() { l.strict, l.unsure = false, false }()
	if err := l.user.Validate(cue.Hidden(true), cue.Definitions(true)); err != nil {
		return nil
	}
	it, err := l.user.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	for it.Next() {
		if sel := it.Selector(); sel.String() != "trees" || sel.ConstraintType() != 0 {
			return nil // the schema has only trees
		}
		if it.Value().Validate(cue.Concrete(true)) != nil {
			// Such as a comprehension whose condition is not concrete,
			// which leaves out its fields without an error of theirs.
			return nil
		}
	}
	spec := &Spec{Dir: l.dir, Package: l.inst.PkgName, Files: l.files}
	spec.Trees = l.decodeTrees(l.user)
	if len(l.errs) > 0 || l.unsure {
		l.errs = nil
		l.reported = map[string]bool{}
		return nil
	}
	return spec
}

// packagePos returns the position of the package clause of the first file.
func (l *loader) packagePos() Pos {
	for _, f := range l.inst.Files {
		if f.Filename != l.files[0] {
			continue
		}
		for _, d := range f.Decls {
			if p, ok := d.(*ast.Package); ok {
				return position(p.Name.Pos())
			}
		}
	}
	return Pos{Filename: l.files[0], Line: 1, Column: 1}
}

// moduleFile returns the CUE module file of the module dir is in:
// cue.mod/module.cue, or cue.mod when it is a file; dir without one.
func moduleFile(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		mod := filepath.Join(d, "cue.mod")
		if st, err := os.Stat(mod); err == nil {
			if st.IsDir() {
				return filepath.Join(mod, "module.cue")
			}
			return mod
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// embedPos returns the position of the first value other than a struct
// literal embedded at the top of a file (such as a list, which makes the
// package one), or the package clause.
func (l *loader) embedPos() Pos {
	for _, f := range l.inst.Files {
		for _, d := range f.Decls {
			if e, ok := d.(*ast.EmbedDecl); ok {
				if _, isStruct := e.Expr.(*ast.StructLit); !isStruct {
					return position(e.Expr.Pos())
				}
			}
		}
	}
	return l.pkgPos
}

// loadErrors reports the errors of loading the package.
func (l *loader) loadErrors(inst *build.Instance) {
	for _, e := range cueerrors.Errors(inst.Err) {
		var noFiles *load.NoFilesError
		var multi *load.MultiplePackageError
		var pathErr *fs.PathError
		switch {
		case errors.As(e, &noFiles):
			l.noFiles(noFiles)
		case errors.As(e, &multi) && len(multi.Files) >= 2:
			file := multi.Files[1]
			if !filepath.IsAbs(file) {
				file = filepath.Join(l.dir, file)
			}
			pos := Pos{Filename: file}
			if f, err := parser.ParseFile(file, nil, parser.PackageClauseOnly); err == nil && f.PackageName() != "" {
				for _, d := range f.Decls {
					if p, ok := d.(*ast.Package); ok {
						pos = position(p.Name.Pos())
					}
				}
			}
			l.errs.Add(pos, Sprintf("package %s, but %s is package %s: the .cue files of a spec directory make one package",
				multi.Packages[1], displayName(filepath.Base(multi.Files[0])), multi.Packages[0]))
		case errors.As(e, &pathErr) && !e.Position().IsValid():
			// Such as a file that cannot be read: at the file.
			what := "file"
			if st, err := os.Stat(pathErr.Path); err == nil && st.IsDir() {
				what = "directory"
			}
			l.errs.Add(Pos{Filename: pathErr.Path}, fmt.Sprintf("cannot read the %s: %v", what, pathErr.Err))
		case !e.Position().IsValid() && (strings.Contains(e.Error(), "cue.mod") || strings.Contains(e.Error(), "module.cue")):
			// cue/load's errors about the module file have no position.
			l.errs.Add(Pos{Filename: moduleFile(l.dir)}, e.Error())
		case e.Position().Filename() == "" && l.buildAttrErrors():
			// An @if that cue/load cannot read: reported at the attribute.
		case e.Error() == "previous declaration here":
			// The other half of "multiple @if attributes".
		case e.Error() == "multiple @if attributes":
			l.errs.Add(position(e.Position()), "multiple @if attributes (a file has one: join the conditions, such as @if(prod && !test))")
		default:
			l.addCUEError(e)
		}
	}
	// CUE's scanner reports a NUL byte twice, as NUL and as U+0000.
	l.errs = slices.DeleteFunc(l.errs, func(e *Error) bool {
		return e.Msg == "illegal character U+0000" && slices.ContainsFunc(l.errs, func(o *Error) bool {
			return o.Pos == e.Pos && o.Msg == "illegal character NUL"
		})
	})
}

// treesLeftOut reports the files of the directory that CUE leaves out of
// the package, for want of a package clause or for their names (_test.cue,
// _tool.cue, which arbor never asks for), yet declare trees: their trees
// would silently not be generated. (Other CUE there, such as data, is no
// business of the spec's.)
func (l *loader) treesLeftOut(inst *build.Instance) {
	for _, f := range inst.IgnoredFiles {
		suffix := ""
		for _, s := range []string{"_test.cue", "_tool.cue"} {
			if strings.HasSuffix(f.Filename, s) {
				suffix = s
			}
		}
		if filepath.Dir(f.Filename) != l.dir || f.ExcludeReason == nil || (suffix == "" && f.ExcludeReason.Error() != "no package name") ||
			slices.ContainsFunc(l.errs, func(e *Error) bool { return e.Pos.Filename == f.Filename }) {
			continue // or reported already, when the spec has no trees
		}
		src, err := os.ReadFile(f.Filename)
		if err != nil {
			continue
		}
		file, err := parser.ParseFile(f.Filename, src)
		if err != nil {
			continue
		}
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.Field); ok {
				if label, _, _ := ast.LabelName(fd.Label); label == "trees" {
					why := "has no package clause"
					if _, ok := l.anonymous(f.Filename); ok {
						why = "is package _, which is none"
					}
					if suffix != "" {
						l.errs.Add(position(fd.Pos()), fmt.Sprintf("the file declares trees but its name ends in %s, so CUE leaves it out of package %s (arbor reads no %s files): rename it", suffix, inst.PkgName, suffix))
						break
					}
					l.errs.Add(position(fd.Pos()), fmt.Sprintf("the file declares trees but %s, so CUE leaves it out of package %s: start it with `package %s`", why, inst.PkgName, inst.PkgName))
					break
				}
			}
		}
	}
}

// noFiles reports a directory without usable .cue files.
func (l *loader) noFiles(e *load.NoFilesError) {
	n := 0
	for _, f := range e.Package.IgnoredFiles {
		if strings.HasPrefix(filepath.Base(f.Filename), "_") || strings.HasPrefix(filepath.Base(f.Filename), ".") {
			continue // CUE ignores them without a word, and so do we
		}
		n++
		pos, msg := Pos{Filename: f.Filename, Line: 1, Column: 1}, excluded(f)
		if p, ok := l.anonymous(f.Filename); ok {
			pos, msg = p, "package _ is no package name: CUE leaves the file out of every package; name the package, such as `package shop`"
		}
		l.errs.Add(pos, msg)
	}
	if n == 0 {
		l.errs.Add(Pos{Filename: l.dir}, "no .cue files in the spec directory"+skipped(l.dir))
	}
}

// skipped names, for a directory without spec files, the first file that
// looks like one but that CUE does not read.
func skipped(dir string) string {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(strings.TrimSpace(name)), ".cue") {
			continue
		}
		if !strings.HasSuffix(name, ".cue") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			return Sprintf(" (CUE skips %q: it reads the files whose names end in .cue and do not start with _ or .)", name)
		}
	}
	return ""
}

// anonymous returns the position of the name of the package clause
// "package _" of the file, if it has one.
func (l *loader) anonymous(filename string) (Pos, bool) {
	var src any
	if b, ok := l.overlay[filename]; ok {
		src = b
	}
	f, err := parser.ParseFile(filename, src, parser.PackageClauseOnly)
	if err != nil {
		return Pos{}, false
	}
	for _, d := range f.Decls {
		if p, ok := d.(*ast.Package); ok && p.Name != nil && p.Name.Name == "_" {
			return position(p.Name.Pos()), true
		}
	}
	return Pos{}, false
}

// excluded explains why the file f is not part of the spec.
func excluded(f *build.File) string {
	if f.ExcludeReason == nil {
		return "file excluded from the spec"
	}
	msg := f.ExcludeReason.Error()
	if msg == "no package name" {
		return "file has no package clause, so it is not part of the spec (start it with a line such as `package shop`)"
	}
	if strings.HasPrefix(msg, "@if(") {
		// cue's -t flag has no counterpart in arbor (-tags is Go's).
		msg += " (arbor sets no CUE tags: @if(x) leaves a file out, @if(!x) keeps it)"
	}
	return "file excluded from the spec: " + msg
}

// valueErr reports the error of v at path, or that v is not of the kind
// the schema wants there, unless a CUE error was already reported at or
// above path.
func (l *loader) valueErr(v cue.Value, path []string) {
	for i := len(path); i >= 0; i-- {
		if l.reported[strings.Join(path[:i], ".")] {
			return
		}
	}
	if err := valueError(v); err != nil {
		l.addCUE(err)
		return
	}
	// A value the schema should have rejected, when CUE's validation
	// stopped short (it reports one incomplete value per struct).
	k, _ := classify(path)
	msg := fmt.Sprintf("invalid value %s", show(v))
	switch {
	case undecided(v) != "":
		msg = undecided(v)
	case !v.IsConcrete():
		msg = fmt.Sprintf("incomplete value %v", v)
		if w := want[k]; w != "" {
			msg += " (" + w + ")"
		}
	case check(k, v) != "":
		msg = misplaced(k, path, v, check(k, v))
	}
	l.errs.Add(l.valuePosOr(v, l.fallbackPos(path)), ClipPath(path, ".")+": "+msg)
}

// labelPos returns the position of the first label in the user's files
// that declares v, or the zero Pos.
func (l *loader) labelPos(v cue.Value) Pos {
	// With one conjunct, Source is its field; with several (the field
	// declared in several places), Expr returns one value per conjunct.
	if p, ok := l.fieldLabel(v); ok {
		return p
	}
	op, args := v.Expr()
	if op == cue.AndOp {
		for _, a := range args {
			if p, ok := l.fieldLabel(a); ok {
				return p
			}
		}
		for _, a := range args {
			if p := a.Pos(); l.isUser(p) {
				return position(p)
			}
		}
	}
	if p := v.Pos(); l.isUser(p) {
		return position(p)
	}
	return Pos{}
}

// declPos returns the position of a tree's or a child's label: of the
// first field that declares it in the source, whatever the order of the
// conjuncts (a computed label, "\(x)-b" or a comprehension's (n), comes
// after another file's plain "x-b"), so that children start in the order
// CUE gives. A pattern ([string]: ...) declares none.
func (l *loader) declPos(v cue.Value) Pos {
	var first Pos
	if op, args := v.Expr(); op == cue.AndOp {
		for _, a := range args {
			f, ok := a.Source().(*ast.Field)
			if !ok {
				continue
			}
			if _, pattern := f.Label.(*ast.ListLit); pattern {
				continue
			}
			if p, ok := l.fieldLabel(a); ok && (!first.IsValid() || l.comparePos(p, first) < 0) {
				first = p
			}
		}
	}
	if first.IsValid() {
		return first
	}
	return l.labelPos(v)
}

// fieldLabel returns the position of v's label when v's source is a field
// in the user's files.
func (l *loader) fieldLabel(v cue.Value) (Pos, bool) {
	if f, ok := v.Source().(*ast.Field); ok && l.isUser(f.Pos()) {
		return position(f.Pos()), true
	}
	return Pos{}, false
}

// valuePos returns the position of v's value in the user's files, or the
// zero Pos.
func (l *loader) valuePos(v cue.Value) Pos {
	if src := v.Source(); src != nil {
		if f, ok := src.(*ast.Field); ok && f.Value != nil {
			if p := f.Value.Pos(); l.isUser(p) {
				return position(p)
			}
		}
	}
	if p := v.Pos(); l.isUser(p) {
		return position(p)
	}
	return Pos{}
}

// valuePosOr returns valuePos(v), or pos if v has no position in the
// user's files.
func (l *loader) valuePosOr(v cue.Value, pos Pos) Pos {
	if p := l.valuePos(v); p.IsValid() {
		return p
	}
	return pos
}

// isUser reports whether p is a position in one of the user's files:
// not the schema's, nor the text a builtin decoded (json.Unmarshal's
// positions are in a "file" named json), which no one could open.
func (l *loader) isUser(p token.Pos) bool {
	if !p.IsValid() || p.Filename() == schemaFile || p.Filename() == "" {
		return false
	}
	name := p.Filename()
	real, ok := l.realFiles[name]
	if !ok {
		abs, _ := filepath.Abs(name)
		_, over := l.overlay[filepath.Clean(abs)]
		_, err := os.Stat(name)
		real = over || err == nil
		if l.realFiles == nil {
			l.realFiles = map[string]bool{}
		}
		l.realFiles[name] = real
	}
	return real
}

func position(p token.Pos) Pos {
	q := p.Position()
	return Pos{Filename: q.Filename, Line: q.Line, Column: q.Column}
}

// buildAttrErrors reports, at the attribute, each @if of the spec's files
// that is no tag expression (cue/load's error has no position), and
// whether there was one.
func (l *loader) buildAttrErrors() bool {
	if l.badAttrs != nil {
		return *l.badAttrs
	}
	found := false
	l.badAttrs = &found
	names := map[string]bool{}
	for path := range l.overlay {
		names[path] = true
	}
	entries, _ := os.ReadDir(l.dir)
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".cue") && !strings.HasPrefix(n, "_") && !strings.HasPrefix(n, ".") {
			names[filepath.Join(l.dir, n)] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if filepath.Dir(name) != l.dir {
			continue
		}
		var src any
		if b, ok := l.overlay[name]; ok {
			src = b
		}
		f, err := parser.ParseFile(name, src, parser.PackageClauseOnly)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			a, ok := d.(*ast.Attribute)
			if !ok {
				continue
			}
			if key, body := a.Split(); key == "if" {
				if msg := tagExpr(body); msg != "" {
					l.errs.Add(position(a.Pos()), fmt.Sprintf("invalid @if(%s): %s (an @if holds tag names joined by !, && and ||, such as @if(!prod))", body, msg))
					found = true
				}
			}
		}
	}
	return found
}

// tagExpr returns what is wrong with body as the expression of an @if,
// or "" if nothing is.
func tagExpr(body string) string {
	if strings.TrimSpace(body) == "" {
		return "no condition"
	}
	x, err := parser.ParseExpr("", body)
	if err != nil {
		var ce cueerrors.Error
		if errors.As(err, &ce) {
			f, args := ce.Msg()
			return fmt.Sprintf(f, args...)
		}
		return err.Error()
	}
	var check func(ast.Expr) string
	check = func(x ast.Expr) string {
		switch x := x.(type) {
		case *ast.Ident:
			return ""
		case *ast.ParenExpr:
			return check(x.X)
		case *ast.UnaryExpr:
			if x.Op != token.NOT {
				return fmt.Sprintf("operator %v", x.Op)
			}
			return check(x.X)
		case *ast.BinaryExpr:
			if x.Op != token.LAND && x.Op != token.LOR {
				return fmt.Sprintf("operator %v", x.Op)
			}
			if m := check(x.X); m != "" {
				return m
			}
			return check(x.Y)
		default:
			b, _ := format.Node(x)
			return Sprintf("%s is no tag name", b)
		}
	}
	return check(x)
}
