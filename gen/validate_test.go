package gen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/schema"
)

// runtimeFields returns the field paths of runtime.Spec and runtime.Child
// that a SpecError can name: "Backoff", "Backoff.Max" and so on.
func runtimeFields() map[string]bool {
	paths := map[string]bool{}
	for _, typ := range []reflect.Type{reflect.TypeFor[runtime.Spec](), reflect.TypeFor[runtime.Child]()} {
		for f := range typ.Fields() {
			paths[f.Name] = true
			if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct && f.Type.Elem() != reflect.TypeFor[runtime.Spec]() {
				for g := range f.Type.Elem().Fields() {
					paths[f.Name+"."+g.Name] = true
				}
			}
		}
	}
	return paths
}

// validatorFields returns every field name runtime/validate.go can put in
// a SpecError: its string literals that name a field ("Strategy") or the
// last part of one (".Max", appended to "RestartLimit" and "Backoff").
func validatorFields(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "runtime", "validate.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	fieldLit := regexp.MustCompile(`^\.?[A-Z][A-Za-z]*(\.[A-Z][A-Za-z]*)*$`)
	var lits []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && fieldLit.MatchString(s) {
				lits = append(lits, s)
			}
		}
		return true
	})
	known := runtimeFields()
	var fields []string
	for _, lit := range lits {
		if !strings.HasPrefix(lit, ".") {
			if !known[lit] {
				t.Errorf("validate.go reports the field %q, which runtime.Spec and runtime.Child do not have", lit)
			}
			fields = append(fields, lit)
			continue
		}
		var found bool
		for base := range known {
			if !strings.Contains(base, ".") && known[base+lit] {
				fields = append(fields, base+lit)
				found = true
			}
		}
		if !found {
			t.Errorf("validate.go reports a field ending in %q, which no runtime struct has", lit)
		}
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

// TestEveryRuntimeRuleHasAPosition makes the generator and the runtime's
// validation impossible to drift apart: every field runtime.Validate can
// name in an error has a position in the spec. A new rule on a new field
// fails here until fieldPos knows where the field is written.
func TestEveryRuntimeRuleHasAPosition(t *testing.T) {
	fields := validatorFields(t)
	if len(fields) < 15 {
		t.Fatalf("found only %d fields in validate.go: %v", len(fields), fields)
	}
	n := &schema.Node{Name: "a", Path: []string{"t", "a"}, Pos: schema.Pos{Filename: "spec.cue", Line: 1, Column: 1}}
	for _, field := range fields {
		if _, ok := fieldPos(n, field); !ok {
			t.Errorf("runtime.Validate can report %s, but fieldPos does not know where the spec writes it", field)
		}
	}
}

// TestRuntimeRulesAreReported breaks each rule of runtime.Validate in a
// decoded spec, including those the schema rules out (a spec decoded by an
// older or newer schema could still break them), and checks that the
// generator reports it at the field's position: with its own words, or
// with the runtime's.
func TestRuntimeRulesAreReported(t *testing.T) {
	const src = `package p
trees: t: {
	backoff: jitter: 0.5
	restartLimit: max: 3
	children: {
		a: {run: "A", timeout: "1m", ready: timeout: "1s", heartbeat: timeout: "1s", backoff: {}, restartLimit: {}}
		b: {run: "B", after: ["a"]}
		n: children: c: run: "C"
		p: {run: "P", restart: "temporary",
			pool: max: 2}
	}
}
`
	for _, c := range []struct {
		name   string
		break_ func(tree *schema.Node)
		line   int
		msg    string
	}{
		{"strategy", func(tr *schema.Node) { tr.Strategy = "one_for_none" }, 2, `t: strategy: unknown strategy "one_for_none"`},
		{"restart", func(tr *schema.Node) { tr.Children[1].Restart = "sometimes" }, 7, `t/b: restart: unknown restart type`},
		{"negative shutdown", func(tr *schema.Node) { tr.Shutdown = -1 }, 2, "t: shutdown: negative duration"},
		{"negative grace", func(tr *schema.Node) { tr.Children[0].Shutdown = -1 }, 6, "t/a: shutdown: negative duration"},
		{"negative timeout", func(tr *schema.Node) { tr.Children[0].Timeout = -1 }, 6, "t/a: timeout: negative duration"},
		{"negative ready", func(tr *schema.Node) { tr.Children[0].Ready.Timeout = -1 }, 6, "t/a: ready.timeout: negative duration"},
		{"short heartbeat", func(tr *schema.Node) { tr.Children[0].Heartbeat.Timeout = time.Millisecond }, 6, "heartbeat timeout 1ms is shorter than the minimum"},
		{"negative max", func(tr *schema.Node) { tr.RestartLimit.Max = -1 }, 4, "t: restartLimit.max: negative max -1"},
		{"zero window", func(tr *schema.Node) { tr.Children[0].RestartLimit.Window = 0 }, 6, `t/a: restartLimit: window "0s"`},
		{"negative window", func(tr *schema.Node) { tr.RestartLimit.Window = -time.Second }, 4, "t: restartLimit.window: window must be positive"},
		{"jitter", func(tr *schema.Node) { tr.Backoff.Jitter = 2 }, 3, "t: backoff.jitter: 2 is outside 0 to 1"},
		{"multiplier", func(tr *schema.Node) { tr.Children[0].Backoff.Multiplier = 0.5 }, 6, "t/a: backoff.multiplier: 0.5 must be at least 1"},
		{"negative initial", func(tr *schema.Node) { tr.Backoff.Initial = -1 }, 3, "t: backoff.initial: negative duration"},
		{"negative reset", func(tr *schema.Node) { tr.Backoff.ResetAfter = -1 }, 3, "t: backoff.resetAfter: negative duration"},
		{"max below initial", func(tr *schema.Node) { tr.Backoff.Initial = time.Hour }, 3, "t: backoff: initial 1h0m0s is longer than max 10s"},
		{"significant permanent", func(tr *schema.Node) { tr.Children[1].Significant = true }, 7, "t/b: a significant child cannot be permanent"},
		{"after unknown", func(tr *schema.Node) { tr.Children[1].After[0].Name = "zz" }, 7, `t/b: after names "zz"`},
		{"after cycle", func(tr *schema.Node) { tr.Children[0].After = []schema.Ref{{Name: "b", Pos: tr.Children[0].Pos}} }, 6, "after: dependency cycle in t: a -> b -> a"},
		{"no children", func(tr *schema.Node) { tr.Children[2].Children = []*schema.Node{} }, 8, "t/n: a supervisor needs at least one child"},
		{"child name", func(tr *schema.Node) { tr.Children[1].Name = "B"; tr.Children[1].Path[1] = "B" }, 7, `t/B: name: invalid name "B"`},
		{"long default lease name", func(tr *schema.Node) {
			b := tr.Children[1]
			b.Name = strings.Repeat("b", 250)
			b.Path[1] = b.Name
			b.Lease = &schema.Lease{TTL: runtime.DefaultLeaseTTL, Pos: b.Pos}
		}, 7, "lease.name: the lease name, the child's path, has 252 characters, more than 200: give the lease a shorter name"},
		{"negative pool max", func(tr *schema.Node) { tr.Children[3].Pool.Max = -1 }, 10, "t/p: pool.max: negative max -1"},
		{"significant pool", func(tr *schema.Node) { tr.Children[3].Significant = true }, 9, "t/p: significant: a pool never ends by itself"},
		{"duplicate name", func(tr *schema.Node) {
			tr.Children[1].Name = "a"
			tr.Children[1].Path[1] = "a"
			tr.Children[1].After = nil
		}, 7, `t/a: name: duplicate name "a"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, err := schema.LoadFiles(t.TempDir(), map[string][]byte{"spec.cue": []byte(src)})
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(spec); err != nil {
				t.Fatalf("the spec before breaking it: %v", err)
			}
			c.break_(spec.Trees[0])
			err = Check(spec)
			if err == nil {
				t.Fatal("no error")
			}
			list := err.(schema.ErrorList)
			for _, e := range list {
				if e.Pos.Line == c.line && filepath.Base(e.Pos.Filename) == "spec.cue" && strings.Contains(e.Msg, c.msg) {
					return
				}
			}
			t.Fatalf("want an error at line %d containing %q, got\n%v", c.line, c.msg, list)
		})
	}
}
