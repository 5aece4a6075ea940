package runtime_test

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// Round 27: OTP's supervisor_SUITE and suture v4's tests, translated where
// the earlier peers_* files leave off: orders while a supervisor stops,
// to singletons on standby, and from inside the tree.

// TestS27RestartUnderAStopNotYetSeen: OTP's restart_child while the
// supervisor is being terminated by its own parent. Once a parent has
// cancelled a nested supervisor or a pool (the snapshot shows it
// stopping), a restart of a child below it would be dropped, or stopped
// soon after, even if that supervisor, held up elsewhere, has not taken
// its cancellation yet: Restart refuses it with ErrNotRunning, as it does
// once that supervisor stops, and the child is not restarted.
func TestS27RestartUnderAStopNotYetSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "x", Run: nop},
				{Name: "y", Run: nop},
				{Name: "m", Supervisor: &runtime.Spec{Children: []runtime.Child{{Name: "w", Run: nop}}}},
			}}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()

		arm, release := holdOnce(t, "t/n")
		arm()
		require.NoError(t, tr.Handle("t/n/y").Stop()) // n takes it, and is held there
		synctest.Wait()
		require.NoError(t, tr.Handle("t/n").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/n").State)
		err := tr.Handle("t/n/x").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n, the supervisor of t/n/x, is stopping")
		err = tr.Handle("t/n/m/w").Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/n is stopping, and t/n/m/w with it")
		assert.NoError(t, tr.Handle("t/n/x").Stop(), "a stop is taken, and changes nothing")
		release()
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, status(t, tr, "t/n").State)
		assert.Equal(t, uint64(1), status(t, tr, "t/n/x").Generation, "x was not restarted")
		assert.Equal(t, uint64(1), status(t, tr, "t/n/m/w").Generation, "w was not restarted")
		require.NoError(t, stop())
	})
}

// TestS27RestartOfAnInstanceUnderAStopNotYetSeen: the same for an instance
// of a pool its parent has cancelled.
func TestS27RestartOfAnInstanceUnderAStopNotYetSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "p", Pool: &runtime.PoolSpec{}},
		}})
		stop, _ := start(t, tr)
		synctest.Wait()
		h, err := tr.Pool("t/p").Start("a", nop)
		require.NoError(t, err)
		synctest.Wait()

		arm, release := holdOnce(t, "t/p")
		arm()
		_, err = tr.Pool("t/p").Start("b", nop) // the pool takes it, and is held there
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/p").Stop())
		synctest.Wait()
		require.Equal(t, runtime.StateStopping, status(t, tr, "t/p").State)
		err = h.Restart()
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
		assert.EqualError(t, err, "arbor: supervisor is not running: t/p, the supervisor of t/p/a, is stopping")
		release()
		synctest.Wait()
		require.Equal(t, runtime.StateStopped, status(t, tr, "t/p").State)
		require.NoError(t, stop())
	})
}
