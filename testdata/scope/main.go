// Command scope declares names that the generated file must not collide
// with, and runs the tree.
package main

//go:generate go tool arbor gen

import (
	stdctx "context"
	"fmt"

	arbor "github.com/arbor-go/arbor/runtime"
	alib "github.com/arbor-go/arbor/testdata/scope/a/lib"
	blib "github.com/arbor-go/arbor/testdata/scope/b/lib"
)

// Package-level names that the generated file would import by.
var (
	time    = "time"
	context = "context"
	runtime = "runtime"
)

// Names the generated functions use for their locals and receivers.
var t, s, err, opts, ctx, children = 1, 2, 3, 4, 5, 6

// scopeSpec has the name the generated function for the tree's spec would
// take.
func scopeSpec() string { return "mine" }

// arborNil has the name of the function the generated methods call on a
// nil receiver.
func arborNil() string { return "mine" }

// String, True, Len and Error are receivers named like predeclared
// identifiers.
type (
	String struct{}
	True   struct{}
	Len    struct{}
	Error  struct{}
)

// Run runs until cancelled.
func (*String) Run(ctx stdctx.Context) error { <-ctx.Done(); return nil }

// Run reports ready and runs until cancelled.
func (True) Run(ctx stdctx.Context, a *arbor.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// Run runs until cancelled.
func (*Len) Run(ctx stdctx.Context) error { <-ctx.Done(); return nil }

// Run runs until cancelled.
func (*Error) Run(ctx stdctx.Context) error { <-ctx.Done(); return nil }

// Idle runs until cancelled.
func Idle(ctx stdctx.Context) error { <-ctx.Done(); return nil }

// Describe is the package's own method on the generated tree type.
func (t *Scope) Describe() string { return "the tree " + t.Tree().Name() }

func main() {
	tree := NewScope(&String{}, True{}, &Len{}, &Error{}, &alib.Server{}, &blib.Server{})
	c, cancel := stdctx.WithCancel(stdctx.Background())
	go func() {
		<-tree.Tree().Ready()
		cancel()
	}()
	fmt.Println("run:", tree.Run(c))
	fmt.Println(tree.Describe(), scopeSpec(), time, context, runtime, t+s+err+opts+ctx+children)
	for _, h := range []*arbor.Handle{tree.String(), tree.Error(), tree.Format(), tree.WriteTo(), tree.True()} {
		fmt.Println(h.Path(), h.State())
	}
}
