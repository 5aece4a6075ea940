package runtime_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// isReady reports whether tr's Ready is closed.
func isReady(tr *runtime.Tree) bool {
	select {
	case <-tr.Ready():
		return true
	default:
		return false
	}
}

// TestLeaseStandbyDependents: a child that waits only for a singleton on
// standby (directly, through a chain of after edges, through a nested
// supervisor, or for a nested supervisor that stands by), and what runs
// below such a child, is as well as the singleton itself: it holds up neither Tree.Ready nor Health, which says
// why it waits. Once the lease is held here, they all start.
func TestLeaseStandbyDependents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{Name: "jobs"}},
			{Name: "report", Run: nop, After: []string{"sched"}},
			{Name: "mail", Run: nop, After: []string{"report"}},
			{Name: "n", Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "inner", Run: nop, Lease: &runtime.LeaseSpec{Name: "inner"}},
				{Name: "use", Run: nop, After: []string{"inner"}},
				{Name: "deep", Run: nop, After: []string{"use"}},
			}}},
			{Name: "late", Run: nop, After: []string{"n", "mail"}},
			{Name: "ln", Lease: &runtime.LeaseSpec{Name: "ln"}, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "x", Run: nop},
			}}},
			{Name: "lx", Run: nop, After: []string{"ln"}},
			{Name: "ns", After: []string{"sched"}, Supervisor: &runtime.Spec{Children: []runtime.Child{
				{Name: "z", Run: nop},
			}}},
		}}, runtime.WithLeaser(f))
		var others []runtime.Lease
		for _, name := range []string{"jobs", "inner", "ln"} {
			l, err := f.Acquire(context.Background(), name, time.Second)
			require.NoError(t, err)
			others = append(others, l)
		}
		stop, _ := start(t, tr)
		synctest.Wait()

		assert.True(t, isReady(tr), "a replica on standby is ready")
		h := tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)
		reasons := map[string]string{}
		for _, c := range h.Children {
			assert.True(t, c.OK, "%s: %s %s", c.Path, c.State, c.Reason)
			reasons[c.Path] = c.Reason
		}
		assert.Equal(t, runtime.StateWaiting, status(t, tr, "t/mail").State)
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/n").State, "ready: what it waits for stands by")
		assert.Equal(t, `standby: waiting for sched, which waits for lease "jobs"`, reasons["t/report"])
		assert.Equal(t, `standby: waiting for report, which waits for lease "jobs"`, reasons["t/mail"])
		assert.Equal(t, `standby: waiting for use, which waits for lease "inner"`, reasons["t/n/deep"])
		assert.Equal(t, `standby: waiting for mail, which waits for lease "jobs"`, reasons["t/late"])
		assert.Equal(t, `standby: waiting for ln, which waits for lease "ln"`, reasons["t/lx"])
		assert.Equal(t, `standby: its supervisor t/ns waits for lease "jobs"`, reasons["t/ns/z"])

		for _, l := range others {
			require.NoError(t, l.Release(context.Background()))
		}
		synctest.Wait()
		for _, c := range tr.Snapshot().Children {
			assert.Equal(t, runtime.StateRunning, c.State, c.Path)
		}
		assert.Equal(t, runtime.HealthReady, tr.Health().State)
		require.NoError(t, stop())
	})
}

// TestLeaseStandbyDependentWaitsForMore: a child that waits for a
// singleton on standby and for a sibling that is not ready yet holds the
// tree up until that sibling is ready, and Health names the sibling.
func TestLeaseStandbyDependentWaitsForMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: nop, Lease: &runtime.LeaseSpec{}},
			{Name: "both", Run: nop, After: []string{"sched", "db"}},
			{Name: "next", Run: nop, After: []string{"both"}},
			{Name: "db", Run: warm(time.Second), Ready: &runtime.Ready{Timeout: time.Minute}},
		}}, runtime.WithLeaser(f))
		other, err := f.Acquire(context.Background(), "t/sched", time.Second)
		require.NoError(t, err)
		stop, _ := start(t, tr)
		synctest.Wait()

		assert.False(t, isReady(tr), "both waits for db too")
		h := tr.Health()
		assert.Equal(t, runtime.HealthStarting, h.State)
		assert.Equal(t, "t/both: waiting for db (starting: not ready yet)", h.Reason)
		assert.False(t, h.Children[2].OK, "next waits for both, which waits for db")

		time.Sleep(time.Second)
		synctest.Wait()
		assert.True(t, isReady(tr))
		h = tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)
		assert.Equal(t, `standby: waiting for sched, which waits for lease "t/sched"`, h.Children[1].Reason)

		require.NoError(t, other.Release(context.Background()))
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/next").State)
		require.NoError(t, stop())
	})
}

// TestLeaseStandbyLongChain: a chain of ten thousand children after a
// singleton on standby is ready, and Health says so.
func TestLeaseStandbyLongChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10000
		children := []runtime.Child{{Name: "c0", Run: nop, Lease: &runtime.LeaseSpec{}}}
		for i := 1; i < n; i++ {
			children = append(children, runtime.Child{Name: fmt.Sprintf("c%d", i), Run: nop, After: []string{fmt.Sprintf("c%d", i-1)}})
		}
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: children}, runtime.WithLeaser(f))
		other, err := f.Acquire(context.Background(), "t/c0", time.Second)
		require.NoError(t, err)
		stop, _ := start(t, tr)
		synctest.Wait()
		assert.True(t, isReady(tr))
		h := tr.Health()
		assert.Equal(t, runtime.HealthReady, h.State, h.Reason)
		assert.Equal(t, `standby: waiting for c9998, which waits for lease "t/c0"`, h.Children[n-1].Reason)
		require.NoError(t, other.Release(context.Background()))
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, fmt.Sprintf("t/c%d", n-1)).State)
		require.NoError(t, stop())
	})
}

// TestLeaseStandbyDependentsNoLongerStandBy: once the singleton holds its
// lease here and is starting, what waits for it waits for a child that is
// not ready, as any: a child that waits for it and for another, which
// gets ready meanwhile, holds Tree.Ready up until the singleton is ready.
func TestLeaseStandbyDependentsNoLongerStandBy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeLeaser()
		tr := mustNew(t, runtime.Spec{Name: "t", Children: []runtime.Child{
			{Name: "sched", Run: warm(2 * time.Second), Ready: &runtime.Ready{Timeout: time.Minute}, Lease: &runtime.LeaseSpec{}},
			{Name: "report", Run: nop, After: []string{"sched"}},
			{Name: "db", Run: warm(2 * time.Second), Ready: &runtime.Ready{Timeout: time.Minute}},
			{Name: "late", Run: nop, After: []string{"report", "db"}},
		}}, runtime.WithLeaser(f))
		other, err := f.Acquire(context.Background(), "t/sched", time.Second)
		require.NoError(t, err)
		stop, _ := start(t, tr)
		time.Sleep(time.Second)
		require.NoError(t, other.Release(context.Background()))
		synctest.Wait()
		assert.Equal(t, runtime.StateStarting, status(t, tr, "t/sched").State)

		time.Sleep(1500 * time.Millisecond) // db is ready; sched is not
		synctest.Wait()
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/db").State)
		assert.False(t, isReady(tr), "late waits for report, which waits for sched, starting")
		h := tr.Health()
		assert.Equal(t, runtime.HealthStarting, h.State)
		assert.Equal(t, "t/sched: starting: not ready yet", h.Reason)
		assert.Equal(t, "waiting for report (waiting for the siblings in its after list)", h.Children[3].Reason)

		time.Sleep(time.Second)
		synctest.Wait()
		assert.True(t, isReady(tr))
		assert.Equal(t, runtime.StateRunning, status(t, tr, "t/late").State)
		require.NoError(t, stop())
	})
}
