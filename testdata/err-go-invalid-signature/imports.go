package p

import (
	"context"

	gone "github.com/arbor-go/arbor/testdata/err-go-invalid-signature/missing"
	"github.com/arbor-go/arbor/testdata/err-go-invalid-signature/nowhere"
)

// Import takes a type of a package that is not there: its error is at
// the import, and the signature has none of its own.
func Import(ctx context.Context, conn gone.Conn) error { return nil }

// ImportResult returns one.
func ImportResult(ctx context.Context) nowhere.Error { return nil }
