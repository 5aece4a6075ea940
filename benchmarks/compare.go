package benchmarks

import (
	"fmt"
	"io"
	goruntime "runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Config sizes a comparison.
type Config struct {
	Rounds   int // measurements of each workload and library, alternating which goes first
	Restarts int // restarts per restart measurement
	Children int // children of the start/stop and memory measurements
	Memory   int // fresh processes per subject for memory; 0 skips memory
}

// DefaultConfig is what cmd/compare runs without flags: about a minute on
// two cores.
var DefaultConfig = Config{Rounds: 5, Restarts: 200_000, Children: 100_000, Memory: 3}

// Results holds every measurement of a comparison.
type Results struct {
	Config
	Restart, RestartObserved [2][]Restarts // [0] Arbor, [1] suture
	StartStop                [2][]StartStop
	Memory                   map[string][]Memory // by subject
}

// Compare runs the comparison. Each round measures both libraries back to
// back, the first in alternate rounds: restarts in this process, start and
// stop in a fresh process per library (see StartStopFresh). Progress goes
// to log, if not nil.
func Compare(cfg Config, log io.Writer) (*Results, error) {
	if log == nil {
		log = io.Discard
	}
	res := &Results{Config: cfg, Memory: map[string][]Memory{}}
	for round := range cfg.Rounds {
		fmt.Fprintf(log, "round %d/%d\n", round+1, cfg.Rounds)
		order := []int{0, 1}
		if round%2 == 1 {
			order = []int{1, 0}
		}
		for _, observe := range []bool{false, true} {
			dst := &res.Restart
			if observe {
				dst = &res.RestartObserved
			}
			for _, lib := range order {
				f := ArborRestarts
				if lib == 1 {
					f = SutureRestarts
				}
				goruntime.GC()
				r, err := f(cfg.Restarts, observe)
				if err != nil {
					return nil, err
				}
				dst[lib] = append(dst[lib], r)
			}
		}
		for _, lib := range order {
			r, err := StartStopFresh([2]string{Arbor, Suture}[lib], cfg.Children)
			if err != nil {
				return nil, err
			}
			res.StartStop[lib] = append(res.StartStop[lib], r)
		}
	}
	for i := range cfg.Memory {
		fmt.Fprintf(log, "memory %d/%d\n", i+1, cfg.Memory)
		for _, subject := range []string{Bare, Arbor, Suture} {
			m, err := MeasureIdleFresh(subject, cfg.Children)
			if err != nil {
				return nil, err
			}
			res.Memory[subject] = append(res.Memory[subject], m)
		}
	}
	return res, nil
}

// span is the median and range of a set of figures.
type span struct{ med, lo, hi float64 }

func spanOf(xs []float64) span {
	if len(xs) == 0 {
		return span{}
	}
	s := slices.Sorted(slices.Values(xs))
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return span{med, s[0], s[len(s)-1]}
}

// format renders the median and, when the figures differ, the range.
func (s span) format(unit string, digits int) string {
	f := "%.*f"
	if s.lo == s.hi {
		return fmt.Sprintf(f+"%s", digits, s.med, unit)
	}
	return fmt.Sprintf(f+"%s ("+f+"–"+f+")", digits, s.med, unit, digits, s.lo, digits, s.hi)
}

// pairs applies f to the i-th measurement of each library: the figures of
// one round.
func pairs[T any](m [2][]T, f func(a, s T) float64) []float64 {
	out := make([]float64, min(len(m[0]), len(m[1])))
	for i := range out {
		out[i] = f(m[0][i], m[1][i])
	}
	return out
}

func each[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// Write prints the results as a table: the median over the rounds with the
// range in brackets, and the ratio of Arbor to suture computed round by
// round. On a busy machine the ranges are wide and the medians say more.
func (r *Results) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%d rounds; %d restarts, %d children; %s, %d CPUs\n\n", r.Rounds, r.Restarts, r.Children, goruntime.Version(), goruntime.NumCPU())
	fmt.Fprintln(tw, "measure: median (range)\tArbor\tsuture v4\tArbor ÷ suture\ttarget\t")
	rate := func(x Restarts) float64 { return x.PerSecond() / 1000 }
	for _, row := range []struct {
		name string
		m    [2][]Restarts
	}{{"restarts/s, no observer", r.Restart}, {"restarts/s, observer", r.RestartObserved}} {
		target := "—"
		if row.name == "restarts/s, observer" {
			target = "≥ 1.3×"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", row.name,
			spanOf(each(row.m[0], rate)).format("k", 0), spanOf(each(row.m[1], rate)).format("k", 0),
			spanOf(pairs(row.m, func(a, s Restarts) float64 { return a.PerSecond() / s.PerSecond() })).format("×", 2), target)
	}
	cpu := func(x Restarts) float64 { return float64(x.CPUPerRestart()) }
	for _, row := range []struct {
		name string
		m    [2][]Restarts
	}{{"  CPU per restart, no observer", r.Restart}, {"  CPU per restart, observer", r.RestartObserved}} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\n", row.name,
			spanOf(each(row.m[0], cpu)).format(" ns", 0), spanOf(each(row.m[1], cpu)).format(" ns", 0),
			spanOf(pairs(row.m, func(a, s Restarts) float64 { return float64(s.CPUPerRestart()) / float64(a.CPUPerRestart()) })).format("×", 2))
	}
	if obs := r.RestartObserved[0]; len(obs) > 0 {
		perRestart := func(x Restarts) float64 { return float64(x.Events+x.Dropped) / float64(x.N) }
		dropped := func(x Restarts) float64 { return float64(x.Dropped) / float64(x.N) }
		fmt.Fprintf(tw, "  Arbor events per restart; lost\t%s; %s\t%s\t\t0 lost\t\n",
			spanOf(each(obs, perRestart)).format("", 2), spanOf(each(obs, dropped)).format("", 3),
			spanOf(each(r.RestartObserved[1], func(x Restarts) float64 { return float64(x.Events) / float64(x.N) })).format("", 2))
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	fmt.Fprintf(tw, "start %dk\t%s\t%s\t%s\t≤ 0.5×\t\n", r.Children/1000,
		spanOf(each(r.StartStop[0], func(x StartStop) float64 { return ms(x.Start) })).format(" ms", 0),
		spanOf(each(r.StartStop[1], func(x StartStop) float64 { return ms(x.Start) })).format(" ms", 0),
		spanOf(pairs(r.StartStop, func(a, s StartStop) float64 { return float64(a.Start) / float64(s.Start) })).format("×", 2))
	fmt.Fprintf(tw, "stop %dk\t%s\t%s\t%s\t≤ 0.5×\t\n", r.Children/1000,
		spanOf(each(r.StartStop[0], func(x StartStop) float64 { return ms(x.Stop) })).format(" ms", 0),
		spanOf(each(r.StartStop[1], func(x StartStop) float64 { return ms(x.Stop) })).format(" ms", 0),
		spanOf(pairs(r.StartStop, func(a, s StartStop) float64 { return float64(a.Stop) / float64(s.Stop) })).format("×", 2))
	for _, row := range []struct {
		name string
		f    func(StartStop) time.Duration
	}{{"  CPU, start", func(x StartStop) time.Duration { return x.StartCPU }}, {"  CPU, stop", func(x StartStop) time.Duration { return x.StopCPU }}} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\n", row.name,
			spanOf(each(r.StartStop[0], func(x StartStop) float64 { return ms(row.f(x)) })).format(" ms", 0),
			spanOf(each(r.StartStop[1], func(x StartStop) float64 { return ms(row.f(x)) })).format(" ms", 0),
			spanOf(pairs(r.StartStop, func(a, s StartStop) float64 { return float64(row.f(a)) / float64(row.f(s)) })).format("×", 2))
	}
	gcs := func(xs []StartStop) string {
		start := spanOf(each(xs, func(x StartStop) float64 { return float64(x.StartGCs) }))
		stop := spanOf(each(xs, func(x StartStop) float64 { return float64(x.StopGCs) }))
		return start.format("", 0) + "; " + stop.format("", 0)
	}
	fmt.Fprintf(tw, "  collections ended, start; stop\t%s\t%s\t\t\t\n", gcs(r.StartStop[0]), gcs(r.StartStop[1]))
	if bare := r.Memory[Bare]; len(bare) > 0 {
		total := func(m Memory) float64 { return m.Total() }
		over := func(subject string) span {
			// Each subject's figures against the bare goroutine's of the same round.
			return spanOf(pairs([2][]Memory{r.Memory[subject], bare}, func(s, b Memory) float64 { return s.Total() - b.Total() }))
		}
		fmt.Fprintf(tw, "bytes per idle child\t%s\t%s\t%s\t\t\n",
			spanOf(each(r.Memory[Arbor], total)).format(" B", 0), spanOf(each(r.Memory[Suture], total)).format(" B", 0),
			spanOf(pairs([2][]Memory{r.Memory[Arbor], r.Memory[Suture]}, func(a, s Memory) float64 { return a.Total() / s.Total() })).format("×", 2))
		fmt.Fprintf(tw, "  over a bare goroutine (%s)\t%s\t%s\t\t≤ 400 B\t\n",
			spanOf(each(bare, total)).format(" B", 0), over(Arbor).format(" B", 0), over(Suture).format(" B", 0))
		cold := func(m Memory) float64 { return ms(m.Start) }
		fmt.Fprintf(tw, "start %dk, first in a fresh process (bare %s)\t%s\t%s\t%s\t\t\n", r.Children/1000,
			spanOf(each(bare, cold)).format(" ms", 0), spanOf(each(r.Memory[Arbor], cold)).format(" ms", 0), spanOf(each(r.Memory[Suture], cold)).format(" ms", 0),
			spanOf(pairs([2][]Memory{r.Memory[Arbor], r.Memory[Suture]}, func(a, s Memory) float64 { return float64(a.Start) / float64(s.Start) })).format("×", 2))
		fmt.Fprintf(tw, "  heap allocations per child\t%s\t%s\t\t\t\n",
			spanOf(each(r.Memory[Arbor], func(m Memory) float64 { return m.Allocs })).format("", 1),
			spanOf(each(r.Memory[Suture], func(m Memory) float64 { return m.Allocs })).format("", 1))
	}
	return tw.Flush()
}

// String renders the results as Write does.
func (r *Results) String() string {
	var b strings.Builder
	r.Write(&b)
	return b.String()
}
