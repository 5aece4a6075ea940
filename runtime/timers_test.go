package runtime_test

import (
	"context"
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
