package gen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRandomArgTypes gives pools arguments of random types built the ways
// Go builds them (pointers, slices, arrays, maps, channels of each
// direction, struct literals with tags, blank, embedded and unexported
// fields, funcs with variadic and named results, interfaces embedding
// others) over names that the generated file must write otherwise than the
// user did: types of two packages named lib and of one named runtime,
// aliases, generic instances and generic aliases, an internal package, a
// dot import. The user's code compiles and passes go vet; then so must
// the generated file.
func TestRandomArgTypes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	const types = 150
	r := rand.New(rand.NewPCG(22, 7))
	mod := writeModule(t, map[string]string{
		"lib/lib.go": `package lib

type T struct{ A int }
type Alias = T
type G[X any] struct{ V X }
type GA[X any] = G[X]
type P2[K comparable, V any] struct{ M map[K]V }
type I interface{ M() }
type Fn func(int) error
type Rec struct{ Next *Rec }
type Ch chan Ch
`,
		"other/lib/lib.go":        "package lib\n\ntype T struct{}\n",
		"runtime/runtime.go":      "package runtime\n\ntype Arg struct{}\n",
		"internal/inner/inner.go": "package inner\n\ntype T struct{ B bool }\n",
		"dot/dot.go":              "package dot\n\ntype D struct{}\n",
	})
	var src, spec strings.Builder
	src.WriteString(`package app

import (
	"context"
	"time"
	"unsafe"

	. "example.com/big/dot"
	"example.com/big/internal/inner"
	"example.com/big/lib"
	lib2 "example.com/big/other/lib"
	rt "example.com/big/runtime"
)

var (
	_ time.Duration
	_ unsafe.Pointer
	_ lib.T
	_ lib2.T
	_ rt.Arg
	_ inner.T
	_ D
)

type Local struct{ X int }
type local struct{}
type LocalAlias = lib.T
type G2[X any] struct{ V X }
type LocalGA[X any] = G2[X]

`)
	spec.WriteString("package app\n\ntrees: t: children: {\n")
	for i := range types {
		fmt.Fprintf(&src, "func P%d(ctx context.Context, x %s) error { return nil }\n", i, randType(r, 0))
		fmt.Fprintf(&spec, "\tp%d: {pool: {}, run: \"P%d\"}\n", i, i)
	}
	spec.WriteString("}\n")
	dir := filepath.Join(mod, "app")
	writeModuleAt(t, mod, map[string]string{"app/app.go": src.String()})
	goCmd(t, dir, "vet", ".")
	writeModuleAt(t, mod, map[string]string{"app/spec.cue": spec.String()})
	res, err := Generate(context.Background(), dir, &Options{Env: moduleEnv()})
	if err != nil {
		t.Fatalf("%v\n%s", err, src.String())
	}
	if err := os.WriteFile(filepath.Join(dir, outputName), res.Content, 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, "vet", ".")
}

// randType returns a random Go type expression over the names that
// TestRandomArgTypes declares.
func randType(r *rand.Rand, depth int) string {
	names := []string{"int", "string", "error", "any", "rune", "byte", "complex128", "struct{}",
		"Local", "local", "LocalAlias", "G2[string]", "LocalGA[Local]", "D",
		"lib.T", "lib.Alias", "lib.G[int]", "lib.G[Local]", "lib.G[lib2.T]", "lib.GA[lib.GA[string]]", "lib.P2[int, lib2.T]",
		"lib.I", "lib.Fn", "lib.Rec", "lib.Ch", "lib2.T", "rt.Arg", "inner.T", "unsafe.Pointer", "time.Duration"}
	if depth > 3 {
		return names[r.IntN(len(names))]
	}
	switch r.IntN(12) {
	case 0:
		return "*" + randType(r, depth+1)
	case 1:
		return "[]" + randType(r, depth+1)
	case 2:
		return fmt.Sprintf("[%d]%s", r.IntN(4), randType(r, depth+1))
	case 3:
		keys := []string{"int", "string", "lib.T", "Local", "*Local", "[2]int", "struct{ A int }", "any", "lib.Alias", "D"}
		return fmt.Sprintf("map[%s]%s", keys[r.IntN(len(keys))], randType(r, depth+1))
	case 4:
		return []string{"chan ", "<-chan ", "chan<- "}[r.IntN(3)] + randType(r, depth+1)
	case 5:
		var fields []string
		embedded := []string{"Local", "*lib.T", "lib.I", "error", "inner.T", "G2[int]", "D", "rt.Arg"}
		for i := range r.IntN(4) {
			switch r.IntN(5) {
			case 0:
				fields = append(fields, fmt.Sprintf("F%d %s", i, randType(r, depth+1)))
			case 1:
				fields = append(fields, fmt.Sprintf("F%d %s `json:\"f%d,omitempty\"`", i, randType(r, depth+1), i))
			case 2:
				fields = append(fields, embedded[i]) // one of each at most: i differs
			case 3:
				fields = append(fields, "_ "+randType(r, depth+1))
			default:
				fields = append(fields, fmt.Sprintf("f%d %s", i, randType(r, depth+1)))
			}
		}
		return "struct{ " + strings.Join(fields, "; ") + " }"
	case 6:
		var params []string
		for range r.IntN(3) {
			params = append(params, randType(r, depth+1))
		}
		if len(params) > 0 && r.IntN(3) == 0 {
			params[len(params)-1] = "..." + params[len(params)-1]
		}
		return fmt.Sprintf("func(%s) %s", strings.Join(params, ", "), []string{"", "error", "(int, error)", "(a, b int)"}[r.IntN(4)])
	case 7:
		return []string{
			fmt.Sprintf("interface{ M(%s) error }", randType(r, depth+1)),
			fmt.Sprintf("interface{ lib.I; N(%s) }", randType(r, depth+1)),
			"interface{ error; lib.I }",
		}[r.IntN(3)]
	}
	return names[r.IntN(len(names))]
}
