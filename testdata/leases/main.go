// Command leases runs its tree twice, as two replicas sharing an
// in-memory lease store: each singleton runs in one replica, the other
// stands by, and takes over with a larger token when the first stops.
package main

//go:generate go tool arbor gen

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// out carries what the singletons report, so that main prints it in order.
var out = make(chan string, 16)

func report(ctx context.Context, s string) {
	select {
	case out <- s:
	case <-ctx.Done():
	}
}

// Serve runs in every replica.
func Serve(ctx context.Context) error { <-ctx.Done(); return nil }

// Cron runs in one replica at a time.
func Cron(ctx context.Context, a *runtime.Attempt) error {
	report(ctx, fmt.Sprintf("%s runs with token %d", a.Path(), a.Token()))
	<-ctx.Done()
	return nil
}

// Step runs under its supervisor's lease, and with its token.
func Step(ctx context.Context, a *runtime.Attempt) error {
	report(ctx, fmt.Sprintf("%s runs with token %d", a.Path(), a.Token()))
	<-ctx.Done()
	return nil
}

// store is an in-memory lease store: one holder per name, and a token
// per name that grows with every holder.
type store struct {
	mu    sync.Mutex
	token map[string]uint64
	held  map[string]bool
	free  chan struct{}
}

type lease struct {
	s     *store
	name  string
	token uint64
}

func (s *store) Acquire(ctx context.Context, name string, ttl time.Duration) (runtime.Lease, error) {
	for {
		s.mu.Lock()
		if !s.held[name] {
			s.held[name] = true
			s.token[name]++
			l := &lease{s, name, s.token[name]}
			s.mu.Unlock()
			return l, nil
		}
		free := s.free
		s.mu.Unlock()
		select {
		case <-free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *lease) Token() uint64         { return l.token }
func (l *lease) Lost() <-chan struct{} { return nil }

func (l *lease) Release(context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	delete(l.s.held, l.name)
	close(l.s.free)
	l.s.free = make(chan struct{})
	return nil
}

// printSorted prints the reports of replica r in an order that does not
// depend on which singleton started first.
func printSorted(r string, reports ...string) {
	slices.Sort(reports)
	for _, s := range reports {
		fmt.Printf("%s: %s\n", r, s)
	}
}

func main() {
	func() {
		defer func() { fmt.Println("without a Leaser:", recover()) }()
		NewJobs()
	}()

	s := &store{token: map[string]uint64{}, held: map[string]bool{}, free: make(chan struct{})}
	a, b := NewJobs(runtime.WithLeaser(s)), NewJobs(runtime.WithLeaser(s))
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan error)
	go func() { doneA <- a.Run(ctxA) }()
	printSorted("a", <-out, <-out)

	ctxB, stopB := context.WithCancel(context.Background())
	doneB := make(chan error)
	go func() { doneB <- b.Run(ctxB) }()
	<-b.Tree().Ready()
	for _, c := range b.Tree().Snapshot().Children {
		fmt.Printf("b: %s %s\n", c.Path, c.State)
	}
	fmt.Println("b:", b.Tree().Health().State)

	stopA()
	fmt.Println("a stopped:", <-doneA)
	printSorted("b", <-out, <-out)
	stopB()
	fmt.Println("b stopped:", <-doneB)
}
