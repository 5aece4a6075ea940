package runtime_test

// The trees TestModel draws, and how the runtime's Spec and the model are
// built from one.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

// gSup and gChild are a drawn tree, from which both the runtime's Spec and
// the model are built.
type gSup struct {
	strategy runtime.Strategy
	limit    runtime.RestartLimit
	backoff  runtime.Backoff
	budget   time.Duration // Spec.Shutdown
	children []*gChild
}

type gChild struct {
	name        string
	restart     runtime.Restart
	significant bool
	after       []string
	readyTO     time.Duration
	ready       bool
	own         *runtime.RestartLimit // a pool's: the pool's limit
	backoff     *runtime.Backoff
	sub         *gSup
	pool        *runtime.PoolSpec

	// A worker's (or a pool's instances') grace and Timeout, and how long
	// it takes to return once cancelled: past its grace, it is abandoned.
	grace, timeout, drain time.Duration
}

// drawStop draws how a worker stops: at once mostly, or after draining
// for a while, or after its grace. Durations differ between children, so
// that their timers do not come due together.
func (c *gChild) drawStop(r *rand.Rand, n int) {
	c.grace = time.Second + time.Duration(n)*time.Millisecond
	switch r.IntN(8) {
	case 0, 1:
		c.drain = 200*time.Millisecond + time.Duration(n)*time.Millisecond
	case 2:
		c.drain = c.grace + 300*time.Millisecond
	}
	if r.IntN(6) == 0 {
		c.timeout = mpick(r, 1700*time.Millisecond, 2900*time.Millisecond) + time.Duration(n)*time.Millisecond
	}
}

func modelBackoff(r *rand.Rand) runtime.Backoff {
	b := runtime.Backoff{
		Initial:    mpick(r, 0, 30*time.Millisecond, 100*time.Millisecond, 250*time.Millisecond),
		Max:        mpick(r, 300*time.Millisecond, time.Second),
		Multiplier: mpick(r, 1.0, 2.0, 3.0),
		ResetAfter: mpick(r, 0, 400*time.Millisecond, 2*time.Second),
		Jitter:     mpick(r, 0, 0, 0.2, 0.5),
	}
	if !*modelJitter {
		b.Jitter = 0
	}
	return b
}

func mpick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// drawSup draws a supervisor at level (1 for the root) with 2 to 6
// children, some of them nested supervisors down to level 3.
func drawSup(r *rand.Rand, level int, next *int) *gSup {
	sv := &gSup{
		strategy: mpick(r, runtime.OneForOne, runtime.OneForAll, runtime.RestForOne),
		limit:    runtime.RestartLimit{Max: r.IntN(8), Window: mpick(r, time.Second, 3*time.Second, 10*time.Second)},
		backoff:  modelBackoff(r),
	}
	// Nested budgets outlast every stop; the root's may run out.
	sv.budget = mpick(r, 5*time.Minute, 5*time.Minute, 700*time.Millisecond+7300*time.Microsecond, 2*time.Second+1300*time.Microsecond)
	n := 2 + r.IntN(5)
	if level > 1 {
		sv.budget = 5 * time.Minute
		n = 2 + r.IntN(3)
	}
	for range n {
		*next++
		c := &gChild{name: fmt.Sprintf("c%d", *next), restart: mpick(r, runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary)}
		switch {
		case r.IntN(7) == 0:
			c.pool = &runtime.PoolSpec{Max: r.IntN(4)}
			c.drawStop(r, *next)
			if r.IntN(3) == 0 {
				c.ready = true
				c.readyTO = mpick(r, 0, 700*time.Millisecond) + time.Duration(*next)*time.Millisecond
			}
			if r.IntN(2) == 0 {
				c.own = &runtime.RestartLimit{Max: r.IntN(4), Window: mpick(r, time.Second, 5*time.Second)}
			}
		case level < 3 && r.IntN(4) == 0:
			c.sub = drawSup(r, level+1, next)
			for _, g := range c.sub.children {
				if g.significant && c.restart == runtime.Permanent {
					c.restart = runtime.Transient // a permanent one would restart at once
				}
			}
			c.significant = c.restart != runtime.Permanent && r.IntN(6) == 0
		default:
			if r.IntN(3) == 0 {
				c.ready = true
				// Distinct among siblings: children started together must
				// not miss their deadlines at one instant (see model.cut).
				c.readyTO = mpick(r, 0, 700*time.Millisecond, 1300*time.Millisecond) + time.Duration(*next)*time.Millisecond
			}
			if r.IntN(8) == 0 {
				lim := runtime.RestartLimit{Max: r.IntN(3), Window: mpick(r, time.Second, 5*time.Second)}
				c.own = &lim
			}
			if r.IntN(6) == 0 {
				b := modelBackoff(r)
				c.backoff = &b
			}
			c.significant = c.restart != runtime.Permanent && r.IntN(8) == 0
			c.drawStop(r, *next)
		}
		sv.children = append(sv.children, c)
	}
	// After edges follow a random order of the children, so no cycle.
	perm := r.Perm(len(sv.children))
	for i, ci := range perm {
		for _, dj := range perm[:i] {
			if r.IntN(5) == 0 {
				sv.children[ci].after = append(sv.children[ci].after, sv.children[dj].name)
			}
		}
	}
	return sv
}

func (sv *gSup) describe(b *strings.Builder, indent string) {
	fmt.Fprintf(b, "%sstrategy=%s limit=%d/%v backoff=%+v shutdown=%v\n", indent, sv.strategy, sv.limit.Max, sv.limit.Window, sv.backoff, sv.budget)
	for _, c := range sv.children {
		fmt.Fprintf(b, "%s- %s %s", indent, c.name, c.restart)
		if c.pool != nil {
			fmt.Fprintf(b, " pool max=%d", c.pool.Max)
		}
		if c.significant {
			b.WriteString(" significant")
		}
		if len(c.after) > 0 {
			fmt.Fprintf(b, " after=%v", c.after)
		}
		if c.ready {
			fmt.Fprintf(b, " ready=%v", c.readyTO)
		}
		if c.own != nil {
			fmt.Fprintf(b, " own=%d/%v", c.own.Max, c.own.Window)
		}
		if c.backoff != nil {
			fmt.Fprintf(b, " backoff=%+v", *c.backoff)
		}
		if c.sub == nil {
			fmt.Fprintf(b, " grace=%v drain=%v timeout=%v", c.grace, c.drain, c.timeout)
		}
		b.WriteString("\n")
		if c.sub != nil {
			c.sub.describe(b, indent+"    ")
		}
	}
}

func (d *modelRun) spec(g *gSup) runtime.Spec {
	b := g.backoff
	l := g.limit
	sp := runtime.Spec{Strategy: g.strategy, RestartLimit: &l, Backoff: &b, Shutdown: g.budget}
	for _, c := range g.children {
		ch := runtime.Child{Name: c.name, Restart: c.restart, Significant: c.significant, After: c.after, RestartLimit: c.own, Backoff: c.backoff}
		switch {
		case c.sub != nil:
			sub := d.spec(c.sub)
			ch.Supervisor = &sub
		case c.pool != nil:
			ch.Pool = c.pool
			ch.Shutdown, ch.Timeout = c.grace, c.timeout
			if c.ready {
				ch.Ready = &runtime.Ready{Timeout: c.readyTO}
			}
		default:
			ch.Run = d.w.run
			ch.Shutdown, ch.Timeout = c.grace, c.timeout
			if c.ready {
				ch.Ready = &runtime.Ready{Timeout: c.readyTO}
			}
		}
		sp.Children = append(sp.Children, ch)
	}
	return sp
}

func (d *modelRun) buildModel(g *gSup, path string, self *mChild) *mSup {
	sv := &mSup{m: d.m, path: path, self: self, strategy: g.strategy, limit: g.limit, budget: g.budget}
	byName := map[string]*mChild{}
	for _, gc := range g.children {
		c := &mChild{name: gc.name, path: path + "/" + gc.name, sup: sv, restart: gc.restart, significant: gc.significant,
			readyTO: gc.readyTO, needsReady: gc.ready || gc.sub != nil, backoff: g.backoff, own: gc.own,
			grace: gc.grace, timeout: gc.timeout, drain: gc.drain}
		d.w.drain[c.path] = gc.drain
		if gc.backoff != nil {
			c.backoff = *gc.backoff
		}
		switch {
		case gc.sub != nil:
			c.sub = d.buildModel(gc.sub, c.path, c)
		case gc.pool != nil:
			// A pool is restarted like a permanent child, by its own limit
			// (the pool's RestartLimit, which counts its instances' restarts);
			// its instances have the child's policy.
			c.restart, c.own, c.readyTO, c.needsReady = runtime.Permanent, nil, 0, true
			c.grace, c.timeout, c.drain = 0, 0, 0
			p := &mSup{m: d.m, path: c.path, self: c, strategy: runtime.OneForOne, pool: true, max: gc.pool.Max,
				limit: runtime.RestartLimit{Max: runtime.DefaultRestartMax, Window: runtime.DefaultRestartWindow}}
			if gc.own != nil {
				p.limit = *gc.own
			}
			p.instance = mChild{restart: gc.restart, readyTO: gc.readyTO, needsReady: gc.ready, backoff: c.backoff,
				grace: gc.grace, timeout: gc.timeout, drain: gc.drain}
			c.sub = p
		}
		byName[gc.name] = c
		sv.children = append(sv.children, c)
	}
	for i, gc := range g.children {
		for _, a := range gc.after {
			sv.children[i].deps = append(sv.children[i].deps, byName[a])
		}
	}
	// Start order: declaration order, adjusted so that each child starts
	// after its After list: at each step the first declared child whose
	// dependencies are all placed.
	placed := map[*mChild]bool{}
	for len(sv.order) < len(sv.children) {
		for _, c := range sv.children {
			if placed[c] || slices.ContainsFunc(c.deps, func(d *mChild) bool { return !placed[d] }) {
				continue
			}
			c.rank = len(sv.order)
			placed[c] = true
			sv.order = append(sv.order, c)
			break
		}
	}
	for _, c := range sv.order {
		for _, dep := range c.deps {
			dep.dependents = append(dep.dependents, c)
		}
	}
	return sv
}
