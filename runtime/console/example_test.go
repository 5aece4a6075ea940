package console_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

// The console on a port of its own, on the loopback interface, with control
// orders behind the token in $ARBOR_TOKEN.
func ExampleListen() {
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	srv, err := console.Listen(ctx, ":8090", tree, console.WithToken(os.Getenv("ARBOR_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	fmt.Println("console at", srv.URL)
	_ = tree.Run(ctx)
}

// The console under /arbor/ on the program's own mux, beside its other
// handlers.
func ExampleHandler() {
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/arbor/", http.StripPrefix("/arbor", console.Handler(tree, console.WithToken(os.Getenv("ARBOR_TOKEN")))))
	go http.ListenAndServe("127.0.0.1:8081", mux)
	_ = tree.Run(context.Background())
}
