package runtime_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// TestLongAfterChainKeepsTheStackShallow: children that each start after
// the one before, the first reporting readiness. Once it is ready, each of
// the others can start and is ready at once: the supervisor starts them
// one after another, on a stack that does not grow with the chain. A
// recursion per child would take about 700 bytes a link: a fatal stack
// overflow at a chain of about 1.5M under Go's 1 GB limit (here, under a
// 1 MB one, at 3000), and every collection scanning it meanwhile.
func TestLongAfterChainKeepsTheStackShallow(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(1 << 20))
	const n = 3000
	children := make([]runtime.Child, n)
	for i := range children {
		children[i] = runtime.Child{Name: fmt.Sprintf("c%d", i), Run: nop}
		if i > 0 {
			children[i].After = []string{children[i-1].Name}
		}
	}
	children[0].Ready = &runtime.Ready{}
	children[0].Run = func(ctx context.Context, a *runtime.Attempt) error {
		a.Ready() // its dependents wait until now
		<-ctx.Done()
		return nil
	}
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, runtime.Spec{Name: "t", Children: children})
		stop, _ := start(t, tr)
		<-tr.Ready()
		require.Equal(t, runtime.StateRunning, status(t, tr, fmt.Sprintf("t/c%d", n-1)).State)
		require.NoError(t, stop())
	})
}
