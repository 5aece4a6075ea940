package corpus

import (
	"context"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var (
	ready = &runtime.Ready{Timeout: 5 * time.Second}
	beat  = &runtime.Heartbeat{Timeout: 3 * time.Second}
)

// Tree names every run function of the corpus, with what a real spec
// would ask of each.
func Tree(db DB, r Reader, bus Bus, store Store, lock Locker, rpc RPCServer, in, out chan Message) runtime.Spec {
	stage := &Stage{}
	return runtime.Spec{
		Name: "corpus",
		Children: []runtime.Child{
			{Name: "api", Run: (&API{}).Run, Ready: ready, Shutdown: 5 * time.Second},
			{Name: "admin", Run: Admin, Ready: ready},
			{Name: "gateway", Run: Gateway, Ready: ready},
			{Name: "echo", Run: (&Echo{}).Run, Ready: ready},
			{Name: "sockets", Run: Sockets, Ready: ready, Heartbeat: beat},
			{Name: "rpc", Run: (&RPC{Server: rpc}).Run, Ready: ready},
			{Name: "udp", Run: UDP, Ready: ready},
			{Name: "poller", Run: (&Poller{Store: store}).Run, Heartbeat: beat},
			{Name: "backoff", Run: Backoff, Heartbeat: &runtime.Heartbeat{Timeout: 30 * time.Second}},
			{Name: "refresher", Run: runtime.Func(Refresher)},
			{Name: "watchdog", Run: Watchdog, Heartbeat: beat},
			{Name: "cron", Run: runtime.Func(Cron)},
			{Name: "sampler", Run: Sampler, Heartbeat: beat},
			{Name: "keepalive", Run: (&Keepalive{DB: db}).Run, Ready: ready},
			{Name: "consumer", Run: (&Consumer{In: in}).Run, Heartbeat: &runtime.Heartbeat{Timeout: time.Minute}},
			{Name: "kafka", Run: (&Kafka{R: r}).Run, Ready: ready},
			{Name: "subscriber", Run: (&Subscriber{Bus: bus}).Run, Ready: ready},
			{Name: "batcher", Run: (&Batcher{In: in, Store: store}).Run, Heartbeat: beat},
			{Name: "workers", Run: runtime.Func(Workers)},
			{Name: "hub", Run: runtime.Func((&Hub{}).Run)},
			{Name: "pipeline", Run: (&Pipeline{R: r, Store: store}).Run, Ready: ready},
			{Name: "fanout", Run: runtime.Func(FanOut), Timeout: 10 * time.Minute, Restart: runtime.Transient},
			{Name: "stage", Run: stage.Run, Heartbeat: &runtime.Heartbeat{Timeout: time.Minute}},
			{Name: "migrate", Run: runtime.Func((&Migrate{DB: db}).Run), Timeout: time.Minute, Restart: runtime.Transient},
			{Name: "warm", Run: (&Warm{Store: store}).Run, Ready: &runtime.Ready{Timeout: time.Minute}, Heartbeat: beat},
			{Name: "backup", Run: runtime.Func(Backup), Timeout: time.Hour, Restart: runtime.Temporary},
			{Name: "sidecar", Run: Sidecar, Ready: ready, Shutdown: 10 * time.Second},
			{Name: "probe", Run: Probe, Ready: ready},
			{Name: "leader", Run: (&Leader{Lock: lock}).Run, Ready: ready, Heartbeat: beat},
			{Name: "reload", Run: runtime.Func(Reload)},
			{Name: "retry", Run: runtime.Func(Retry), Timeout: time.Minute},
			{Name: "nested", Run: runtime.Func(Nested)},
			{Name: "idle", Run: runtime.Func(Idle)},
			{Name: "once", Run: runtime.Func(Once), Restart: runtime.Temporary},
			{Name: "beating", Run: Beating, Ready: ready, Heartbeat: beat},
			{Name: "requests", Run: Requests, Ready: ready, Heartbeat: &runtime.Heartbeat{Timeout: time.Hour}},
			{Name: "steps", Run: (&Steps{}).Run, Ready: ready, Heartbeat: beat},
			{Name: "generation", Run: Generation, Heartbeat: beat},
			{Name: "sender", Run: (&Sender{}).Run, Heartbeat: beat},
			{Name: "lines", Run: runtime.Func(Lines)},
			{Name: "queue", Run: runtime.Func((&Queue{}).Run)},
			{Name: "debounce", Run: runtime.Func(func(ctx context.Context) error { return Debounce(ctx, nil) })},
			{Name: "labeled", Run: Labeled, Heartbeat: beat},
			{Name: "signals", Run: runtime.Func(Signals)},
			{Name: "serial", Run: Serial, Ready: ready},
			{Name: "cause", Run: runtime.Func(Cause)},
			{Name: "semaphore", Run: func(ctx context.Context, _ *runtime.Attempt) error { return Semaphore(ctx, in) }},
			{Name: "callbacks", Run: (&Callbacks{}).Run, Ready: ready, Heartbeat: beat},
			{Name: "value", Run: runtime.Func(Value{Every: time.Second}.Run)},
			{Name: "goto", Run: runtime.Func(Goto)},
			{Name: "poll", Run: runtime.Func(Poll)},
			{Name: "ticker-exit", Run: TickerExit, Heartbeat: beat},
			{Name: "drain", Run: func(ctx context.Context, _ *runtime.Attempt) error { return Drain(ctx, in) }},
			{Name: "merge", Run: runtime.Func(func(ctx context.Context) error { return Merge(ctx, []<-chan Message{in}, out) })},
		},
	}
}
