package corpus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Consumer handles messages from a channel until it closes or the
// context ends.
type Consumer struct {
	In <-chan Message
}

func (c *Consumer) Run(ctx context.Context, a *runtime.Attempt) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-c.In:
			if !ok {
				return nil
			}
			if err := handle(ctx, m); err != nil {
				return fmt.Errorf("offset %d: %w", m.Offset, err)
			}
			a.Beat()
		}
	}
}

// Kafka fetches and commits with the context, like a Kafka reader.
type Kafka struct{ R Reader }

func (k *Kafka) Run(ctx context.Context, a *runtime.Attempt) error {
	a.Ready()
	for {
		m, err := k.R.FetchMessage(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := handle(ctx, m); err != nil {
			return err
		}
		if err := k.R.CommitMessages(ctx, m); err != nil {
			return err
		}
		a.Beat()
	}
}

// Subscriber ranges over a subscription that the context closes.
type Subscriber struct {
	Bus   Bus
	Topic string
}

func (s *Subscriber) Run(ctx context.Context, a *runtime.Attempt) error {
	sub := s.Bus.Subscribe(s.Topic)
	stop := context.AfterFunc(ctx, sub.Close)
	defer stop()
	a.Ready()
	for m := range sub.C() {
		if err := handle(ctx, m); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Batcher collects messages and flushes them when the batch is full or
// a second has passed.
type Batcher struct {
	In    <-chan Message
	Store Store
	Max   int
}

func (b *Batcher) Run(ctx context.Context, a *runtime.Attempt) error {
	var batch []Message
	flush := func() error {
		defer func() { batch = batch[:0] }()
		for _, m := range batch {
			if err := b.Store.Put(ctx, string(m.Key), m.Value); err != nil {
				return err
			}
		}
		return nil
	}
	deadline := time.After(time.Second)
	for {
		select {
		case <-ctx.Done():
			return flush()
		case m := <-b.In:
			batch = append(batch, m)
			if len(batch) < b.Max {
				continue
			}
		case <-deadline:
		}
		if err := flush(); err != nil {
			return err
		}
		deadline = time.After(time.Second)
		a.Beat()
	}
}

// Workers runs a fixed pool of goroutines that share a job channel and
// waits for them.
func Workers(ctx context.Context) error {
	jobs := make(chan Message)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-jobs:
					_ = handle(ctx, m)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// Hub registers clients and broadcasts to them, the websocket way.
type Hub struct {
	register   chan chan []byte
	unregister chan chan []byte
	broadcast  chan []byte
}

func (h *Hub) Run(ctx context.Context) error {
	clients := map[chan []byte]bool{}
	defer func() {
		for c := range clients {
			close(c)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-h.register:
			clients[c] = true
		case c := <-h.unregister:
			delete(clients, c)
			close(c)
		case msg := <-h.broadcast:
			for c := range clients {
				select {
				case c <- msg:
				default:
					delete(clients, c)
					close(c)
				}
			}
		}
	}
}

// Drain reads from its channel until the producer closes it, which the
// producer does when its own context ends.
func Drain(ctx context.Context, in <-chan Message) error {
	for m := range in {
		if err := handle(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
