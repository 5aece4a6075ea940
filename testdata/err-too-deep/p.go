package p

import "context"

func W(ctx context.Context) error { <-ctx.Done(); return nil }
