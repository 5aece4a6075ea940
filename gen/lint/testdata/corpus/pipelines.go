package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/arbor-go/arbor/runtime"
)

// Pipeline fetches, parses and stores in three goroutines joined by an
// errgroup; the first failure cancels the others.
type Pipeline struct {
	R     Reader
	Store Store
}

func (p *Pipeline) Run(ctx context.Context, a *runtime.Attempt) error {
	g, ctx := errgroup.WithContext(ctx)
	raw := make(chan Message)
	docs := make(chan Message)
	g.Go(func() error {
		defer close(raw)
		for {
			m, err := p.R.FetchMessage(ctx)
			if err != nil {
				return err
			}
			select {
			case raw <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	g.Go(func() error {
		defer close(docs)
		for m := range raw {
			m.Value = bytes.TrimSpace(m.Value)
			select {
			case docs <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		for m := range docs {
			if err := p.Store.Put(ctx, string(m.Key), m.Value); err != nil {
				return err
			}
			a.Beat()
		}
		return nil
	})
	a.Ready()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// FanOut runs one goroutine per shard with a limit and returns the first
// error.
func FanOut(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for shard := range 32 {
		g.Go(func() error { return reindex(ctx, shard) })
	}
	return g.Wait()
}

func reindex(ctx context.Context, shard int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("shard %d: %w", shard, err)
	}
	return nil
}

// Stage is one stage of a channel pipeline: it reads, transforms and
// sends, and every send watches the context.
type Stage struct {
	In  <-chan []byte
	Out chan<- []byte
}

func (s *Stage) Run(ctx context.Context, a *runtime.Attempt) error {
	for {
		var b []byte
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case b, ok = <-s.In:
			if !ok {
				return nil
			}
		}
		b = bytes.ToUpper(b)
		select {
		case <-ctx.Done():
			return nil
		case s.Out <- b:
		}
		a.Beat()
	}
}

// Merge fans several channels into one.
func Merge(ctx context.Context, ins []<-chan Message, out chan<- Message) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, in := range ins {
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case m, ok := <-in:
					if !ok {
						return nil
					}
					select {
					case out <- m:
					case <-ctx.Done():
						return nil
					}
				}
			}
		})
	}
	return g.Wait()
}
