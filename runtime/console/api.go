package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// Tree is the body of GET /api/tree: the tree's health and a snapshot of
// every child (runtime.Tree.Snapshot), depth first, a nested supervisor or
// pool before its children.
type Tree struct {
	Tree          string    `json:"tree"`
	Run           string    `json:"run"`              // the tree's run (RunHeader): another is a restarted program
	Health        string    `json:"health"`           // runtime.HealthState: starting, ready, degraded, stopping, failed, stopped
	Reason        string    `json:"reason,omitempty"` // why the tree is not ready
	Time          time.Time `json:"time"`             // the server's clock when the snapshot was taken
	LastEvent     uint64    `json:"lastEvent"`        // the Seq of the latest event then: stream from there
	DroppedEvents uint64    `json:"droppedEvents"`    // events a slow observer lost
	Control       bool      `json:"control"`          // control orders are on: a token is configured
	Children      []Child   `json:"children"`
}

// Child is one child of a Tree.
type Child struct {
	Path       string    `json:"path"`
	Kind       string    `json:"kind"` // worker, supervisor, pool or instance
	State      string    `json:"state"`
	Since      time.Time `json:"since"` // when State began
	Ready      bool      `json:"ready"` // running and ready
	Generation uint64    `json:"generation"`
	Attempt    int       `json:"attempt"`
	Restarts   int       `json:"restarts"`
	Abandoned  int       `json:"abandoned"`
	Fenced     uint64    `json:"fenced"`
	LastExit   string    `json:"lastExit"`
	LastError  string    `json:"lastError,omitempty"`
	After      []string  `json:"after,omitempty"` // the siblings it starts after
	Pool       *Pool     `json:"pool,omitempty"`
	Lease      string    `json:"lease,omitempty"`      // the lease's name, for a singleton
	Token      uint64    `json:"token,omitempty"`      // the fencing token of the lease held here
	LeaseError string    `json:"leaseError,omitempty"` // why a singleton in standby has no lease: the provider's last error
}

// Pool is a pool's live instances by state, counted in the same snapshot
// as the instances listed, and its totals (runtime.PoolCounts).
type Pool struct {
	Live      int    `json:"live"`
	Starting  int    `json:"starting"`
	Running   int    `json:"running"`
	Backoff   int    `json:"backoff"`
	Stopping  int    `json:"stopping"`
	Stopped   int    `json:"stopped"` // returned, a moment before its restart or removal
	Started   uint64 `json:"started"`
	Restarts  uint64 `json:"restarts"`
	Removed   uint64 `json:"removed"`
	Abandoned uint64 `json:"abandoned"`
	Listed    int    `json:"listed"` // instances in Children: all, or ?instances=N of them
}

// Event is a runtime.Event in JSON: in the body of GET /api/events, and in
// each message of the stream.
type Event struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // runtime.EventKind in words, such as "restart scheduled"
	Path       string    `json:"path"`
	Generation uint64    `json:"generation,omitempty"`
	Attempt    int       `json:"attempt,omitempty"`
	Exit       string    `json:"exit,omitempty"`
	Error      string    `json:"error,omitempty"`
	Delay      string    `json:"delay,omitempty"` // a Go duration, such as "1.5s"
	Restarts   int       `json:"restarts,omitempty"`
	Signal     string    `json:"signal,omitempty"`
	Waiting    []string  `json:"waiting,omitempty"`
	Order      string    `json:"order,omitempty"`
	From       string    `json:"from,omitempty"`
	Token      uint64    `json:"token,omitempty"` // a lease's fencing token
	Text       string    `json:"text"`            // the event on one line (runtime.Event.String)
}

// Events is the body of GET /api/events.
type Events struct {
	Events    []Event `json:"events"`
	Missed    uint64  `json:"missed"`    // events after the one asked for that the journal no longer holds
	LastEvent uint64  `json:"lastEvent"` // the Seq of the last event listed: ask for those after it next
	Latest    uint64  `json:"latest"`    // the Seq of the tree's latest event when the answer was made
	More      bool    `json:"more"`      // events up to Latest follow LastEvent: more than one answer holds (MaxEvents)
}

// MaxText is the most of an error's text that an answer holds: a longer
// one (as long as whatever a program wrapped into it, and repeated for
// every event) is cut there, at a rune, and ends in "… (N bytes)", its
// whole length.
const MaxText = 4 << 10

// MaxEvents is how many events one answer of GET /api/events holds at
// most: the latest, or with ?after= the oldest after the one asked for. A
// larger journal is read page by page (Events.More, then ?after=LastEvent),
// so that a request never copies a whole journal of any size.
const MaxEvents = runtime.DefaultJournal

// Gap is the data of a "gap" message of the stream.
type Gap struct {
	Missed uint64 `json:"missed"` // events lost before the next one
}

// Run is the data of the "run" message that begins every stream: the
// tree's run, as in RunHeader.
type Run struct {
	Run string `json:"run"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// OrderResult is the body of a control order's 202 response.
type OrderResult struct {
	Path  string `json:"path"`
	Order string `json:"order"`
}

// treeJSON answers GET /api/tree. ?instances=N lists at most N instances
// of each pool (the page asks for a few, not for a pool's 100k); the pool's
// counts still say how many live.
func (h *handler) treeJSON(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "instances")
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := -1
	if q.Has("instances") {
		v := q.Get("instances")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(w, http.StatusBadRequest, fmt.Sprintf("instances: %q is not a number of instances (0 or more)", text.Clip(v, maxLogged)))
			return
		}
		limit = n
	}
	// One snapshot at a time: each reads every instance of every pool (41
	// MB with 100k of them), and reading needs no token, so concurrent
	// readers would pile them up (30 at once: 500 MB). They take turns;
	// the time is the processor's anyway.
	select {
	case h.snapshots <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	t := h.snapshot(limit)
	<-h.snapshots
	writeJSON(w, http.StatusOK, t)
}

// snapshot is the tree as JSON shapes, with at most limit instances of
// each pool (all when limit is negative).
func (h *handler) snapshot(limit int) Tree {
	health := h.tree.Health()
	snap := health.Snapshot
	t := Tree{
		Tree: snap.Tree, Run: h.run, Health: health.State.String(), Time: time.Now(),
		LastEvent: snap.LastEvent, DroppedEvents: snap.DroppedEvents, Control: h.token != nil,
		Children: make([]Child, 0, toList(snap.Children, limit)),
	}
	var pool *Pool // the pool whose instances follow
	listed := 0
	if health.State != runtime.HealthReady {
		t.Reason = text.Clip(health.Reason, MaxText)
	}
	for _, c := range snap.Children {
		out := Child{
			Path: c.Path, Kind: "worker", State: c.State.String(), Since: c.Since,
			Ready:      c.State == runtime.StateRunning,
			Generation: c.Generation, Attempt: c.Attempt, Restarts: c.Restarts,
			Abandoned: c.Abandoned, Fenced: c.Fenced, LastExit: c.LastExit.String(), After: c.After,
			Lease: c.Lease, Token: c.Token,
		}
		if c.LastError != nil {
			out.LastError = text.Clip(runtime.ErrorText(c.LastError), MaxText)
		}
		if c.LeaseError != nil {
			out.LeaseError = text.Clip(runtime.ErrorText(c.LeaseError), MaxText)
		}
		switch {
		case c.Pool:
			out.Kind = "pool"
			// The totals come from the pool; the live instances by state
			// from those of this snapshot, below, so that the counts and
			// the list agree (Counts, a moment later, may see a pool that
			// has changed, or restarted empty).
			out.Pool = &Pool{}
			if p := h.tree.Pool(c.Path); p != nil {
				n := p.Counts()
				out.Pool.Started, out.Pool.Restarts, out.Pool.Removed, out.Pool.Abandoned = n.Started, n.Restarts, n.Removed, n.Abandoned
			}
			pool, listed = out.Pool, 0
		case c.Instance:
			out.Kind = "instance"
			if pool != nil {
				pool.count(c.State)
			}
			if limit >= 0 && listed >= limit {
				continue
			}
			listed++
			if pool != nil {
				pool.Listed++
			}
		case c.Supervisor:
			out.Kind = "supervisor"
		}
		t.Children = append(t.Children, out)
	}
	return t
}

// count counts a live instance in state s, as runtime.Pool.Counts does.
func (p *Pool) count(s runtime.State) {
	switch s {
	case runtime.StateIdle, runtime.StateStarting:
		p.Starting++
	case runtime.StateRunning:
		p.Running++
	case runtime.StateBackoff:
		p.Backoff++
	case runtime.StateStopping:
		p.Stopping++
	case runtime.StateStopped:
		p.Stopped++
	default:
		return
	}
	p.Live++
}

// toList is how many of children a snapshot with at most limit instances
// of each pool lists: the page asks for 20 of a pool's 100k, and must not
// pay for the rest.
func toList(children []runtime.ChildStatus, limit int) int {
	if limit < 0 {
		return len(children)
	}
	n, in := 0, 0
	for _, c := range children {
		if !c.Instance {
			n, in = n+1, 0
		} else if in < limit {
			n, in = n+1, in+1
		}
	}
	return n
}

// event turns e into JSON's shape.
func event(e runtime.Event) Event {
	out := Event{
		Seq: e.Seq, Time: e.Time, Kind: e.Kind.String(), Path: e.Path, Generation: e.Generation,
		Attempt: e.Attempt, Restarts: e.Restarts, Waiting: e.Waiting, From: e.From, Token: e.Token, Text: text.Clip(e.String(), MaxText),
	}
	if e.Exit != runtime.ExitNone {
		out.Exit = e.Exit.String()
	}
	if e.Err != nil {
		out.Error = text.Clip(runtime.ErrorText(e.Err), MaxText)
	}
	if e.Delay != 0 {
		out.Delay = e.Delay.String()
	}
	if e.Signal != 0 {
		out.Signal = e.Signal.String()
	}
	if e.Order != 0 {
		out.Order = e.Order.String()
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail answers status with msg as an Error.
func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, Error{Error: msg})
}
