package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/probe"
)

// Store is the shop's database: it needs a warm-up before it is ready.
type Store struct{}

// Run warms up, reports ready, and serves until cancelled.
func (s *Store) Run(ctx context.Context, a *runtime.Attempt) error {
	if err := sleep(ctx, 500*time.Millisecond); err != nil { // loading the catalogue
		return err
	}
	a.Ready()
	<-ctx.Done()
	return nil
}

// API serves the shop, and the tree's health for Kubernetes, on Addr.
type API struct {
	Addr string
	Tree *runtime.Tree
	url  atomic.Pointer[string]
}

// Serve listens, reports ready, and serves until cancelled.
func (api *API) Serve(ctx context.Context, a *runtime.Attempt) error {
	ln, err := net.Listen("tcp", api.Addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/livez", probe.Handler(api.Tree))
	mux.Handle("/readyz", probe.Handler(api.Tree))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "welcome to the shop\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	url := "http://" + ln.Addr().String()
	api.url.Store(&url)
	a.Ready()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Monitor reads /readyz every second and prints what changed, as a
// Kubernetes readiness probe would see it.
func (api *API) Monitor(ctx context.Context) error {
	last := ""
	for {
		if err := sleep(ctx, time.Second); err != nil {
			return nil
		}
		url := api.url.Load()
		if url == nil {
			continue
		}
		resp, err := http.Get(*url + "/readyz")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		line := fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		if line != last {
			fmt.Printf("        GET /readyz -> %s\n", line)
			last = line
		}
	}
}

// Pipeline is the ingest pipeline: fetch, parse and index.
type Pipeline struct{}

// Fetch pulls batches; now and then the upstream drops the connection.
func (p *Pipeline) Fetch(ctx context.Context) error {
	if err := sleep(ctx, time.Duration(2000+rand.IntN(3000))*time.Millisecond); err != nil {
		return nil
	}
	return errors.New("upstream: connection reset")
}

// Parse turns batches into documents.
func (p *Pipeline) Parse(ctx context.Context) error { <-ctx.Done(); return nil }

// Index writes documents to the store.
func (p *Pipeline) Index(ctx context.Context) error { <-ctx.Done(); return nil }

// Worker processes jobs, beating between them. Sometimes a job hangs.
type Worker struct{}

// Run beats every 100ms until a job hangs; the watchdog then cancels it.
func (w *Worker) Run(ctx context.Context, a *runtime.Attempt) error {
	hangAt := time.Now().Add(time.Duration(1500+rand.IntN(2500)) * time.Millisecond)
	for {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		if time.Now().After(hangAt) {
			<-ctx.Done() // a stuck job: no more beats
			return ctx.Err()
		}
		a.Beat()
	}
}

// Migrate runs once at start-up. When it is done, its supervisor is too.
func Migrate(ctx context.Context) error {
	if err := sleep(ctx, 1200*time.Millisecond); err != nil {
		return err
	}
	fmt.Println("        migrate: schema is up to date")
	return nil
}

// Progress reports on the migration until its supervisor stops it.
func Progress(ctx context.Context) error { <-ctx.Done(); return nil }

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
