package runtime

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"time"
)

// validName reports whether name matches [a-z][a-z0-9_-]*.
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return name != ""
}

// Validate checks spec as New does and returns every problem, each as a
// *SpecError naming the child path and the field, joined with errors.Join;
// nil when New would accept the spec. arbor gen calls it on the spec it is
// about to emit, so that generated code never meets a rule it did not check.
func Validate(spec Spec) error {
	return errors.Join(validate(spec).errs...)
}

// validate checks spec; the validator it returns holds what it found.
func validate(spec Spec) *validator {
	v := &validator{}
	switch {
	case spec.Name == "":
		v.addf("", "Name", "a tree needs a name")
	case !validName(spec.Name):
		v.addf(spec.Name, "Name", "invalid name %q (want [a-z][a-z0-9_-]*)", spec.Name)
	}
	v.spec(spec.Name, &spec)
	return v
}

// validator collects every problem of a spec rather than the first.
type validator struct {
	errs   []error
	leases map[string]string // lease name → the path of the first child with it; nil: no lease
	open   map[specKey]bool  // the specs being checked, from the root down
}

// specKey identifies a Spec by its children, so that a copy of a Spec value
// (the root is one) is the same Spec.
type specKey struct {
	first *Child
	n     int
}

func (v *validator) addf(path, field, format string, args ...any) {
	v.errs = append(v.errs, &SpecError{Path: path, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) spec(path string, s *Spec) {
	if len(s.Children) > 0 {
		// A Spec among its own ancestors would make an endless tree: the
		// walk would never end.
		key := specKey{&s.Children[0], len(s.Children)}
		if v.open[key] {
			v.addf(path, "Supervisor", "the spec contains itself: it is also one of this child's supervisors")
			return
		}
		if v.open == nil {
			v.open = map[specKey]bool{}
		}
		v.open[key] = true
		defer delete(v.open, key)
	}
	switch s.Strategy {
	case "", OneForOne, OneForAll, RestForOne:
	default:
		v.addf(path, "Strategy", "unknown strategy %q (want one_for_one, one_for_all or rest_for_one)", s.Strategy)
	}
	v.limit(path, "RestartLimit", s.RestartLimit)
	v.backoff(path, "Backoff", s.Backoff)
	v.nonNegative(path, "Shutdown", s.Shutdown)
	if len(s.Children) == 0 {
		v.addf(path, "Children", "a supervisor needs at least one child")
	}
	named := 0       // children with a name
	ordered := false // some child has an After list
	for i := range s.Children {
		c := &s.Children[i]
		// The child's path is built only when there is something to say:
		// a valid child of a flat tree of 100k needs none.
		errs := len(v.errs)
		cpath := ""
		if c.Supervisor != nil {
			cpath = path + "/" + c.Name
		}
		switch {
		case c.Name == "":
			cpath = fmt.Sprintf("%s/[%d]", path, i)
			v.addf(cpath, "Name", "empty name")
		case !validName(c.Name):
			v.addf(cpath, "Name", "invalid name %q (want [a-z][a-z0-9_-]*)", c.Name)
		}
		if c.Name != "" {
			named++
		}
		ordered = ordered || len(c.After) > 0
		v.child(cpath, c)
		if c.Lease != nil && c.Name != "" {
			v.lease(path+"/"+c.Name, c.Lease)
		}
		if cpath == "" {
			for _, err := range v.errs[errs:] {
				if e := err.(*SpecError); e.Path == "" {
					e.Path = path + "/" + c.Name
				}
			}
		}
	}
	if !ordered && distinctNames(s.Children) {
		return
	}
	index := make(map[string]int, named)
	for i := range s.Children {
		if name := s.Children[i].Name; name != "" {
			index[name] = i + 1 // the last of a duplicate name, for now
		}
	}
	if len(index) < named {
		v.duplicates(path, s.Children, index)
	}
	if ordered {
		v.after(path, s.Children, index)
	}
}

// distinctNames reports whether the children's names are surely distinct:
// false if two may be equal. A map of 100k names costs New more than the rest
// of its checks, in cache misses; the names' hashes, sorted by radix, cost a
// third of it. Equal hashes leave the answer to the map.
func distinctNames(children []Child) bool {
	if len(children) < 1024 {
		return false // a small map is cheaper
	}
	seed := maphash.MakeSeed()
	hs := make([]uint64, 2*len(children))
	for i := range children {
		hs[i] = maphash.String(seed, children[i].Name)
	}
	return distinct(hs[:len(children)], hs[len(children):])
}

// distinct reports whether the values of hs are all different, sorting hs
// by radix, a byte at a time, with tmp (as long as hs) for the moves.
func distinct(hs, tmp []uint64) bool {
	for shift := 0; shift < 64; shift += 8 { // an even number of passes: sorted in hs
		var count [257]int
		for _, h := range hs {
			count[h>>shift&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, h := range hs {
			b := h >> shift & 0xff
			tmp[count[b]] = h
			count[b]++
		}
		hs, tmp = tmp, hs
	}
	for i := 1; i < len(hs); i++ {
		if hs[i] == hs[i-1] {
			return false
		}
	}
	return true
}

// duplicates reports every valid name given to more than one child, at each
// child after the first, and points index at the first.
func (v *validator) duplicates(path string, children []Child, index map[string]int) {
	first := make(map[string]int, len(children))
	for i := range children {
		name := children[i].Name
		if name == "" {
			continue
		}
		j, seen := first[name]
		if !seen {
			first[name] = i
			index[name] = i + 1
			continue
		}
		if validName(name) {
			v.addf(path+"/"+name, "Name", "duplicate name %q (also child %d)", name, j)
		}
	}
}

func (v *validator) child(path string, c *Child) {
	switch c.Restart {
	case "", Permanent, Transient, Temporary:
	default:
		v.addf(path, "Restart", "unknown restart type %q (want permanent, transient or temporary)", c.Restart)
	}
	if c.Significant && c.Pool == nil && (c.Restart == "" || c.Restart == Permanent) {
		v.addf(path, "Significant", "a significant child must be transient or temporary: a permanent child is always restarted, so it never ends its supervisor")
	}
	v.limit(path, "RestartLimit", c.RestartLimit)
	v.backoff(path, "Backoff", c.Backoff)
	if c.Pool != nil {
		if c.Pool.Max < 0 {
			v.addf(path, "Pool.Max", "negative max %d (0 means no cap)", c.Pool.Max)
		}
		if c.Run != nil {
			v.addf(path, "Run", "set on a pool: each instance gets its run function from Pool.Start")
		}
		if c.Supervisor != nil {
			v.addf(path, "Supervisor", "set on a pool: a pool's instances are workers")
		}
		if c.Significant {
			v.addf(path, "Significant", "a pool never ends by itself, so it cannot end its supervisor")
		}
	}
	switch {
	case c.Pool != nil:
	case c.Run == nil && c.Supervisor == nil:
		v.addf(path, "Run", "nil: a child needs Run, Supervisor or Pool")
	case c.Run != nil && c.Supervisor != nil:
		v.addf(path, "Supervisor", "set together with Run: a child is a worker or a supervisor, not both")
	case c.Supervisor != nil:
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"Shutdown", c.Shutdown != 0}, {"Timeout", c.Timeout != 0},
			{"Ready", c.Ready != nil}, {"Heartbeat", c.Heartbeat != nil},
		} {
			if f.set {
				v.addf(path, f.name, "applies to workers only; a nested supervisor's budget is Supervisor.Shutdown")
			}
		}
		v.spec(path, c.Supervisor)
		return
	}
	v.nonNegative(path, "Shutdown", c.Shutdown)
	v.nonNegative(path, "Timeout", c.Timeout)
	if c.Ready != nil {
		v.nonNegative(path, "Ready.Timeout", c.Ready.Timeout)
	}
	if c.Heartbeat != nil && c.Heartbeat.Timeout < MinHeartbeat {
		v.addf(path, "Heartbeat.Timeout", "%v is shorter than the minimum %v", c.Heartbeat.Timeout, MinHeartbeat)
	}
}

// lease checks a child's lease; two children of a tree with one lease
// name would exclude each other within one process, and one would never
// run.
func (v *validator) lease(path string, l *LeaseSpec) {
	v.nonNegative(path, "Lease.TTL", l.TTL)
	name := l.Name
	switch {
	case name == "" || name == path:
		// The default, which arbor gen writes in full: its characters are
		// those of its names, checked on their own; its length is not.
		name = path
		if len(name) > maxLeaseName {
			v.addf(path, "Lease.Name", "the lease name, the child's path, has %d characters, more than %d: give the lease a shorter name", len(name), maxLeaseName)
			return
		}
	case !validLeaseName(name):
		v.addf(path, "Lease.Name", "invalid lease name %q (want letters, digits and . _ - / :, at most %d)", name, maxLeaseName)
		return
	}
	if v.leases == nil {
		v.leases = map[string]string{}
	}
	if first, ok := v.leases[name]; ok {
		v.addf(path, "Lease.Name", "lease %q is also the lease of %s: in one process, one of the two would never run", name, first)
		return
	}
	v.leases[name] = path
}

// maxLeaseName is the most bytes a lease name may have, the child's path
// too when it is the name.
const maxLeaseName = 200

// validLeaseName reports whether name is safe as a key in any store and in
// logs: 1 to 200 of [A-Za-z0-9._/:-].
func validLeaseName(name string) bool {
	if name == "" || len(name) > maxLeaseName {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-' || c == '/' || c == ':':
		default:
			return false
		}
	}
	return true
}

func (v *validator) nonNegative(path, field string, d time.Duration) {
	if d < 0 {
		v.addf(path, field, "negative duration %v", d)
	}
}

func (v *validator) limit(path, field string, l *RestartLimit) {
	if l == nil {
		return
	}
	if l.Max < 0 {
		v.addf(path, field+".Max", "negative max %d", l.Max)
	}
	if l.Window <= 0 {
		v.addf(path, field+".Window", "window must be positive, got %v", l.Window)
	}
}

func (v *validator) backoff(path, field string, b *Backoff) {
	if b == nil {
		return
	}
	v.nonNegative(path, field+".Initial", b.Initial)
	v.nonNegative(path, field+".ResetAfter", b.ResetAfter)
	if b.Max < b.Initial {
		v.addf(path, field+".Max", "%v is less than Initial %v", b.Max, b.Initial)
	}
	if b.Multiplier != 0 && (b.Multiplier < 1 || math.IsInf(b.Multiplier, 0) || math.IsNaN(b.Multiplier)) {
		v.addf(path, field+".Multiplier", "%v must be at least 1 (or 0, meaning 1)", b.Multiplier)
	}
	if !(b.Jitter >= 0 && b.Jitter <= 1) {
		v.addf(path, field+".Jitter", "%v is outside 0 to 1", b.Jitter)
	}
}

// after checks that every After name is a sibling and that there is no
// cycle among the siblings it names. A name given twice is one dependency:
// arbor gen refuses it, but code it generated before it did must still
// start.
func (v *validator) after(path string, children []Child, index map[string]int) {
	for i := range children {
		c := &children[i]
		for _, dep := range c.After {
			switch {
			case dep == c.Name:
				v.addf(path+"/"+c.Name, "After", "names the child itself")
			case index[dep] == 0:
				v.addf(path+"/"+c.Name, "After", "unknown sibling %q", dep)
			}
		}
	}
	if cycle := findCycle(children, index); cycle != nil {
		v.addf(path+"/"+cycle[0], "After", "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
}

// findCycle returns one cycle in the After graph, as names with the first
// repeated at the end, or nil. It passes over self and unknown names,
// which after reports.
func findCycle(children []Child, index map[string]int) []string {
	const (
		unvisited = iota
		onStack
		finished
	)
	state := make([]int, len(children))
	var stack []int
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onStack
		stack = append(stack, i)
		for _, dep := range children[i].After {
			j := index[dep] - 1
			if j < 0 || j == i {
				continue
			}
			switch state[j] {
			case onStack:
				k := slices.Index(stack, j)
				var names []string
				for _, n := range stack[k:] {
					names = append(names, children[n].Name)
				}
				return append(names, children[j].Name)
			case unvisited:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = finished
		return nil
	}
	for i := range children {
		if state[i] == unvisited {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// startOrder returns the children's indexes in declaration order, each moved
// after its After list: the order of a start in which nothing waits longer
// than it must. It is Kahn's algorithm, taking the earliest declared child
// among those whose dependencies are placed.
func startOrder(children []Child, index map[string]int) []int {
	n := len(children)
	waiting := make([]int, n)      // unplaced dependencies per child
	dependents := make([][]int, n) // reverse edges
	for i := range children {
		for _, dep := range children[i].After {
			j := index[dep] - 1
			dependents[j] = append(dependents[j], i)
			waiting[i]++
		}
	}
	var ready intHeap
	for i := range children {
		if waiting[i] == 0 {
			ready = append(ready, i) // ascending, so already a heap
		}
	}
	order := make([]int, 0, n)
	for len(ready) > 0 {
		i := ready.pop()
		order = append(order, i)
		for _, d := range dependents[i] {
			if waiting[d]--; waiting[d] == 0 {
				ready.push(d)
			}
		}
	}
	return order
}

// intHeap is a min-heap of ints.
type intHeap []int

func (h *intHeap) push(x int) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *intHeap) pop() int {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l] < s[m] {
			m = l
		}
		if r < len(s) && s[r] < s[m] {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
