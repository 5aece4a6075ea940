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
	walkType(t, ws.hidden, func(obj types.Object, field bool) bool {
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
	all := func(*types.Alias) bool { return true } // what each stands for
	return walkType(t, all, func(obj types.Object, _ bool) bool { return obj != nil })
}

// argImports returns the packages that writing t imports (other than the
// spec's own, at own) and the predeclared names it uses; hide is
// workspace.hidden.
func argImports(t types.Type, own string, hide func(*types.Alias) bool) (pkgs []*types.Package, universe []string) {
	walkType(t, hide, func(obj types.Object, field bool) bool {
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

// walkType calls f for each name that writing t in the spec's package
// involves: the type names (obj a *types.TypeName, including predeclared
// ones such as int and error; an alias that hide reports is written as
// what it stands for, see workspace.hidden), and the fields and methods
// of struct and interface literals (field true; an embedded field only
// when its name is unexported, as the type it names is walked anyway);
// obj is nil for a type that did not type-check. It stops when f returns
// false.
func walkType(t types.Type, hide func(*types.Alias) bool, f func(obj types.Object, field bool) bool) bool {
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
		if hide(t) {
			return walkType(t.Rhs(), hide, f)
		}
		if !f(t.Obj(), false) {
			return false
		}
		return walkList(t.TypeArgs(), hide, f)
	case *types.Named:
		if !f(t.Obj(), false) {
			return false
		}
		return walkList(t.TypeArgs(), hide, f)
	case *types.Pointer:
		return walkType(t.Elem(), hide, f)
	case *types.Slice:
		return walkType(t.Elem(), hide, f)
	case *types.Array:
		return walkType(t.Elem(), hide, f)
	case *types.Chan:
		return walkType(t.Elem(), hide, f)
	case *types.Map:
		return walkType(t.Key(), hide, f) && walkType(t.Elem(), hide, f)
	case *types.Signature:
		return walkTuple(t.Params(), hide, f) && walkTuple(t.Results(), hide, f)
	case *types.Struct:
		for i := range t.NumFields() {
			// An embedded field is named too, after its type: struct{error}
			// of another package has an unexported field that only that
			// package can write, as struct{err error} has.
			v := t.Field(i)
			if (!v.Embedded() || !v.Exported()) && !f(v, true) || !walkType(v.Type(), hide, f) {
				return false
			}
		}
	case *types.Interface:
		for i := range t.NumExplicitMethods() {
			m := t.ExplicitMethod(i)
			if !f(m, true) || !walkType(m.Type(), hide, f) {
				return false
			}
		}
		for i := range t.NumEmbeddeds() {
			if !walkType(t.EmbeddedType(i), hide, f) {
				return false
			}
		}
	}
	return true
}

// hidden reports whether a is an alias that the spec's package cannot
// name, and writes as what it stands for instead: another package's
// unexported one (type buf = bytes.Buffer is written bytes.Buffer), or one
// of a package it cannot import, such as an internal package of another
// module (type Conf = types.Conf there is written types.Conf).
func (ws *workspace) hidden(a *types.Alias) bool {
	pkg := a.Obj().Pkg()
	if pkg == nil || pkg.Path() == ws.ownPath() {
		return false
	}
	return !a.Obj().Exported() || ws.unimportable(pkg) != ""
}

func walkList(list *types.TypeList, hide func(*types.Alias) bool, f func(types.Object, bool) bool) bool {
	for i := range list.Len() {
		if !walkType(list.At(i), hide, f) {
			return false
		}
	}
	return true
}

func walkTuple(tuple *types.Tuple, hide func(*types.Alias) bool, f func(types.Object, bool) bool) bool {
	for i := range tuple.Len() {
		if !walkType(tuple.At(i).Type(), hide, f) {
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
		if e.hide(t) {
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
