package p

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
	fakectx "github.com/arbor-go/arbor/testdata/err-run-signature/context"
	fakert "github.com/arbor-go/arbor/testdata/err-run-signature/runtime"
)

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }

// Reporting can call Ready and Beat.
func Reporting(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// Pool has a pointer method.
type Pool struct{}

// Run runs until cancelled.
func (p *Pool) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// WrongArgs takes the wrong parameters.
func WrongArgs(ctx context.Context, n int) error { return nil }

// NoError returns nothing.
func NoError(ctx context.Context) {}

// Generic has a type parameter.
func Generic[T any](ctx context.Context) error { return nil }

// Impostor takes a Context of a package named context, not the standard
// library's.
func Impostor(ctx fakectx.Context) error { return nil }

// ImpostorAttempt takes an Attempt of a package named runtime, not Arbor's.
func ImpostorAttempt(ctx context.Context, a *fakert.Attempt) error { return nil }

// TwoResults returns a count too.
func TwoResults(ctx context.Context) (int, error) { return 0, nil }

// ByValue takes the attempt by value.
func ByValue(ctx context.Context, a runtime.Attempt) error { return nil }

// NoContext takes nothing.
func NoContext() error { return nil }

// Failure is an error type.
type Failure struct{}

func (*Failure) Error() string { return "failure" }

// NamedError returns its own error type.
func NamedError(ctx context.Context) *Failure { return nil }

// NotAFunc is a variable.
var NotAFunc = Idle

func unexported(ctx context.Context) error { return nil }

var _ = unexported
var _ = NewT // the package does not compile before generation: that is fine
