// Command nilrecv builds trees whose run methods' receivers are nil and
// runs each: the child's attempt fails with a nil dereference, and the
// tree gives up naming it.
package main

//go:generate go tool arbor gen

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-go/arbor/runtime"
)

// Runner is an interface receiver.
type Runner interface {
	Run(ctx context.Context) error
}

// Inner has a method with a value receiver.
type Inner struct{ name string }

// Run returns at once.
func (i Inner) Run(ctx context.Context) error { return nil }

// Outer promotes Inner's Run through a pointer.
type Outer struct{ *Inner }

// Clock has a method with a value receiver.
type Clock struct{ name string }

// Tick returns at once.
func (c Clock) Tick(ctx context.Context) error { return nil }

// report runs a tree and says how it ended.
func report(name string, run func(context.Context) error) {
	err := run(context.Background())
	var ce *runtime.ChildError
	fmt.Printf("%s: panic %t, child %t\n", name, errors.Is(err, runtime.ErrPanic), errors.As(err, &ce))
	if ce != nil {
		fmt.Println("  at", ce.Path)
	}
}

func main() {
	report("iface", NewIface(nil).Run)
	report("embedded", NewEmbedded(Outer{}).Run)
	report("value", NewValue(nil).Run)
}
