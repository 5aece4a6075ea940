package runtime

import (
	"context"
	"testing"
	"time"
)

// TestAlikeSiblingsShareAPolicy: a slot keeps a copy of its Child's policy,
// shared with the siblings whose policy is equal, and its own name and run
// function; a sibling that differs in any field keeps its own copy, and the
// caller's values may change after New.
func TestAlikeSiblingsShareAPolicy(t *testing.T) {
	run := func(context.Context, *Attempt) error { return nil }
	ready := &Ready{Timeout: time.Second}
	backoff := &Backoff{Initial: time.Millisecond, Max: time.Second, Multiplier: 2}
	base := Child{Run: run, Restart: Transient, Ready: ready, Backoff: backoff}
	variants := []func(*Child){
		func(c *Child) { c.Restart = Temporary },
		func(c *Child) { c.Shutdown = time.Second },
		func(c *Child) { c.Timeout = time.Second },
		func(c *Child) { c.Ready = &Ready{Timeout: 2 * time.Second} },
		func(c *Child) { c.Ready = nil },
		func(c *Child) { c.Heartbeat = &Heartbeat{Timeout: time.Second} },
		func(c *Child) { c.Significant = true },
		func(c *Child) { c.RestartLimit = &RestartLimit{Max: 1, Window: time.Second} },
		func(c *Child) { c.Backoff = &Backoff{Initial: 2 * time.Millisecond, Max: time.Second, Multiplier: 2} },
		func(c *Child) { c.Backoff = nil },
	}
	children := []Child{base, base} // a0 and a1 are alike
	children[0].Name, children[1].Name = "a0", "a1"
	for i, change := range variants {
		c := base
		c.Name = "v" + string(rune('a'+i))
		change(&c)
		children = append(children, c)
	}
	supBackoff := &Backoff{Initial: 3 * time.Millisecond, Max: time.Second}
	tr, err := New(Spec{Name: "t", Backoff: supBackoff, Children: children})
	if err != nil {
		t.Fatal(err)
	}
	slots := tr.root.slots
	if slots[0].spec != slots[1].spec {
		t.Error("alike siblings a0 and a1 do not share a policy")
	}
	seen := map[*Child]string{slots[0].spec: "a0"}
	for _, s := range slots[2:] {
		if other, ok := seen[s.spec]; ok {
			t.Errorf("%s shares the policy of %s, but they differ", s.name(), other)
		}
		seen[s.spec] = s.name()
	}
	for i, s := range slots {
		if s.name() != children[i].Name || s.path != "t/"+children[i].Name || s.fn == nil {
			t.Errorf("slot %d: name %q, path %q, run set %v", i, s.name(), s.path, s.fn != nil)
		}
	}
	ready.Timeout, backoff.Initial, supBackoff.Initial = time.Hour, time.Hour, time.Hour // the caller's, after New
	if slots[0].spec.Ready.Timeout != time.Second || slots[0].spec.Backoff.Initial != time.Millisecond {
		t.Errorf("the tree follows the caller's values changed after New: ready %v, backoff %v",
			slots[0].spec.Ready.Timeout, slots[0].spec.Backoff.Initial)
	}
	if own := slots[len(slots)-1]; own.spec.Backoff.Initial != 3*time.Millisecond { // the variant without a backoff
		t.Errorf("%s follows its supervisor's backoff changed after New: %v", own.name(), own.spec.Backoff.Initial)
	}
}
