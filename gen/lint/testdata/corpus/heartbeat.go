package corpus

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Beating serves HTTP while a goroutine beats, stopping with the context.
func Beating(ctx context.Context, a *runtime.Attempt) error {
	go beatEvery(ctx, a, time.Second)
	srv := &http.Server{Addr: "localhost:0"}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	a.Ready()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func beatEvery(ctx context.Context, a *runtime.Attempt, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Beat()
		}
	}
}

// Requests beats once per request handled.
func Requests(ctx context.Context, a *runtime.Attempt) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.Beat()
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Addr: "localhost:0", Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	a.Ready()
	err := srv.ListenAndServe()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Steps beats from the step it calls in its loop.
type Steps struct{ n int }

func (s *Steps) Run(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	for {
		if err := s.step(ctx, a); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

func (s *Steps) step(ctx context.Context, a *runtime.Attempt) error {
	defer a.Beat()
	s.n++
	return sleepCtx(ctx, 100*time.Millisecond)
}

// Generation logs who it is and beats.
func Generation(ctx context.Context, a *runtime.Attempt) error {
	log := a.Logger().With("generation", a.Generation(), "attempt", a.Number())
	log.Info("starting", "path", a.Path())
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping", "cause", context.Cause(ctx))
			return nil
		case <-t.C:
			if !a.Current() {
				return nil
			}
			a.Beat()
		}
	}
}
