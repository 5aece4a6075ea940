// Package tools is a package outside the spec's own.
package tools

import "context"

// Lint runs until cancelled.
func Lint(ctx context.Context) error { <-ctx.Done(); return nil }

// Formatter is a receiver from another package.
type Formatter struct{}

// Run runs until cancelled.
func (*Formatter) Run(ctx context.Context) error { <-ctx.Done(); return nil }
