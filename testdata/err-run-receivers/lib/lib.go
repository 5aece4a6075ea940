// Package lib is dot-imported by the spec's package.
package lib

import "context"

// Work runs until cancelled.
func Work(ctx context.Context) error { <-ctx.Done(); return nil }

// Pool has a method.
type Pool struct{}

// Run runs until cancelled.
func (*Pool) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Generic is a generic alias of another package.
type Generic[T any] = Box[T]

// Box is generic.
type Box[T any] struct{ v T }

// Run runs until cancelled.
func (*Box[T]) Run(ctx context.Context) error { <-ctx.Done(); return nil }
