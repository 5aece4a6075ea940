package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/arbor-go/arbor/schema"
)

// pool emits the typed API of the pool n: its type typ, with Start,
// StartNamed and Pool. accessor emits the method that returns it, which
// comes first, as a nested supervisor's does.
//
// Start closes over the argument and, for a run method, over the receiver
// the constructor was given, which the generated types keep for this. The
// closure captures copies, not the *typ, so that a caller's
// t.Conns().Start(arg) need not move the typ value to the heap.
func (e *emitter) pool(n *schema.Node, typ string, accessor func(typ string)) {
	t := e.targets[n]
	path := n.String()
	accessor(typ)

	// The names the bodies declare; none may hide what they refer to: the
	// imports and the run function.
	taken := map[string]bool{
		e.names.imports[runtimePath].name: true,
		e.names.imports["context"].name:   true,
		e.names.nilRecv:                   true,
	}
	var fn *jen.Statement // the run function, as the closure calls it
	var kept []param
	switch {
	case t.recv != nil:
		kept = e.names.kept[n]
	case t.pkg.Path() == e.ownPath:
		taken[t.ref.name] = true
		fn = jen.Id(t.ref.name)
	default:
		taken[e.names.imports[t.pkg.Path()].name] = true
		fn = jen.Qual(t.pkg.Path(), t.ref.name)
	}
	p := unique("p", taken)
	name := unique("name", taken)
	arg := unique("arg", taken)
	ctx := unique("ctx", taken)
	a := "_"
	if t.attempt {
		a = unique("a", taken)
	}
	var copies []jen.Code
	for _, k := range kept { // a run method: one receiver
		local := unique(k.field, taken)
		copies = append(copies, jen.Id(local).Op(":=").Id(p).Dot(k.field))
		fn = jen.Id(local).Dot(t.ref.name)
	}
	args := []jen.Code{jen.Id(ctx)}
	if t.attempt {
		args = append(args, jen.Id(a))
	}
	args = append(args, jen.Id(arg))
	argType := e.goType(t.arg)
	handle := []jen.Code{jen.Op("*").Add(e.rt("Handle")), jen.Error()}
	self := jen.Id(p).Op("*").Id(typ)

	e.doc("%s is the pool %s: each instance runs %s with the argument it was started with.", typ, path, n.Run)
	fields := []jen.Code{jen.Id("pool").Op("*").Add(e.rt("Pool"))}
	for _, k := range kept {
		fields = append(fields, jen.Id(k.field).Add(e.typeCode(k.obj, k.ptr)))
	}
	e.f.Type().Id(typ).Struct(fields...)

	e.doc("Start starts an instance of %s that runs with %s, under a name the pool chooses; see StartNamed.", path, arg)
	e.f.Func().Params(self.Clone()).Id("Start").Params(jen.Id(arg).Add(argType.Clone())).Params(handle...).Block(
		e.nilGuard(p, typ, "Start", n),
		jen.Return(jen.Id(p).Dot("StartNamed").Call(jen.Lit(""), jen.Id(arg))),
	)

	e.doc("StartNamed starts an instance of %s named %s (\"\" lets the pool choose; otherwise a name such as \"tenant-1\", [a-z][a-z0-9_-]*) that runs with %s; its path is %q followed by the name. %s", path, name, arg, path+"/", startErrors(n))
	body := append([]jen.Code{e.nilGuard(p, typ, "StartNamed", n)}, copies...)
	body = append(body, jen.Return(jen.Id(p).Dot("pool").Dot("Start").Call(jen.Id(name),
		jen.Func().Params(jen.Id(ctx).Qual("context", "Context"), jen.Id(a).Op("*").Add(e.rt("Attempt"))).Error().Block(
			jen.Return(fn.Call(args...)),
		),
	)))
	e.f.Func().Params(self.Clone()).Id("StartNamed").Params(jen.Id(name).String(), jen.Id(arg).Add(argType.Clone())).Params(handle...).Block(body...)

	e.doc("Pool returns the runtime pool %s, for Len, Counts and Path.", path)
	e.f.Func().Params(self.Clone()).Id("Pool").Params().Op("*").Add(e.rt("Pool")).Block(
		e.nilGuard(p, typ, "Pool", n),
		jen.Return(jen.Id(p).Dot("pool")),
	)
}

// startErrors documents the errors of StartNamed.
func startErrors(n *schema.Node) string {
	s := "It fails with "
	if n.Pool.Max > 0 {
		s += fmt.Sprintf("runtime.ErrPoolFull while %d instances are live, ", n.Pool.Max)
	}
	return s + "runtime.ErrNameTaken when a live instance has the name, runtime.ErrNotRunning while the pool is not running (waiting for its after list, restarting or stopping), runtime.ErrTreeEnded once the tree has ended, and a *runtime.SpecError for an invalid name."
}
