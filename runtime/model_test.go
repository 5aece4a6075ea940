package runtime_test

// TestModel is a differential test: random trees run random scripts of
// events both through the runtime, under testing/synctest, and through the
// model of model_sem_test.go, and after every step the two must agree on
// every child's state, generation, attempt, restarts and last exit, on the
// events each supervisor emitted and in what order, and, at the end, on
// Run's error and the shutdown report.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var (
	modelSeed     = flag.Uint64("model.seed", 0, "first seed of TestModel (0: from the clock)")
	modelDuration = flag.Duration("model.duration", 2*time.Second, "how long TestModel draws trees (0: the one tree of -model.seed)")
	modelSteps    = flag.Int("model.steps", 60, "steps of each TestModel script")
	modelJitter   = flag.Bool("model.jitter", true, "whether TestModel's trees have jitter (which a replay does not reproduce)")
)

func TestModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay one tree: go test ./runtime -run 'TestModel$' -model.seed=N -model.duration=0)", seed)
	deadline := time.Now().Add(*modelDuration)
	runs, cut := 0, 0
	stats := map[string]int{}
	for s := seed; ; s++ {
		runs++
		ok, short := runModel(t, s, *modelSteps, stats)
		if !ok {
			return
		}
		if short {
			cut++
		}
		if time.Now().After(deadline) {
			break
		}
	}
	t.Logf("%d trees, %d cut short where the runtime may take either of two ways", runs, cut)
	for _, k := range slices.Sorted(maps.Keys(stats)) {
		t.Logf("%8d %s", stats[k], k)
	}
}

// runModel runs one tree and script, and reports whether they agreed, and
// whether it was cut short (see model.cut).
func runModel(t *testing.T, seed uint64, steps int, stats map[string]int) (ok, cut bool) {
	ok = true
	synctest.Test(t, func(t *testing.T) {
		d := newModelRun(seed)
		d.stats = stats
		err := d.run(steps)
		if errors.Is(err, errCut) {
			cut = true
			stats["cut short: "+d.m.cut]++
			return
		}
		if err != nil {
			ok = false
			t.Errorf("seed %d: %v\ntree:\n%s\nsteps:\n%s", seed, err, d.desc, strings.Join(d.log, "\n"))
		}
	})
	return ok, cut
}

// The commands a script gives a worker's current attempt.
const (
	cmdReady = iota
	cmdFail
	cmdSucceed
	cmdPanic
	cmdDoNotRestart
)

var cmdNames = []string{"ready", "fail", "succeed", "panic", "do-not-restart"}

// workers runs the run functions of a tree's workers: each attempt waits
// for its cancellation, and returns at once, or for a command.
type workers struct {
	mu    sync.Mutex
	n     int // attempts running
	live  map[string]*liveAttempt
	drain map[string]time.Duration // by worker or pool path: how long it takes to return once cancelled
}

type liveAttempt struct {
	gen uint64
	cmd chan int
}

func (w *workers) run(ctx context.Context, a *runtime.Attempt) error {
	la := &liveAttempt{gen: a.Generation(), cmd: make(chan int, 1)}
	w.mu.Lock()
	w.live[a.Path()] = la
	w.n++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		if w.live[a.Path()] == la {
			delete(w.live, a.Path())
		}
		w.n--
		w.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			path := a.Path()
			d, ok := w.drain[path]
			if !ok {
				d = w.drain[path[:strings.LastIndexByte(path, '/')]] // an instance: its pool's
			}
			time.Sleep(d)
			return nil
		case c := <-la.cmd:
			switch c {
			case cmdReady:
				a.Ready()
			case cmdFail:
				return errBoom
			case cmdSucceed:
				return nil
			case cmdPanic:
				panic("model: boom")
			case cmdDoNotRestart:
				return fmt.Errorf("model: %w", runtime.ErrDoNotRestart)
			}
		}
	}
}

func (w *workers) running() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// send gives the attempt gen of path a command.
func (w *workers) send(path string, gen uint64, c int) error {
	w.mu.Lock()
	la := w.live[path]
	w.mu.Unlock()
	if la == nil || la.gen != gen {
		return fmt.Errorf("runtime runs no attempt gen=%d of %s (has %v)", gen, path, la)
	}
	la.cmd <- c
	return nil
}

type modelRun struct {
	r     *rand.Rand
	tree  *gSup
	desc  string
	m     *model
	w     *workers
	rt    *runtime.Tree
	log   []string
	racy  map[string]int // 1: supervisors with two nested ones or more; 2: pools
	kept  []keptHandle   // every instance's handle, to give orders once it is removed
	stats map[string]int // what the model saw, over every run
	epoch time.Time      // the bubble's clock when the model's reads 0
	seen  uint64         // the last journal Seq compared
	drawn uint64         // the last journal Seq read for delays
	cause error          // Run's error, once it returned
}

func newModelRun(seed uint64) *modelRun {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	next := 0
	g := drawSup(r, 1, &next)
	var b strings.Builder
	g.describe(&b, "  ")
	d := &modelRun{r: r, tree: g, desc: b.String(), w: &workers{live: map[string]*liveAttempt{}, drain: map[string]time.Duration{}}}
	d.m = &model{drawn: map[string]time.Duration{}}
	d.m.root = d.buildModel(g, "m", nil)
	d.racy = map[string]int{}
	for _, c := range append([]*mChild{{sub: d.m.root}}, d.m.root.all(nil)...) {
		if c.sub == nil {
			continue
		}
		nested := 0
		for _, k := range c.sub.children {
			if k.sub != nil {
				nested++
			}
		}
		switch {
		case c.sub.pool:
			d.racy[c.sub.path] = 2
		case nested > 1:
			d.racy[c.sub.path] = 1
		}
	}
	return d
}

func (d *modelRun) run(steps int) error {
	spec := d.spec(d.tree)
	spec.Name = "m"
	rt, err := runtime.New(spec, runtime.WithJournal(1<<16))
	if err != nil {
		return fmt.Errorf("New: %w", err)
	}
	d.rt = rt
	d.epoch = time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.cause = rt.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done // also after a mismatch: the bubble must end with the tree
		for d.w.running() > 0 {
			time.Sleep(100 * time.Millisecond) // abandoned attempts, still draining
		}
	}()
	d.m.root.running = true
	for _, c := range d.m.root.order {
		d.m.root.want(c)
	}
	d.m.root.checkReady()
	d.settle()
	if err := d.compare("start"); err != nil {
		return err
	}
	for i := 0; i < steps && !d.m.ended; i++ {
		what, err := d.step()
		d.log = append(d.log, fmt.Sprintf("  %3d @%v %s", i, d.m.now, what))
		if err != nil {
			return err
		}
		if err := d.compare(what); err != nil {
			return err
		}
	}
	if !d.m.ended {
		d.log = append(d.log, fmt.Sprintf("      @%v shutdown", d.m.now))
		cancel()
		d.m.root.shutdown(nil)
		d.m.root.maybeReturn()
		d.settle()
		for !d.m.ended { // workers that drain their cancellation
			next, ok := d.m.next()
			if !ok {
				return errors.New("the model's shutdown does not end")
			}
			d.sleep(next - d.m.now)
		}
		if err := d.compare("shutdown"); err != nil {
			return err
		}
	}
	select {
	case <-done:
	default:
		return errors.New("the model's tree ended; Run has not returned")
	}
	if d.m.budgetsSpent > 0 {
		d.stats["tree whose shutdown budget ran out"]++
	}
	if err := d.compareResult(); err != nil {
		return err
	}
	// The report keeps those still running and the latest ReportHistory
	// of those that returned, and counts the others as Forgotten.
	report := rt.ShutdownReport()
	var listed []string
	for _, a := range report.Abandoned {
		listed = append(listed, fmt.Sprintf("%s gen=%d attempt=%d", a.Path, a.Generation, a.Attempt))
	}
	if len(listed)+report.Forgotten != len(d.m.abandoned) || slices.ContainsFunc(listed, func(a string) bool { return !slices.Contains(d.m.abandoned, a) }) {
		slices.Sort(listed)
		slices.Sort(d.m.abandoned)
		return fmt.Errorf("shutdown reports differ (%d forgotten):\n%s", report.Forgotten, lineDiff(strings.Join(listed, "\n"), strings.Join(d.m.abandoned, "\n")))
	}
	if err := rt.Handle(d.m.root.children[0].path).Restart(); !errors.Is(err, runtime.ErrTreeEnded) {
		return fmt.Errorf("Restart after Run returned: %v, want ErrTreeEnded", err)
	}
	return nil
}

// keptHandle is an instance's handle, kept to give it orders once removed.
type keptHandle struct {
	h *runtime.Handle
	c *mChild
}

// eventWord finds the kind of a model event's key.
var eventWord = regexp.MustCompile(`(starting|exited|stopped|restart scheduled|waiting|ready|order \w+|gave up|shutting down|fenced|abandoned)`)

// errCut ends a run where the runtime may take either of two ways (see
// model.cut).
var errCut = errors.New("cut short")

// step draws one step from the model's state, gives it to both, and says
// what it was.
func (d *modelRun) step() (string, error) {
	m := d.m
	// Each step at an instant of its own, a random number of microseconds
	// on, so that timers rarely come due together (see model.cut).
	d.sleep(time.Duration(1+d.r.IntN(999)) * time.Microsecond)
	if m.ended {
		return "the tree ended", nil
	}
	var workers []*mChild
	for _, c := range m.root.all(nil) {
		if c.sub == nil && c.running && c.stop == mNone {
			workers = append(workers, c)
		}
	}
	switch n := d.r.IntN(15); {
	case n == 14:
		return d.burst(workers)
	case n == 13:
		return d.edge(workers)
	case n < 5 && len(workers) > 0:
		c := workers[d.r.IntN(len(workers))]
		cmd := mpick(d.r, cmdFail, cmdFail, cmdFail, cmdSucceed, cmdPanic, cmdDoNotRestart)
		if c.needsReady && !c.ready && d.r.IntN(2) == 0 {
			cmd = cmdReady
		}
		return d.command(c, cmd)
	case n < 7:
		// Mostly to a pool that takes instances; now and then to any.
		open := d.r.IntN(4) != 0
		var pools []*mChild
		for _, c := range m.root.all(nil) {
			if c.sub != nil && c.sub.pool && (!open || c.sub.running && !c.sub.stopping) {
				pools = append(pools, c)
			}
		}
		if len(pools) == 0 {
			return "no pool", nil
		}
		p := pools[d.r.IntN(len(pools))].sub
		// Names that collide, also with those the pool makes up ("i1", …)
		// for an empty one.
		name := mpick(d.r, "p0", "p1", "p2", "p3", "p4", "i1", "i2", "", "", "")
		what := fmt.Sprintf("%s start %q", p.path, name)
		h, err := d.rt.Pool(p.path).Start(name, d.w.run)
		c, want := p.add(name)
		if want == nil && h.Path() != c.path {
			return what, fmt.Errorf("Start gave %s, want %s", h.Path(), c.path)
		}
		d.stats[fmt.Sprintf("Pool.Start: %v", want)]++
		if want != nil {
			if !errors.Is(err, want) {
				return what, fmt.Errorf("Start: %v, want %v", err, want)
			}
		} else {
			if err != nil {
				return what, fmt.Errorf("Start: %v", err)
			}
			d.kept = append(d.kept, keptHandle{h, c})
		}
		d.settle()
		return what, nil
	case n < 8 && d.r.IntN(2) == 0:
		var gone []keptHandle
		for _, k := range d.kept {
			if k.c.removed {
				gone = append(gone, k)
			}
		}
		if len(gone) == 0 {
			return "no removed instance", nil
		}
		k := gone[d.r.IntN(len(gone))]
		if err := k.h.Restart(); !errors.Is(err, runtime.ErrRemoved) {
			return k.c.path + " order restart (removed)", fmt.Errorf("Restart of a removed instance: %v, want ErrRemoved", err)
		}
		if err := k.h.Stop(); err != nil {
			return k.c.path + " order stop (removed)", fmt.Errorf("Stop of a removed instance: %v, want nil", err)
		}
		synctest.Wait()
		return k.c.path + " order restart, stop (removed)", nil
	case n < 9:
		all := m.root.all(nil)
		c := all[d.r.IntN(len(all))]
		restart := d.r.IntN(2) == 0
		what := fmt.Sprintf("%s order stop", c.path)
		h := d.rt.Handle(c.path)
		var err error
		wait := false // StopAndWait, which returns once the attempt has
		if restart {
			what = fmt.Sprintf("%s order restart", c.path)
			err = h.Restart()
		} else if d.r.IntN(2) == 0 {
			err = h.Stop()
		} else {
			what = fmt.Sprintf("%s order stop and wait", c.path)
			wait = c.running
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // longer than any stop here
			err = h.StopAndWait(ctx)
			cancel()
		}
		d.stats[fmt.Sprintf("order to a running supervisor: %v", c.sup.running)]++
		switch {
		case !c.sup.running:
			if !errors.Is(err, runtime.ErrNotRunning) {
				return what, fmt.Errorf("order to a child whose supervisor is not running: %v, want ErrNotRunning", err)
			}
		case restart && c.sup.stoppingFrom():
			if !errors.Is(err, runtime.ErrNotRunning) {
				return what, fmt.Errorf("restart of a child whose supervisor or tree is stopping: %v, want ErrNotRunning", err)
			}
		default:
			if err != nil {
				return what, fmt.Errorf("order: %v", err)
			}
			sv := c.sup
			m.post(func() { sv.control(c, restart) })
		}
		d.settle()
		// StopAndWait returned once the attempt had, or had been abandoned:
		// the runtime's clock has moved on to then.
		for gen := c.gen; wait && c.running && c.gen == gen; {
			next, ok := m.next()
			if !ok {
				return what, errors.New("StopAndWait returned; the model's attempt never ends")
			}
			m.advance(next - m.now)
		}
		return what, nil
	default:
		dt := mpick(d.r, time.Millisecond, 50*time.Millisecond, 100*time.Millisecond, 250*time.Millisecond, 700*time.Millisecond, 1500*time.Millisecond, 4*time.Second, 11*time.Second)
		d.sleep(dt + time.Duration(d.r.IntN(1000))*time.Microsecond)
		return fmt.Sprintf("sleep %v", dt), nil
	}
}

// command gives the current attempt of worker c a command.
func (d *modelRun) command(c *mChild, cmd int) (string, error) {
	what := fmt.Sprintf("%s gen=%d %s", c.path, c.gen, cmdNames[cmd])
	if err := d.w.send(c.path, c.gen, cmd); err != nil {
		return what, err
	}
	sv, gen := c.sup, c.gen
	switch cmd {
	case cmdReady:
		d.m.post(func() { sv.readyMsg(c, gen) })
	case cmdFail:
		d.m.post(func() { sv.exit(c, gen, runtime.ExitError, false) })
	case cmdSucceed:
		d.m.post(func() { sv.exit(c, gen, runtime.ExitSuccess, false) })
	case cmdPanic:
		d.m.post(func() { sv.exit(c, gen, runtime.ExitPanic, false) })
	case cmdDoNotRestart:
		d.m.post(func() { sv.exit(c, gen, runtime.ExitError, true) })
	}
	d.settle()
	return what, nil
}

// burst gives a worker that drains its cancellation two orders at once:
// its supervisor takes both before the attempt can return.
func (d *modelRun) burst(workers []*mChild) (string, error) {
	var slow []*mChild
	for _, c := range workers {
		if c.drain > 0 {
			slow = append(slow, c)
		}
	}
	if len(slow) == 0 {
		return "no worker to give two orders", nil
	}
	c := slow[d.r.IntN(len(slow))]
	h := d.rt.Handle(c.path)
	var what []string
	for range 2 {
		restart := d.r.IntN(2) == 0
		var err error
		if restart {
			what = append(what, "restart")
			err = h.Restart()
		} else {
			what = append(what, "stop")
			err = h.Stop()
		}
		sv := c.sup
		if restart && sv.stoppingFrom() {
			if !errors.Is(err, runtime.ErrNotRunning) {
				return c.path + " orders " + strings.Join(what, ", "), fmt.Errorf("restart of a child whose supervisor or tree is stopping: %v, want ErrNotRunning", err)
			}
			continue
		}
		if err != nil {
			return c.path + " orders " + strings.Join(what, ", "), fmt.Errorf("order: %v", err)
		}
		d.m.post(func() { sv.control(c, restart) })
	}
	d.settle()
	return c.path + " orders " + strings.Join(what, ", "), nil
}

// edge sleeps to an instant where a rule changes its answer, and fails a
// worker there: a restart exactly Window old still counts towards a limit,
// and an attempt ready for exactly ResetAfter resets the backoff.
func (d *modelRun) edge(workers []*mChild) (string, error) {
	type edge struct {
		at time.Duration
		c  *mChild // the worker to fail
	}
	var edges []edge
	now := d.m.now
	for _, c := range workers {
		if sv := c.sup; len(sv.window) > 0 && sv.window[0]+sv.limit.Window > now {
			edges = append(edges, edge{sv.window[0] + sv.limit.Window, c})
		}
		if c.own != nil && len(c.ownWindow) > 0 && c.ownWindow[0]+c.own.Window > now {
			edges = append(edges, edge{c.ownWindow[0] + c.own.Window, c})
		}
		if c.ready && c.readyAt+c.backoff.ResetAfter > now {
			edges = append(edges, edge{c.readyAt + c.backoff.ResetAfter, c})
		}
	}
	if len(edges) == 0 {
		return "no edge", nil
	}
	e := edges[d.r.IntN(len(edges))]
	d.sleep(e.at - now)
	if d.m.cut != "" {
		return "edge", nil
	}
	if !e.c.running || e.c.stop != mNone || d.m.ended {
		return fmt.Sprintf("sleep to %v (edge of %s, which is no longer running)", e.at, e.c.path), nil
	}
	what, err := d.command(e.c, cmdFail)
	return fmt.Sprintf("sleep to %v, %s", e.at, what), err
}

// sleep advances both clocks by dt.
func (d *modelRun) sleep(dt time.Duration) {
	time.Sleep(dt)
	d.settle()
	d.m.advance(dt)
}

// settle lets the runtime settle, then the model: the model takes the
// jittered delays the runtime drew from its events (see model.jittered).
func (d *modelRun) settle() {
	synctest.Wait()
	evs, _ := d.rt.Journal(d.drawn)
	for _, e := range evs {
		if e.Kind == runtime.EventRestartScheduled {
			d.m.drawn[fmt.Sprintf("%s %d", e.Path, e.Generation)] = e.Delay
		}
		d.drawn = e.Seq
	}
	d.m.settle()
}
