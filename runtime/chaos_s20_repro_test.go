package runtime_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
)

// Reductions of what TestChaosLives found, each naming the promise it broke.

// stubbornSubtree returns n nested supervisors of k workers each that
// ignore cancellation until release is closed, and the workers' contexts
// and attempts once started.
func stubbornSubtree(n, k int, release <-chan struct{}) ([]runtime.Child, func() ([]context.Context, []*runtime.Attempt), *sync.WaitGroup) {
	var mu sync.Mutex
	var ctxs []context.Context
	var atts []*runtime.Attempt
	started := new(sync.WaitGroup)
	started.Add(n * k)
	run := func(ctx context.Context, a *runtime.Attempt) error {
		mu.Lock()
		ctxs, atts = append(ctxs, ctx), append(atts, a)
		mu.Unlock()
		started.Done()
		<-release
		return nil
	}
	var kids []runtime.Child
	for i := range n {
		var ws []runtime.Child
		for j := range k {
			ws = append(ws, runtime.Child{Name: fmt.Sprintf("w%d", j), Run: run, Shutdown: time.Hour, Restart: runtime.Temporary})
		}
		kids = append(kids, runtime.Child{Name: fmt.Sprintf("n%d", i), Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: ws}})
	}
	return kids, func() ([]context.Context, []*runtime.Attempt) {
		mu.Lock()
		defer mu.Unlock()
		return append([]context.Context(nil), ctxs...), append([]*runtime.Attempt(nil), atts...)
	}, started
}

// TestStopAndWaitOfKilledSupervisorWaitsForItsSubtree breaks "StopAndWait
// returns once the child's attempt has returned or been abandoned": when
// the child is a nested supervisor abandoned with its parent's subtree
// (killTree, from the goroutine of the supervisor whose budget ran out),
// the parent's killed run ended, and StopAndWait returned, before the kill
// had reached the child's own subtree, whose attempts still ran with live
// contexts and were not yet in ShutdownReport.
func TestStopAndWaitOfKilledSupervisorWaitsForItsSubtree(t *testing.T) {
	synctest.Test(t, testStopAndWaitOfKilledSupervisor)
}

func testStopAndWaitOfKilledSupervisor(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	kids, attempts, started := stubbornSubtree(200, 3, release)
	// p's budget runs out while s waits for c, whose children stop one at
	// a time and do not: p abandons s, and with it c and all below.
	tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Hour, Children: []runtime.Child{
		{Name: "p", Supervisor: &runtime.Spec{Shutdown: 20 * time.Millisecond, Children: []runtime.Child{
			{Name: "s", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "c", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: kids}},
			}}},
		}}},
	}})
	stop, _ := start(t, tr)
	started.Wait()
	waited := make(chan error, 1)
	go func() { waited <- tr.Handle("t/p/s/c").StopAndWait(context.Background()) }()
	synctest.Wait() // c is stopping, held up by its last child
	go stop()
	require.NoError(t, <-waited)
	report := tr.ShutdownReport()
	live, unlisted := 0, 0
	ctxs, _ := attempts()
	for _, ctx := range ctxs {
		if ctx.Err() == nil {
			live++
		}
	}
	listed := map[string]bool{}
	for _, a := range report.Abandoned {
		listed[a.Path] = true
	}
	for i := range 200 {
		for j := range 3 {
			if !listed[fmt.Sprintf("t/p/s/c/n%d/w%d", i, j)] {
				unlisted++
			}
		}
	}
	assert.Zero(t, live, "attempts below t/p/s/c with a live context when StopAndWait returned")
	assert.Zero(t, unlisted, "attempts below t/p/s/c not in ShutdownReport when StopAndWait returned")
}

// TestKilledSubtreeNotCurrentWhenRunReturns breaks "an abandoned attempt is
// detached from its slot": attempts below a nested supervisor abandoned
// when the root's budget ran out were listed in ShutdownReport, but stayed
// their slots' current attempts (Attempt.Current true, Ready and Beat not
// fenced) until their killed supervisor got round to detaching them, which
// could be after Run had returned: here it is busy with an order.
func TestKilledSubtreeNotCurrentWhenRunReturns(t *testing.T) {
	synctest.Test(t, testKilledSubtreeNotCurrent)
}

func testKilledSubtreeNotCurrent(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	kids, attempts, started := stubbornSubtree(1, 3, release)
	tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: 20 * time.Millisecond, Children: []runtime.Child{
		{Name: "c", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: kids}},
	}})
	arm, unhold := holdOnce(t, "t/c/n0")
	defer unhold()
	stop, _ := start(t, tr)
	started.Wait()
	arm()
	require.NoError(t, tr.Handle("t/c/n0/w0").Restart()) // n0 is held up taking it
	synctest.Wait()
	require.NoError(t, stop())
	_, atts := attempts()
	for _, a := range atts {
		assert.False(t, a.Current(), "%s: abandoned, and current when Run returned", a.Path())
		assert.True(t, inReport(tr.ShutdownReport(), a.Path(), a.Generation()), "%s: not in ShutdownReport", a.Path())
	}
}

// TestKillFromAboveWaitsForAnAbandonInProgress breaks "when Run returns,
// every attempt has returned or is listed in ShutdownReport": a nested
// supervisor abandoning a child after its grace had detached it, and not
// yet listed it, when its parent's budget ran out and killed its subtree;
// the kill did not find the detached child, and Run returned before the
// supervisor listed it. Here the supervisor is held up between the two
// steps (found by TestChaosLives through StopAndWait, which returned early
// the same way).
func TestKillFromAboveWaitsForAnAbandonInProgress(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	runtime.SetAbandonHook(func(path string) {
		if path == "t/p/s/w" {
			once.Do(func() { close(held) })
			<-release
		}
	})
	t.Cleanup(func() { runtime.SetAbandonHook(nil) })
	unblock := make(chan struct{})
	defer close(unblock)
	wctx := make(chan context.Context, 1)
	tr := mustNew(t, runtime.Spec{Name: "t", Shutdown: time.Hour, Children: []runtime.Child{
		{Name: "p", Supervisor: &runtime.Spec{Shutdown: 30 * time.Millisecond, Children: []runtime.Child{
			{Name: "s", Supervisor: &runtime.Spec{Shutdown: time.Hour, Children: []runtime.Child{
				{Name: "w", Shutdown: 5 * time.Millisecond, Run: func(ctx context.Context, a *runtime.Attempt) error {
					wctx <- ctx
					<-unblock // past its grace: s abandons it
					return nil
				}},
			}}},
		}}},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	var report runtime.ShutdownReport
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, tr.Run(ctx))
		report = tr.ShutdownReport() // as Run returns
	}()
	<-tr.Ready()
	cancel()
	<-held // s has detached w, and not listed it
	select {
	case <-done: // without the fix: p's kill of s did not wait
	case <-time.After(300 * time.Millisecond): // p's budget has run out long since
	}
	close(release)
	<-done
	assert.Error(t, (<-wctx).Err())
	assert.True(t, inReport(report, "t/p/s/w", 1), "t/p/s/w runs, cancelled, and is not in the report Run left: %+v", report.Abandoned)
}

// TestRestartOfWaitingChildDuringGroupRestartStartsOnce breaks "one attempt
// per slot": a child waiting for its After list that an order restarted
// during a group restart joined the group, but stayed pending, so its
// dependency's readiness started it at once, and the group's restart
// started it again, over the running attempt, which was no longer current
// yet never stopped nor abandoned.
func TestRestartOfWaitingChildDuringGroupRestartStartsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ready := make(chan struct{})
		b := newOverlapping()
		failed := false
		rec := &recorder{}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: runtime.RestForOne, Backoff: constBackoff(50 * time.Millisecond), Children: []runtime.Child{
			{Name: "a", Ready: &runtime.Ready{}, Run: func(ctx context.Context, at *runtime.Attempt) error {
				select {
				case <-ready:
					at.Ready()
				case <-ctx.Done():
				}
				<-ctx.Done()
				return nil
			}},
			{Name: "b", After: []string{"a"}, Run: b.run(0, nil)},
			{Name: "c", Run: func(ctx context.Context, _ *runtime.Attempt) error {
				if !failed {
					failed = true
					return errBoom // rest_for_one: c alone restarts, after 50ms
				}
				<-ctx.Done()
				return nil
			}},
		}}, runtime.WithObserver(rec.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		require.NoError(t, tr.Handle("t/b").Restart()) // b waits for a: it joins the group
		synctest.Wait()
		close(ready) // a is ready: b may start, once
		synctest.Wait()
		time.Sleep(100 * time.Millisecond) // the group restarts
		synctest.Wait()
		n, peak := b.read()
		assert.Equal(t, 1, n, "b's attempts running")
		assert.Equal(t, 1, peak, "b's attempts running at once")
		require.NoError(t, stop())
		var trace []string
		for _, e := range rec.all() {
			if e.Path == "t/b" {
				trace = append(trace, fmt.Sprintf("%v %d", e.Kind, e.Generation))
			}
		}
		assert.Equal(t, []string{"waiting 0", "order 0", "starting 1", "stopped 1"}, trace)
	})
}
