package runtime

import (
	"fmt"
	"strings"
)

// HealthState is the aggregate state of a tree.
type HealthState uint8

// The states of a tree, for probes and service managers.
const (
	HealthStarting HealthState = iota // not every child has been ready yet
	HealthReady                       // every child is ready (or ended for good)
	HealthDegraded                    // was ready; some child is not: restarting, in backoff, waiting or stopped by an order
	HealthStopping                    // shutting down
	HealthFailed                      // gave up: Run returned an error
	HealthStopped                     // Run returned nil
)

var healthNames = [...]string{"starting", "ready", "degraded", "stopping", "failed", "stopped"}

// String returns the state in words, such as "degraded".
func (s HealthState) String() string {
	if int(s) < len(healthNames) {
		return healthNames[s]
	}
	return fmt.Sprintf("HealthState(%d)", s)
}

// Live reports whether the tree is alive: everything but failed and stopped.
// A process supervisor should restart a process whose tree is not live.
func (s HealthState) Live() bool { return s != HealthFailed && s != HealthStopped }

// Serving reports whether the tree should take traffic: ready, or degraded
// while it repairs itself.
func (s HealthState) Serving() bool { return s == HealthReady || s == HealthDegraded }

// Health is a tree's aggregate state with the reason, and each child's.
type Health struct {
	State    HealthState
	Reason   string        // why the tree is not ready; empty when it is
	Children []ChildHealth // Snapshot's children, in its order
	Snapshot Snapshot      // what Health was read from, for a caller that wants both from one walk of the tree
}

// ChildHealth is one child's part of Health.
type ChildHealth struct {
	Path     string
	State    State
	OK       bool   // running and ready, ended for good, standing by for its lease (or waiting only for siblings that do, or wait likewise), or a pool's instance starting without a failure or stopping but not for a missed deadline
	Reason   string // why not OK, such as "restarting after error: dial tcp: refused"; what a standby child waits for
	Restart  int    // restarts so far
	Pool     bool   // a pool: its live instances follow it
	Instance bool   // an instance of a pool
}

// healthHook lets tests hold Health up between its snapshot and its reading
// of the tree's state.
var healthHook func()

// Health returns the tree's aggregate state and each child's. It is safe to
// call at any time. It says HealthFailed or HealthStopped only once Done is
// closed: Err and ShutdownReport are final by then, and its snapshot, read
// after, shows nothing running (ending while it reads, it says
// HealthStopping).
func (t *Tree) Health() Health {
	t.built("Health")
	// Whether Run had returned before the snapshot: stopped and failed say
	// that nothing runs, which a snapshot read as the tree stopped would
	// belie. Ending while it is read, the tree is still stopping.
	ended := closed(t.done)
	wasReady := closed(t.ready) // likewise: becoming ready while read, it was starting in the snapshot
	snap := t.Snapshot()
	if healthHook != nil {
		healthHook()
	}
	h := Health{Children: make([]ChildHealth, len(snap.Children)), Snapshot: snap}
	var firstBad string
	// A supervisor's children follow it in the snapshot. Below one that
	// ended for good, children have ended too; below one that is down,
	// the supervisor is the reason, not each of its children. Below one
	// that stands by for its lease (or waits for one that does), nothing
	// runs here, and that is well.
	type sup struct {
		ended, down bool
		standby     string // why the supervisor above stands by, if one does
	}
	sups := map[string]sup{}
	var starting string // the first supervisor not ready yet, if nothing below it says why
	var w *waits        // once a child waits
	for i, c := range snap.Children {
		// A child standing by for its lease is well: the singleton runs in
		// another process, and this one serves all the same.
		ch := ChildHealth{Path: c.Path, Pool: c.Pool, Instance: c.Instance, State: c.State, Restart: c.Restarts,
			OK: c.State == StateRunning || c.State == StateDone || c.State == StateStandby}
		if c.Instance && (c.State == StateStarting && !(c.LastError != nil && c.LastExit.Failure()) || c.State == StateStopping && c.fault == nil) {
			// A pool takes and ends work all the time: an instance starting
			// for the first time, or stopping on an order, is how it runs.
			// An earlier failure is no reason for the stop of this attempt.
			ch.OK = true
		}
		parentPath := c.parent()
		ch.Reason = childReason(c)
		if c.State == StateWaiting {
			if w == nil {
				w = newWaits(snap.Children)
			}
			ch.OK, ch.Reason = w.reason(i)
		}
		parent := sups[parentPath]
		// A supervisor that has not been ready yet waits for its children:
		// the first of them that is not well says why.
		startingSup := c.Supervisor && c.State == StateStarting
		switch {
		case parent.ended:
			ch.OK, ch.Reason = true, ""
		case parent.standby != "":
			ch.OK, ch.Reason = true, parent.standby
		case ch.OK || parent.down || firstBad != "":
		case startingSup:
			if starting == "" {
				starting = c.Path + ": " + ch.Reason
			}
		default:
			firstBad = c.Path + ": " + ch.Reason
		}
		if c.Supervisor {
			s := sup{ended: parent.ended || c.State == StateDone, down: parent.down || !ch.OK && !startingSup, standby: parent.standby}
			switch {
			case s.standby != "":
			case c.State == StateStandby:
				s.standby = "standby: its supervisor " + c.Path + " waits for its lease"
			case c.State == StateWaiting && w.standsBy(i):
				s.standby = fmt.Sprintf("standby: its supervisor %s waits for lease %q", c.Path, w.lease[i])
			}
			sups[c.Path] = s
		}
		h.Children[i] = ch
	}
	if firstBad == "" {
		firstBad = starting
	}
	switch {
	case ended: // not the state, stored a moment before: ended means Run has returned
		h.State, h.Reason = HealthStopped, "stopped"
		if err := t.result(); err != nil {
			h.State, h.Reason = HealthFailed, errText(err)
		}
	case t.state.Load() == treeIdle:
		h.State, h.Reason = HealthStarting, "not started"
	case closed(t.stopping):
		h.State, h.Reason = HealthStopping, "stopping"
	case !closed(t.ready), !wasReady && firstBad != "":
		h.State, h.Reason = HealthStarting, firstBad
	case firstBad != "":
		h.State, h.Reason = HealthDegraded, firstBad
	default:
		h.State = HealthReady
	}
	return h
}

// waits tells, for Health, what each waiting child waits for. A child
// that waits only for siblings that stand by for their lease, or that wait
// likewise, is well, as they are: the singleton runs in another process.
// Each child's wait is looked at once, so that a long chain of after edges
// costs its length, not its square.
type waits struct {
	children []ChildStatus
	index    map[string]int // children by path
	seen     []uint8        // per child: waitUnknown, …
	via      []int32        // per child that stands by: the sibling it waits for that stands by
	lease    []string       // per child that stands by: the lease it waits for in the end
	stack    []waitFrame
	steps    int // after edges looked at
}

// What waits knows of a child.
const (
	waitUnknown uint8 = iota
	waitLooking       // on the stack
	waitStandby       // stands by, or waits only for what does
	waitOther         // neither
)

// waitFrame is a waiting child whose after list waits is going through.
type waitFrame struct {
	i, next int
	parent  string
}

func newWaits(children []ChildStatus) *waits {
	w := &waits{children: children, index: make(map[string]int, len(children)),
		seen: make([]uint8, len(children)), via: make([]int32, len(children)), lease: make([]string, len(children))}
	for j := range children {
		w.index[children[j].Path] = j
	}
	return w
}

// satisfied reports whether c no longer holds up the children after it.
func satisfied(c *ChildStatus) bool {
	return c.State == StateRunning || c.State == StateDone && c.LastExit == ExitSuccess
}

// reason says whether the waiting child i is well, and what it waits for:
// "waiting for db (restarting after error: …)", or "standby: waiting for
// sched, which waits for lease "shop/sched"". A sibling stopped by an
// order, or ended for good without success, keeps it waiting until an
// order restarts that sibling.
func (w *waits) reason(i int) (ok bool, reason string) {
	if w.standsBy(i) {
		return true, fmt.Sprintf("standby: waiting for %s, which waits for lease %q", w.children[w.via[i]].name(), w.lease[i])
	}
	c := &w.children[i]
	parent := c.parent()
	for _, name := range c.After {
		j, found := w.index[parent+"/"+name]
		if !found {
			continue
		}
		d := &w.children[j]
		if satisfied(d) || w.standsBy(j) {
			continue
		}
		return false, fmt.Sprintf("waiting for %s (%s)", name, childReason(*d))
	}
	return false, "waiting for the siblings in its after list"
}

// standsBy reports whether child i stands by for its lease, or waits only
// for siblings that stand by (or that wait likewise).
func (w *waits) standsBy(i int) bool {
	if w.seen[i] == waitUnknown {
		w.look(i)
	}
	return w.seen[i] == waitStandby
}

// look finds out whether child i stands by, and the same of the siblings
// it waits for, depth first on a stack of its own: an after chain as long
// as the tree would grow the goroutine's stack past its limit.
func (w *waits) look(i int) {
	if !w.begin(i) {
		return
	}
	for len(w.stack) > 0 {
		f := &w.stack[len(w.stack)-1]
		c := &w.children[f.i]
		if f.next == len(c.After) {
			w.seen[f.i] = waitOther
			if w.lease[f.i] != "" {
				w.seen[f.i] = waitStandby
			}
			w.stack = w.stack[:len(w.stack)-1]
			continue
		}
		w.steps++
		j, found := w.index[f.parent+"/"+c.After[f.next]]
		if !found {
			f.next++
			continue
		}
		switch w.seen[j] {
		case waitUnknown:
			if w.begin(j) {
				continue // f comes back to j once it is known
			}
		case waitLooking: // a cycle, which Validate refuses
			w.seen[j] = waitOther
		}
		f = &w.stack[len(w.stack)-1]
		d := &w.children[j]
		switch {
		case satisfied(d):
		case w.seen[j] == waitStandby:
			if w.lease[f.i] == "" {
				w.via[f.i], w.lease[f.i] = int32(j), w.lease[j]
			}
		default:
			w.seen[f.i], w.lease[f.i] = waitOther, ""
			w.stack = w.stack[:len(w.stack)-1]
			continue
		}
		f.next++
	}
}

// begin settles child i if its state does, or pushes it to have its after
// list looked through; false when settled.
func (w *waits) begin(i int) bool {
	c := &w.children[i]
	switch c.State {
	case StateStandby:
		w.seen[i], w.lease[i] = waitStandby, c.Lease
		return false
	case StateWaiting:
		w.seen[i] = waitLooking
		w.stack = append(w.stack, waitFrame{i: i, parent: c.parent()})
		return true
	}
	w.seen[i] = waitOther
	return false
}

// parent is the path of c's supervisor.
func (c *ChildStatus) parent() string { return c.Path[:max(0, strings.LastIndexByte(c.Path, '/'))] }

// name is c's name, the last element of its path.
func (c *ChildStatus) name() string { return c.Path[strings.LastIndexByte(c.Path, '/')+1:] }

func childReason(c ChildStatus) string {
	switch c.State {
	case StateRunning:
		return ""
	case StateStarting:
		if c.LastError != nil && c.LastExit.Failure() {
			// Starting again: a child that keeps missing its ready
			// timeout is here most of the time, not in its backoff.
			return fmt.Sprintf("starting again after %s: %s", c.LastExit, errText(c.LastError))
		}
		return "starting: not ready yet"
	case StateWaiting:
		return "waiting for the siblings in its after list"
	case StateBackoff:
		switch {
		case c.LastExit == ExitCancelled:
			// Stopped by its group's restart for a sibling's failure (an
			// order restarts at once): what it returned then is no reason.
			return "restarting with its group"
		case c.LastError == nil:
			return fmt.Sprintf("restarting after %s", c.LastExit) // a permanent child that returned nil
		}
		return fmt.Sprintf("restarting after %s: %s", c.LastExit, errText(c.LastError))
	case StateDone:
		if c.LastError != nil {
			return fmt.Sprintf("done after %s: %s", c.LastExit, errText(c.LastError))
		}
		return fmt.Sprintf("done after %s", c.LastExit)
	case StateStopping:
		// Its last exit is an earlier attempt's: no reason for this stop.
		if c.fault != nil {
			return fmt.Sprintf("stopping after %s: %s", ExitTimeout, errText(c.fault))
		}
		return "stopping"
	case StateIdle:
		return "not started"
	case StateStandby:
		if c.LeaseError != nil {
			return fmt.Sprintf("standby: acquiring lease %q failed: %s", c.Lease, errText(c.LeaseError))
		}
		return fmt.Sprintf("standby: waiting for lease %q", c.Lease)
	}
	if c.LastError != nil && c.LastExit.Failure() {
		return fmt.Sprintf("%s after %s: %s", c.State, c.LastExit, errText(c.LastError))
	}
	return c.State.String()
}

// Ready is closed once every child of the tree has been ready, the moment a
// service manager can be told the service is up.
func (t *Tree) Ready() <-chan struct{} {
	t.built("Ready")
	return t.ready
}

// Stopping is closed when the tree begins to shut down.
func (t *Tree) Stopping() <-chan struct{} {
	t.built("Stopping")
	return t.stopping
}

// Done is closed when Run returns, once Err, ShutdownReport and the events
// are final (but for the Returned time of an abandoned attempt that
// returns later).
func (t *Tree) Done() <-chan struct{} {
	t.built("Done")
	return t.done
}

// Err returns what Run returned, once Done is closed.
func (t *Tree) Err() error {
	t.built("Err")
	return t.result()
}

func (t *Tree) result() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
