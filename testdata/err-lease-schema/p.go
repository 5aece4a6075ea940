package p

import "context"

// Idle waits for its cancellation.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }
