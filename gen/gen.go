// Package gen checks a loaded spec against the user's Go code and emits the
// typed wiring, arbor_gen.go, that links it to the runtime.
//
// It works in phases, like google/wire: the spec is loaded (package schema),
// checked on its own, resolved against the Go code (the spec's package
// type-checked from source without the old arbor_gen.go, every other package
// from the go command's export data), its run functions statically checked
// if asked (Options.Lint, package gen/lint), emitted (with jennifer; the
// per-child declarations, which grow with the spec, as text in gofmt's
// layout), and the output is type-checked in memory. Errors are collected
// across the phases and carry the position in the spec they concern. Nothing
// is written: the caller decides what to do with the Result.
package gen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/schema"
)

// Options tune how the user's Go code is loaded and what is checked.
type Options struct {
	Env        []string // for the go command; nil means the current environment
	BuildFlags []string // such as -tags
	// Lint also runs the static checks of package gen/lint on the
	// functions that the spec's run fields name, with what each child asks
	// of its function, as arbor vet does; not on those of other modules.
	// Findings never stop generation: they come back in Result.Findings,
	// or among the errors when there are others.
	Lint bool

	batch int // formatOutput's batch size, for tests; 0 means batchSize
}

// Result is generated code that has not been written anywhere.
type Result struct {
	Dir     string // the spec's directory
	Path    string // where the code belongs: Dir/arbor_gen.go
	Content []byte
	// Findings are what Options.Lint found, sorted, with absolute file
	// names; nil without it.
	Findings schema.ErrorList
}

// Generate loads the spec in dir, checks it and its Go references, and
// returns the code for arbor_gen.go. Spec and check errors come back as a
// schema.ErrorList, sorted, with absolute file names.
func Generate(ctx context.Context, dir string, opts *Options) (*Result, error) {
	if opts == nil {
		opts = &Options{}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := refuseHandWritten(abs); err != nil {
		return nil, err
	}
	if err := refuseSpecialGo(abs); err != nil {
		return nil, err
	}
	if err := specGone(abs); err != nil {
		return nil, err
	}
	// The Go code loads while the spec does, on another core: only the
	// packages of the run references wait for the spec.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type loaded struct {
		ws  *workspace
		err error
	}
	goLoad := make(chan loaded, 1)
	go func() {
		ws, err := loadOwn(ctx, abs, opts)
		if ws != nil {
			// An interrupted caller may end the process while the spec
			// still loads: the overlay goes as soon as it is cancelled.
			context.AfterFunc(ctx, ws.close)
		}
		goLoad <- loaded{ws, err}
	}()
	spec, specErr := schema.LoadPartial(abs, nil)
	if spec == nil {
		cancel()
		if l := <-goLoad; l.ws != nil {
			l.ws.close()
		}
		return nil, specErr
	}
	l := <-goLoad
	if l.err != nil {
		return nil, cmp.Or(specErr, l.err)
	}
	ws := l.ws
	err = ws.loadRuns(runPackages(spec))
	ws.close()
	if specErr != nil {
		// The spec has errors: report with them what the other checks
		// (names, after lists, run references) find in its sound parts.
		if err != nil {
			return nil, specErr
		}
		return nil, ws.partial(spec, specErr)
	}
	if err != nil {
		return nil, err
	}
	return ws.generate(spec)
}

// partial returns the errors of a spec that LoadPartial decoded with
// specErr: those, and the errors the other checks find in the nodes that
// no spec error concerns. The checks run on a copy of the spec in which a
// tree not decoded far enough to check is left out and a broken worker is
// a bare worker, so that its siblings' after lists still find it; an error
// they report at a place that is not a sound node's (a broken node's, a Go
// file's) is left out, as it may only follow from a spec error.
func (ws *workspace) partial(spec *schema.Spec, specErr error) error {
	var list schema.ErrorList
	errors.As(specErr, &list)
	broken := map[schema.Pos]bool{}
	sound := map[schema.Pos]bool{}
	for _, tree := range spec.Trees {
		tree.Walk(func(n *schema.Node) bool {
			for _, p := range nodePositions(n) {
				if n.Broken {
					broken[p] = true
				} else {
					sound[p] = true
				}
			}
			return true
		})
	}
	checked := &schema.Spec{Dir: spec.Dir, Package: spec.Package, Files: spec.Files}
	for _, tree := range spec.Trees {
		if decoded(tree) {
			checked.Trees = append(checked.Trees, soundCopy(tree))
		}
	}
	var errs schema.ErrorList
	ws.checkAll(checked, &errs)
	for _, e := range errs {
		if sound[e.Pos] && !broken[e.Pos] {
			list = append(list, e)
		}
	}
	// A broken worker's run reference is checked all the same when no
	// error concerns what its check reads: run, pool, ready and heartbeat.
	var paths []string
	for _, e := range list {
		path, _, _ := strings.Cut(e.Msg, ": ")
		paths = append(paths, path)
	}
	for _, tree := range spec.Trees {
		tree.Walk(func(n *schema.Node) bool {
			if n.Broken && !n.IsSupervisor() && n.Run != "" && runSound(n, paths) {
				ws.resolve(n, &list)
			}
			return true
		})
	}
	list.RemoveMultiples()
	return sorted(list)
}

// runSound reports whether none of the paths of spec errors is at the
// worker n, above it, or in the fields its run reference's check reads.
func runSound(n *schema.Node, paths []string) bool {
	for _, p := range paths {
		if p == n.CUEPath || strings.HasPrefix(n.CUEPath, p+".") {
			return false
		}
		rest, ok := strings.CutPrefix(p, n.CUEPath+".")
		if !ok {
			continue
		}
		switch field, _, _ := strings.Cut(rest, "."); field {
		case "run", "pool", "ready", "heartbeat", "children":
			return false
		}
	}
	return true
}

// decoded reports whether the supervisor n was decoded far enough for the
// checks to read it: its limit and backoff, with their defaults, are set.
func decoded(n *schema.Node) bool {
	return n.IsSupervisor() && n.RestartLimit != nil && n.Backoff != nil
}

// soundCopy copies the supervisor n, each broken worker below it (and
// each supervisor not decoded far enough to check) replaced by a bare
// worker of the same name.
func soundCopy(n *schema.Node) *schema.Node {
	cp := *n
	cp.Children = make([]*schema.Node, len(n.Children))
	for i, c := range n.Children {
		switch {
		case decoded(c):
			cp.Children[i] = soundCopy(c)
		case c.Broken || c.IsSupervisor():
			cp.Children[i] = &schema.Node{
				Name: c.Name, Pos: c.Pos, Path: c.Path, CUEPath: c.CUEPath,
				Restart: string(runtime.Temporary), Shutdown: runtime.DefaultChildShutdown,
				After: []schema.Ref{}, Broken: true,
			}
		default:
			cp.Children[i] = c
		}
	}
	return &cp
}

// nodePositions lists the places in the spec that belong to n.
func nodePositions(n *schema.Node) []schema.Pos {
	ps := []schema.Pos{n.Pos, n.StrategyPos, n.ShutdownPos, n.RunPos, n.RestartPos, n.TimeoutPos, n.AfterPos, n.SignificantPos}
	for _, r := range n.After {
		ps = append(ps, r.Pos)
	}
	if n.RestartLimit != nil {
		ps = append(ps, n.RestartLimit.Pos)
	}
	if n.Backoff != nil {
		ps = append(ps, n.Backoff.Pos)
	}
	for _, p := range []*schema.Probe{n.Ready, n.Heartbeat} {
		if p != nil {
			ps = append(ps, p.Pos)
		}
	}
	if n.Pool != nil {
		ps = append(ps, n.Pool.Pos)
	}
	if l := n.Lease; l != nil {
		ps = append(ps, l.Pos, l.NamePos, l.TTLPos)
	}
	return slices.DeleteFunc(ps, func(p schema.Pos) bool { return !p.IsValid() })
}

// GenerateSpec is Generate for a spec that is already loaded.
func GenerateSpec(ctx context.Context, spec *schema.Spec, opts *Options) (*Result, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := refuseHandWritten(spec.Dir); err != nil {
		return nil, err
	}
	if err := refuseSpecialGo(spec.Dir); err != nil {
		return nil, err
	}
	ws, err := loadGo(ctx, spec.Dir, runPackages(spec), opts)
	if err != nil {
		return nil, err
	}
	return ws.generate(spec)
}

// checkAll runs the checks of the spec, its runtime validation and the
// resolution of its run references (but for a broken node's), adding what
// they find to errs. It returns each tree's runtime.Spec, the resolved run
// functions and the generated names.
func (ws *workspace) checkAll(spec *schema.Spec, errs *schema.ErrorList) (map[*schema.Node]runtime.Spec, map[*schema.Node]*target, *names) {
	c := checkSpec(spec, errs)
	specs := map[*schema.Node]runtime.Spec{}
	for _, tree := range spec.Trees {
		specs[tree] = runtimeSpec(tree)
		c.validate(tree, specs[tree])
	}
	ws.checkDecls(c.decls, errs)
	ws.decls = c.decls
	targets := map[*schema.Node]*target{}
	for _, tree := range spec.Trees {
		tree.Walk(func(n *schema.Node) bool {
			if !n.IsSupervisor() && !n.Broken {
				if t := ws.resolve(n, errs); t != nil {
					targets[n] = t
				}
			}
			return true
		})
	}
	nm := ws.chooseNames(spec, c.decls, targets)
	ws.checkScope(spec, nm, errs)
	return specs, targets, nm
}

// runPackages lists the packages other than the spec's own that run
// references name, in order of first use.
func runPackages(spec *schema.Spec) []string {
	var paths []string
	seen := map[string]bool{}
	for _, tree := range spec.Trees {
		tree.Walk(func(n *schema.Node) bool {
			if ref, err := parseRun(n.Run); n.Run != "" && err == nil && ref.pkgPath != "" && !seen[ref.pkgPath] {
				seen[ref.pkgPath] = true
				paths = append(paths, ref.pkgPath)
			}
			return true
		})
	}
	return paths
}

// generate runs the phases after loading: the spec's own checks and the
// runtime's validation, the resolution of every run reference, the choice
// of identifiers and what in the package collides with them, the static
// checks of the run functions if asked, emission, and the type check.
func (ws *workspace) generate(spec *schema.Spec) (*Result, error) {
	var errs schema.ErrorList
	specs, targets, nm := ws.checkAll(spec, &errs)
	if len(errs) > 0 {
		errs = ws.generatedCopies(errs)
	}
	findings := ws.lintRuns(spec, targets)
	if ws.ownName == "" && (!token.IsIdentifier(spec.Package) || spec.Package == "_") {
		errs.Add(packagePos(spec), schema.Sprintf("the CUE package name %s is not a valid Go package name, which the generated file takes in a directory without Go files; rename the package", spec.Package))
	}
	if len(errs) > 0 {
		return nil, sorted(append(errs, findings...))
	}
	pkgName := ws.ownName
	if pkgName == "" {
		pkgName = spec.Package // no Go files yet: take the CUE package's name
	}
	out, err := emit(spec, specs, pkgName, ws.ownPath(), ws.hidden, targets, nm)
	if err != nil {
		return nil, err
	}
	// Formatting and the type check are the two costliest steps of a big
	// spec, and independent: they run at once.
	var src []byte
	var formatErr error
	formatted := make(chan struct{})
	go func() {
		defer close(formatted)
		src, formatErr = formatOutput(out, cmp.Or(ws.batch, batchSize))
	}()
	checked, checkErr := ws.typecheck(out.raw)
	<-formatted
	if err := cmp.Or(formatErr, checkErr); err != nil {
		return nil, err
	}
	if ws.info {
		findings = append(findings, ws.compileErrors(checked, targets, spec)...)
		findings.Sort()
	}
	used := map[*target]bool{}
	for _, t := range targets {
		used[t] = true
	}
	src = withConstraint(src, ws.outputConstraint(used))
	return &Result{Dir: spec.Dir, Path: filepath.Join(spec.Dir, outputName), Content: src, Findings: findings}, nil
}

// packagePos returns the position of the name in the package clause of
// spec's first file that has one (gen reads no CUE syntax, which is
// package schema's business: it finds the clause's line), or, failing
// that, of the first tree.
func packagePos(spec *schema.Spec) schema.Pos {
	for _, file := range spec.Files {
		src, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(src), "\n") {
			rest, ok := strings.CutPrefix(line, "package")
			if name := strings.TrimLeft(rest, " \t"); ok && len(name) < len(rest) && strings.HasPrefix(name, spec.Package) {
				return schema.Pos{Filename: file, Line: i + 1, Column: len(line) - len(name) + 1}
			}
		}
	}
	if len(spec.Trees) > 0 {
		return spec.Trees[0].Pos
	}
	return schema.Pos{}
}

// refuseHandWritten refuses a directory whose arbor_gen.go arbor did not write,
// before anything else: generating next to it could only end in a refusal
// to overwrite it, and the Go loader would hide the user's own code.
func refuseHandWritten(dir string) error {
	path := filepath.Join(dir, outputName)
	// Not a file to read, let alone replace: a pipe would block the read
	// for ever, a device such as /dev/zero never end it, and a directory
	// (or a link to one, which cue/load would try to read) is no file.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return schema.ErrorList{{Pos: schema.Pos{Filename: path}, Msg: fmt.Sprintf(
			"not a regular file (%s); refusing to read or overwrite it: remove it to let arbor generate the file", schema.FileKind(st.Mode()))}}
	}
	src, err := os.ReadFile(path)
	if err != nil || Generated(src) {
		return nil // a missing or unreadable file is the writer's business
	}
	return schema.ErrorList{{Pos: schema.Pos{Filename: path}, Msg: fmt.Sprintf(
		"not generated by arbor; refusing to overwrite it (its first line is not %q): rename it, or remove it to let arbor generate the file", "// "+Header)}}
}

// refuseSpecialGo refuses a directory with a .go file that is not a
// regular file (a named pipe, a link to a device): the go command, and the
// loader, would block on it for ever or read without end.
func refuseSpecialGo(dir string) error {
	entries, _ := os.ReadDir(dir)
	var errs schema.ErrorList
	for _, e := range entries {
		if e.Type().IsRegular() || e.IsDir() || e.Name() == outputName || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
			errs.Add(schema.Pos{Filename: path}, fmt.Sprintf("not a regular file (%s); refusing to read it (go build would never finish)", schema.FileKind(st.Mode())))
		}
	}
	return errs.Err()
}

// specGone reports a generated file left in a directory without a .cue
// file (its spec was moved or deleted), at the file: the directory's spec
// is not merely missing, the file must go too.
func specGone(dir string) error {
	path := filepath.Join(dir, outputName)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // the loader says why
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cue") {
			return nil
		}
	}
	return schema.ErrorList{{Pos: schema.Pos{Filename: path}, Msg: fmt.Sprintf(
		"the spec of this generated file is gone (the directory has no .cue file): remove %s, or restore its spec", outputName)}}
}

// Generated reports whether src, the content of an arbor_gen.go, starts
// with arbor's header comment, before its package clause.
func Generated(src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), outputName, src, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil || len(f.Comments) == 0 {
		return strings.HasPrefix(string(src), "// "+Header+"\n")
	}
	return f.Comments[0].List[0].Text == "// "+Header && f.Comments[0].Pos() < f.Package
}

func sorted(errs schema.ErrorList) error {
	errs.Sort()
	return errs.Err()
}

// ErrInternal marks generated code that does not compile: a bug in Arbor.
var ErrInternal = errors.New("internal error: generated code does not type-check")

// Check runs the checks that need only the spec, without loading Go code:
// those of Generate but the resolution of run references, whose syntax only
// it checks.
func Check(spec *schema.Spec) error {
	var errs schema.ErrorList
	c := checkSpec(spec, &errs)
	for _, tree := range spec.Trees {
		c.validate(tree, runtimeSpec(tree))
		tree.Walk(func(n *schema.Node) bool {
			// The syntax of run, which Generate checks as it resolves it.
			if _, err := parseRun(n.Run); !n.IsSupervisor() && err != nil {
				errs.Add(n.RunPos, schema.Sprintf("%s: %v", n, err))
			}
			return true
		})
	}
	return sorted(errs)
}
