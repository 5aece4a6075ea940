package p

import (
	"context"
	"sync/atomic"
)

// Atomic takes an atomic.Int64 by value, which Start would copy.
func Atomic(ctx context.Context, n atomic.Int64) error { return nil }
