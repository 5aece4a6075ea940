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

var (
	restartsDesc = prometheus.NewDesc("arbor_child_restarts_total",
		"Restarts of the child since the tree was built.", []string{"tree", "child"}, nil)
	abandonedDesc = prometheus.NewDesc("arbor_child_abandoned_total",
		"Attempts of the child that ignored cancellation past their grace.", []string{"tree", "child"}, nil)
	fencedDesc = prometheus.NewDesc("arbor_child_fenced_total",
		"Reports (exit, ready, beat) dropped because their attempt was no longer current.", []string{"tree", "child"}, nil)
	generationDesc = prometheus.NewDesc("arbor_child_generation",
		"Generation of the child's current or last attempt.", []string{"tree", "child"}, nil)
	upDesc = prometheus.NewDesc("arbor_child_up",
		"1 when the child is running and ready, or ended for good; else 0.", []string{"tree", "child"}, nil)
	stateDesc = prometheus.NewDesc("arbor_child_state",
		"1 for the child's current state, 0 for the others.", []string{"tree", "child", "state"}, nil)
	healthDesc = prometheus.NewDesc("arbor_tree_health",
		"1 for the tree's current health state, 0 for the others.", []string{"tree", "state"}, nil)
	droppedDesc = prometheus.NewDesc("arbor_events_dropped_total",
		"Events a slow observer or logger lost.", []string{"tree"}, nil)
	poolInstancesDesc = prometheus.NewDesc("arbor_pool_instances",
		"Live instances of the pool by state.", []string{"tree", "pool", "state"}, nil)
	poolStartedDesc = prometheus.NewDesc("arbor_pool_instances_started_total",
		"Instances the pool was asked to start.", []string{"tree", "pool"}, nil)
	poolRestartsDesc = prometheus.NewDesc("arbor_pool_instance_restarts_total",
		"Restarts of the pool's instances.", []string{"tree", "pool"}, nil)
	poolRemovedDesc = prometheus.NewDesc("arbor_pool_instances_removed_total",
		"Instances removed from the pool: ended for good, stopped, or dropped with a run of the pool.", []string{"tree", "pool"}, nil)
	poolAbandonedDesc = prometheus.NewDesc("arbor_pool_instances_abandoned_total",
		"Attempts of the pool's instances that ignored cancellation past their grace.", []string{"tree", "pool"}, nil)
)

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
}

// New returns a collector for t. Register it with a prometheus.Registerer.
func New(t *runtime.Tree) *Collector { return &Collector{tree: t} }

// Describe sends the descriptors of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{restartsDesc, abandonedDesc, fencedDesc, generationDesc, upDesc, stateDesc, healthDesc, droppedDesc,
		poolInstancesDesc, poolStartedDesc, poolRestartsDesc, poolRemovedDesc, poolAbandonedDesc} {
		ch <- d
	}
}

// Collect reads the tree's health and snapshot and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	tree := c.tree.Name()
	h := c.tree.Health()
	snap := c.tree.Snapshot()
	for _, s := range healths {
		ch <- prometheus.MustNewConstMetric(healthDesc, prometheus.GaugeValue, flag(h.State == s), tree, s.String())
	}
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(snap.DroppedEvents), tree)
	for _, c2 := range snap.Children {
		if c2.Instance {
			continue // counted by its pool
		}
		if c2.Pool {
			c.collectPool(ch, tree, c2.Path)
		}
		ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(c2.Restarts), tree, c2.Path)
		ch <- prometheus.MustNewConstMetric(abandonedDesc, prometheus.CounterValue, float64(c2.Abandoned), tree, c2.Path)
		ch <- prometheus.MustNewConstMetric(fencedDesc, prometheus.CounterValue, float64(c2.Fenced), tree, c2.Path)
		ch <- prometheus.MustNewConstMetric(generationDesc, prometheus.GaugeValue, float64(c2.Generation), tree, c2.Path)
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, flag(c2.State == runtime.StateRunning || c2.State == runtime.StateDone), tree, c2.Path)
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, flag(c2.State == s), tree, c2.Path, s.String())
		}
	}
}

func (c *Collector) collectPool(ch chan<- prometheus.Metric, tree, path string) {
	p := c.tree.Pool(path)
	if p == nil {
		return
	}
	n := p.Counts()
	for _, s := range []struct {
		state string
		n     int
	}{{"starting", n.Starting}, {"running", n.Running}, {"backoff", n.Backoff}, {"stopping", n.Stopping}} {
		ch <- prometheus.MustNewConstMetric(poolInstancesDesc, prometheus.GaugeValue, float64(s.n), tree, path, s.state)
	}
	ch <- prometheus.MustNewConstMetric(poolStartedDesc, prometheus.CounterValue, float64(n.Started), tree, path)
	ch <- prometheus.MustNewConstMetric(poolRestartsDesc, prometheus.CounterValue, float64(n.Restarts), tree, path)
	ch <- prometheus.MustNewConstMetric(poolRemovedDesc, prometheus.CounterValue, float64(n.Removed), tree, path)
	ch <- prometheus.MustNewConstMetric(poolAbandonedDesc, prometheus.CounterValue, float64(n.Abandoned), tree, path)
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
