// Package sub declares a run function that another package's spec names.
package sub

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
)

// Spin is checked when this package is analyzed, without the
// requirements of the child that names it elsewhere: not for ready.
func Spin(ctx context.Context, a *runtime.Attempt) error { // want `^Spin never uses its context`
	for {
	}
}
