package corpus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Migrate runs schema migrations once, under a timeout; a missing
// migration file will not appear by restarting.
type Migrate struct {
	DB  DB
	Dir string
}

func (m *Migrate) Run(ctx context.Context) error {
	entries, err := os.ReadDir(m.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("migrations: %w: %w", runtime.ErrDoNotRestart, err)
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(m.Dir + "/" + e.Name())
		if err != nil {
			return err
		}
		if _, err := m.DB.ExecContext(ctx, string(b)); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	return nil
}

// Warm loads a cache, reports ready, then waits.
type Warm struct {
	Store Store
	Keys  []string
}

func (w *Warm) Run(ctx context.Context, a *runtime.Attempt) error {
	for i, k := range w.Keys {
		if err := w.Store.Put(ctx, k, nil); err != nil {
			return err
		}
		if i%100 == 0 {
			a.Beat()
		}
	}
	a.Ready()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			a.Beat()
		}
	}
}

// Backup runs an external command that the context kills.
func Backup(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "pg_dump", "--format=custom", "shop")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 3 * time.Second
	cmd.Stdout = os.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Sidecar runs a long-lived process and reports ready once it started.
func Sidecar(ctx context.Context, a *runtime.Attempt) error {
	cmd := exec.CommandContext(ctx, "envoy", "-c", "/etc/envoy.yaml")
	if err := cmd.Start(); err != nil {
		return err
	}
	a.Ready()
	err := cmd.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Probe starts a dependency and reports ready from a goroutine once it
// answers.
func Probe(ctx context.Context, a *runtime.Attempt) error {
	go func() {
		for {
			if check(ctx) == nil {
				a.Ready()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	<-ctx.Done()
	return nil
}

// Leader does its work only while it holds the lease.
type Leader struct {
	Lock Locker
	Name string
}

func (l *Leader) Run(ctx context.Context, a *runtime.Attempt) error {
	lost, release, err := l.Lock.Acquire(ctx, l.Name)
	if err != nil {
		return err
	}
	defer release()
	a.Ready()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-lost:
			return errors.New("leadership lost")
		case <-t.C:
			a.Beat()
		}
	}
}

// Reload rereads its configuration on SIGHUP.
func Reload(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if _, err := os.ReadFile("/etc/shop.json"); err != nil {
				return err
			}
		}
	}
}

// Retry retries an operation with a context-aware helper.
func Retry(ctx context.Context) error {
	return retry(ctx, 5, func(ctx context.Context) error { return check(ctx) })
}

func retry(ctx context.Context, n int, f func(context.Context) error) error {
	var err error
	for i := range n {
		if err = f(ctx); err == nil {
			return nil
		}
		if err := sleepCtx(ctx, time.Duration(1<<i)*100*time.Millisecond); err != nil {
			return err
		}
	}
	return err
}

// Nested runs a whole tree as one child.
func Nested(ctx context.Context) error {
	tree, err := runtime.New(runtime.Spec{
		Name:     "inner",
		Children: []runtime.Child{{Name: "consumer", Run: runtime.Func(Refresher)}},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", runtime.ErrDoNotRestart, err)
	}
	return tree.Run(ctx)
}

// Idle only waits for the end.
func Idle(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Once does its work and returns.
func Once(ctx context.Context) error { return check(ctx) }
