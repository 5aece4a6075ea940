package runtime_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

func TestHandleRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: constBackoff(time.Hour),
			RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour}, // any failure would give up
			Children: []runtime.Child{
				{Name: "a", Run: lingering(time.Second, nil)},
				{Name: "once", Run: nop, Restart: runtime.Temporary},
			}})
		h := tr.Handle("t/a")
		assert.ErrorIs(t, h.Restart(), runtime.ErrNotRunning, "before Run")
		stop, done := start(t, tr)
		synctest.Wait()

		require.NoError(t, h.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateStopping, h.State(), "the old attempt gets its grace")
		time.Sleep(time.Second)
		synctest.Wait()
		st := h.Status()
		assert.Equal(t, runtime.StateRunning, st.State)
		assert.Equal(t, uint64(2), st.Generation)
		assert.Equal(t, 1, st.Restarts)
		select {
		case err := <-done:
			t.Fatalf("a restart by hand counted against the limit: %v", err)
		default:
		}

		// A temporary child that ended for good runs again when asked.
		once := tr.Handle("t/once")
		require.NoError(t, once.Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, once.State())
		require.NoError(t, once.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, once.State())
		assert.Equal(t, uint64(2), once.Status().Generation)

		require.NoError(t, stop())
		assert.ErrorIs(t, h.Restart(), runtime.ErrTreeEnded)
	})
}

func TestHandleStopHoldsThePermanentChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Backoff: noBackoff, Children: []runtime.Child{
			{Name: "db", Run: nop},
			{Name: "api", Run: nop, After: []string{"db"}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		db := tr.Handle("t/db")
		require.NoError(t, db.Stop())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, runtime.StateStopped, db.State(), "not restarted, though permanent")
		assert.Equal(t, runtime.StateRunning, tr.Handle("t/api").State(), "after orders; it does not stop")
		assert.Equal(t, runtime.HealthDegraded, tr.Health().State)
		assert.Equal(t, []string{"db stopped"}, rec.trace(runtime.EventStopped))

		require.NoError(t, db.Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, db.State())
		assert.Equal(t, runtime.HealthReady, tr.Health().State)
		require.NoError(t, stop())
	})
}

func TestHandleRestartWithinGroupRestartIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := make(chan struct{})
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.OneForAll, Backoff: constBackoff(time.Second), Children: []runtime.Child{
			{Name: "a", Run: failing(fail)},
			{Name: "b", Run: nop},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		close(fail)
		synctest.Wait()
		require.Equal(t, runtime.StateBackoff, tr.Handle("t/b").State())
		require.NoError(t, tr.Handle("t/b").Restart())
		synctest.Wait()
		assert.Equal(t, runtime.StateBackoff, tr.Handle("t/b").State(), "the group restart decides")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, uint64(2), tr.Handle("t/b").Status().Generation, "started once, not twice")
		require.NoError(t, stop())
	})
}

func TestHandleOnStoppedNestedSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Restart: runtime.Temporary, Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "x", Run: nop}}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/n").Stop())
		synctest.Wait()
		assert.ErrorIs(t, tr.Handle("t/n/x").Restart(), runtime.ErrNotRunning)
		require.NoError(t, stop())
	})
}
