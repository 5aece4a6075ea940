package gen

import (
	"fmt"
	"go/token"
	"go/types"
	"strconv"

	"github.com/dave/jennifer/jen"
)

// A pool's run function takes an argument of any type T, which the
// generated Start method takes too: the generated file, in the spec's
// package, must write T. This file checks that it can (every name in T is
// exported or the package's own, from a package it may import), lists the
// packages and predeclared names T needs, and renders it.

// unnameable says why the spec's package cannot write the type t, or "";
// decl is the declaration concerned, if any.
func (ws *workspace) unnameable(t types.Type) (why string, decl token.Pos) {
	own := ws.ownPath()
	walkType(t, own, func(obj types.Object, field bool) bool {
		if obj == nil {
			return true // see typeChecks
		}
		pkg := obj.Pkg()
		if pkg == nil || pkg.Path() == own {
			return true
		}
		switch {
		case !obj.Exported() && field:
			what := "field"
			if _, ok := obj.(*types.Func); ok {
				what = "method"
			}
			why, decl = fmt.Sprintf("it has the unexported %s %s, which only package %s can write", what, obj.Name(), pkg.Path()), obj.Pos()
		case !obj.Exported():
			why, decl = fmt.Sprintf("%s is not exported by %s", obj.Name(), pkg.Path()), obj.Pos()
		case pkg.Path() == "unsafe":
			return true
		default:
			if msg := ws.unimportable(pkg); msg != "" {
				why, decl = fmt.Sprintf("it names %s.%s, and the spec's package cannot import %s: %s", pkg.Name(), obj.Name(), pkg.Path(), msg), obj.Pos()
			}
		}
		return why == ""
	})
	return why, decl
}

// typeChecks reports whether t is free of invalid types: the spec's own
// package, type-checked from source, may not compile.
func typeChecks(t types.Type) bool {
	return walkType(t, "", func(obj types.Object, _ bool) bool { return obj != nil })
}

// argImports returns the packages that writing t imports (other than the
// spec's own) and the predeclared names it uses.
func argImports(t types.Type, own string) (pkgs []*types.Package, universe []string) {
	walkType(t, own, func(obj types.Object, field bool) bool {
		if obj == nil {
			return true
		}
		switch pkg := obj.Pkg(); {
		case field:
		case pkg == nil:
			universe = append(universe, obj.Name())
		case pkg.Path() != own:
			pkgs = append(pkgs, pkg)
		}
		return true
	})
	return pkgs, universe
}

// walkType calls f for each name that writing t in the package at own
// involves: the type names (obj a *types.TypeName, including predeclared
// ones such as int and error; another package's unexported alias is
// written as what it stands for, see hiddenAlias), and the fields and
// methods of struct and interface literals (field true; an embedded field
// only when its name is unexported, as the type it names is walked
// anyway); obj is nil for a type that did not type-check. It stops when f
// returns false.
func walkType(t types.Type, own string, f func(obj types.Object, field bool) bool) bool {
	switch t := t.(type) {
	case *types.Basic:
		switch t.Kind() {
		case types.Invalid:
			return f(nil, false)
		case types.UnsafePointer:
			return f(types.Unsafe.Scope().Lookup("Pointer"), false)
		}
		return f(types.Universe.Lookup(t.Name()), false)
	case *types.Alias:
		if b, ok := types.Unalias(t).(*types.Basic); ok && b.Kind() == types.Invalid {
			return f(nil, false) // it stands for a type that did not type-check
		}
		if hiddenAlias(t, own) {
			return walkType(t.Rhs(), own, f)
		}
		if !f(t.Obj(), false) {
			return false
		}
		return walkList(t.TypeArgs(), own, f)
	case *types.Named:
		if !f(t.Obj(), false) {
			return false
		}
		return walkList(t.TypeArgs(), own, f)
	case *types.Pointer:
		return walkType(t.Elem(), own, f)
	case *types.Slice:
		return walkType(t.Elem(), own, f)
	case *types.Array:
		return walkType(t.Elem(), own, f)
	case *types.Chan:
		return walkType(t.Elem(), own, f)
	case *types.Map:
		return walkType(t.Key(), own, f) && walkType(t.Elem(), own, f)
	case *types.Signature:
		return walkTuple(t.Params(), own, f) && walkTuple(t.Results(), own, f)
	case *types.Struct:
		for i := range t.NumFields() {
			// An embedded field is named too, after its type: struct{error}
			// of another package has an unexported field that only that
			// package can write, as struct{err error} has.
			v := t.Field(i)
			if (!v.Embedded() || !v.Exported()) && !f(v, true) || !walkType(v.Type(), own, f) {
				return false
			}
		}
	case *types.Interface:
		for i := range t.NumExplicitMethods() {
			m := t.ExplicitMethod(i)
			if !f(m, true) || !walkType(m.Type(), own, f) {
				return false
			}
		}
		for i := range t.NumEmbeddeds() {
			if !walkType(t.EmbeddedType(i), own, f) {
				return false
			}
		}
	}
	return true
}

// hiddenAlias reports whether a is an alias that the package at own
// cannot name, being another package's unexported one: what it stands for
// is written instead (type buf = bytes.Buffer is written bytes.Buffer).
func hiddenAlias(a *types.Alias, own string) bool {
	return !a.Obj().Exported() && a.Obj().Pkg() != nil && a.Obj().Pkg().Path() != own
}

func walkList(list *types.TypeList, own string, f func(types.Object, bool) bool) bool {
	for i := range list.Len() {
		if !walkType(list.At(i), own, f) {
			return false
		}
	}
	return true
}

func walkTuple(tuple *types.Tuple, own string, f func(types.Object, bool) bool) bool {
	for i := range tuple.Len() {
		if !walkType(tuple.At(i).Type(), own, f) {
			return false
		}
	}
	return true
}

// goType renders t, qualified with the file's import names.
func (e *emitter) goType(t types.Type) *jen.Statement {
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			return jen.Qual("unsafe", "Pointer")
		}
		return jen.Id(t.Name())
	case *types.Alias:
		if hiddenAlias(t, e.ownPath) {
			return e.goType(t.Rhs())
		}
		return e.typeName(t.Obj(), t.TypeArgs())
	case *types.Named:
		return e.typeName(t.Obj(), t.TypeArgs())
	case *types.Pointer:
		return jen.Op("*").Add(e.goType(t.Elem()))
	case *types.Slice:
		return jen.Index().Add(e.goType(t.Elem()))
	case *types.Array:
		return jen.Index(jen.Id(strconv.FormatInt(t.Len(), 10))).Add(e.goType(t.Elem()))
	case *types.Map:
		return jen.Map(e.goType(t.Key())).Add(e.goType(t.Elem()))
	case *types.Chan:
		elem := e.goType(t.Elem())
		switch t.Dir() {
		case types.SendOnly:
			return jen.Chan().Op("<-").Add(elem)
		case types.RecvOnly:
			return jen.Op("<-").Chan().Add(elem)
		}
		if c, ok := t.Elem().(*types.Chan); ok && c.Dir() == types.RecvOnly {
			elem = jen.Parens(elem) // chan (<-chan T), not (chan<- chan T)
		}
		return jen.Chan().Add(elem)
	case *types.Signature:
		return jen.Func().Add(e.signature(t))
	case *types.Struct:
		fields := make([]jen.Code, t.NumFields())
		for i := range t.NumFields() {
			v := t.Field(i)
			field := e.goType(v.Type())
			if !v.Embedded() {
				field = jen.Id(v.Name()).Add(field)
			}
			if tag := t.Tag(i); tag != "" {
				field.Lit(tag)
			}
			fields[i] = field
		}
		return jen.Struct(fields...)
	case *types.Interface:
		var elems []jen.Code
		for i := range t.NumEmbeddeds() {
			elems = append(elems, e.goType(t.EmbeddedType(i)))
		}
		for i := range t.NumExplicitMethods() {
			m := t.ExplicitMethod(i)
			elems = append(elems, jen.Id(m.Name()).Add(e.signature(m.Type().(*types.Signature))))
		}
		return jen.Interface(elems...)
	}
	panic(fmt.Sprintf("arbor: cannot write the type %s", t))
}

// typeName renders a named type or alias with its type arguments.
func (e *emitter) typeName(obj *types.TypeName, args *types.TypeList) *jen.Statement {
	var s *jen.Statement
	if obj.Pkg() == nil || obj.Pkg().Path() == e.ownPath {
		s = jen.Id(obj.Name())
	} else {
		s = jen.Qual(obj.Pkg().Path(), obj.Name())
	}
	if args.Len() > 0 {
		list := make([]jen.Code, args.Len())
		for i := range args.Len() {
			list[i] = e.goType(args.At(i))
		}
		s.Types(list...)
	}
	return s
}

// signature renders the parameters and results of sig, without names.
func (e *emitter) signature(sig *types.Signature) *jen.Statement {
	params := make([]jen.Code, sig.Params().Len())
	for i := range sig.Params().Len() {
		t := sig.Params().At(i).Type()
		if sig.Variadic() && i == sig.Params().Len()-1 {
			params[i] = jen.Op("...").Add(e.goType(t.(*types.Slice).Elem()))
			continue
		}
		params[i] = e.goType(t)
	}
	results := make([]jen.Code, sig.Results().Len())
	for i := range sig.Results().Len() {
		results[i] = e.goType(sig.Results().At(i).Type())
	}
	s := jen.Params(params...)
	switch len(results) {
	case 0:
	case 1:
		s.Add(results[0])
	default:
		s.Params(results...)
	}
	return s
}
