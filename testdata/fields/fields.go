// Package fields is supervised by trees that set every field of the spec.
package fields

import (
	"context"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// A reports readiness and beats.
func A(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			a.Beat()
		}
	}
}

// B runs until cancelled.
func B(ctx context.Context) error { <-ctx.Done(); return nil }

// P is an instance of a pool: it beats like A.
func P(ctx context.Context, a *runtime.Attempt, n int) error { return A(ctx, a) }
