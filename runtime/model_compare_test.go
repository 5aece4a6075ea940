package runtime_test

// How TestModel compares the runtime with the model after each step.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// compare checks the runtime against the model after a step.
func (d *modelRun) compare(what string) error {
	if d.m.cut != "" {
		return errCut
	}
	if len(d.m.errs) > 0 {
		return fmt.Errorf("after %s: %s", what, strings.Join(d.m.errs, "; "))
	}
	if now := time.Since(d.epoch); now != d.m.now {
		return fmt.Errorf("after %s, the runtime's clock is at %v, the model's at %v", what, now, d.m.now)
	}
	var lines []string
	first := 0 // of the instances that follow a pool, in no set order
	for _, c := range d.rt.Snapshot().Children {
		if !c.Instance {
			slices.Sort(lines[first:])
			first = len(lines) + 1
		}
		lines = append(lines, snapshotLine(c.Path, c.State, c.Generation, c.Attempt, c.Restarts, c.LastExit, c.Abandoned, c.Fenced))
	}
	slices.Sort(lines[min(first, len(lines)):])
	for _, c := range d.m.root.all(nil) {
		if c.sub != nil && c.sub.pool {
			p := d.rt.Pool(c.path)
			lines = append(lines, poolLine(c.path, p.Len(), p.Counts()))
		}
	}
	if got, want := strings.Join(lines, "\n")+"\n", d.m.snapshot(); got != want {
		return fmt.Errorf("after %s, snapshots differ:\n%s", what, lineDiff(got, want))
	}
	evs, missed := d.rt.Journal(d.seen)
	if missed > 0 {
		return fmt.Errorf("journal lost %d events", missed)
	}
	if len(evs) > 0 {
		d.seen = evs[len(evs)-1].Seq
	}
	got := map[string][]string{}
	for _, e := range evs {
		g, k := eventKey(e)
		got[g] = append(got[g], k)
	}
	want := map[string][]string{}
	for _, e := range d.m.events {
		want[e.group] = append(want[e.group], e.key)
		d.stats["event "+eventWord.FindString(e.key)]++
	}
	d.m.events = nil
	groups := map[string]bool{}
	for g := range got {
		groups[g] = true
	}
	for g := range want {
		groups[g] = true
	}
	for g := range groups {
		gs, ws := got[g], want[g]
		switch d.racy[g] {
		case 1:
			// Nested supervisors run on goroutines of their own: two of them
			// get ready, and what that starts, in no set order. Their
			// supervisor's events are compared as a set, and its stops,
			// which its one queue orders, in order.
			gs, ws = sortedStopsLast(gs), sortedStopsLast(ws)
		case 2:
			// A pool stops its instances at once.
			gs, ws = slices.Sorted(slices.Values(gs)), slices.Sorted(slices.Values(ws))
		}
		if !slices.Equal(gs, ws) {
			return fmt.Errorf("after %s, events of %s differ:\n%s", what, g, lineDiff(strings.Join(gs, "\n")+"\n", strings.Join(ws, "\n")+"\n"))
		}
	}
	return nil
}

// sortedStopsLast returns the events sorted, then the stops in their order.
func sortedStopsLast(evs []string) []string {
	var out, stops []string
	for _, e := range evs {
		if strings.Contains(e, " stopped ") {
			stops = append(stops, e)
		}
		out = append(out, e)
	}
	slices.Sort(out)
	return append(out, stops...)
}

func (d *modelRun) compareResult() error {
	want := d.m.result
	err := d.cause
	if want == nil {
		if err != nil {
			return fmt.Errorf("Run returned %v, want nil", err)
		}
		return nil
	}
	var gu *runtime.GiveUpError
	if !errors.Is(err, runtime.ErrRestartLimit) || !errors.As(err, &gu) {
		return fmt.Errorf("Run returned %v, want a give-up of %s", err, want.sup)
	}
	if gu.Supervisor != want.sup || gu.Child != want.child || gu.ChildLimit != want.ownLimit {
		return fmt.Errorf("Run returned %v (supervisor %s child %s own %v), want supervisor %s child %s own %v",
			err, gu.Supervisor, gu.Child, gu.ChildLimit, want.sup, want.child, want.ownLimit)
	}
	return nil
}

// eventKey renders a runtime event as the model does, with the
// supervisor whose goroutine emitted it.
func eventKey(e runtime.Event) (group, key string) {
	if i := strings.LastIndexByte(e.Path, '/'); i > 0 {
		group = e.Path[:i]
	}
	switch e.Kind {
	case runtime.EventStarting:
		key = fmt.Sprintf("%s starting gen=%d attempt=%d restarts=%d", e.Path, e.Generation, e.Attempt, e.Restarts)
	case runtime.EventReady:
		key = fmt.Sprintf("%s ready gen=%d attempt=%d", e.Path, e.Generation, e.Attempt)
	case runtime.EventExited, runtime.EventStopped:
		key = fmt.Sprintf("%s %s gen=%d attempt=%d exit=%s", e.Path, e.Kind, e.Generation, e.Attempt, e.Exit)
	case runtime.EventRestartScheduled:
		key = fmt.Sprintf("%s restart scheduled gen=%d attempt=%d delay=%v", e.Path, e.Generation, e.Attempt, e.Delay)
	case runtime.EventWaiting:
		key = fmt.Sprintf("%s waiting %v", e.Path, e.Waiting)
	case runtime.EventOrder:
		key = fmt.Sprintf("%s order %s", e.Path, e.Order)
	case runtime.EventAbandoned:
		key = fmt.Sprintf("%s abandoned gen=%d attempt=%d waited=%v", e.Path, e.Generation, e.Attempt, e.Delay)
	case runtime.EventFenced:
		key = e.Path + " fenced"
	case runtime.EventGaveUp:
		group = e.Path
		var gu *runtime.GiveUpError
		if errors.As(e.Err, &gu) {
			key = fmt.Sprintf("%s gave up child=%s own=%v", e.Path, gu.Child, gu.ChildLimit)
		} else {
			key = fmt.Sprintf("%s gave up %v", e.Path, e.Err)
		}
	case runtime.EventShuttingDown:
		group = e.Path
		key = e.Path + " shutting down"
		if e.Err != nil {
			key += " err=gaveup"
		}
	default:
		key = e.String()
	}
	return group, key
}

// lineDiff shows two renderings line by line, marking the lines that differ.
func lineDiff(got, want string) string {
	g := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	w := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	var b strings.Builder
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		mark := "  "
		if gl != wl {
			mark = "! "
		}
		fmt.Fprintf(&b, "%sruntime: %-60s model: %s\n", mark, gl, wl)
	}
	return b.String()
}
