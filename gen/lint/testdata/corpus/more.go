package corpus

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Limiter waits for a token, like golang.org/x/time/rate.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Sender sends at a limited rate.
type Sender struct {
	Limit Limiter
	Out   chan<- Message
}

func (s *Sender) Run(ctx context.Context, a *runtime.Attempt) error {
	for {
		if err := s.Limit.Wait(ctx); err != nil {
			return nil
		}
		select {
		case s.Out <- Message{}:
			a.Beat()
		case <-ctx.Done():
			return nil
		}
	}
}

// Lines reads stdin line by line; the context closes the pipe.
func Lines(ctx context.Context) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer w.Close()
	context.AfterFunc(ctx, func() { r.Close() })
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		_ = sc.Text()
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// Queue is a sync.Cond queue that the context wakes up.
type Queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []Message
}

func (q *Queue) Run(ctx context.Context) error {
	q.cond = sync.NewCond(&q.mu)
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.cond.Broadcast()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.items) == 0 && ctx.Err() == nil {
			q.cond.Wait()
		}
		if ctx.Err() != nil {
			return nil
		}
		q.items = q.items[1:]
	}
}

// Debounce coalesces events and acts a quiet moment after the last one.
func Debounce(ctx context.Context, events <-chan struct{}) error {
	var quiet <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-events:
			quiet = time.After(200 * time.Millisecond)
		case <-quiet:
			quiet = nil
			_ = check(ctx)
		}
	}
}

// Labeled breaks out of its loop with a label.
func Labeled(ctx context.Context, a *runtime.Attempt) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			a.Beat()
		}
	}
	return nil
}

// Signals stops on SIGTERM as well as on its context.
func Signals(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// Serial serves a listener bound before it reports ready, in a goroutine,
// and shuts down when the context ends.
func Serial(ctx context.Context, a *runtime.Attempt) error {
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Ready()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Cause stops its work with a cause of its own.
func Cause(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if err := check(ctx); err != nil {
			cancel(err)
		}
	}()
	<-ctx.Done()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Semaphore bounds its concurrency with a channel.
func Semaphore(ctx context.Context, jobs <-chan Message) error {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-jobs:
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Go(func() {
				defer func() { <-sem }()
				_ = handle(ctx, m)
			})
		}
	}
}

// Callbacks hands its reports to a library as function values.
type Callbacks struct {
	OnReady, OnProgress func()
}

func (c *Callbacks) Run(ctx context.Context, a *runtime.Attempt) error {
	c.OnReady = a.Ready
	c.OnProgress = a.Beat
	return c.serve(ctx)
}

func (c *Callbacks) serve(ctx context.Context) error {
	c.OnReady()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			c.OnProgress()
		}
	}
}

// Value has a value receiver.
type Value struct{ Every time.Duration }

func (v Value) Run(ctx context.Context) error {
	for {
		if err := sleepCtx(ctx, v.Every); err != nil {
			return nil
		}
	}
}

// Goto retries with a goto.
func Goto(ctx context.Context) error {
	tries := 0
retry:
	if err := check(ctx); err != nil && tries < 3 {
		tries++
		goto retry
	}
	<-ctx.Done()
	return nil
}

// Poll sleeps a second between checks: a shutdown waits at most that.
func Poll(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		_ = check(ctx)
		time.Sleep(time.Second)
	}
}

// TickerExit ranges over a ticker and returns when the context ends.
func TickerExit(ctx context.Context, a *runtime.Attempt) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range t.C {
		if ctx.Err() != nil {
			return nil
		}
		a.Beat()
	}
	return nil
}
