package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// Replica is one replica of the service.
type Replica struct {
	name   string
	tick   time.Duration
	ledger *Ledger
}

// Serve stands for the service's front, which runs in every replica.
func (app *Replica) Serve(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Schedule runs in the replica that holds the lease: every tick, it writes
// an entry to the ledger with its attempt's fencing token. A write already
// under way when the lease is lost (after a pause of the process, say) is
// not stopped by the cancellation; the ledger refuses it, because a newer
// holder has written with a larger token.
func (app *Replica) Schedule(ctx context.Context, a *runtime.Attempt) error {
	log := a.Logger()
	log.Info("scheduler: holding the lease", "token", a.Token())
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			log.Info("scheduler: stopping", "cause", context.Cause(ctx))
			return nil
		case <-time.After(app.tick):
		}
		entry := fmt.Sprintf("tick %d from %s", n, app.name)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		err := app.ledger.Write(wctx, a.Token(), entry)
		cancel()
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "scheduler: "+entry, "token", a.Token(), "err", err)
	}
}
