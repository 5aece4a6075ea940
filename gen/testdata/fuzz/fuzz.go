// Package fuzz is the Go side of FuzzGenerate: run targets of right and
// wrong signatures, loaded once for every fuzzed spec. It has no .cue file:
// the fuzzer supplies spec.cue in memory.
package fuzz

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"unsafe"

	clashrt "github.com/arbor-go/arbor/gen/testdata/fuzz/clash"
	"github.com/arbor-go/arbor/runtime"
)

// Work is a plain run function.
func Work(ctx context.Context) error { <-ctx.Done(); return nil }

// Serve reports readiness and heartbeats.
func Serve(ctx context.Context, a *runtime.Attempt) error { a.Ready(); <-ctx.Done(); return nil }

// idle is unexported, which the spec's own package may name.
func idle(ctx context.Context) error { <-ctx.Done(); return nil }

// Pool has pointer methods of both accepted signatures.
type Pool struct{}

// Run reports.
func (p *Pool) Run(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	<-ctx.Done()
	return nil
}

// Sync does not report.
func (p *Pool) Sync(ctx context.Context) error { <-ctx.Done(); return nil }

// Clock has a value method.
type Clock struct{}

// Tick runs until cancelled.
func (Clock) Tick(ctx context.Context) error { <-ctx.Done(); return nil }

// Fn is a function type with a method.
type Fn func(context.Context) error

// Run calls f.
func (f Fn) Run(ctx context.Context) error { return f(ctx) }

// Runner is an interface; its method is a valid target too.
type Runner interface {
	Run(ctx context.Context) error
}

// Outer promotes Pool's methods.
type Outer struct{ *Pool }

// Wrong signatures.

// NoError returns nothing.
func NoError(ctx context.Context) {}

// WrongArgs takes the wrong parameters.
func WrongArgs(ctx context.Context, n int) error { return nil }

// Variadic is variadic.
func Variadic(ctx context.Context, a ...*runtime.Attempt) error { return nil }

// TwoResults returns two values.
func TwoResults(ctx context.Context) (int, error) { return 0, nil }

// Generic has a type parameter.
func Generic[T any](ctx context.Context) error { return nil }

// Value is a variable of the right type.
var Value = Work

// Default is a variable that holds a receiver.
var Default = &Pool{}

// Const is a constant.
const Const = 1

// Wrong has methods of the wrong signature.
type Wrong struct{}

// Run takes no context.
func (Wrong) Run() error { return nil }

// Types that are valid receivers to go/types but awkward to name.

// Box is generic: its methods have no type parameters of their own, but
// naming the receiver needs a type argument.
type Box[T any] struct{ v T }

// Run runs until cancelled.
func (b *Box[T]) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// IntBox names an instance of Box: a receiver type like any other.
type IntBox = Box[int]

// PoolAlias is an alias of Pool.
type PoolAlias = Pool

// Server is a receiver whose parameter name, server, is also the name of
// an unexported run function below.
type Server struct{}

// Run runs until cancelled.
func (*Server) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// children is a run function named like the variable that holds a wide
// supervisor's children.
func children(ctx context.Context) error { <-ctx.Done(); return nil }

// server is an unexported run function.
func server(ctx context.Context) error { <-ctx.Done(); return nil }

// Locked holds a lock: a value receiver would copy it.
type Locked struct {
	mu sync.Mutex
	n  int
}

// Run copies the lock (go vet says so here too).
func (l Locked) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Sync does not.
func (l *Locked) Sync(ctx context.Context) error {
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Counter holds an atomic value, which must not be copied either.
type Counter struct{ n atomic.Int64 }

// Run copies the counter.
func (c Counter) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Guarded embeds a pointer to a lock: copying it copies no lock.
type Guarded struct{ mu *sync.Mutex }

// Run does not copy a lock.
func (g Guarded) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Run functions of pools: one argument after the context (and the
// attempt), of every kind of type.

// Handle serves a connection.
func (p *Pool) Handle(ctx context.Context, a *runtime.Attempt, conn net.Conn) error { return nil }

// Tally takes a pointer to a struct that holds an atomic value.
func Tally(ctx context.Context, c *Counter) error { return nil }

// Each takes a composite type.
func Each(ctx context.Context, a *runtime.Attempt, m map[string][]chan<- int) error { return nil }

// Chans takes a channel of receive-only channels.
func Chans(ctx context.Context, c chan (<-chan int)) error { return nil }

// Callback takes a function.
func Callback(ctx context.Context, f func(context.Context, ...string) (int, error)) error { return nil }

// Anon takes a struct and an interface literal.
func Anon(ctx context.Context, v struct {
	A int `json:"a"`
	*Pool
	B interface {
		net.Conn
		M(x int) bool
	}
}) error {
	return nil
}

// Boxed takes an instance of a generic type.
func Boxed(ctx context.Context, b *Box[map[string]Clock]) error { return nil }

// Aliased takes an alias.
func Aliased(ctx context.Context, p *PoolAlias) error { return nil }

// Pointer takes an unsafe.Pointer.
func Pointer(ctx context.Context, p unsafe.Pointer) error { return nil }

// Clashing takes a type of a package named like arbor's runtime.
func Clashing(ctx context.Context, a *runtime.Attempt, p *clashrt.Pool) error { return nil }

// arg is named like the argument of the generated Start.
func arg(ctx context.Context, a *runtime.Attempt, p int) error { return nil }

// p is named like the receiver of the generated Start.
func p(ctx context.Context, name string) error { return nil }

// Any takes an any.
func Any(ctx context.Context, v any) error { return nil }

var (
	_ = arg
	_ = p
	_ = idle
	_ = server
	_ = children
	_ = Box[int]{}.v
)

// RunnerRun is a receiver whose parameter name, runnerRun, is what the
// function that calls Runner's Run at each attempt would be named.
type RunnerRun struct{}

// Run runs until cancelled.
func (*RunnerRun) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// A is an interface receiver whose parameter name, a, is the attempt's
// in the function that calls its Run at each attempt.
type A interface {
	Run(ctx context.Context, a *runtime.Attempt) error
}
