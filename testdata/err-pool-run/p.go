package p

import (
	"context"
	"net"
	"sync"

	"github.com/arbor-go/arbor/runtime"
)

// Idle takes no argument.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }

// Reporting takes the attempt, but no argument.
func Reporting(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// Two takes two arguments.
func Two(ctx context.Context, conn net.Conn, n int) error { return nil }

// AttemptTwo takes the attempt and two arguments.
func AttemptTwo(ctx context.Context, a *runtime.Attempt, conn net.Conn, n int) error { return nil }

// Variadic takes any number of arguments.
func Variadic(ctx context.Context, conns ...net.Conn) error { return nil }

// Serve takes an argument, as a pool's run does.
func Serve(ctx context.Context, conn net.Conn) error { return nil }

// ServeReporting takes the attempt and an argument, as a pool's run does.
func ServeReporting(ctx context.Context, a *runtime.Attempt, conn net.Conn) error { return nil }

// NoErrorPool returns nothing.
func NoErrorPool(ctx context.Context, a *runtime.Attempt, conn net.Conn) {}

// ByValuePool takes the attempt by value.
func ByValuePool(ctx context.Context, a runtime.Attempt, conn net.Conn) error { return nil }

// ByValue takes the attempt by value, and no argument.
func ByValue(ctx context.Context, a runtime.Attempt) error { return nil }

// Broken takes a type that is not declared.
func Broken(ctx context.Context, c Undeclared) error { return nil }

// Box holds a lock.
type Box struct {
	mu sync.Mutex
	n  int
}

// Locked takes a value that holds a lock, which Start would copy.
func Locked(ctx context.Context, b Box) error { return nil }

// Waits takes a sync.WaitGroup by value.
func Waits(ctx context.Context, a *runtime.Attempt, wg sync.WaitGroup) error { return nil }

// LockedPtr takes a pointer to it: nothing is copied.
func LockedPtr(ctx context.Context, b *Box) error { return nil }

// Constraint takes a constraint interface, which is no type of a value:
// its types are all valid, but it does not compile.
func Constraint(ctx context.Context, key interface{ comparable }) error { return nil }
