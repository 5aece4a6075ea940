package gen_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/arbor-go/arbor/gen"
	"github.com/arbor-go/arbor/schema"
)

// Generate checks the spec of a directory against its Go package and
// returns the code of arbor_gen.go without writing it: arbor gen writes
// Result.Content to Result.Path, arbor diff compares them.
func ExampleGenerate() {
	r, err := gen.Generate(context.Background(), "../examples/quickstart", nil)
	var list schema.ErrorList
	if errors.As(err, &list) {
		for _, e := range list.Relative(".") {
			fmt.Println(e) // spec.cue:5:14: shop/api: ...
		}
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	old, _ := os.ReadFile(r.Path)
	fmt.Println("up to date:", bytes.Equal(old, r.Content))
	// Output: up to date: true
}

// Check runs the checks that need only the spec, before any Go code is
// loaded: here an after list that names no sibling.
func ExampleCheck() {
	spec, err := schema.LoadFiles("/src/shop", map[string][]byte{"tree.cue": []byte(`package main

trees: shop: children: {
	db:  {run: "(*DB).Run"}
	api: {run: "Serve", after: ["dbb"]}
}
`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	var list schema.ErrorList
	if errors.As(gen.Check(spec), &list) {
		fmt.Println(list.Relative("/src/shop"))
	}
	// Output:
	// tree.cue:5:30: shop/api: after names "dbb", which is not a child of shop (did you mean "db"?)
}

// Graph draws the trees of a spec, here as a Mermaid flowchart.
func ExampleGraph() {
	spec, err := schema.LoadFiles("/src/shop", map[string][]byte{"tree.cue": []byte(`package main

trees: shop: {
	strategy: "rest_for_one"
	children: {
		db:  {run: "(*DB).Run", ready: timeout: "10s"}
		api: {run: "Serve", after: ["db"]}
	}
}
`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := gen.Graph(spec, gen.Mermaid)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// flowchart TD
	//     n0[["shop<br/>rest_for_one"]]
	//     n1("db<br/>(*DB).Run<br/>permanent")
	//     n0 --> n1
	//     n2("api<br/>Serve<br/>permanent")
	//     n0 --> n2
	//     n1 -. before .-> n2
}
