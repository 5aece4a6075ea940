package p

import "context"

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }
