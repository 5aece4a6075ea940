// Package sub is a package other than the spec's own.
package sub

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
)

// Lint runs until cancelled.
func Lint(ctx context.Context) error { <-ctx.Done(); return nil }

// Pool has the same name as fuzz.Pool.
type Pool struct{}

// Run reports.
func (*Pool) Run(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// Formatter is a receiver from another package.
type Formatter struct{}

// Run runs until cancelled.
func (*Formatter) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func unexported(ctx context.Context) error { return nil }

// Task is an argument type of another package.
type Task struct{ ID int }

// Do runs a task: a pool's run.
func Do(ctx context.Context, t Task) error { return nil }

// Take takes a pointer to a type of the spec's package's.
func (*Pool) Take(ctx context.Context, a *runtime.Attempt, t *Task) error { return nil }

type hidden struct{}

// Hidden takes an unexported type.
func Hidden(ctx context.Context, h hidden) error { return nil }

// Fields takes a struct with an unexported field.
func Fields(ctx context.Context, v struct{ n int }) error { return nil }

var _ = unexported
