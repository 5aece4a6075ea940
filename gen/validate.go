package gen

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/schema"
)

// This file holds the one source of truth for what the runtime accepts:
// the generator builds the runtime.Spec it is about to emit, calls
// runtime.Validate on it, as runtime.New will, and turns each
// runtime.SpecError into an error at the spec position of its node and
// field.

// runtimeSpec returns the runtime.Spec of the supervisor n, as the
// generated code builds it, with a placeholder for every run function.
// The emitter renders this value, so what is validated is what is emitted.
func runtimeSpec(n *schema.Node) runtime.Spec {
	s := runtime.Spec{
		Strategy: runtime.Strategy(n.Strategy),
		RestartLimit: &runtime.RestartLimit{
			Max:    n.RestartLimit.Max,
			Window: n.RestartLimit.Window,
		},
		Backoff:  runtimeBackoff(n.Backoff),
		Shutdown: n.Shutdown,
		Children: make([]runtime.Child, len(n.Children)),
	}
	if n.Tree {
		s.Name = n.Name
	}
	for i, c := range n.Children {
		s.Children[i] = runtimeChild(c)
	}
	return s
}

func runtimeChild(n *schema.Node) runtime.Child {
	c := runtime.Child{Name: n.Name, Restart: runtime.Restart(n.Restart), Significant: n.Significant}
	for _, r := range n.After {
		c.After = append(c.After, r.Name)
	}
	if l := n.Lease; l != nil {
		// The name in full, so that the reader of the generated code sees
		// which lease it is.
		name := l.Name
		if name == "" {
			name = n.String()
		}
		c.Lease = &runtime.LeaseSpec{Name: name, TTL: l.TTL}
	}
	if n.IsSupervisor() {
		spec := runtimeSpec(n)
		c.Supervisor = &spec
		return c
	}
	if n.IsPool() {
		// Each instance gets its run function from Start.
		c.Pool = &runtime.PoolSpec{Max: n.Pool.Max}
	} else {
		c.Run = placeholderRun
	}
	c.Shutdown = n.Shutdown
	c.Timeout = n.Timeout
	if n.Ready != nil {
		c.Ready = &runtime.Ready{Timeout: n.Ready.Timeout}
	}
	if n.Heartbeat != nil {
		c.Heartbeat = &runtime.Heartbeat{Timeout: n.Heartbeat.Timeout}
	}
	if l := n.RestartLimit; l != nil {
		c.RestartLimit = &runtime.RestartLimit{Max: l.Max, Window: l.Window}
	}
	c.Backoff = runtimeBackoff(n.Backoff)
	return c
}

func runtimeBackoff(b *schema.Backoff) *runtime.Backoff {
	if b == nil {
		return nil
	}
	return &runtime.Backoff{Initial: b.Initial, Max: b.Max, Multiplier: b.Multiplier, Jitter: b.Jitter, ResetAfter: b.ResetAfter}
}

// placeholderRun stands for a run function in a spec that is only validated.
func placeholderRun(context.Context, *runtime.Attempt) error { return nil }

// validate reports what runtime.Validate finds in tree's spec, each error
// at the position of its node and field, except the rules c reported
// already (in words closer to the spec).
func (c *checker) validate(tree *schema.Node, spec runtime.Spec) {
	err := runtime.Validate(spec)
	if err == nil {
		return
	}
	nodes := map[string]*schema.Node{}
	tree.Walk(func(n *schema.Node) bool {
		nodes[n.String()] = n
		return true
	})
	var list []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		list = joined.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var se *runtime.SpecError
		if !errors.As(e, &se) {
			c.errs.Add(tree.Pos, schema.Sprintf("%s: %v", tree, e))
			continue
		}
		if c.reported[fieldKey{se.Path, se.Field}] {
			continue
		}
		n := nodes[se.Path]
		if n == nil {
			n = tree // a path the model cannot produce, such as an unnamed child
		}
		pos, _ := fieldPos(n, se.Field)
		c.errs.Add(pos, schema.Sprintf("%s: %s: %s", n, specField(se.Field), se.Msg))
	}
}

// fieldPos returns the spec position of a runtime.Spec or runtime.Child
// field of n, such as "Backoff.Max", and whether the field is known. An
// unknown field is placed at the node's label.
func fieldPos(n *schema.Node, field string) (schema.Pos, bool) {
	root, _, _ := strings.Cut(field, ".")
	var pos schema.Pos
	switch root {
	case "Name", "Children", "Supervisor":
		pos = n.Pos
	case "Run":
		pos = n.RunPos
	case "Strategy":
		pos = n.StrategyPos
	case "Shutdown":
		pos = n.ShutdownPos
	case "Restart":
		pos = n.RestartPos
	case "Timeout":
		pos = n.TimeoutPos
	case "After":
		pos = n.AfterPos
	case "Significant":
		pos = n.SignificantPos
	case "RestartLimit":
		if n.RestartLimit != nil {
			pos = n.RestartLimit.Pos
		}
	case "Backoff":
		if n.Backoff != nil {
			pos = n.Backoff.Pos
		}
	case "Ready":
		if n.Ready != nil {
			pos = n.Ready.Pos
		}
	case "Heartbeat":
		if n.Heartbeat != nil {
			pos = n.Heartbeat.Pos
		}
	case "Pool":
		if n.Pool != nil {
			pos = n.Pool.Pos
		}
	case "Lease":
		if l := n.Lease; l != nil {
			switch field {
			case "Lease.Name":
				pos = l.NamePos
			case "Lease.TTL":
				pos = l.TTLPos
			}
			if !pos.IsValid() {
				pos = l.Pos
			}
		}
	default:
		return n.Pos, false
	}
	if !pos.IsValid() {
		pos = n.Pos
	}
	return pos, true
}

// specField spells a runtime field as the spec does: Backoff.ResetAfter
// becomes backoff.resetAfter.
func specField(field string) string {
	parts := strings.Split(field, ".")
	for i, p := range parts {
		r, size := utf8.DecodeRuneInString(p)
		parts[i] = string(unicode.ToLower(r)) + p[size:]
	}
	return strings.Join(parts, ".")
}
