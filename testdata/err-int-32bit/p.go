package p

import "context"

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }

// Job runs one job.
func Job(ctx context.Context, n int) error { return nil }
