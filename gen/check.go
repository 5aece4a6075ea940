package gen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/schema"
)

// reserved are the method names the generated types use themselves.
var reserved = map[string]bool{"Run": true, "Tree": true, "Handle": true}

// checkSpec runs the checks that need only the spec: Go names, after lists,
// and the semantic traps OTP only finds at run time. It returns the
// top-level Go names the generated code declares.
func checkSpec(spec *schema.Spec, errs *schema.ErrorList) map[string]*schema.Node {
	decls := map[string]*schema.Node{} // generated top-level names
	declare := func(name string, n *schema.Node) bool {
		if prev, ok := decls[name]; ok {
			errs.Add(n.Pos, fmt.Sprintf("%s and %s both become the Go name %s", prev, n, name))
			return false
		}
		decls[name] = n
		return true
	}
	for _, tree := range spec.Trees {
		name := goName(tree.Name)
		if declare(name, tree) {
			declare("New"+name, tree)
		}
		checkSupervisor(tree, name, declare, errs)
	}
	return decls
}

// checkDecls reports generated names that the package already declares.
func (ws *workspace) checkDecls(decls map[string]*schema.Node, errs *schema.ErrorList) {
	if ws.own == nil || ws.own.Types == nil {
		return
	}
	for name, n := range decls {
		if obj := ws.own.Types.Scope().Lookup(name); obj != nil {
			kind := "the generated tree type"
			if strings.HasPrefix(name, "New") && n.Tree && goName(n.Name) != name {
				kind = "the generated constructor"
			} else if !n.Tree {
				kind = "the generated type of the nested supervisor"
			}
			ws.addDecl(errs, n.Pos, obj.Pos(), "%s: %s %s is already declared by the package; rename the %s or the Go declaration", n, kind, name, map[bool]string{true: "tree", false: "supervisor"}[n.Tree])
		}
	}
}

func checkSupervisor(sup *schema.Node, typeName string, declare func(string, *schema.Node) bool, errs *schema.ErrorList) {
	if len(sup.Children) == 0 {
		errs.Add(sup.Pos, fmt.Sprintf("%s: a supervisor needs at least one child", sup))
	}
	methods := map[string]*schema.Node{}
	for _, c := range sup.Children {
		m := goName(c.Name)
		switch prev, dup := methods[m]; {
		case dup:
			errs.Add(c.Pos, fmt.Sprintf("children %q and %q both become the Go name %s", prev.Name, c.Name, m))
		case reserved[m]:
			errs.Add(c.Pos, fmt.Sprintf("child %q would become the method %s, which the generated type %s already has; rename the child", c.Name, m, typeName))
		}
		methods[m] = c
		checkChild(sup, c, errs)
		if c.IsSupervisor() {
			declare(typeName+m, c)
			checkSupervisor(c, typeName+m, declare, errs)
		}
	}
	checkAfter(sup, errs)
}

func checkChild(sup, c *schema.Node, errs *schema.ErrorList) {
	if c.Significant && c.Restart == string(runtime.Permanent) {
		errs.Add(c.SignificantPos, fmt.Sprintf("%s is significant but permanent: a permanent child is always restarted, so it never ends its supervisor; make it transient or temporary", c))
	}
	if c.IsSupervisor() && c.Restart == string(runtime.Permanent) {
		for _, g := range c.Children {
			if g.Significant {
				errs.Add(c.Pos, fmt.Sprintf("%s has the significant child %s but is permanent: when %s ends it, %s restarts it at once; make %s transient or temporary", c, g.Name, g.Name, sup, c.Name))
				break
			}
		}
	}
	if hb := c.Heartbeat; hb != nil && hb.Timeout < runtime.MinHeartbeat {
		errs.Add(hb.Pos, fmt.Sprintf("%s: heartbeat timeout %v is shorter than the minimum %v", c, hb.Timeout, runtime.MinHeartbeat))
	}
	if r, limit := c.Ready, sup.RestartLimit; r != nil && limit != nil && r.Timeout > limit.Window {
		errs.Add(r.Pos, fmt.Sprintf("%s: ready timeout %v is longer than %s's restart window %v: failures that slow can never reach the restart limit, which is likely a mistake", c, r.Timeout, sup, limit.Window))
	}
}

// checkAfter reports unknown and self references, then cycles.
func checkAfter(sup *schema.Node, errs *schema.ErrorList) {
	ok := true
	for _, c := range sup.Children {
		for _, ref := range c.After {
			switch {
			case ref.Name == c.Name:
				errs.Add(ref.Pos, fmt.Sprintf("%s: after names the child itself", c))
				ok = false
			case sup.Child(ref.Name) == nil:
				errs.Add(ref.Pos, fmt.Sprintf("%s: after names %q, which is not a child of %s%s", c, ref.Name, sup, suggest(ref.Name, sup)))
				ok = false
			}
		}
	}
	if !ok {
		return
	}
	if cycle := findCycle(sup); cycle != nil {
		first := sup.Child(cycle[0])
		pos := first.AfterPos
		for _, ref := range first.After {
			if ref.Name == cycle[1] {
				pos = ref.Pos
			}
		}
		errs.Add(pos, fmt.Sprintf("after: dependency cycle in %s: %s", sup, strings.Join(cycle, " -> ")))
	}
}

// findCycle returns the names of one cycle of after edges, first name
// repeated at the end, or nil.
func findCycle(sup *schema.Node) []string {
	const (
		unvisited = iota
		onStack
		finished
	)
	state := map[string]int{}
	var stack []string
	var visit func(n *schema.Node) []string
	visit = func(n *schema.Node) []string {
		state[n.Name] = onStack
		stack = append(stack, n.Name)
		for _, ref := range n.After {
			switch state[ref.Name] {
			case onStack:
				return append(slices.Clone(stack[slices.Index(stack, ref.Name):]), ref.Name)
			case unvisited:
				if c := visit(sup.Child(ref.Name)); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n.Name] = finished
		return nil
	}
	for _, c := range sup.Children {
		if state[c.Name] == unvisited {
			if cycle := visit(c); cycle != nil {
				return cycle
			}
		}
	}
	return nil
}

// suggest offers the sibling closest to a misspelt name.
func suggest(name string, sup *schema.Node) string {
	best, bestD := "", min(3, (len(name)+1)/2) // a closer match than a guess
	for _, c := range sup.Children {
		if d := distance(name, c.Name); d < bestD {
			best, bestD = c.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
