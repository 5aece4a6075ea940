package gen

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/arbor-go/arbor/schema"
)

// fuzzPkg is the Go package of the fuzz fixture, testdata/fuzz.
const fuzzPkg = "github.com/arbor-go/arbor/gen/testdata/fuzz"

// fuzzWorkspace loads the fixture once per process, with the two foreign
// packages a fuzzed spec may name, and with Options.Lint, so that every
// input also goes through the static checks of the run functions. Loading
// Go code takes about a second; everything else the pipeline does takes
// milliseconds.
var fuzzWorkspace = sync.OnceValues(func() (*workspace, error) {
	dir, err := filepath.Abs(filepath.Join("testdata", "fuzz"))
	if err != nil {
		return nil, err
	}
	ws, err := loadGo(context.Background(), dir, []string{fuzzPkg + "/sub", fuzzPkg + "/clash"}, &Options{Lint: true})
	if err != nil {
		return nil, err
	}
	if ws.own == nil || ws.own.PkgPath != fuzzPkg || len(ws.own.Errors) > 0 {
		return nil, fmt.Errorf("fixture %s did not load cleanly: %+v", dir, ws.own)
	}
	return ws, nil
})

func mustFuzzWorkspace(tb testing.TB) *workspace {
	tb.Helper()
	ws, err := fuzzWorkspace()
	if err != nil {
		tb.Fatal(err)
	}
	return ws
}

// forgetGenerated removes the generated files typecheck parsed into the
// shared FileSet, which would otherwise grow with every input.
func forgetGenerated(ws *workspace) {
	name := filepath.Join(ws.dir, outputName)
	var files []*token.File
	ws.fset.Iterate(func(f *token.File) bool {
		if f.Name() == name {
			files = append(files, f)
		}
		return true
	})
	for _, f := range files {
		ws.fset.RemoveFile(f)
	}
}

// FuzzGenerate feeds arbitrary CUE source, as the spec of the fixture
// package testdata/fuzz, through the whole pipeline: schema.LoadFiles,
// then the steps of GenerateSpec against the fixture's Go code, loaded
// once. The pipeline must never panic; it must either fail with a sorted
// schema.ErrorList whose every error is positioned in the fuzzed file, or
// succeed with code that type-checks (ErrInternal never happens), passes
// go vet's analyzers (run in process), starts with the generated header,
// is gofmt-stable and deterministic.
//
//	go test -run '^$' -fuzz FuzzGenerate -fuzztime 3m ./gen/
func FuzzGenerate(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	ws := mustFuzzWorkspace(f)
	specFile := filepath.Join(ws.dir, "spec.cue")
	f.Fuzz(func(t *testing.T, src string) {
		defer forgetGenerated(ws)
		spec, err := schema.LoadFiles(ws.dir, map[string][]byte{"spec.cue": []byte(src)})
		if err != nil {
			if spec != nil {
				t.Fatalf("LoadFiles returned both a spec and an error: %v", err)
			}
			checkErrorList(t, src, specFile, err)
			// With what could be decoded, the other checks add their
			// errors to the spec's, all of which stay.
			partial, perr := schema.LoadPartial(ws.dir, map[string][]byte{"spec.cue": []byte(src)})
			if perr == nil || perr.Error() != err.Error() {
				t.Fatalf("LoadPartial's errors differ from LoadFiles's:\n%v\n%v", perr, err)
			}
			if partial != nil {
				all := ws.partial(partial, perr)
				checkErrorList(t, src, specFile, all)
				for _, e := range err.(schema.ErrorList) {
					if !strings.Contains(all.Error(), e.Error()) {
						t.Fatalf("partial checks lost the spec error %v:\n%v\nfor\n%s", e, all, src)
					}
				}
			}
			return
		}
		r, err := ws.generate(spec)
		if err != nil {
			if errors.Is(err, ErrInternal) {
				t.Fatalf("generated code does not compile (ErrInternal) for\n%s\n%v", src, err)
			}
			checkErrorList(t, src, specFile, err)
			return
		}
		checkOutput(t, src, ws, r)
		if len(r.Findings) > 0 {
			checkErrorList(t, src, specFile, r.Findings)
		}
		again, err := ws.generate(spec)
		if err != nil || !bytes.Equal(again.Content, r.Content) {
			t.Fatalf("emit is not deterministic for\n%s\nerr %v", src, err)
		}
	})
}

// checkErrorList checks a failure: a non-empty, sorted ErrorList of
// errors positioned in the spec file (and, for errors about Go
// declarations, a positioned Go file).
func checkErrorList(t *testing.T, src, specFile string, err error) {
	t.Helper()
	var list schema.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("not a schema.ErrorList: %T %v\nfor\n%s", err, err, src)
	}
	if len(list) == 0 {
		t.Fatalf("empty ErrorList for\n%s", src)
	}
	if !slices.IsSortedFunc(list, func(a, b *schema.Error) int {
		return cmp.Or(cmp.Compare(a.Pos.Filename, b.Pos.Filename), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Column, b.Pos.Column), cmp.Compare(a.Msg, b.Msg))
	}) {
		t.Fatalf("errors not sorted:\n%v\nfor\n%s", list, src)
	}
	lines := strings.Count(src, "\n") + 1
	var unpositioned []string
	for _, e := range list {
		if e.Msg == "" {
			t.Fatalf("error without a message at %v for\n%s", e.Pos, src)
		}
		if strings.Contains(e.Msg, "internal error") {
			t.Fatalf("internal error: %v\nfor\n%s", e, src)
		}
		if e.Pos.Filename != specFile || !e.Pos.IsValid() || e.Pos.Line > lines || e.Pos.Column < 1 {
			unpositioned = append(unpositioned, e.Error())
		}
		if e.Decl != (schema.Pos{}) && (!e.Decl.IsValid() || !strings.HasSuffix(e.Decl.Filename, ".go")) {
			t.Fatalf("bad declaration position %v in %v\nfor\n%s", e.Decl, e, src)
		}
		if e.At != (schema.Pos{}) && (!e.At.IsValid() || !strings.HasSuffix(e.At.Filename, ".go")) {
			t.Fatalf("bad Go position %v in %v\nfor\n%s", e.At, e, src)
		}
	}
	if len(unpositioned) > 0 {
		t.Fatalf("errors without a position in %s (of %d lines):\n%s\nfor\n%q", specFile, lines, strings.Join(unpositioned, "\n"), src)
	}
}

// checkOutput checks a success: what every generated file promises.
func checkOutput(t *testing.T, src string, ws *workspace, r *Result) {
	t.Helper()
	if r.Path != filepath.Join(ws.dir, outputName) {
		t.Fatalf("Path %s", r.Path)
	}
	if !bytes.HasPrefix(r.Content, []byte("// "+Header+"\n")) {
		t.Fatalf("no header for\n%s\n%s", src, r.Content)
	}
	formatted, err := format.Source(r.Content)
	if err != nil || !bytes.Equal(formatted, r.Content) {
		t.Fatalf("not gofmt-clean (%v) for\n%s\n%s", err, src, r.Content)
	}
	gf, err := parser.ParseFile(token.NewFileSet(), outputName, r.Content, parser.ParseComments)
	if err != nil || !ast.IsGenerated(gf) {
		t.Fatalf("go/ast does not see a generated file (%v) for\n%s", err, src)
	}
	if gf.Name.Name != ws.own.Name {
		t.Fatalf("package %s, want %s", gf.Name.Name, ws.own.Name)
	}
	found, err := vet(ws, r.Content)
	if err != nil || len(found) > 0 {
		t.Fatalf("go vet's analyzers (%v) find in the generated code for\n%s\n%s", err, src, strings.Join(found, "\n"))
	}
}

// fuzzSeeds returns the seed corpus: the specs of ../testdata adapted to
// the fixture's names, the schema's own fixtures, and hand-written
// adversarial specs.
func fuzzSeeds(tb testing.TB) []string {
	var seeds []string
	adapt := strings.NewReplacer(
		`"Idle"`, `"Work"`, `"Reporting"`, `"Serve"`, `"Fail"`, `"Work"`, `"Job"`, `"Work"`, `"NotAFunc"`, `"Value"`,
		`"(*Store).Run"`, `"(*Pool).Run"`, `"(*Store).Audit"`, `"(*Pool).Sync"`,
		`"(*API).Serve"`, `"(*`+fuzzPkg+`/sub.Formatter).Run"`,
		"github.com/arbor-go/arbor/testdata/wiring/tools.", fuzzPkg+"/sub.",
	)
	probe := regexp.MustCompile(`"\(\*Probe\)\.\w+"`)
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*.cue"))
	schemaFiles, _ := filepath.Glob(filepath.Join("..", "schema", "testdata", "*", "*.cue"))
	for _, name := range append(files, schemaFiles...) {
		src, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, probe.ReplaceAllString(adapt.Replace(string(src)), `"(*Pool).Run"`))
	}
	if len(files) == 0 || len(schemaFiles) == 0 {
		tb.Fatal("no seed specs found in ../testdata or ../schema/testdata")
	}

	sub := fuzzPkg + "/sub"
	seeds = append(seeds,
		// Every run form and target of the fixture.
		`package fuzz
trees: shop: {
	strategy: "rest_for_one"
	restartLimit: {max: 3, window: "1m"}
	backoff: {initial: "1ms", max: "2562047h", multiplier: 1e3, jitter: 1, resetAfter: "1ns"}
	shutdown: "0s"
	children: {
		db: {run: "(*Pool).Run", ready: timeout: "1s", heartbeat: timeout: "1s", shutdown: "1.5h"}
		sync: {run: "(*Pool).Sync", after: ["db"], timeout: "2562047h47m16.854775807s"}
		clock: run: "(Clock).Tick"
		fn: run: "(Fn).Run"
		iface: run: "(Runner).Run"
		outer: run: "(*Outer).Run"
		idle: {run: "idle", restart: "transient", significant: true}
		own: run: "`+fuzzPkg+`.Work"
		lint: run: "`+sub+`.Lint"
		fmt: {run: "(*`+sub+`.Formatter).Run", restartLimit: {max: 0, window: "0s"}, backoff: {initial: "0s", max: "0s"}}
		subpool: run: "(*`+sub+`.Pool).Run"
		clash: run: "`+fuzzPkg+`/clash.Work"
		clashpool: run: "(*`+fuzzPkg+`/clash.Pool).Run"
		nested: {strategy: "one_for_all", restart: "temporary", children: {a: {run: "Serve", significant: true, restart: "transient"}, b: {run: "Work", after: ["a"]}}}
	}
}
trees: other: children: a: run: "(*Pool).Run"
`,
		// Wrong kinds and signatures.
		`package fuzz
trees: t: children: {
	a: run: "NoError"
	b: run: "WrongArgs"
	c: run: "Variadic"
	d: run: "TwoResults"
	e: run: "Generic"
	f: run: "Value"
	g: run: "Const"
	h: run: "(Wrong).Run"
	i: run: "(Pool).Run"
	j: run: "(*Runner).Run"
	k: run: "Pool"
	l: run: "`+sub+`.unexported"
	m: run: "(*`+sub+`.pool).Run"
	n: run: "sub.Lint"
	o: run: "context.Background"
	p: {run: "Work", ready: timeout: "1s", heartbeat: timeout: "1ms"}
	q: run: "(*Outer).Nope"
	r: run: "(Outer).Sync"
	s: run: "Missing"
	u: run: "()."
	v: run: "(*).Run"
	w: run: "a..b"
	x: run: "(*(Pool)).Run"
	y: run: "runtime.Func"
	z: run: "github.com/arbor-go/arbor/runtime.New"
}
`,
		// Pools: every kind of argument type, run functions named like
		// the locals of Start, receivers kept by nested supervisors.
		`package fuzz
trees: pools: children: {
	conns: {run: "(*Pool).Handle", pool: max: 3, heartbeat: timeout: "1s"}
	tally: {run: "Tally", pool: {}}
	each: {run: "Each", pool: {}, restart: "temporary"}
	chans: {run: "Chans", pool: {}}
	callback: {run: "Callback", pool: {}}
	anon: {run: "Anon", pool: {}}
	boxed: {run: "Boxed", pool: {}}
	aliased: {run: "Aliased", pool: {}}
	pointer: {run: "Pointer", pool: {}}
	clashing: {run: "Clashing", pool: {}}
	arg: {run: "arg", pool: {}}
	p: {run: "p", pool: {}}
	any: {run: "Any", pool: {}}
	args: {run: "WrongArgs", pool: {}, after: ["conns"]}
	do: {run: "`+sub+`.Do", pool: {}}
	take: {run: "(*`+sub+`.Pool).Take", pool: {}}
	n: {strategy: "one_for_all", children: {conns: {run: "(*Pool).Handle", pool: {}}, m: children: take: {run: "(*`+sub+`.Pool).Take", pool: {}}}}
	db: run: "(*Pool).Run"
}
`,
		// Pools that cannot be.
		`package fuzz
trees: t: children: {
	a: {run: "Work", pool: {}}
	b: {run: "Serve", pool: {}}
	c: {run: "Variadic", pool: {}}
	d: {run: "`+sub+`.Hidden", pool: {}}
	e: {run: "`+sub+`.Fields", pool: {}}
	f: {run: "Tally"}
	g: {run: "Tally", pool: {}, ready: timeout: "1s"}
	h: {run: "Tally", pool: max: -1, significant: true}
	i: {run: "Tally", pool: {}, children: x: run: "Work"}
}
`,
		// Go keywords and predeclared names as names.
		`package fuzz
trees: type: children: {
	"func": run: "Work"
	"go": run: "Work"
	"var": run: "Work"
	"import": run: "Work"
	"package": run: "Work"
	"if": run: "Work"
	"for": run: "Work"
	"chan": run: "Work"
	"map": run: "Work"
	"range": run: "Work"
	"nil": run: "Work"
	"true": run: "Work"
	"string": run: "Work"
	"error": run: "Work"
	"context": run: "Work"
	"time": run: "Work"
	"runtime": run: "Work"
	"opts": run: "Work"
	"new": run: "Work"
	"err": run: "Work"
	"t": run: "Work"
}
trees: func: children: go: children: var: run: "Work"
trees: "new-func": children: a: run: "Work"
trees: context: children: a: run: "Work"
`,
		// Names colliding after conversion.
		`package fuzz
trees: t: children: {
	"a-b": run: "Work"
	a_b: run: "Work"
	"a--b": run: "Work"
	"a_-b": run: "Work"
	ab: run: "Work"
	"http-api": run: "Work"
	http_api: run: "Work"
	"id-1": run: "Work"
	id_1: run: "Work"
}
trees: "t-x": children: y: run: "Work"
trees: t_x: children: y: run: "Work"
trees: "new-t": children: a: run: "Work"
trees: t: children: "t-a": children: a: run: "Work"
`,
		`package fuzz
trees: a: children: b: children: c: run: "Work"
trees: "a-b": children: c: run: "Work"
trees: ab: children: "b-c": run: "Work"
`,
		// Reserved method names on nested supervisors.
		`package fuzz
trees: t: children: n: children: {run: run: "Work", tree: run: "Work", handle: run: "Work"}
`,
		// Very long and unicode names.
		"package fuzz\ntrees: "+strings.Repeat("a", 2000)+": children: \""+strings.Repeat("b-", 500)+"c\": run: \"Work\"\n",
		"package fuzz\ntrees: t: children: {\"café\": run: \"Work\", \"ñ\": run: \"Work\", \"a\u200bb\": run: \"Work\", \"Ａ\": run: \"Work\"}\n",
		"\ufeffpackage fuzz\ntrees: t: children: a: run: \"Work\"\n",
		"package fuzz\ntrees: t: children: a: run: \"W\u00f6rk\"\n",
		// Deep nesting.
		deepSpec(60),
		// after: cycles, self, unknown, across levels, duplicates.
		`package fuzz
trees: t: children: {
	a: {run: "Work", after: ["b"]}
	b: {run: "Work", after: ["a"]}
	c: {run: "Work", after: ["c"]}
	d: {run: "Work", after: ["e", "e"]}
	e: {run: "Work"}
	n: {children: {x: {run: "Work", after: ["a"]}, y: {run: "Work", after: ["y", "zz"]}}}
}
trees: u: children: {p: {run: "Work", after: ["q"]}, q: {run: "Work", after: ["r"]}, r: {run: "Work", after: ["p"]}}
`,
		// CUE: templates, comprehensions, interpolation, references, disjunctions.
		`package fuzz
#Service: {restart: "transient", ready: timeout: "10s", ...}
_names: ["a", "b", "c"]
trees: t: children: {
	for i, n in _names {
		"\(n)": #Service & {run: "Serve", after: [ for m in _names if m < n {m}]}
	}
}
trees: [string]: backoff: jitter: 0.5
`,
		`package fuzz
trees: t: children: [Name=_]: run: "Work"
trees: t: children: {a: {}, b: {}}
`,
		`package fuzz
trees: t: children: a: run: "Work" | "Serve"
`,
		`package fuzz
import "strings"
trees: t: children: a: run: strings.ToUpper("w") + "ork"
`,
		`package fuzz
import "example.com/nope"
trees: t: children: a: run: nope.X
`,
		`package fuzz
a: b: a
trees: t: children: x: run: a.b.c
`,
		`package fuzz
#X: {#X}
trees: t: #X
`,
		// Numbers and durations at their limits.
		`package fuzz
trees: t: {
	restartLimit: {max: 9223372036854775808, window: "2562048h"}
	backoff: {initial: "-1s", max: "1e3s", multiplier: 1e400, jitter: -0, resetAfter: "1h1h"}
	shutdown: "9223372036854775807ns"
	children: a: {run: "Work", timeout: "0.0000000001s", restartLimit: max: 1.5}
}
`,
		// Malformed CUE.
		"",
		"package",
		"package fuzz\n",
		"package fuzz\ntrees: t: children: a: run: \"Work\n",
		"package fuzz\ntrees: t: children: a: run: \"Work\" @\n",
		"package fuzz\ntrees: {{{{\n",
		"package fuzz\ntrees: t: children: a: run: \"Work\",,\n",
		"package fuzz\ntrees: t: children: a: run: 'Work'\n",
		"package fuzz\ntrees: t: children: a: run: \"\\xff\"\n",
		"package fuzz\n\x00\n",
		"package fuzz\ntrees: 1\n",
		"package fuzz\ntrees: t: 1\n",
		"package fuzz\ntrees: t: children: 1\n",
		"package fuzz\ntrees: t: children: a: 1\n",
		"package fuzz\ntrees: t: children: a: run: 1\n",
		"package fuzz\ntrees: t: children: a: run: \"Work\" @if(nope)\n",
		"@if(nope)\npackage fuzz\ntrees: t: children: a: run: \"Work\"\n",
		"trees: t: children: a: run: \"Work\"\n",
		"package fuzz\n[1, 2]\n",
		"package fuzz\ntrees: t: children: a: run: _|_\n",
		"package fuzz\nfoo: 1\ntrees: t: children: a: run: \"Work\"\n",
		// Receivers that hold a lock, and names that become methods go vet
		// knows.
		`package fuzz
trees: t: children: {
	a: run: "(Locked).Run"
	b: run: "(*Locked).Sync"
	c: run: "(*Locked).Run"
	d: run: "(Counter).Run"
	e: run: "(Guarded).Run"
}
`,
		"package fuzz\ntrees: t: children: {string: run: \"Work\", error: run: \"Work\", format: run: \"Work\", scan: run: \"Work\", seek: run: \"Work\", \"read-from\": run: \"Work\", \"write-to\": run: \"Work\"}\n",
		"package fuzz\ntrees: t: children: {\"marshal-json\": run: \"Work\", \"read-byte\": run: \"Work\", is: run: \"Work\", n: children: unwrap: run: \"Work\"}\n",
		// A supervisor wide enough to be built in chunks, whose run
		// function is named like the variable of its children.
		wideSpec(2*childrenPerFunc+1, "children"),
		// Known bugs, skipped (see adversarial_test.go).
		"package fuzz\ntrees: t: children: a: run: \"(*PoolAlias).Run\"\n",
		"package fuzz\ntrees: t: children: a: run: \"(*Box).Run\"\n",
		"package fuzz\ntrees: t: children: {a: run: \"(*Server).Run\", b: run: \"server\"}\n",
		"package fuzz\ntrees: work: children: a: run: \"Work\"\n",
	)
	return seeds
}

// wideSpec returns a spec with one supervisor of n workers that run run,
// one of them nested.
func wideSpec(n int, run string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package fuzz\ntrees: wide: children: {\n\tn: children: a: run: %q\n", run)
	for i := range n - 1 {
		fmt.Fprintf(&b, "\tw%d: {run: %q, after: [\"n\"]}\n", i, run)
	}
	b.WriteString("}\n")
	return b.String()
}

// deepSpec returns a spec with one chain of depth nested supervisors.
func deepSpec(depth int) string {
	var b strings.Builder
	b.WriteString("package fuzz\ntrees: deep: children: ")
	for i := range depth {
		fmt.Fprintf(&b, "l%d: {children: {", i)
	}
	b.WriteString(`leaf: {run: "Work"}`)
	b.WriteString(strings.Repeat("}}", depth))
	b.WriteString("\n")
	return b.String()
}
