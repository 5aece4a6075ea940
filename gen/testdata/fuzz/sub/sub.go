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

var _ = unexported
