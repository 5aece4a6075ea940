package p

import "context"

// Work runs until cancelled.
func Work(ctx context.Context) error { <-ctx.Done(); return nil }
