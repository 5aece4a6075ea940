package runtime_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

type ctxKey struct{}

// seenCtx is what a run function saw of its context once it was cancelled.
type seenCtx struct {
	err, cause         error
	value              any
	derivedErr         error // of a context.WithCancel of it
	derivedCause       error
	afterFuncRan       bool
	deadline           bool
	doneBeforeCancel   bool
	causeBeforeCancel  error
	stringsOfTheAttmpt string
}

// TestAttemptContextBehavesAsCancelCause checks the attempt's context
// against what context.WithCancelCause gives: values of Run's context, no
// deadline, Done and Err once stopped, context.Cause with the supervisor's
// reason, and contexts derived from it cancelled with it, with its cause.
func TestAttemptContextBehavesAsCancelCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan seenCtx, 1)
		run := func(ctx context.Context, a *runtime.Attempt) error {
			var s seenCtx
			_, s.deadline = ctx.Deadline()
			s.causeBeforeCancel = context.Cause(ctx)
			derived, cancel := context.WithCancel(ctx)
			defer cancel()
			after := make(chan struct{})
			stop := context.AfterFunc(ctx, func() { close(after) })
			defer stop()
			select {
			case <-ctx.Done():
				s.doneBeforeCancel = true
			default:
			}
			<-ctx.Done()
			<-derived.Done()
			<-after
			s.afterFuncRan = true
			s.err, s.cause, s.value = ctx.Err(), context.Cause(ctx), ctx.Value(ctxKey{})
			s.derivedErr, s.derivedCause = derived.Err(), context.Cause(derived)
			s.stringsOfTheAttmpt = fmt.Sprint(ctx)
			seen <- s
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "w", Run: run}}})
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		done := make(chan error)
		go func() { done <- tr.Run(ctx) }()
		synctest.Wait()
		h := tr.Handle("t/w")
		require.NoError(t, h.Stop())
		s := <-seen
		cancel()
		require.NoError(t, <-done)

		assert.False(t, s.deadline, "no deadline")
		assert.Nil(t, s.causeBeforeCancel)
		assert.False(t, s.doneBeforeCancel)
		assert.Equal(t, context.Canceled, s.err)
		assert.Equal(t, runtime.ErrStopped, s.cause)
		assert.Equal(t, "v", s.value, "values of Run's context")
		assert.Equal(t, context.Canceled, s.derivedErr)
		assert.Equal(t, runtime.ErrStopped, s.derivedCause, "a derived context has the cause")
		assert.True(t, s.afterFuncRan)
		assert.Contains(t, s.stringsOfTheAttmpt, "t/w")
	})
}

// TestAttemptContextCauses checks context.Cause for each reason a
// supervisor cancels an attempt, also when Done was first asked for after
// the cancellation.
func TestAttemptContextCauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct{ err, cause error }
		stale, late := make(chan seen, 1), make(chan seen, 1)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "stale", Restart: runtime.Temporary, Heartbeat: &runtime.Heartbeat{Timeout: time.Second},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					<-ctx.Done()
					stale <- seen{ctx.Err(), context.Cause(ctx)}
					return nil
				}},
			{Name: "late", Restart: runtime.Temporary, Ready: &runtime.Ready{Timeout: time.Second},
				Run: func(ctx context.Context, a *runtime.Attempt) error {
					time.Sleep(2 * time.Second) // cancelled meanwhile; Done not asked for yet
					<-ctx.Done()
					late <- seen{ctx.Err(), context.Cause(ctx)}
					return nil
				}},
		}})
		stop, _ := start(t, tr)
		assert.Equal(t, seen{context.Canceled, runtime.ErrHeartbeatTimeout}, <-stale)
		assert.Equal(t, seen{context.Canceled, runtime.ErrReadyTimeout}, <-late)
		require.NoError(t, stop())
	})
}

// TestAttemptContextAfterReturn checks that the context of an attempt that
// returned is cancelled with ErrStopped: a goroutine it left behind sees
// it end, as with context.WithCancelCause.
func TestAttemptContextAfterReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		leftover := make(chan context.Context, 1)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "w", Restart: runtime.Temporary,
			Run: func(ctx context.Context, a *runtime.Attempt) error {
				leftover <- ctx
				return nil
			}}}})
		stop, _ := start(t, tr)
		ctx := <-leftover
		synctest.Wait()
		select {
		case <-ctx.Done():
		default:
			t.Fatal("the context of a returned attempt is not done")
		}
		assert.Equal(t, runtime.ErrStopped, context.Cause(ctx))
		require.NoError(t, stop())
	})
}

// TestAttemptContextDerivedNoGoroutine checks that contexts derived from an
// attempt's cost no goroutine each, and that those cancelled before the
// attempt are forgotten, not kept until it ends.
func TestAttemptContextDerivedNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type result struct{ before, during int }
		res := make(chan result, 1)
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "w",
			Run: func(ctx context.Context, a *runtime.Attempt) error {
				before := goruntime.NumGoroutine()
				var cancels []context.CancelFunc
				for range 100 {
					_, cancel := context.WithTimeout(ctx, time.Hour)
					cancels = append(cancels, cancel)
				}
				during := goruntime.NumGoroutine()
				for _, c := range cancels {
					c()
				}
				res <- result{before, during}
				<-ctx.Done()
				return nil
			}}}})
		stop, _ := start(t, tr)
		r := <-res
		// Other tests' goroutines come and go: a goroutine per derived
		// context would add 100.
		assert.Less(t, r.during-r.before, 50, "goroutines while 100 derived contexts live")
		require.NoError(t, stop())
	})
}

// TestAttemptContextDeadline checks a child with a Timeout: its context has
// the deadline, and a stop before it reads as a stop.
func TestAttemptContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct {
			deadline time.Duration
			err      error
			cause    error
		}
		got := make(chan seen, 2)
		t0 := time.Now()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{{Name: "w", Restart: runtime.Transient, Timeout: time.Minute,
			Run: func(ctx context.Context, a *runtime.Attempt) error {
				d, _ := ctx.Deadline()
				<-ctx.Done()
				got <- seen{d.Sub(t0), ctx.Err(), context.Cause(ctx)}
				return nil
			}}}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/w").Stop())
		assert.Equal(t, seen{time.Minute, context.Canceled, runtime.ErrStopped}, <-got)
		require.NoError(t, tr.Handle("t/w").Restart())
		s := <-got // the second attempt runs out of time
		assert.Equal(t, context.DeadlineExceeded, s.err)
		assert.True(t, errors.Is(s.cause, runtime.ErrAttemptTimeout), "cause %v", s.cause)
		require.NoError(t, stop())
	})
}

// TestAttemptContextKilledSubtree: when a nested supervisor is abandoned
// with its parent (a tight root budget), the contexts its workers derived
// from theirs, and a worker's deadline context, are cancelled at once with
// ErrStopped, and Run returns within the budget plus the margin.
func TestAttemptContextKilledSubtree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		causes := make(chan error, 2)
		release := make(chan struct{})
		deaf := func(ctx context.Context, a *runtime.Attempt) error {
			derived, cancel := context.WithCancel(ctx)
			defer cancel()
			<-derived.Done()
			causes <- context.Cause(derived)
			<-release // ignores the cancellation: abandoned
			return nil
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 10 * time.Millisecond, Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "slow", Run: lingering(time.Hour, release)},
				{Name: "w", Run: deaf},
				{Name: "timed", Timeout: time.Hour, Run: deaf},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, stop())
		assert.LessOrEqual(t, time.Since(begin), 10*time.Millisecond+runtime.DeliveryMargin)
		for range 2 {
			assert.Equal(t, runtime.ErrStopped, <-causes)
		}
		var paths []string
		for _, a := range tr.ShutdownReport().Abandoned {
			paths = append(paths, a.Path)
		}
		assert.Subset(t, paths, []string{"t/n/w", "t/n/timed"})
		close(release)
		synctest.Wait()
	})
}

// TestNilAttempt: a run function tested on its own, outside a tree, may
// be given a nil *Attempt; every method then does nothing, or answers
// what an attempt that is not current answers, rather than panic.
func TestNilAttempt(t *testing.T) {
	t.Run("nil", func(t *testing.T) { checkDetachedAttempt(t, nil) })
	// What a test writes as readily as a nil one: it is no attempt of a
	// tree either.
	t.Run("zero", func(t *testing.T) { checkDetachedAttempt(t, new(runtime.Attempt)) })
}

func checkDetachedAttempt(t *testing.T, a *runtime.Attempt) {
	a.Ready()
	a.Beat()
	assert.NotNil(t, a.Logger())
	assert.False(t, a.Current())
	assert.Equal(t, "", a.Path())
	assert.Equal(t, "", a.Name())
	assert.Zero(t, a.Generation())
	assert.Zero(t, a.Number())
	assert.Zero(t, a.Token())
}
