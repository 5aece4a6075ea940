package runtime_test

// TestOrdersRandom gives random operators' orders (Restart, Stop,
// StopAndWait) to the children of a supervisor while they fail, time out,
// lose their leases, stop slowly and wait for each other, under every
// strategy, with a nested supervisor among them, and judges the runtime
// on its own promises rather than against the model (TestModel's model
// follows the runtime's rules for orders during a group restart, so it
// cannot find a wrong rule): one attempt per slot; no restart scheduled
// for a child an order holds stopped; once all settles, a held child
// stopped (or done) and any other running, done, or waiting for its After
// list; and Run returns.

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbor-go/arbor/runtime"
)

var (
	ordersSeeds = flag.Int("orders.seeds", 500, "how many trees TestOrdersRandom draws")
	ordersSeed  = flag.Uint64("orders.seed", 0, "the first seed of TestOrdersRandom, to replay one with -orders.seeds=1")
)

// ordered is a worker the test drives: it fails when told, may report
// readiness after a while, and takes its time to stop.
type ordered struct {
	fail    chan error
	readyIn time.Duration // -1: no Ready
	stopIn  time.Duration
}

func (o *ordered) run(ctx context.Context, a *runtime.Attempt) error {
	if o.readyIn >= 0 {
		select {
		case <-time.After(o.readyIn):
			a.Ready()
		case <-ctx.Done():
			time.Sleep(o.stopIn)
			return nil
		}
	}
	select {
	case err := <-o.fail:
		return err
	case <-ctx.Done():
		time.Sleep(o.stopIn)
		return nil
	}
}

// orderJudge follows a tree's events and notes what breaks a promise.
type orderJudge struct {
	mu         sync.Mutex
	running    map[string]bool
	held       map[string]bool
	events     []string
	violations []string
}

func (j *orderJudge) observe(e runtime.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e.String())
	switch e.Kind {
	case runtime.EventOrder:
		j.held[e.Path] = e.Order == runtime.OrderStop
	case runtime.EventRestartScheduled:
		if j.held[e.Path] {
			j.violations = append(j.violations, fmt.Sprintf("event %d: restart scheduled for %s, held stopped", len(j.events), e.Path))
		}
	case runtime.EventStarting:
		if j.running[e.Path] {
			j.violations = append(j.violations, fmt.Sprintf("event %d: %s started beside its running attempt", len(j.events), e.Path))
		}
		j.running[e.Path] = true
		if e.Generation == 1 {
			delete(j.held, e.Path) // a new pool instance of a name used before
		}
		for p := range j.held {
			if strings.HasPrefix(p, e.Path+"/") {
				delete(j.held, p) // a restarted supervisor starts every child from its spec
			}
		}
	case runtime.EventExited, runtime.EventStopped, runtime.EventAbandoned:
		j.running[e.Path] = false
	}
}

// settled checks the state of the child at path once every order and
// timer had its say; a child whose attempts time out (cycles) may be
// anywhere in its cycle if not held.
func (j *orderJudge) settled(path string, st runtime.State, waits, cycles bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	held := j.held[path]
	switch {
	case st == runtime.StateDone:
	case !held && cycles && (st == runtime.StateStopping || st == runtime.StateBackoff || st == runtime.StateStarting):
	case held && st != runtime.StateStopped:
		j.violations = append(j.violations, fmt.Sprintf("%s is %v, held stopped by an order", path, st))
	case !held && st != runtime.StateRunning && !(waits && st == runtime.StateWaiting):
		j.violations = append(j.violations, fmt.Sprintf("%s is %v, not held", path, st))
	}
}

func TestOrdersRandom(t *testing.T) { drawOrders(t, "TestOrdersRandom", ordersRandom) }

// drawOrders runs trial for -orders.seeds seeds from -orders.seed, and
// stops at the first that fails, saying how to replay it.
func drawOrders(t *testing.T, name string, trial func(*testing.T, uint64)) {
	first := *ordersSeed
	if first == 0 {
		first = uint64(time.Now().UnixNano())
		t.Logf("-orders.seed=%d", first)
	}
	for seed := first; seed < first+uint64(*ordersSeeds); seed++ {
		if !t.Run(fmt.Sprint(seed), func(t *testing.T) { trial(t, seed) }) {
			t.Logf("replay: go test -race -run '%s$' ./runtime/ -orders.seed=%d -orders.seeds=1", name, seed)
			return
		}
	}
}

func ordersRandom(t *testing.T, seed uint64) {
	synctest.Test(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(seed, 7))
		strategies := []runtime.Strategy{runtime.OneForAll, runtime.RestForOne, runtime.OneForOne}
		restarts := []runtime.Restart{runtime.Permanent, runtime.Permanent, runtime.Transient, runtime.Temporary}
		n := 3 + r.IntN(2)
		workers := make([]*ordered, n)
		var children []runtime.Child
		for i := range n {
			w := &ordered{fail: make(chan error, 1), readyIn: -1, stopIn: time.Duration(r.IntN(4)) * 500 * time.Millisecond}
			workers[i] = w
			c := runtime.Child{Name: fmt.Sprintf("c%d", i), Restart: restarts[r.IntN(4)], Shutdown: time.Hour, Run: w.run}
			if r.IntN(3) == 0 {
				w.readyIn = time.Duration(r.IntN(3)) * 400 * time.Millisecond
				c.Ready = &runtime.Ready{}
			}
			if r.IntN(4) == 0 {
				c.Lease = &runtime.LeaseSpec{} // named by its path
			}
			if r.IntN(4) == 0 {
				c.Timeout = time.Duration(1+r.IntN(8)) * 500 * time.Millisecond // attempts time out now and then
			}
			if i > 0 && r.IntN(3) == 0 {
				c.After = []string{fmt.Sprintf("c%d", r.IntN(i))}
			}
			children = append(children, c)
		}
		// The last child may be a nested supervisor of two workers.
		var inner []*ordered
		if r.IntN(2) == 0 {
			var ws []runtime.Child
			for k := range 2 {
				w := &ordered{fail: make(chan error, 1), readyIn: -1, stopIn: time.Duration(r.IntN(3)) * 500 * time.Millisecond}
				inner = append(inner, w)
				ws = append(ws, runtime.Child{Name: fmt.Sprintf("w%d", k), Restart: restarts[1+r.IntN(3)], Shutdown: time.Hour, Run: w.run})
			}
			last := &children[n-1]
			last.Run, last.Ready, last.Shutdown, last.Timeout = nil, nil, 0, 0
			if r.IntN(3) == 0 {
				last.Lease = &runtime.LeaseSpec{}
			}
			last.Supervisor = &runtime.Spec{Strategy: strategies[r.IntN(3)], Backoff: noBackoff,
				RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Hour}, Children: ws}
		}
		leaser := newFakeLeaser()
		j := &orderJudge{running: map[string]bool{}, held: map[string]bool{}}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategies[seed%3],
			Backoff:      []*runtime.Backoff{noBackoff, constBackoff(500 * time.Millisecond)}[r.IntN(2)],
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Hour}, Children: children},
			runtime.WithObserver(j.observe), runtime.WithLeaser(leaser))
		stop, _ := start(t, tr)
		synctest.Wait()
		var steps []string
		for range 30 {
			i := r.IntN(n)
			path, fail := fmt.Sprintf("t/c%d", i), workers[i].fail
			if inner != nil && i == n-1 {
				k := r.IntN(2)
				fail = inner[k].fail
				if r.IntN(2) == 0 {
					path = fmt.Sprintf("%s/w%d", path, k)
				}
			}
			h := tr.Handle(path)
			switch r.IntN(6) {
			case 5:
				leaser.lose(fmt.Sprintf("t/c%d", i))
				steps = append(steps, fmt.Sprintf("lose t/c%d's lease", i))
			case 0:
				select {
				case fail <- errBoom:
				default:
				}
				steps = append(steps, "fail "+path)
			case 1:
				_ = h.Stop()
				steps = append(steps, "stop "+path)
			case 2:
				_ = h.Restart()
				steps = append(steps, "restart "+path)
			case 3:
				go func() { _ = h.StopAndWait(context.Background()) }()
				steps = append(steps, "stop-and-wait "+path)
			case 4:
				d := time.Duration(r.IntN(5)) * 300 * time.Millisecond
				time.Sleep(d)
				steps = append(steps, fmt.Sprintf("sleep %v", d))
			}
			synctest.Wait()
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		// A child whose attempts time out keeps its group restarting: then
		// only one_for_one settles.
		cycling := false
		for _, c := range children {
			cycling = cycling || c.Timeout > 0
		}
		for i := range n {
			if cycling && strategies[seed%3] != runtime.OneForOne {
				break
			}
			p := fmt.Sprintf("t/c%d", i)
			j.settled(p, status(t, tr, p).State, len(children[i].After) > 0, children[i].Timeout > 0)
		}
		if inner != nil && status(t, tr, fmt.Sprintf("t/c%d", n-1)).State == runtime.StateRunning {
			for k := range 2 {
				p := fmt.Sprintf("t/c%d/w%d", n-1, k)
				j.settled(p, status(t, tr, p).State, false, false)
			}
		}
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if len(j.violations) > 0 {
			t.Errorf("%s\nsteps: %s\nevents:\n%s", strings.Join(j.violations, "\n"), strings.Join(steps, ", "), strings.Join(j.events, "\n"))
		}
	})
}

// TestOrdersRandomPool is TestOrdersRandom's judge over a pool: random
// instances started (names reused), ended (failing, succeeding or asking
// not to be restarted), stopped and restarted, while the pool's sibling
// fails and the pool itself is stopped and restarted, under every
// strategy: one attempt per instance, no restart scheduled for one an order
// holds stopped, and once all settles every live instance running, the
// counts adding up to Len, and the pool empty once Run has returned.
func TestOrdersRandomPool(t *testing.T) { drawOrders(t, "TestOrdersRandomPool", ordersRandomPool) }

func ordersRandomPool(t *testing.T, seed uint64) {
	synctest.Test(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(seed, 9))
		restarts := []runtime.Restart{runtime.Permanent, runtime.Transient, runtime.Temporary}
		strategies := []runtime.Strategy{runtime.OneForAll, runtime.RestForOne, runtime.OneForOne}
		w := &ordered{fail: make(chan error, 1), readyIn: -1, stopIn: time.Second}
		pool := runtime.Child{Name: "p", Pool: &runtime.PoolSpec{Max: r.IntN(4)}, Restart: restarts[r.IntN(3)], Shutdown: time.Hour,
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Hour}}
		if r.IntN(2) == 0 {
			pool.Ready = &runtime.Ready{}
		}
		j := &orderJudge{running: map[string]bool{}, held: map[string]bool{}}
		tr := mustNew(t, runtime.Spec{Name: "t", Strategy: strategies[r.IntN(3)], Backoff: []*runtime.Backoff{noBackoff, constBackoff(500 * time.Millisecond)}[r.IntN(2)],
			RestartLimit: &runtime.RestartLimit{Max: 1000, Window: time.Hour},
			Children:     []runtime.Child{{Name: "x", Run: w.run, Shutdown: time.Hour}, pool}},
			runtime.WithObserver(j.observe))
		stop, _ := start(t, tr)
		synctest.Wait()
		insts := map[string]*ordered{}
		var steps []string
		for range 40 {
			name := fmt.Sprintf("i%d", r.IntN(5))
			path := "t/p/" + name
			switch r.IntN(7) {
			case 0, 1:
				in := &ordered{fail: make(chan error, 1), stopIn: time.Duration(r.IntN(4)) * 400 * time.Millisecond, readyIn: time.Duration(r.IntN(3)) * 300 * time.Millisecond}
				_, err := tr.Pool("t/p").Start(name, in.run)
				if err == nil {
					insts[name] = in
				}
				steps = append(steps, fmt.Sprintf("start %s: %v", name, err))
			case 2:
				if in := insts[name]; in != nil {
					select {
					case in.fail <- []error{errBoom, nil, runtime.ErrDoNotRestart}[r.IntN(3)]:
					default:
					}
				}
				steps = append(steps, "end "+path)
			case 3:
				if h := tr.Handle(path); h != nil {
					_ = h.Stop()
				}
				steps = append(steps, "stop "+path)
			case 4:
				if h := tr.Handle(path); h != nil {
					_ = h.Restart()
				}
				steps = append(steps, "restart "+path)
			case 5:
				switch r.IntN(3) {
				case 0:
					select {
					case w.fail <- errBoom:
					default:
					}
					steps = append(steps, "fail x")
				case 1:
					_ = tr.Handle("t/p").Stop()
					steps = append(steps, "stop p")
				case 2:
					_ = tr.Handle("t/p").Restart()
					steps = append(steps, "restart p")
				}
			case 6:
				d := time.Duration(r.IntN(5)) * 300 * time.Millisecond
				time.Sleep(d)
				steps = append(steps, fmt.Sprintf("sleep %v", d))
			}
			synctest.Wait()
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		for _, c := range tr.Snapshot().Children {
			if c.Instance {
				if c.State != runtime.StateRunning {
					j.mu.Lock()
					j.violations = append(j.violations, fmt.Sprintf("instance %s %v", c.Path, c.State))
					j.mu.Unlock()
				}
			}
		}
		p := tr.Pool("t/p")
		cnt := p.Counts()
		if cnt.Starting+cnt.Running+cnt.Backoff+cnt.Stopping+cnt.Stopped != p.Len() || uint64(p.Len()) != cnt.Started-cnt.Removed {
			j.mu.Lock()
			j.violations = append(j.violations, fmt.Sprintf("counts %+v len %d", cnt, p.Len()))
			j.mu.Unlock()
		}
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if p.Len() != 0 {
			t.Errorf("pool not empty: %d", p.Len())
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if len(j.violations) > 0 {
			t.Errorf("%s\nsteps: %s\nevents:\n%s", strings.Join(j.violations, "\n"), strings.Join(steps, ", "), strings.Join(j.events, "\n"))
		}
	})
}
