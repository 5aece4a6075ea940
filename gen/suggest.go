package gen

import (
	"cmp"
	"fmt"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"github.com/arbor-go/arbor/schema"
)

// This file offers "did you mean" suggestions for misspelt names: after
// lists name siblings, run references name functions, types and methods;
// and hints for names a spec cannot reach as Go code does.

// suggest offers the candidate closest to a misspelt name, if one is close
// enough to be a typo rather than a guess. Case does not count: "work"
// finds "Work".
func suggest(name string, candidates []string) string {
	if best := closest(name, candidates); best != "" {
		return schema.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// closest returns the candidate nearest to name within the distance of a
// typo, the first in order among equals, or "". It is called once per
// misspelt name of a spec, with every sibling as a candidate: it skips
// what cannot be near cheaply, so that a wide supervisor with many
// misspellings is not n² full distances.
func closest(name string, candidates []string) string {
	best, bestD := "", min(3, (len(name)+1)/2)
	name = strings.ToLower(name)
	var rows [3][]int
	for _, c := range candidates {
		if abs(len(c)-len(name)) >= bestD {
			continue // the distance is at least the difference in length
		}
		if d := distance(name, strings.ToLower(c), bestD, &rows); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func abs(n int) int { return max(n, -n) }

// distance is the edit distance between a and b, where swapping two
// adjacent letters is one edit, as typing "Wrok" for "Work" is (the
// optimal string alignment distance), or bound once it is sure to be at
// least bound. rows is scratch space, reused from call to call.
func distance(a, b string, bound int, rows *[3][]int) int {
	for i := range rows {
		if cap(rows[i]) < len(b)+1 {
			rows[i] = make([]int, len(b)+1)
		}
	}
	before, prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1] // rows i-2, i-1, i
	for j := range prev {
		prev[j] = j
	}
	prevMin := 0
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		// No later row, and so not the distance, is below the smaller of
		// this row's least and the one before's plus a transposition.
		if min(rowMin, prevMin+1) >= bound {
			return bound
		}
		prevMin = rowMin
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}

// runCandidate is a run reference that would resolve, and the name of the
// symbol a misspelling is compared with.
type runCandidate struct {
	recv   string // the receiver's type name; "" for a function
	symbol string // Work, Run
	ref    string // Work, (*Pool).Run, example.com/x.Work
}

// suggestRun offers the run reference nearest to a misspelt one among
// those pkg offers with an accepted signature: for a function, its
// functions and then its methods (a method written as a function is a
// common slip); for a method, the methods of the receiver type or, when
// the type is misspelt, the types that have the method. A pool's run
// takes an argument, other workers' do not.
func suggestRun(ref runRef, pkg *types.Package, own, pool bool) string {
	prefix := ""
	if ref.pkgPath != "" {
		prefix = ref.pkgPath + "."
	}
	visible := func(name string) bool { return own || token.IsExported(name) }
	accepted := func(sig *types.Signature) bool {
		_, arg, ok := runSignature(sig)
		return ok && (arg != nil) == pool
	}
	scope := pkg.Scope()
	var funcs, methods []runCandidate
	for _, name := range scope.Names() {
		if !visible(name) {
			continue
		}
		switch obj := scope.Lookup(name).(type) {
		case *types.Func:
			if accepted(obj.Signature()) {
				funcs = append(funcs, runCandidate{symbol: name, ref: prefix + name})
			}
		case *types.TypeName:
			if named, ok := types.Unalias(obj.Type()).(*types.Named); !ok || named.TypeParams().Len() > 0 {
				continue
			}
			values := types.NewMethodSet(obj.Type())
			for m := range types.NewMethodSet(types.NewPointer(obj.Type())).Methods() {
				fn := m.Obj().(*types.Func)
				if !accepted(withoutRecv(fn.Signature())) || !visible(fn.Name()) {
					continue
				}
				form := "(*%s%s).%s"
				if values.Lookup(fn.Pkg(), fn.Name()) != nil {
					form = "(%s%s).%s"
				}
				methods = append(methods, runCandidate{name, fn.Name(), fmt.Sprintf(form, prefix, name, fn.Name())})
			}
		}
	}
	var cands []runCandidate
	switch {
	case ref.recv == "":
		cands = append(funcs, methods...)
	case scope.Lookup(ref.recv) == nil:
		var recvs []string
		for _, m := range methods {
			if m.symbol == ref.name {
				recvs = append(recvs, m.recv)
			}
		}
		star := ""
		if ref.ptr {
			star = "*"
		}
		if best := closest(ref.recv, recvs); best != "" {
			return suggestion(schema.Sprintf("(%s%s%s).%s", star, prefix, best, ref.name))
		}
		return ""
	default:
		for _, m := range methods {
			if m.recv == ref.recv {
				cands = append(cands, m)
			}
		}
	}
	symbols := make([]string, len(cands))
	for i, c := range cands {
		symbols[i] = c.symbol
	}
	if best := closest(ref.name, symbols); best != "" {
		for _, c := range cands {
			if c.symbol == best {
				return suggestion(c.ref)
			}
		}
	}
	return ""
}

func suggestion(ref string) string { return schema.Sprintf(" (did you mean %q?)", ref) }

// dotImported says where a reference to the spec's own package finds its
// symbol when a file of the package dot-imports it: Go code names it
// unqualified, a spec by its import path. It returns "" for other names.
func (ws *workspace) dotImported(ref runRef) string {
	symbol := cmp.Or(ref.recv, ref.name)
	if ref.pkgPath != "" || ws.own == nil || ws.own.Types == nil {
		return ""
	}
	for _, f := range ws.own.Syntax {
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil || imp.Name == nil || imp.Name.Name != "." {
				continue
			}
			if p := ws.lookupImport(path); p != nil && token.IsExported(symbol) && p.Scope().Lookup(symbol) != nil {
				ref.pkgPath = path
				return schema.Sprintf(" (a file dot-imports it from %s: write %q)", path, ref.String())
			}
		}
	}
	return ""
}

// otherSpec hints, for the Run method of a type missing from another
// package that has a spec of its own, that the type may be one of its
// trees, which the package's arbor_gen.go is to declare (Inner of
// "(*example.com/m/b.Inner).Run") and has not yet: go generate ./...
// generates the packages in its own order. It returns "" for other
// references.
func otherSpec(ref runRef, listing *listed) string {
	if ref.pkgPath == "" || ref.recv == "" || ref.name != "Run" || listing == nil || listing.Dir == "" || !schema.IsSpecDir(listing.Dir) {
		return ""
	}
	return schema.Sprintf(" (the package has a spec of its own: if %s is one of its trees, generate the package's %s first; arbor gen ./... does)", ref.recv, outputName)
}
