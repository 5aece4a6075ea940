package gen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/arbor-go/arbor/schema"
)

// Graph formats.
const (
	Mermaid = "mermaid"
	DOT     = "dot"
)

// Graph draws the trees of spec as a Mermaid flowchart or a Graphviz
// digraph: supervisors with their strategy, workers with their run
// function and restart type, pools as one node of their own shape (a
// hexagon, a double box) with their cap, singletons (children with a
// lease) in bold with their lease's name and TTL, supervision edges from a
// supervisor to its children, and a dashed edge labelled "before" from
// each child to the siblings that wait for it. For api: {after: ["db"]},
// it reads db -- before --> api: edges follow the start order.
func Graph(spec *schema.Spec, format string) ([]byte, error) {
	g := &graph{ids: map[*schema.Node]string{}}
	for _, t := range spec.Trees {
		t.Walk(func(n *schema.Node) bool {
			g.ids[n] = fmt.Sprintf("n%d", len(g.ids))
			return true
		})
	}
	b := &g.b
	switch format {
	case Mermaid:
		b.WriteString("flowchart TD\n")
		for _, t := range spec.Trees {
			g.mermaid(t)
		}
	case DOT:
		b.WriteString("digraph arbor {\n\trankdir=TB;\n\tnode [fontname=\"Helvetica\"];\n\tedge [fontname=\"Helvetica\"];\n")
		for _, t := range spec.Trees {
			g.dot(t)
		}
		b.WriteString("}\n")
	default:
		return nil, fmt.Errorf("unknown graph format %q (want %s or %s)", format, Mermaid, DOT)
	}
	return b.Bytes(), nil
}

// graph numbers the nodes, so that no two names can make the same id.
type graph struct {
	b   bytes.Buffer
	ids map[*schema.Node]string
}

func label(n *schema.Node) []string {
	lines := []string{n.Name}
	if n.IsSupervisor() {
		lines = append(lines, n.Strategy)
	} else {
		lines = append(lines, n.Run)
	}
	if !n.Tree {
		extra := n.Restart
		if n.Significant {
			extra += ", significant"
		}
		lines = append(lines, extra)
	}
	switch {
	case n.Pool == nil:
	case n.Pool.Max > 0:
		lines = append(lines, fmt.Sprintf("pool, max %d", n.Pool.Max))
	default:
		lines = append(lines, "pool, no cap")
	}
	if l := n.Lease; l != nil {
		name := l.Name
		if name == "" {
			name = n.String()
		}
		lines = append(lines, fmt.Sprintf("singleton: lease %s, ttl %v", name, l.TTL))
	}
	return lines
}

func (g *graph) mermaid(n *schema.Node) {
	b := &g.b
	text := strings.ReplaceAll(strings.Join(label(n), "<br/>"), `"`, "#quot;")
	switch {
	case n.IsSupervisor():
		fmt.Fprintf(b, "    %s[[\"%s\"]]\n", g.ids[n], text)
	case n.IsPool():
		fmt.Fprintf(b, "    %s{{\"%s\"}}\n", g.ids[n], text)
	default:
		fmt.Fprintf(b, "    %s(\"%s\")\n", g.ids[n], text)
	}
	if n.Lease != nil {
		fmt.Fprintf(b, "    style %s stroke-width:3px\n", g.ids[n])
	}
	for _, c := range n.Children {
		g.mermaid(c)
		fmt.Fprintf(b, "    %s --> %s\n", g.ids[n], g.ids[c])
	}
	byName := children(n)
	for _, c := range n.Children {
		for _, r := range c.After {
			fmt.Fprintf(b, "    %s -. before .-> %s\n", g.ids[byName[r.Name]], g.ids[c])
		}
	}
}

func (g *graph) dot(n *schema.Node) {
	b := &g.b
	shape := "box"
	switch {
	case n.IsSupervisor():
		shape = "box3d"
	case n.IsPool():
		shape = "box, peripheries=2"
	}
	if n.Lease != nil {
		shape += ", style=bold"
	}
	text := strings.ReplaceAll(strings.Join(label(n), `\n`), `"`, `\"`)
	fmt.Fprintf(b, "\t%s [shape=%s, label=\"%s\"];\n", g.ids[n], shape, text)
	for _, c := range n.Children {
		g.dot(c)
		fmt.Fprintf(b, "\t%s -> %s;\n", g.ids[n], g.ids[c])
	}
	byName := children(n)
	for _, c := range n.Children {
		for _, r := range c.After {
			fmt.Fprintf(b, "\t%s -> %s [style=dashed, label=\"before\"];\n", g.ids[byName[r.Name]], g.ids[c])
		}
	}
}
