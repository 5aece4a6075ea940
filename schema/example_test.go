package schema_test

import (
	"fmt"

	"github.com/arbor-go/arbor/schema"
)

// Load reads the .cue files of a directory; LoadFiles can also take them
// from memory. The spec comes back with every default applied.
func ExampleLoadFiles() {
	spec, err := schema.LoadFiles("shop", map[string][]byte{"tree.cue": []byte(`
package main

trees: shop: {
	strategy: "rest_for_one"
	children: {
		db:  {run: "(*DB).Run", ready: timeout: "10s"}
		api: {run: "Serve", after: ["db"], shutdown: "2s"}
	}
}
`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	shop := spec.Tree("shop")
	fmt.Println(shop.Strategy, shop.RestartLimit.Max, shop.RestartLimit.Window, shop.Shutdown)
	for _, c := range shop.Children {
		fmt.Println(c.Name, c.Run, c.Restart, c.Shutdown)
	}
	// Output:
	// rest_for_one 5 10s 30s
	// db (*DB).Run permanent 5s
	// api Serve permanent 2s
}

// Errors are collected, each at its position: Relative makes the file
// names relative to a directory, as arbor prints them.
func ExampleLoadFiles_errors() {
	_, err := schema.LoadFiles("/src/shop", map[string][]byte{"tree.cue": []byte(`package main

trees: shop: children: {
	db:  {run: "Open", restart: "always"}
	api: {run: "Serve", shutdown: "2 seconds"}
}
`)})
	if list, ok := err.(schema.ErrorList); ok {
		for _, e := range list.Relative("/src/shop") {
			fmt.Println(e)
		}
	}
	// Output:
	// tree.cue:4:30: trees.shop.children.db.restart: invalid value "always" (must be permanent, transient or temporary)
	// tree.cue:5:32: trees.shop.children.api.shutdown: invalid duration "2 seconds" (must be a duration such as "100ms", "10s" or "1m30s")
}
