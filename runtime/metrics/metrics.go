// Package metrics exports a tree's state to Prometheus.
//
// The collector reads the tree's snapshot at each scrape, so every child's
// counters exist from the start at zero: an alert on
// increase(arbor_child_restarts_total[5m]) > 0 fires on the first restart.
// Nothing is counted on the supervision path.
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
)

var states = []runtime.State{
	runtime.StateIdle, runtime.StateWaiting, runtime.StateStarting, runtime.StateRunning,
	runtime.StateStopping, runtime.StateBackoff, runtime.StateStopped, runtime.StateDone,
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
	for _, d := range []*prometheus.Desc{restartsDesc, abandonedDesc, fencedDesc, generationDesc, upDesc, stateDesc, healthDesc, droppedDesc} {
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

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
