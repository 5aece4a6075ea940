package p

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
)

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }

// Reporting can call Ready and Beat.
func Reporting(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// Pool has a pointer method.
type Pool struct{}

// Run runs until cancelled.
func (p *Pool) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// WrongArgs takes the wrong parameters.
func WrongArgs(ctx context.Context, n int) error { return nil }

// NoError returns nothing.
func NoError(ctx context.Context) {}

// Generic has a type parameter.
func Generic[T any](ctx context.Context) error { return nil }

// NotAFunc is a variable.
var NotAFunc = Idle

func unexported(ctx context.Context) error { return nil }

var _ = unexported
var _ = NewT // the package does not compile before generation: that is fine
