package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Store is a key-value store that needs a moment to warm up.
type Store struct {
	hits atomic.Int64
}

// Run warms the store up, reports it ready, and serves until cancelled.
func (s *Store) Run(ctx context.Context, a *runtime.Attempt) error {
	select {
	case <-time.After(300 * time.Millisecond): // loading the cache
	case <-ctx.Done():
		return ctx.Err()
	}
	a.Ready()
	<-ctx.Done()
	return nil
}

// Get counts a lookup.
func (s *Store) Get() int64 { return s.hits.Add(1) }

// API serves HTTP on Addr. It starts only once the store is ready.
type API struct {
	Addr  string
	Store *Store
}

// Serve listens and serves until cancelled, then shuts the server down.
func (api *API) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", api.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hit %d\n", api.Store.Get())
	})}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Printf("         api listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Work processes jobs and, now and then, crashes: with an error, or with a
// panic that the supervisor recovers.
func Work(ctx context.Context) error {
	crash := time.After(time.Duration(800+rand.IntN(1200)) * time.Millisecond)
	select {
	case <-ctx.Done():
		return nil
	case <-crash:
		if rand.IntN(2) == 0 {
			panic("worker: corrupted job")
		}
		return errors.New("worker: lost connection")
	}
}
