// Package names has spec names that test Go-name derivation.
package names

import "context"

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }
