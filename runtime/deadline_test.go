package runtime_test

// Deadlines from the point of view of an attempt that met them: what it did
// before a deadline passed decides its exit, however late its supervisor
// gets to the deadline.

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

// TestDeadlineAfterReturnIsNoFault: a transient child returns nil 50ms into
// its 100ms deadline (a ready timeout, a heartbeat of 20ms it kept until
// then, an attempt timeout) while its supervisor is held up elsewhere, until
// the deadline has passed. It completed in time: it is done, not stopped
// for a missed deadline and restarted as a failure.
func TestDeadlineAfterReturnIsNoFault(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*runtime.Child)
	}{
		{"ready", func(c *runtime.Child) { c.Ready = &runtime.Ready{Timeout: 100 * time.Millisecond} }},
		{"heartbeat", func(c *runtime.Child) { c.Heartbeat = &runtime.Heartbeat{Timeout: 20 * time.Millisecond} }},
		{"timeout", func(c *runtime.Child) { c.Timeout = 100 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hold := make(chan struct{})
				var armed, held atomic.Bool
				runtime.SetTestHook(func(path string) {
					if path == "t" && armed.Load() && held.CompareAndSwap(false, true) {
						<-hold // the root is busy with an order
					}
				})
				defer runtime.SetTestHook(nil)
				c := runtime.Child{Name: "c", Restart: runtime.Transient, Backoff: constBackoff(time.Hour),
					Run: func(ctx context.Context, a *runtime.Attempt) error {
						for range 10 {
							a.Beat()
							time.Sleep(5 * time.Millisecond)
						}
						return nil // 50ms in: its work is done
					}}
				tc.set(&c)
				rec := &recorder{}
				tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
					c, {Name: "other", Run: nop},
				}}, runtime.WithObserver(rec.observe))
				stop, _ := start(t, tr)
				synctest.Wait()
				armed.Store(true)
				require.NoError(t, tr.Handle("t/other").Restart())
				time.Sleep(150 * time.Millisecond) // c returns at 50ms; its deadline passes at 100ms
				close(hold)
				synctest.Wait()
				st := status(t, tr, "t/c")
				assert.Equal(t, runtime.StateDone, st.State, "c returned nil in time: %+v", st)
				assert.Equal(t, runtime.ExitSuccess, st.LastExit)
				assert.NoError(t, st.LastError)
				assert.Empty(t, rec.of(runtime.EventRestartScheduled))
				require.NoError(t, stop())
			})
		})
	}
}
