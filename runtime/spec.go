package runtime

import (
	"context"
	"time"
)

// Defaults applied where a Spec or Child leaves a field at its zero value.
// They are the one table of defaults: the spec decoder applies them to
// fields a CUE spec leaves out, and the schema's documentation is tested
// against them.
const (
	DefaultStrategy        = OneForOne
	DefaultRestart         = Permanent
	DefaultRestartMax      = 5
	DefaultRestartWindow   = 10 * time.Second
	DefaultBackoffInitial  = 100 * time.Millisecond
	DefaultBackoffMax      = 10 * time.Second
	DefaultBackoffMultiple = 2.0
	DefaultBackoffJitter   = 0.2
	DefaultBackoffReset    = time.Minute
	DefaultTreeShutdown    = 30 * time.Second
	DefaultChildShutdown   = 5 * time.Second
	// MinHeartbeat is the shortest heartbeat timeout a spec may ask for.
	MinHeartbeat = 10 * time.Millisecond
)

// RunFunc is the body of a worker child. It runs once per attempt and should
// return when ctx is cancelled. Returning an error that wraps ErrDoNotRestart
// ends the child for good, whatever its restart type.
type RunFunc func(ctx context.Context, a *Attempt) error

// Func adapts a function that does not report readiness or heartbeats.
// Func(nil) is nil, so that New and Pool.Start refuse it as a missing Run.
func Func(f func(context.Context) error) RunFunc {
	if f == nil {
		return nil
	}
	return func(ctx context.Context, _ *Attempt) error { return f(ctx) }
}

// Strategy says which siblings restart with a failed child.
// The zero value is OneForOne.
type Strategy string

// The strategies of OTP.
const (
	OneForOne  Strategy = "one_for_one"  // restart the failed child alone
	OneForAll  Strategy = "one_for_all"  // stop all others, restart all
	RestForOne Strategy = "rest_for_one" // stop and restart the failed child and those started after it
)

// Restart says when a child is restarted after it exits.
// The zero value is Permanent.
type Restart string

// The restart types of OTP.
const (
	Permanent Restart = "permanent" // always restarted
	Transient Restart = "transient" // restarted only after an abnormal exit
	Temporary Restart = "temporary" // never restarted
)

// RestartLimit is OTP's intensity and period: more than Max restarts within
// Window make the supervisor stop its children and fail. A nil *RestartLimit
// means DefaultRestartMax restarts in DefaultRestartWindow. The supervisor
// keeps the time of each restart within Window, up to Max of them (24 bytes
// each): a limit meant as "never give up" is a large Max with a short
// Window, not a long Window, which a crash loop would fill.
type RestartLimit struct {
	Max    int
	Window time.Duration
}

// Backoff is the delay before each restart: min(Max, Initial·Multiplier^(n-1)),
// spread by ±Jitter, where n counts restarts since an attempt last stayed up
// (and ready) for ResetAfter. A nil *Backoff means the defaults above. In a
// non-nil Backoff every field is taken as written, except that a zero
// Multiplier means 1; so &Backoff{} restarts at once.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64 // 0 to 1
	ResetAfter time.Duration
}

// Ready asks a child to report readiness by calling Attempt.Ready. Until it
// does, the child is starting and its dependents wait. A zero Timeout waits
// forever; otherwise missing it cancels the attempt and counts as a failure.
type Ready struct {
	Timeout time.Duration
}

// Heartbeat asks a child to call Attempt.Beat at least every Timeout, from
// when its run function starts. A stale attempt is cancelled and counts as a
// failure.
type Heartbeat struct {
	Timeout time.Duration
}

// PoolSpec is what makes a Child a pool.
type PoolSpec struct {
	// Max caps the live instances; 0 means no cap.
	Max int
}

// Spec describes a supervisor: the root of a tree, or a nested supervisor
// given as Child.Supervisor. Its zero value, with children, is a
// one_for_one supervisor with the default limit, backoff and budget.
type Spec struct {
	// Name names the tree and is the first element of every path. It is
	// required at the root and ignored in nested supervisors, which take
	// the name of their Child.
	Name string
	// Strategy says which children restart with a failed one; zero
	// means DefaultStrategy.
	Strategy Strategy
	// RestartLimit is the supervisor's own limit: exceeding it makes it
	// give up; nil means the defaults.
	RestartLimit *RestartLimit
	// Backoff is the default for the children's restarts.
	Backoff *Backoff
	// Shutdown is the budget for stopping every child; zero means
	// DefaultTreeShutdown.
	Shutdown time.Duration
	// Children are started in this order, adjusted by their After lists,
	// and stopped in the exact reverse.
	Children []Child
}

// Child describes one child of a supervisor: a worker when Run is set, a
// nested supervisor when Supervisor is set, a pool when Pool is set.
type Child struct {
	// Name is unique among siblings; it matches [a-z][a-z0-9_-]*.
	Name string
	// Run is a worker's body, run once per attempt.
	Run RunFunc
	// Supervisor makes the child a nested supervisor with these children.
	Supervisor *Spec
	// Pool makes the child a pool: a supervisor of instances started at
	// run time with Pool.Start, each with its own run function. Restart,
	// Shutdown, Timeout, Ready, Heartbeat and Backoff then apply to each
	// instance, and RestartLimit is the pool's: it counts the restarts of
	// all its instances together, and exceeding it fails the pool. The pool
	// itself is restarted by its supervisor like a permanent child, empty.
	Pool *PoolSpec
	// Restart says when the child is restarted after it ends; zero means
	// DefaultRestart.
	Restart Restart
	// Shutdown is a worker's grace after cancellation before the attempt is
	// abandoned; zero means DefaultChildShutdown. Nested supervisors use
	// their Spec.Shutdown instead.
	Shutdown time.Duration
	// Timeout bounds one attempt of a worker; zero means none.
	Timeout time.Duration
	// Ready, when set, holds the child's dependents until it calls
	// Attempt.Ready; nil means ready once started.
	Ready *Ready
	// Heartbeat, when set, cancels an attempt that stops calling
	// Attempt.Beat.
	Heartbeat *Heartbeat
	// After names siblings that must be ready before this child starts.
	After []string
	// Significant ends the supervisor cleanly when this child ends and is
	// not restarted (OTP auto_shutdown).
	Significant bool
	// RestartLimit, when set, also limits this child's own restarts.
	RestartLimit *RestartLimit
	// Backoff, when set, replaces the supervisor's backoff for this child.
	Backoff *Backoff
	// Lease, when set, makes the child a singleton across processes: it
	// waits in StateStandby until this process holds the lease, and runs
	// only while it does. The tree needs WithLeaser.
	Lease *LeaseSpec
}
