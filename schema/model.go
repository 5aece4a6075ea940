package schema

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Pos is a position in a spec file. Lines and columns count from 1;
// Column counts bytes, like go/token.
type Pos struct {
	Filename string
	Line     int
	Column   int
}

// IsValid reports whether p has a line number.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String returns "file:line:col", "file:line" or "file", whichever p
// allows, and "-" for the zero Pos. A file name with a character that is
// not printable (a newline, an escape) is quoted as Go quotes a string, so
// that a message stays one line and writes nothing to a terminal.
func (p Pos) String() string {
	s := displayName(p.Filename)
	if p.IsValid() {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	if s == "" {
		s = "-"
	}
	return s
}

// displayName returns a file name as a message writes it: quoted as Go
// quotes a string if it has a character that is not printable.
func displayName(name string) string {
	if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(name)
	}
	return name
}

// Spec is a loaded, validated spec with its defaults applied.
type Spec struct {
	// Dir is the absolute directory the spec was loaded from.
	Dir string
	// Package is the CUE package name.
	Package string
	// Files are the absolute paths of the package's .cue files, sorted.
	Files []string
	// Trees are the trees, sorted by name.
	Trees []*Node
}

// Tree returns the tree with the given name, or nil.
func (s *Spec) Tree(name string) *Node {
	for _, t := range s.Trees {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Node is a tree (the root supervisor), a nested supervisor or a worker.
// Supervisors have Children (possibly empty, never nil); workers have Run.
// A worker with Pool is a pool: a supervisor of instances of that worker,
// started at run time.
//
// Every position points into the user's files. A field's position (the
// XPos next to field X, and Limit.Pos, Backoff.Pos, Probe.Pos) is that of
// its label where the spec gives it, inside the template when it comes
// from a definition, and that of the node's own label where the field is
// left at its default.
type Node struct {
	// Name is the tree's or child's name, the label in the spec.
	Name string
	// Pos is the position of the node's label, such as `db:`.
	Pos Pos
	// Path is the chain of names from the tree down to this node, such as
	// ["shop", "ingest", "fetch"] (without the "children" levels).
	Path []string
	// CUEPath is the node's path in the CUE value, such as
	// `trees.shop.children.ingest.children.fetch`, for messages.
	CUEPath string
	// Tree reports whether the node is the root of a tree.
	Tree bool

	// Children are a supervisor's children in declaration order, which is
	// the start order before after constraints. Nil for workers.
	Children []*Node
	// Strategy is a supervisor's restart strategy: "one_for_one",
	// "one_for_all" or "rest_for_one". Empty for workers.
	Strategy    string
	StrategyPos Pos
	// Shutdown is a supervisor's stop budget (default 30s) or a worker's
	// grace after cancellation (default 5s).
	Shutdown    time.Duration
	ShutdownPos Pos
	// RestartLimit is a supervisor's or a pool's restart limit, always set
	// (defaults applied), or a worker's own limit, set only when the spec
	// gives one.
	RestartLimit *Limit
	// Backoff is a supervisor's backoff for its children, always set
	// (defaults applied), or a worker's replacement backoff, set only when
	// the spec gives one.
	Backoff *Backoff

	// Run is a worker's function or method reference, as written. Empty
	// for supervisors.
	Run    string
	RunPos Pos
	// Restart is a child's restart type: "permanent", "transient" or
	// "temporary". Empty for trees.
	Restart    string
	RestartPos Pos
	// Timeout is a worker's deadline for one attempt; 0 (and TimeoutPos
	// the zero Pos) when absent.
	Timeout    time.Duration
	TimeoutPos Pos
	// Ready is set when a worker must report readiness.
	Ready *Probe
	// Heartbeat is set when a worker must send heartbeats.
	Heartbeat *Probe
	// After names the siblings that must be ready before this child
	// starts, in the order written. Empty, not nil, for children with none;
	// nil for trees.
	After    []Ref
	AfterPos Pos
	// Significant reports whether the child's end (when it is not
	// restarted) shuts its supervisor down cleanly.
	Significant    bool
	SignificantPos Pos
	// Pool is set when the worker is a pool.
	Pool *Pool
	// Lease is set when the child (a worker, a pool or a nested
	// supervisor) has a lease.
	Lease *Lease

	// Broken is set, only by LoadPartial, on a node that a spec error
	// concerns (or that is below one), whose decoded fields may not be
	// what the spec means.
	Broken bool
}

// IsSupervisor reports whether n is a tree or a nested supervisor.
func (n *Node) IsSupervisor() bool { return n.Children != nil }

// IsPool reports whether n is a pool: a worker with a pool block.
func (n *Node) IsPool() bool { return n.Pool != nil }

// String returns the node's path joined with "/", such as "shop/ingest".
func (n *Node) String() string { return strings.Join(n.Path, "/") }

// Child returns the child with the given name, or nil.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Walk calls f for n and then, depth first in declaration order, for every
// node below it. It stops descending below a node for which f returns
// false.
func (n *Node) Walk(f func(*Node) bool) {
	if !f(n) {
		return
	}
	for _, c := range n.Children {
		c.Walk(f)
	}
}

// Limit is a restart limit: more than Max restarts within Window make the
// supervisor give up.
type Limit struct {
	Max    int
	Window time.Duration
	// Pos is the position of the `restartLimit:` label, or of the node's
	// label when the limit is all defaults.
	Pos Pos
}

// Backoff is the delay before each restart: min(Max,
// Initial·Multiplier^(n-1)), spread by ±Jitter, where n resets once an
// attempt has stayed up for ResetAfter.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
	ResetAfter time.Duration
	// Pos is the position of the `backoff:` label, or of the node's label
	// when the backoff is all defaults.
	Pos Pos
}

// Probe is a ready or heartbeat requirement with its timeout.
type Probe struct {
	Timeout time.Duration
	// Pos is the position of the `ready:` or `heartbeat:` label.
	Pos Pos
}

// Pool is the pool block of a worker.
type Pool struct {
	// Max caps the number of live instances; 0 means no cap.
	Max int
	// Pos is the position of the `pool:` label.
	Pos Pos
}

// Lease is the lease block of a child.
type Lease struct {
	// Name is the lease's name; empty when left out, which means the
	// child's path.
	Name    string
	NamePos Pos
	// TTL is the lease's time to live, default 15s.
	TTL    time.Duration
	TTLPos Pos
	// Pos is the position of the `lease:` label.
	Pos Pos
}

// Ref is a sibling name in an after list.
type Ref struct {
	Name string
	// Pos is the position of the name in the list.
	Pos Pos
}
