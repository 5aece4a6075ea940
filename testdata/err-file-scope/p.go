package p

import (
	"context"
	UN "fmt"

	. "github.com/arbor-go/arbor/testdata/err-file-scope/lib"
)

var _ = UN.Sprint

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }

var _ = Helper
