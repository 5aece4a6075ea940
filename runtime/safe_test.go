package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// Errors a careless or hostile child may hand the runtime.
type (
	panicIs    struct{}            // its Is method panics
	panicError struct{}            // its Error method panics, with itself
	nilDeref   struct{ s *string } // a typed nil *nilDeref panics in Error
	loopError  struct{}            // Unwrap returns itself, forever
)

func (panicIs) Error() string      { return "panicIs" }
func (panicIs) Is(error) bool      { panic("Is panicked") }
func (panicError) Error() string   { panic(panicError{}) }
func (e *nilDeref) Error() string  { return *e.s }
func (*loopError) Error() string   { return "loop" }
func (e *loopError) Unwrap() error { return e }

// TestUserValuesNeverCrash: whatever a run function returns or panics
// with, the runtime survives it, logs it and treats it as a failure of that
// child.
func TestUserValuesNeverCrash(t *testing.T) {
	var typedNil *nilDeref
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"Is panics", func() error { return panicIs{} }},
		{"panic with an error whose Is panics", func() error { panic(panicIs{}) }},
		{"typed nil", func() error { return typedNil }},
		{"Error panics with itself", func() error { return panicError{} }},
		{"panic with an error whose Error panics", func() error { panic(panicError{}) }},
		{"Unwrap loops", func() error { return &loopError{} }},
		{"wrapped Is panics", func() error { return errors.Join(errBoom, panicIs{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs syncBuffer
				rec := &recorder{}
				var starts atomic.Int32
				tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff,
					RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
					Children: []runtime.Child{{Name: "a", Run: func(ctx context.Context, a *runtime.Attempt) error {
						if starts.Add(1) > 2 {
							<-ctx.Done()
							return nil
						}
						return tc.run()
					}}}},
					runtime.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
					runtime.WithObserver(func(e runtime.Event) {
						_ = e.String()
						rec.observe(e)
					}))
				stop, done := start(t, tr)
				synctest.Wait()
				err := <-done
				var gu *runtime.GiveUpError
				require.ErrorAs(t, err, &gu, "two failures exceed a limit of one")
				assert.Equal(t, "t/a", gu.Child)
				assert.Contains(t, err.Error(), "t/a (generation 2, attempt 2)")
				assert.Equal(t, runtime.HealthFailed, tr.Health().State)
				assert.NotEmpty(t, tr.Health().Reason)
				assert.Len(t, rec.of(runtime.EventExited), 2)
				for _, e := range rec.of(runtime.EventExited) {
					assert.True(t, e.Exit.Failure(), "%v", e.Exit)
				}
				assert.Contains(t, logs.String(), "gave up")
				assert.Equal(t, err, stop())
			})
		})
	}
}

// TestPanickingObserverIsContained: an observer that panics neither ends
// the process nor stops the events that follow.
func TestPanickingObserverIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "a", Run: nop}}},
			runtime.WithObserver(func(e runtime.Event) {
				seen.Add(1)
				panic("observer bug")
			}))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, stop())
		assert.EqualValues(t, 3, seen.Load(), "starting, shutting down, stopped")
	})
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
