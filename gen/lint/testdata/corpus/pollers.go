package corpus

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Poller fetches a URL on a ticker and beats after each round.
type Poller struct {
	URL      string
	Interval time.Duration
	Client   *http.Client
	Store    Store
}

func (p *Poller) Run(ctx context.Context, a *runtime.Attempt) error {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		if err := p.poll(ctx); err != nil {
			a.Logger().Warn("poll", slog.Any("err", err))
		}
		a.Beat()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Poller) poll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return err
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return p.Store.Put(ctx, p.URL, body)
}

// Backoff polls with a timer it resets to a jittered, growing delay.
func Backoff(ctx context.Context, a *runtime.Attempt) error {
	delay := 100 * time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		a.Beat()
		if err := check(ctx); err != nil {
			delay = min(2*delay, 10*time.Second)
		} else {
			delay = 100 * time.Millisecond
		}
		timer.Reset(delay/2 + rand.N(delay))
	}
}

func check(ctx context.Context) error { return ctx.Err() }

// Refresher sleeps with a context-aware helper between rounds.
func Refresher(ctx context.Context) error {
	for {
		if err := check(ctx); err != nil {
			return fmt.Errorf("refresh: %w", err)
		}
		if err := sleepCtx(ctx, 30*time.Second); err != nil {
			return nil
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Watchdog loops while the context lives.
func Watchdog(ctx context.Context, a *runtime.Attempt) error {
	for ctx.Err() == nil {
		a.Beat()
		_ = check(ctx)
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// Cron runs a job at the top of every hour.
func Cron(ctx context.Context) error {
	for {
		now := time.Now()
		next := now.Truncate(time.Hour).Add(time.Hour)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
			if err := check(ctx); err != nil {
				return err
			}
		}
	}
}

// Sampler samples on a ticker, reading the context through a channel it
// took once.
func Sampler(ctx context.Context, a *runtime.Attempt) error {
	done := ctx.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case now := <-tick.C:
			_ = now
			a.Beat()
		}
	}
}

// Keepalive pings a database every few seconds.
type Keepalive struct{ DB DB }

func (k *Keepalive) Run(ctx context.Context, a *runtime.Attempt) error {
	if err := k.DB.PingContext(ctx); err != nil {
		return err
	}
	a.Ready()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for range t.C {
		if err := k.DB.PingContext(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}
