// Package systemd runs a supervision tree as a systemd service of
// Type=notify, through the sd_notify protocol.
//
// Run runs the tree and, alongside it, tells the service manager:
//
//   - STATUS=starting: … from the start, naming the child it waits for;
//   - READY=1 once every child has been ready (Tree.Ready), so that units
//     ordered after this one start only when it really serves;
//   - WATCHDOG=1 every half of WatchdogSec while the tree is live (and at
//     most every MinPingInterval), when the unit sets WatchdogSec= and
//     WATCHDOG_PID, if set, is this process's;
//   - STATUS= lines whenever the tree's health changes, such as
//     "degraded: shop/worker: restarting after error: boom", checked at most
//     a second apart (further apart when reading the health takes more
//     than a twentieth of that: a pool of 100k instances) and shown by
//     systemctl status;
//   - STOPPING=1 when the tree begins to shut down (Tree.Stopping);
//   - a last STATUS= with "stopped" or "failed: <reason>" when Run returns.
//
// The watchdog ping is sent by the goroutine that reads the tree's health,
// which takes each supervisor's lock: a supervisor stuck holding it stops
// the pings, and systemd stops the service (with WatchdogSignal=, SIGABRT by
// default, which makes the Go runtime print every goroutine's stack). A
// slow reading (a pool of 100k instances) is done at most a twentieth of
// the time, the pings between go without one. The pings go on while the
// tree stops, since it is live and its shutdown budget bounds that phase;
// set TimeoutStopSec= above the budget.
//
// Without NOTIFY_SOCKET in the environment (not started by systemd, or by
// a unit of another Type) Run only runs the tree. A tree that runs already,
// or has ended, refuses to run again: Run then sends only the STATUS= with
// that refusal. Errors writing to the socket are ignored: the service
// manager's view is best effort, the tree is what matters. A notification
// the socket does not take within NotifyTimeout (its reader hung, its
// queue full) is dropped, so that a stuck service manager cannot keep Run
// from returning; Run then returns at most four NotifyTimeouts after the
// tree (a ping under way, READY=1 if it was not sent yet, STOPPING=1 and
// the last STATUS=). The first STATUS= is sent before the tree starts, and
// may delay it as long.
package systemd

import (
	"context"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// Runner is a tree that can be run: every tree type that arbor gen emits
// satisfies it, and TreeRunner adapts a *runtime.Tree built by hand.
type Runner interface {
	// Run runs the tree until ctx is cancelled or the tree ends.
	Run(ctx context.Context) error
	// Tree returns the runtime tree, or nil when it could not be built
	// (Run then returns why).
	Tree() *runtime.Tree
}

// TreeRunner adapts a *runtime.Tree to Runner.
func TreeRunner(t *runtime.Tree) Runner { return treeRunner{t} }

type treeRunner struct{ t *runtime.Tree }

func (r treeRunner) Run(ctx context.Context) error { return r.t.Run(ctx) }
func (r treeRunner) Tree() *runtime.Tree           { return r.t }

// MaxStatusInterval is the longest time between two checks of the tree's
// health for STATUS= updates, unless a check takes longer than a twentieth
// of it: the next is then twenty times its time away. With the watchdog
// enabled the check also runs at pings, and only there when pings are
// closer together.
const MaxStatusInterval = time.Second

// statusShare bounds the time spent reading the tree's health for STATUS=
// to a 1/statusShare of the time: a tree whose health takes long to read
// (every instance of a large pool) is checked less often than every
// MaxStatusInterval.
const statusShare = 20

// NotifyTimeout bounds the sending of one notification.
const NotifyTimeout = time.Second

// MinPingInterval is the shortest time between two watchdog pings: a
// WatchdogSec= under twice as much (which systemd does not set in
// practice, but a hand-made environment may) cannot make the pinger spin.
const MinPingInterval = 10 * time.Millisecond

// watchdog returns the watchdog timeout that WATCHDOG_USEC gives this
// process; 0 when it has none, it is for another process (WATCHDOG_PID),
// or the value makes no sense: not a positive decimal number, or too large
// for a time.Duration, where daemon.SdWatchdogEnabled would wrap around
// to a few nanoseconds.
func watchdog() time.Duration {
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec == 0 || usec > uint64(math.MaxInt64/int64(time.Microsecond)) {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" {
		if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
			return 0
		}
	}
	return time.Duration(usec) * time.Microsecond
}

// health reads the tree's health; tests replace it.
var health = (*runtime.Tree).Health

// notify sends one notification; tests replace it.
var notify = func(state string) { _ = sdNotify(os.Getenv("NOTIFY_SOCKET"), state, NotifyTimeout) }

// sdNotify is daemon.SdNotify with a deadline: a datagram socket whose
// reader does not read blocks its writers once its queue is full.
func sdNotify(socket, state string, timeout time.Duration) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err = conn.Write([]byte(state))
	return err
}

// Run runs tree with ctx and returns what its Run returned, keeping systemd
// informed as the package documentation describes. Every goroutine it
// starts has ended when it returns.
func Run(ctx context.Context, tree Runner) error {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return tree.Run(ctx)
	}
	t := tree.Tree()
	if t == nil { // the tree could not be built; Run says why
		err := tree.Run(ctx)
		notify("STATUS=" + clip(text.Escape(finalStatus(err))))
		return err
	}

	if t.LastEvent() > 0 || closed(t.Done()) {
		// It runs, or has run: its Run refuses at once, and the service
		// manager must not hear the READY=1 or STOPPING=1 of a run that
		// is not this call's.
		err := tree.Run(ctx)
		notify("STATUS=" + clip(text.Escape(finalStatus(err))))
		return err
	}
	n := &notifier{tree: t}
	if wd := watchdog(); wd > 0 {
		n.ping = max(wd/2, MinPingInterval)
	}
	n.send("", statusOf(health(t))) // before the tree starts: "starting: not started"
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { n.loop(quit) })
	var err error
	func() {
		defer func() { // even if Run panics, no goroutine outlives Run
			close(quit)
			wg.Wait()
		}()
		err = tree.Run(ctx)
	}()
	n.send("", finalStatus(err))
	return err
}

// notifier tells systemd about one tree's progress.
type notifier struct {
	tree   *runtime.Tree
	ping   time.Duration // watchdog interval; 0 when disabled
	status string        // the last STATUS= sent
	readAt time.Time     // when observe last read the tree's health
	took   time.Duration // how long that took

	sentReady, sentStopping bool
}

func (n *notifier) loop(quit <-chan struct{}) {
	poll := MaxStatusInterval
	var pings <-chan time.Time
	if n.ping > 0 {
		t := time.NewTicker(n.ping)
		defer t.Stop()
		pings = t.C
		poll = min(poll, n.ping)
	}
	var polls <-chan time.Time
	var pollTimer *time.Timer
	if poll != n.ping {
		pollTimer = time.NewTimer(poll)
		defer pollTimer.Stop()
		polls = pollTimer.C
	}

	ready, stopping := n.tree.Ready(), n.tree.Stopping()
	for {
		if closed(quit) { // before a ping that may take NotifyTimeout
			n.catchUp()
			return
		}
		select {
		case <-ready:
			ready = nil
			n.catchUp()
		case <-stopping:
			stopping = nil
			n.catchUp()
		case <-polls:
			if h, current := n.observe(); current {
				n.send("", statusOf(h))
			}
			// A slow reading (a walk of a pool's 100k instances) comes
			// less often: the checks take at most 1/statusShare of the
			// time.
			pollTimer.Reset(max(poll, statusShare*n.took))
		case <-pings:
			if time.Since(n.readAt) < statusShare*n.took {
				// The last reading was slow, and recent: ping without
				// reading again, as the status checks wait.
				if !closed(n.tree.Done()) {
					n.send(daemon.SdNotifyWatchdog, "")
				}
				continue
			}
			// Read the health even when it is not needed for STATUS=: it
			// takes every supervisor's lock, so a hung supervisor stops
			// the pings.
			if h, current := n.observe(); h.State.Live() {
				status := ""
				if current {
					status = statusOf(h)
				}
				n.send(daemon.SdNotifyWatchdog, status)
			}
		case <-quit:
			n.catchUp() // READY and STOPPING that the tree closed just before it returned
			return
		}
	}
}

// observe reads the tree's health, and sends first the READY=1 or
// STOPPING=1 that it implies. current is false when the health is no longer
// news: the tree has ended (Run sends the last word), or moved past it
// between the reading and the catching up.
func (n *notifier) observe() (h runtime.Health, current bool) {
	n.readAt = time.Now()
	h = health(n.tree)
	n.took = time.Since(n.readAt)
	n.catchUp() // after the reading, so that it catches what the reading implies
	switch {
	case !h.State.Live():
		return h, false
	case n.sentStopping && h.State != runtime.HealthStopping:
		return h, false
	case n.sentReady && h.State == runtime.HealthStarting:
		return h, false
	}
	return h, true
}

// catchUp sends READY=1 and STOPPING=1, in that order, for whichever of the
// tree's Ready and Stopping channels closed and was not yet reported. Each
// goes with the status it stands for even when the tree has moved on (as a
// tree with nothing to stop may do at once), so that the service manager's
// log reads ready, stopping, stopped.
func (n *notifier) catchUp() {
	if !n.sentReady && closed(n.tree.Ready()) {
		n.sentReady = true
		status := "ready"
		if h := health(n.tree); h.State.Serving() {
			status = statusOf(h) // or degraded already
		}
		n.send(daemon.SdNotifyReady, status)
	}
	if !n.sentStopping && closed(n.tree.Stopping()) {
		n.sentStopping = true
		n.send(daemon.SdNotifyStopping, "stopping")
	}
}

// send notifies line, if any, together with STATUS=status when status is
// set and differs from the last one sent. It sends nothing when there is
// nothing new. The status is escaped: systemd ignores a whole notification
// with a NUL, READY=1 or WATCHDOG=1 with it, and a STATUS= that is not
// UTF-8; systemctl status shows it on a terminal.
func (n *notifier) send(line, status string) {
	status = clip(text.Escape(status))
	var msg []string
	if line != "" {
		msg = append(msg, line)
	}
	if status != "" && status != n.status {
		n.status = status
		msg = append(msg, "STATUS="+status)
	}
	if len(msg) > 0 {
		notify(strings.Join(msg, "\n"))
	}
}

// MaxStatus is the longest STATUS= text sent, in bytes; a longer one (an
// error's text can be as long as whatever a program wrapped into it) is
// cut there, at a character, and ends in "…". systemd ignores a whole
// notification longer than 4096 bytes, and with it the READY=1 or
// WATCHDOG=1 it carries.
const MaxStatus = 1024

// clip cuts status to MaxStatus bytes.
func clip(status string) string { return text.Cut(status, MaxStatus) }

// statusOf is "<state>" or "<state>: <reason>", on one line.
func statusOf(h runtime.Health) string {
	s := h.State.String()
	if h.Reason == "" || h.Reason == s {
		return s
	}
	return s + ": " + oneLine(h.Reason)
}

// finalStatus is the status once Run has returned err.
func finalStatus(err error) string {
	if err != nil {
		return "failed: " + oneLine(runtime.ErrorText(err))
	}
	return "stopped"
}

// oneLine joins the lines of s with "; ": a notification is a list of
// lines, so a multi-line error must not spill out of its STATUS=.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var parts []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
