// Package runtime (in directory clash) has the same name as arbor's
// runtime package, which the generated code also imports.
package runtime

import "context"

// Work runs until cancelled.
func Work(ctx context.Context) error { <-ctx.Done(); return nil }

// Pool has the same name as fuzz.Pool and sub.Pool.
type Pool struct{}

// Run runs until cancelled.
func (*Pool) Run(ctx context.Context) error { <-ctx.Done(); return nil }
