package p

import (
	"context"

	. "github.com/arbor-go/arbor/testdata/err-run-receivers/lib"
)

var _ = Work // a dot-import: the spec names Work by its package's path

// Box is generic.
type Box[T any] struct{ v T }

// Run runs until cancelled.
func (*Box[T]) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Generic is a generic alias: it names no receiver type without type arguments.
type Generic[T any] = Box[T]

// A has Run.
type A struct{}

// Run runs until cancelled.
func (*A) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// B has Run too.
type B struct{}

// Run runs until cancelled.
func (*B) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Both embeds A and B at the same depth: its Run is ambiguous.
type Both struct {
	*A
	*B
}

// Field has a field of a run function's type, not a method.
type Field struct {
	Run func(context.Context) error
}

// Service is an interface: a pointer to it has no methods.
type Service interface {
	Run(ctx context.Context) error
}
