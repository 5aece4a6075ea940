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

func TestZZGroupWhileWaiting(t *testing.T) {
	for _, strategy := range []runtime.Strategy{runtime.OneForAll, runtime.RestForOne} {
		t.Run(string(strategy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				var apiStarts, dbStarts atomic.Int32
				other := newPuppet()
				tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategy, Backoff: constBackoff(time.Second), Children: []runtime.Child{
					{Name: "other", Run: other.run},
					{Name: "db", Ready: &runtime.Ready{}, Run: func(ctx context.Context, a *runtime.Attempt) error {
						dbStarts.Add(1)
						select {
						case <-time.After(10 * time.Second):
							a.Ready()
						case <-ctx.Done():
							return nil
						}
						<-ctx.Done()
						return nil
					}},
					{Name: "api", After: []string{"db"}, Run: func(ctx context.Context, a *runtime.Attempt) error {
						apiStarts.Add(1)
						<-ctx.Done()
						return nil
					}},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				time.Sleep(time.Second)
				synctest.Wait()
				require.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State)
				other.end(errBoom)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				assert.Zero(t, apiStarts.Load(), "api waits for the new db")
				assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/api").State)
				assert.EqualValues(t, 2, dbStarts.Load())
				time.Sleep(10 * time.Second)
				synctest.Wait()
				assert.EqualValues(t, 1, apiStarts.Load())
				assert.Equal(t, runtime.StateRunning, status(t, tr, "t/api").State)
				assert.Equal(t, runtime.HealthReady, tr.Health().State)
				t.Log(rec.trace())
				require.NoError(t, stop())
			})
		})
	}
}
