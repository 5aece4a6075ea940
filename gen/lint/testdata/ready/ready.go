// Package ready holds run functions of children with ready.
package ready

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var ready = &runtime.Ready{Timeout: time.Second}

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "never", Run: (&Store{}).Run, Ready: ready},
		{Name: "blank", Run: Blank, Ready: ready},
		{Name: "discarded", Run: Discarded, Ready: ready},
		{Name: "nil-checked", Run: NilChecked, Ready: ready},
		{Name: "func", Run: runtime.Func(Plain), Ready: &runtime.Ready{}},
		{Name: "late", Run: Late, Ready: ready},
		{Name: "after-done", Run: AfterDone, Ready: ready},
		{Name: "late-helper", Run: LateHelper, Ready: ready},

		{Name: "warm", Run: Warm, Ready: ready},
		{Name: "helper", Run: Helper, Ready: ready},
		{Name: "goroutine", Run: Goroutine, Ready: ready},
		{Name: "second", Run: Second, Ready: ready},
		{Name: "stores", Run: (&Keeper{}).Run, Ready: ready},
		{Name: "callback", Run: Callback, Ready: ready},
		{Name: "no-ready", Run: (&Store{}).Run},
		{Name: "nil-ready", Run: (&Store{}).Run, Ready: nil},
		{Name: "settle", Run: Settle, Ready: ready},
		{Name: "settle-same-name", Run: SettleSameName, Ready: ready},
		{Name: "settle-assigned", Run: SettleAssigned, Ready: ready},
		{Name: "settle-helper", Run: SettleHelper, Ready: ready},
		{Name: "late-helper-chain", Run: LateHelperChain, Ready: ready},
		{Name: "settle-inside", Run: SettleInside, Ready: ready},
		{Name: "late-inside", Run: LateInside, Ready: ready},
		{Name: "converted", Run: runtime.RunFunc(Converted), Ready: ready},
		{Name: "after-select", Run: AfterSelect, Ready: ready},
		{Name: "one-shot-waits", Run: OneShotWaits, Ready: ready, Restart: runtime.Transient},
		{Name: "migrate", Run: Migrate, Ready: ready, Restart: runtime.Transient},
		{Name: "temporary", Run: runtime.Func(Job), Ready: ready, Restart: runtime.Temporary},
		{Name: "permanent-job", Run: PermanentJob, Ready: ready, Restart: runtime.Permanent},
	},
}

type Store struct{}

func (s *Store) Run(ctx context.Context, a *runtime.Attempt) error { // want `never: the child has ready, but \(\*Store\).Run never calls a.Ready\(\): the child never becomes ready, its dependents never start, and its ready timeout, if any, fails every attempt \(ready\)`
	<-ctx.Done()
	return nil
}

func Blank(ctx context.Context, _ *runtime.Attempt) error { // want `blank: the child has ready, but Blank never calls a.Ready\(\)`
	<-ctx.Done()
	return nil
}

// Discarded and NilChecked do nothing with their attempt that could call
// Ready: a blank assignment and a comparison with nil hand it to no one.
func Discarded(ctx context.Context, a *runtime.Attempt) error { // want `discarded: the child has ready, but Discarded never calls a.Ready\(\)`
	_ = a
	<-ctx.Done()
	return nil
}

func NilChecked(ctx context.Context, a *runtime.Attempt) error { // want `nil-checked: the child has ready, but NilChecked never calls a.Ready\(\)`
	if a == nil || ctx == nil {
		return errors.New("no attempt")
	}
	if nil != a && a != nil {
		a.Logger().Info("connecting")
	}
	<-ctx.Done()
	return nil
}

func Plain(ctx context.Context) error { // want `func: the child has ready, but Plain takes no \*runtime.Attempt, so it cannot call a.Ready\(\)`
	<-ctx.Done()
	return nil
}

// Late reports ready once the server has stopped.
func Late(ctx context.Context, a *runtime.Attempt) error {
	srv := &http.Server{Addr: "localhost:0"}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.Ready() // want `late: Late calls a.Ready\(\) only after srv.ListenAndServe\(...\), which waits until shutdown: the child is never ready while it runs \(ready\)`
	return nil
}

func AfterDone(ctx context.Context, a *runtime.Attempt) error {
	<-ctx.Done()
	a.Ready() // want `after-done: AfterDone calls a.Ready\(\) only after <-ctx.Done\(\)`
	return nil
}

// AfterSelect waits in a select of one case: a receive all the same.
func AfterSelect(ctx context.Context, a *runtime.Attempt) error {
	select {
	case <-ctx.Done():
	}
	a.Ready() // want `after-select: AfterSelect calls a.Ready\(\) only after a select, which waits until shutdown`
	return nil
}

// OneShotWaits is transient, but ends only at shutdown: it never ends
// with the success that would make it ready.
func OneShotWaits(ctx context.Context, a *runtime.Attempt) error { // want `one-shot-waits: the child has ready, but OneShotWaits never calls a.Ready\(\), and it ends only at shutdown`
	<-ctx.Done()
	return nil
}

// PermanentJob returns, and is started again: it is never ready.
func PermanentJob(ctx context.Context, a *runtime.Attempt) error { // want `permanent-job: the child has ready, but PermanentJob never calls a.Ready\(\)`
	return ctx.Err()
}

func LateHelper(ctx context.Context, a *runtime.Attempt) error {
	serve(ctx)
	return report(a)
}

func serve(ctx context.Context) { <-ctx.Done() }

func report(a *runtime.Attempt) error {
	a.Ready() // want `late-helper: LateHelper calls a.Ready\(\) only after serve\(...\)`
	return nil
}

// LateHelperChain passes its own context through two helpers.
func LateHelperChain(ctx context.Context, a *runtime.Attempt) error {
	serveOn(ctx)
	a.Ready() // want `late-helper-chain: LateHelperChain calls a.Ready\(\) only after serveOn\(...\)`
	return nil
}

// Converted is named through a conversion to runtime.RunFunc.
func Converted(ctx context.Context, a *runtime.Attempt) error { // want `converted: the child has ready, but Converted never calls a.Ready\(\)`
	<-ctx.Done()
	return nil
}

// LateInside's helper waits for the end of its context, then reports.
func LateInside(ctx context.Context, a *runtime.Attempt) error { return boot(ctx, a) }

func boot(ctx context.Context, a *runtime.Attempt) error {
	<-ctx.Done()
	a.Ready() // want `late-inside: LateInside calls a.Ready\(\) only after <-ctx.Done\(\)`
	return nil
}

// Silent from here on.

// Migrate is a one-shot: ended for good after a success, a transient child
// counts as ready, and its dependents start.
func Migrate(ctx context.Context, a *runtime.Attempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

// Job is a temporary one-shot that does not take the attempt.
func Job(ctx context.Context) error { return ctx.Err() }

// SettleInside passes a context of its own to a helper that waits for its
// end before it reports.
func SettleInside(ctx context.Context, a *runtime.Attempt) error {
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	return boot(sctx, a)
}

func Warm(ctx context.Context, a *runtime.Attempt) error {
	select {
	case <-time.After(10 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	a.Ready()
	<-ctx.Done()
	return nil
}

// Helper reports ready in the function that serves.
func Helper(ctx context.Context, a *runtime.Attempt) error { return listen(ctx, a) }

func listen(ctx context.Context, a *runtime.Attempt) error {
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return err
	}
	srv := &http.Server{}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	a.Ready()
	return srv.Serve(ln)
}

// Goroutine reports ready from a goroutine once a probe passes.
func Goroutine(ctx context.Context, a *runtime.Attempt) error {
	go func() {
		if probe(ctx) == nil {
			a.Ready()
		}
	}()
	<-ctx.Done()
	return nil
}

func probe(ctx context.Context) error { return ctx.Err() }

var starts int

// Second is ready from its second attempt on: there is a path.
func Second(ctx context.Context, a *runtime.Attempt) error {
	starts++
	if starts > 1 {
		a.Ready()
	}
	<-ctx.Done()
	return ctx.Err()
}

// Keeper hands the attempt to code the check cannot follow.
type Keeper struct{ a *runtime.Attempt }

func (k *Keeper) Run(ctx context.Context, a *runtime.Attempt) error {
	k.a = a
	<-ctx.Done()
	return nil
}

// Callback reports ready in a callback.
func Callback(ctx context.Context, a *runtime.Attempt) error {
	return serveWith(ctx, func() { a.Ready() })
}

func serveWith(ctx context.Context, onListen func()) error {
	onListen()
	<-ctx.Done()
	return nil
}

// Settle waits on a context of its own, which ends after a moment.
func Settle(ctx context.Context, a *runtime.Attempt) error {
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	<-sctx.Done()
	a.Ready()
	<-ctx.Done()
	return nil
}

// SettleSameName does the same with the usual ctx, cancel := ...: ctx is
// no longer the parameter's context.
func SettleSameName(ctx context.Context, a *runtime.Attempt) error {
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	<-ctx.Done()
	a.Ready()
	return nil
}

// SettleAssigned assigns its parameter in a helper it calls.
func SettleAssigned(ctx context.Context, a *runtime.Attempt) error {
	settle(ctx)
	a.Ready()
	<-ctx.Done()
	return nil
}

func settle(ctx context.Context) {
	var cancel context.CancelFunc
	ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	<-ctx.Done()
}

// SettleHelper passes a context of its own, which ends after a moment, to
// a helper that waits for its end.
func SettleHelper(ctx context.Context, a *runtime.Attempt) error {
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	serveOn(sctx)
	a.Ready()
	<-ctx.Done()
	return nil
}

func serveOn(ctx context.Context) { serve(ctx) }
