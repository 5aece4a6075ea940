package runtime_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestGracesEndEachOnTime: attempts stopped at different times with
// different graces are each abandoned when their own grace ends, whichever
// was stopped first, and one that returns within its grace is not.
func TestGracesEndEachOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		returnsAfter := func(d time.Duration) runtime.RunFunc {
			return func(ctx context.Context, _ *runtime.Attempt) error {
				<-ctx.Done()
				time.Sleep(d)
				return nil
			}
		}
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Run: lingering(time.Hour, release), Shutdown: 5 * time.Second},
			{Name: "b", Run: lingering(time.Hour, release), Shutdown: time.Second},
			{Name: "c", Run: lingering(time.Hour, release), Shutdown: 3 * time.Second},
			{Name: "d", Run: returnsAfter(500 * time.Millisecond), Shutdown: 2 * time.Second},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		begin := time.Now()
		require.NoError(t, tr.Handle("t/a").Stop())
		time.Sleep(time.Second)
		for _, name := range []string{"b", "c", "d"} {
			require.NoError(t, tr.Handle("t/"+name).Stop())
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()

		var got []string
		for _, e := range rec.all() {
			if e.Kind == runtime.EventAbandoned || e.Kind == runtime.EventStopped {
				got = append(got, e.Path+" "+e.Kind.String()+" at "+e.Time.Sub(begin).String()+" after "+e.Delay.String())
			}
		}
		assert.Equal(t, []string{
			"t/d stopped at 1.5s after 0s",
			"t/b abandoned at 2s after 1s",
			"t/c abandoned at 4s after 3s",
			"t/a abandoned at 5s after 5s",
		}, got)
		close(release)
		require.NoError(t, stop())
	})
}

// TestTimersOfEveryKindShareTheHeap: a backoff, a ready timeout and a grace,
// all pending in one supervisor at once, each fire at their own time.
func TestTimersOfEveryKindShareTheHeap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		release := make(chan struct{})
		var aStarts atomic.Int32
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "a", Backoff: constBackoff(3 * time.Second), Run: func(ctx context.Context, _ *runtime.Attempt) error {
				if aStarts.Add(1) == 1 {
					return errBoom
				}
				<-ctx.Done()
				return nil
			}},
			{Name: "b", Run: lingering(time.Hour, release), Shutdown: 2 * time.Second},
			{Name: "c", Ready: &runtime.Ready{Timeout: 1500 * time.Millisecond}, Restart: runtime.Temporary, Run: nop},
		}}, runtime.WithObserver(rec.observe))
		begin := time.Now()
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/b").Stop())
		time.Sleep(4 * time.Second)
		synctest.Wait()

		var got []string
		for _, e := range rec.all() {
			switch {
			case e.Kind == runtime.EventStarting && e.Restarts > 0,
				e.Kind == runtime.EventAbandoned,
				e.Kind == runtime.EventExited && e.Exit == runtime.ExitTimeout:
				got = append(got, e.Path+" "+e.Kind.String()+" at "+e.Time.Sub(begin).String())
			}
		}
		assert.Equal(t, []string{
			"t/c exited at 1.5s",
			"t/b abandoned at 2s",
			"t/a starting at 3s",
		}, got)
		close(release)
		require.NoError(t, stop())
	})
}
