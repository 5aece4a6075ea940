package runtime_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestRestartTypes checks OTP's table: which exits restart which child.
func TestRestartTypes(t *testing.T) {
	exits := map[string]func() error{
		"success": func() error { return nil },
		"error":   func() error { return errBoom },
		"panic":   func() error { panic("kaboom") },
	}
	want := map[runtime.Restart]map[string]bool{
		runtime.Permanent: {"success": true, "error": true, "panic": true},
		runtime.Transient: {"success": false, "error": true, "panic": true},
		runtime.Temporary: {"success": false, "error": false, "panic": false},
	}
	for restart, byExit := range want {
		for exit, restarted := range byExit {
			t.Run(fmt.Sprintf("%s/%s", restart, exit), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var starts atomic.Int32
					tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{{
						Name: "a", Restart: restart,
						Run: func(ctx context.Context, a *runtime.Attempt) error {
							if starts.Add(1) > 1 {
								<-ctx.Done()
								return nil
							}
							return exits[exit]()
						},
					}}})
					stop, _ := start(t, tr)
					synctest.Wait()
					st := status(t, tr, "t/a")
					if restarted {
						assert.EqualValues(t, 2, starts.Load())
						assert.Equal(t, runtime.StateRunning, st.State)
						assert.Equal(t, 1, st.Restarts)
					} else {
						assert.EqualValues(t, 1, starts.Load())
						assert.Equal(t, runtime.StateDone, st.State)
						assert.Equal(t, 0, st.Restarts)
					}
					require.NoError(t, stop())
				})
			})
		}
	}
}

func TestDoNotRestartEndsPermanentChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{{
			Name: "a",
			Run: func(ctx context.Context, a *runtime.Attempt) error {
				starts.Add(1)
				return fmt.Errorf("config gone: %w", runtime.ErrDoNotRestart)
			},
		}, {Name: "b", Run: nop}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		st := status(t, tr, "t/a")
		assert.EqualValues(t, 1, starts.Load())
		assert.Equal(t, runtime.StateDone, st.State)
		assert.ErrorIs(t, st.LastError, runtime.ErrDoNotRestart)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/b").State, "siblings are untouched")
		require.NoError(t, stop())
	})
}

func TestPanicIsRecoveredWithStack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{{
			Name: "a", Restart: runtime.Transient,
			Run: func(ctx context.Context, a *runtime.Attempt) error {
				if starts.Add(1) == 1 {
					explode()
				}
				<-ctx.Done()
				return nil
			},
		}}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		exits := rec.of(runtime.EventExited)
		require.Len(t, exits, 1)
		assert.Equal(t, runtime.ExitPanic, exits[0].Exit)
		var pe *runtime.PanicError
		require.ErrorAs(t, exits[0].Err, &pe)
		assert.Equal(t, "kaboom", pe.Value)
		assert.Contains(t, string(pe.Stack), "explode", "the stack is the panicking goroutine's")
		assert.ErrorIs(t, exits[0].Err, runtime.ErrPanic)
		assert.EqualValues(t, 2, starts.Load(), "a panic is a failure: transient restarts")
		require.NoError(t, stop())
	})
}

func explode() { panic("kaboom") }

func TestPanicWithErrorValueUnwraps(t *testing.T) {
	err := &runtime.PanicError{Value: errBoom}
	assert.ErrorIs(t, err, errBoom)
	assert.ErrorIs(t, err, runtime.ErrPanic)
}

func TestGoexitIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{{
			Name: "a", Restart: runtime.Transient,
			Run: func(ctx context.Context, a *runtime.Attempt) error {
				if starts.Add(1) == 1 {
					goruntime.Goexit() // as t.FailNow would in a test helper
				}
				<-ctx.Done()
				return nil
			},
		}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.EqualValues(t, 2, starts.Load())
		require.NoError(t, stop())
	})
}

// TestAttemptIdentity checks what an attempt knows about itself and that
// attempt numbers restart after a stable period.
func TestAttemptIdentity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type id struct {
			path string
			gen  uint64
			num  int
		}
		ids := make(chan id, 10)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{
			Name:    "a",
			Backoff: &runtime.Backoff{Initial: time.Second, Max: time.Second, ResetAfter: time.Minute},
			Run: func(ctx context.Context, a *runtime.Attempt) error {
				ids <- id{a.Path(), a.Generation(), a.Number()}
				assert.Equal(t, "a", a.Name())
				assert.True(t, a.Current())
				if a.Generation() == 2 {
					time.Sleep(2 * time.Minute) // stays up past ResetAfter
				}
				if a.Generation() == 4 {
					<-ctx.Done()
					return nil
				}
				return errBoom
			},
		}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		time.Sleep(5 * time.Minute)
		require.NoError(t, stop())
		close(ids)
		var got []id
		for i := range ids {
			got = append(got, i)
		}
		assert.Equal(t, []id{{"t/a", 1, 1}, {"t/a", 2, 2}, {"t/a", 3, 2}, {"t/a", 4, 3}}, got)
	})
}

// TestAttemptNumberCountsOwnExits: the attempt number is the backoff's n,
// which only the child's own exits advance, as the README's Introspection
// says: a rest_for_one restart for the failure of the child before it, and
// an operator's Restart, leave it as it was.
func TestAttemptNumberCountsOwnExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fails atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "fetch", Run: func(ctx context.Context, a *runtime.Attempt) error {
				if fails.Add(1) <= 2 {
					return errBoom
				}
				<-ctx.Done()
				return nil
			}},
			{Name: "parse", Run: nop},
		}})
		stop, _ := start(t, tr)
		time.Sleep(time.Minute)
		synctest.Wait()
		fetch, parse := status(t, tr, "t/fetch"), status(t, tr, "t/parse")
		assert.Equal(t, []any{uint64(3), 3, 2}, []any{fetch.Generation, fetch.Attempt, fetch.Restarts}, "fetch")
		assert.Equal(t, []any{uint64(3), 1, 2}, []any{parse.Generation, parse.Attempt, parse.Restarts}, "parse")

		require.NoError(t, tr.Handle("t/parse").Restart())
		synctest.Wait()
		parse = status(t, tr, "t/parse")
		assert.Equal(t, []any{uint64(4), 1, 3}, []any{parse.Generation, parse.Attempt, parse.Restarts}, "parse after Restart")
		require.NoError(t, stop())
	})
}

func TestErrorsCarryContext(t *testing.T) {
	err := &runtime.ChildError{Path: "t/a", Generation: 3, Attempt: 2, Exit: runtime.ExitError, Err: errBoom}
	assert.Equal(t, "t/a (generation 3, attempt 2): error: boom", err.Error())
	assert.True(t, errors.Is(err, errBoom))
	// A panic's error says "panic: " itself: once is enough.
	err = &runtime.ChildError{Path: "t/a", Generation: 3, Attempt: 2, Exit: runtime.ExitPanic, Err: &runtime.PanicError{Value: "oops"}}
	assert.Equal(t, "t/a (generation 3, attempt 2): panic: oops", err.Error())
}
