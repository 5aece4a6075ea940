// Package runtime runs supervision trees: the code that arbor gen emits
// links against it, and it can be used by hand.
//
// A tree is a plain Spec value. New validates it; Tree.Run starts every child
// and supervises it until the context is cancelled, with the semantics of
// Erlang/OTP supervisors:
//
//   - Each child has one slot and at most one current Attempt. Every start
//     gets a new generation; an exit, Ready or Beat from an attempt that is no
//     longer current is dropped and counted (fencing).
//   - Restart types are permanent, transient and temporary, as in OTP; a run
//     function returning an error that wraps ErrDoNotRestart ends its child
//     for good. Panics are recovered with their stack and count as failures.
//   - Strategies one_for_one, one_for_all and rest_for_one. A group restart
//     stops the running members in reverse start order and starts them again
//     only after all of them returned (or were abandoned).
//   - More than RestartLimit.Max restarts within RestartLimit.Window make a
//     supervisor stop its children and fail; a nested supervisor's failure
//     is a failure of its child slot in the parent. At the root, Run returns
//     a *GiveUpError.
//   - Before each restart the child waits min(Max, Initial·Multiplier^(n-1))
//     spread by ±Jitter; n resets once an attempt stayed up for ResetAfter.
//   - On shutdown children stop one at a time in reverse start order, each
//     within its grace and all within the supervisor's budget. An attempt that
//     ignores cancellation is abandoned: detached, fenced and listed in
//     Tree.ShutdownReport. Run returns once every attempt has returned or
//     been abandoned.
//
// Liveness: a child with Ready is starting until its attempt calls
// Attempt.Ready, and siblings that name it in After wait for that; one with
// Heartbeat must call Attempt.Beat, or one watchdog goroutine per tree
// cancels it as stale; Timeout bounds each attempt; a Significant child that
// ends for good shuts its supervisor down cleanly.
//
// Leases: a child with a Lease (a LeaseSpec) is a singleton across
// processes. It stands by (StateStandby) until this process holds the lease,
// which the tree's Leaser (WithLeaser; runtime/lease/etcd is one on etcd)
// grants to one process at a time, and runs under its fencing token
// (Attempt.Token). A lost lease cancels the attempt with ErrLeaseLost, which
// is not a failure, and the child stands by again; at shutdown the child
// stops first, then its lease is released.
//
// Every transition is an Event, delivered to WithObserver and WithLogger from
// a goroutine of their own so that a slow consumer never stalls supervision.
// Events are numbered, and the tree keeps the latest in its journal
// (WithJournal), which Tree.Journal reads by number for late readers such as
// the console.
// Tree.Snapshot and Tree.Health read the state of every child at any time; a
// Handle reads one child and can Restart or Stop it. The sub-packages probe,
// systemd, exit and metrics connect a tree to Kubernetes, systemd, the
// process's exit status and Prometheus; console serves a page and an API for
// operators, and the module runtime/otel reports to OpenTelemetry.
//
// The package imports only the standard library. Time-dependent behaviour
// is deterministic under testing/synctest, which is how its own tests run.
package runtime
