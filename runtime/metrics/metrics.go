// Package metrics exports a tree's state to Prometheus.
//
// The collector reads the tree's snapshot at each scrape, so every child's
// counters exist from the start at zero: an alert on
// increase(arbor_child_restarts_total[5m]) > 0 fires on the first restart.
// Nothing is counted on the supervision path.
//
// A pool's instances come and go by the million: they get no series of
// their own, which would explode the label cardinality. Their pool has
// gauges of its live instances by state and counters of instances started,
// restarted, removed and abandoned.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arbor-go/arbor/runtime"
)

// descs are a collector's descriptors. The tree's name is a constant
// label, so that the collectors of two trees have distinct descriptors and
// can share a registry.
type descs struct {
	restarts, abandoned, fenced, generation, up, state, health, dropped  *prometheus.Desc
	poolInstances, poolStarted, poolRestarts, poolRemoved, poolAbandoned *prometheus.Desc
}

func newDescs(tree string) descs {
	tl := prometheus.Labels{"tree": tree}
	child := []string{"child"}
	pool := []string{"pool"}
	return descs{
		restarts: prometheus.NewDesc("arbor_child_restarts_total",
			"Restarts of the child since the tree was built.", child, tl),
		abandoned: prometheus.NewDesc("arbor_child_abandoned_total",
			"Attempts of the child that ignored cancellation past their grace.", child, tl),
		fenced: prometheus.NewDesc("arbor_child_fenced_total",
			"Reports (exit, ready, beat) dropped because their attempt was no longer current.", child, tl),
		generation: prometheus.NewDesc("arbor_child_generation",
			"Generation of the child's current or last attempt.", child, tl),
		up: prometheus.NewDesc("arbor_child_up",
			"1 when the child is well, as Tree.Health says: running and ready, ended for good, or standing by for its lease; else 0.", child, tl),
		state: prometheus.NewDesc("arbor_child_state",
			"1 for the child's current state, 0 for the others.", []string{"child", "state"}, tl),
		health: prometheus.NewDesc("arbor_tree_health",
			"1 for the tree's current health state, 0 for the others.", []string{"state"}, tl),
		dropped: prometheus.NewDesc("arbor_events_dropped_total",
			"Events a slow observer or logger lost.", nil, tl),
		poolInstances: prometheus.NewDesc("arbor_pool_instances",
			"Live instances of the pool by state.", []string{"pool", "state"}, tl),
		poolStarted: prometheus.NewDesc("arbor_pool_instances_started_total",
			"Instances the pool was asked to start.", pool, tl),
		poolRestarts: prometheus.NewDesc("arbor_pool_instance_restarts_total",
			"Restarts of the pool's instances.", pool, tl),
		poolRemoved: prometheus.NewDesc("arbor_pool_instances_removed_total",
			"Instances removed from the pool: ended for good, stopped, or dropped with a run of the pool.", pool, tl),
		poolAbandoned: prometheus.NewDesc("arbor_pool_instances_abandoned_total",
			"Attempts of the pool's instances that ignored cancellation past their grace.", pool, tl),
	}
}

var states = []runtime.State{
	runtime.StateIdle, runtime.StateWaiting, runtime.StateStarting, runtime.StateRunning,
	runtime.StateStopping, runtime.StateBackoff, runtime.StateStopped, runtime.StateDone, runtime.StateStandby,
}

var healths = []runtime.HealthState{
	runtime.HealthStarting, runtime.HealthReady, runtime.HealthDegraded,
	runtime.HealthStopping, runtime.HealthFailed, runtime.HealthStopped,
}

// Collector is a prometheus.Collector for one tree.
type Collector struct {
	tree *runtime.Tree
	d    descs
}

// New returns a collector for t. Register it with a prometheus.Registerer;
// the collectors of trees with different names can share one. It panics if
// t is nil. After the tree's Run returns, it goes on reporting the tree's
// final values and keeps the tree in memory: a program that runs trees one
// after another unregisters the collector of one that ended (a new tree of
// the same name cannot be registered beside it).
func New(t *runtime.Tree) *Collector {
	if t == nil {
		panic("metrics: New needs a tree, not nil")
	}
	return &Collector{tree: t, d: newDescs(t.Name())}
}

// Describe sends the descriptors of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.d
	for _, d := range []*prometheus.Desc{d.restarts, d.abandoned, d.fenced, d.generation, d.up, d.state, d.health, d.dropped,
		d.poolInstances, d.poolStarted, d.poolRestarts, d.poolRemoved, d.poolAbandoned} {
		ch <- d
	}
}

// Collect reads the tree's health and snapshot and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	d := &c.d
	h := c.tree.Health()
	snap := h.Snapshot // one walk of the tree: up and state agree with the counters
	for _, s := range healths {
		ch <- prometheus.MustNewConstMetric(d.health, prometheus.GaugeValue, flag(h.State == s), s.String())
	}
	ch <- prometheus.MustNewConstMetric(d.dropped, prometheus.CounterValue, float64(snap.DroppedEvents))
	for i, c2 := range snap.Children {
		if c2.Instance {
			continue // counted by its pool
		}
		if c2.Pool {
			c.collectPool(ch, c2.Path)
		}
		hc := h.Children[i]
		ch <- prometheus.MustNewConstMetric(d.restarts, prometheus.CounterValue, float64(c2.Restarts), c2.Path)
		ch <- prometheus.MustNewConstMetric(d.abandoned, prometheus.CounterValue, float64(c2.Abandoned), c2.Path)
		ch <- prometheus.MustNewConstMetric(d.fenced, prometheus.CounterValue, float64(c2.Fenced), c2.Path)
		ch <- prometheus.MustNewConstMetric(d.generation, prometheus.GaugeValue, float64(c2.Generation), c2.Path)
		ch <- prometheus.MustNewConstMetric(d.up, prometheus.GaugeValue, flag(hc.OK), c2.Path)
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(d.state, prometheus.GaugeValue, flag(hc.State == s), c2.Path, s.String())
		}
	}
}

func (c *Collector) collectPool(ch chan<- prometheus.Metric, path string) {
	d := &c.d
	p := c.tree.Pool(path)
	if p == nil {
		return
	}
	n := p.Counts()
	for _, s := range []struct {
		state string
		n     int
	}{{"starting", n.Starting}, {"running", n.Running}, {"backoff", n.Backoff}, {"stopping", n.Stopping}, {"stopped", n.Stopped}} {
		ch <- prometheus.MustNewConstMetric(d.poolInstances, prometheus.GaugeValue, float64(s.n), path, s.state)
	}
	ch <- prometheus.MustNewConstMetric(d.poolStarted, prometheus.CounterValue, float64(n.Started), path)
	ch <- prometheus.MustNewConstMetric(d.poolRestarts, prometheus.CounterValue, float64(n.Restarts), path)
	ch <- prometheus.MustNewConstMetric(d.poolRemoved, prometheus.CounterValue, float64(n.Removed), path)
	ch <- prometheus.MustNewConstMetric(d.poolAbandoned, prometheus.CounterValue, float64(n.Abandoned), path)
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
