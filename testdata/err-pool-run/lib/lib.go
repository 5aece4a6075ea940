// Package lib has run functions whose argument types another package
// cannot write.
package lib

import (
	"context"

	"github.com/arbor-go/arbor/testdata/err-pool-run/lib/internal/secret"
)

type hidden struct{}

// Hidden takes an unexported type.
func Hidden(ctx context.Context, h *hidden) error { return nil }

// Secret takes a type of an internal package.
func Secret(ctx context.Context, k secret.Key) error { return nil }

// Anonymous takes a struct with an unexported field.
func Anonymous(ctx context.Context, v struct{ n int }) error { return nil }

// Embedded takes a struct whose embedded field is named error, a name this
// package's struct type keeps for itself as it keeps n above.
func Embedded(ctx context.Context, v struct{ error }) error { return nil }
