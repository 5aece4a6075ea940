package gen

import (
	"go/token"
	"go/types"
	"slices"

	"github.com/arbor-go/arbor/gen/lint"
	"github.com/arbor-go/arbor/schema"
)

// This file runs the static checks of package gen/lint on the functions
// that the spec's run fields name (Options.Lint, for arbor vet), with what
// each child asks of its function: ready, heartbeat, a timeout, its
// shutdown grace. The checks need a function's syntax and its types.Info.
// The spec's own package has both, since it is type-checked from source.
// A run function of another package of the user's module (or workspace) is
// checked in that package, type-checked from source for the purpose: only
// the packages run fields name, only when asked. A run function of another
// module is not checked: its findings would not be the user's to act on.

// lintRuns runs the checks on the resolved run functions of the spec and
// returns their findings, sorted: each at the spec's field that asks for
// what the function fails to do (ready, heartbeat, shutdown for a sleep
// longer than the grace, run otherwise), with the position in the Go code
// in At and related places in Also. A malformed //arbor:nolint directive,
// which concerns no child, is at its position in the Go code. It returns
// nil unless the workspace records types.Info.
func (ws *workspace) lintRuns(spec *schema.Spec, targets map[*schema.Node]*target) schema.ErrorList {
	if !ws.info {
		return nil
	}
	type batch struct {
		pkg     *lint.Package // nil when the package is not checked
		targets []lint.Target
		nodes   [][]*schema.Node    // the children of each target
		index   map[lint.Target]int // children that ask the same of a function share a target
	}
	batches := map[string]*batch{}
	var paths []string
	if ws.own != nil {
		// Even without a run function, for its malformed directives.
		batches[ws.own.PkgPath] = &batch{pkg: ws.lintPackage(ws.own.PkgPath), index: map[lint.Target]int{}}
		paths = append(paths, ws.own.PkgPath)
	}
	for _, tree := range spec.Trees {
		tree.Walk(func(n *schema.Node) bool {
			t := targets[n]
			if t == nil || t.obj.Pkg() == nil {
				return true
			}
			path := t.obj.Pkg().Path()
			b := batches[path]
			if b == nil {
				b = &batch{pkg: ws.lintPackage(path), index: map[lint.Target]int{}}
				batches[path] = b
				paths = append(paths, path)
			}
			if b.pkg == nil {
				return true
			}
			fn := t.obj
			if b.pkg.Types != fn.Pkg() {
				if fn = sameFunc(b.pkg.Types, fn); fn == nil {
					return true
				}
			}
			lt := lint.Target{
				Func: fn,
				// Without an attempt, resolve has said the child cannot report.
				Ready:     n.Ready != nil && t.attempt,
				Heartbeat: n.Heartbeat != nil && t.attempt,
				Timeout:   n.Timeout > 0,
				OneShot:   n.Restart == "transient" || n.Restart == "temporary",
				Grace:     n.Shutdown,
			}
			i, ok := b.index[lt]
			if !ok {
				i = len(b.targets)
				b.index[lt] = i
				b.targets = append(b.targets, lt)
				b.nodes = append(b.nodes, nil)
			}
			b.nodes[i] = append(b.nodes[i], n)
			return true
		})
	}
	var out schema.ErrorList
	for _, path := range paths {
		b := batches[path]
		if b.pkg == nil {
			continue
		}
		for _, f := range lint.Check(b.pkg, b.targets) {
			if f.Target < 0 {
				out = append(out, &schema.Error{Pos: ws.goPos(f.Pos), Msg: f.Message + " (" + f.Check + ")"})
				continue
			}
			var also []schema.Pos
			for _, r := range f.Related {
				also = append(also, ws.goPos(r.Pos))
			}
			for _, n := range b.nodes[f.Target] {
				out = append(out, &schema.Error{Pos: lintPos(n, f.Check), Msg: schema.ClipPath(n.Path, "/") + ": " + f.Message + " (" + f.Check + ")", At: ws.goPos(f.Pos), Also: also})
			}
		}
	}
	out.Sort()
	return out
}

// lintPos is the field of n that asks for what a check found missing.
func lintPos(n *schema.Node, check string) schema.Pos {
	switch {
	case check == lint.CheckReady && n.Ready != nil:
		return n.Ready.Pos
	case check == lint.CheckBeat && n.Heartbeat != nil:
		return n.Heartbeat.Pos
	case check == lint.CheckSleep && n.ShutdownPos.IsValid():
		return n.ShutdownPos
	case check == lint.CheckTimeout && n.TimeoutPos.IsValid():
		return n.TimeoutPos
	}
	return n.RunPos
}

// lintPackage returns the package at path with its syntax and types.Info,
// or nil when its run functions are not checked: it is in another module,
// or not in a module at all (the standard library).
func (ws *workspace) lintPackage(path string) *lint.Package {
	p := ws.own
	if p == nil || path != p.PkgPath {
		l := ws.listed[path]
		if l == nil || l.Module == nil || !l.Module.Main {
			return nil
		}
		if p = ws.byPath[path]; p == nil || p.TypesInfo == nil {
			// Read from export data: check it from source, apart, so that
			// the spec's package keeps the types it was checked against.
			p = ws.checkSource(l, append(slices.Clone(l.GoFiles), l.CgoFiles...))
		}
	}
	if p.Types == nil || p.TypesInfo == nil {
		return nil
	}
	return &lint.Package{Fset: ws.fset, Files: p.Syntax, Types: p.Types, Info: p.TypesInfo}
}

// sameFunc returns the function or method of pkg that has fn's name and
// receiver type name: fn as declared in another type check of its
// package.
func sameFunc(pkg *types.Package, fn *types.Func) *types.Func {
	recv := fn.Type().(*types.Signature).Recv()
	if recv == nil {
		f, _ := pkg.Scope().Lookup(fn.Name()).(*types.Func)
		return f
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return nil
	}
	tn, ok := pkg.Scope().Lookup(named.Obj().Name()).(*types.TypeName)
	if !ok {
		return nil
	}
	obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(tn.Type()), false, pkg, fn.Name())
	f, _ := obj.(*types.Func)
	return f
}

// goPos converts a position in Go code.
func (ws *workspace) goPos(pos token.Pos) schema.Pos {
	p := ws.position(pos)
	return schema.Pos{Filename: p.Filename, Line: p.Line, Column: p.Column}
}
