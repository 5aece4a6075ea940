package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
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

// What the page and arbor ctl read: GET /api/tree gives the health and each
// child's state; an order needs the token.
func ExampleHandler_api() {
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	<-tree.Ready()
	srv := httptest.NewServer(console.Handler(tree, console.WithToken("s3cret")))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/api/tree")
	if err != nil {
		log.Fatal(err)
	}
	var t console.Tree
	err = json.NewDecoder(resp.Body).Decode(&t)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Tree, t.Health)
	for _, c := range t.Children {
		fmt.Println(c.Path, c.Kind, c.State, c.Generation)
	}

	for _, token := range []string{"", "s3cret"} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/restart?path=shop/db", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println("restart:", resp.Status)
	}

	cancel()
	<-done
	// Output:
	// shop ready
	// shop/db worker running 1
	// restart: 401 Unauthorized
	// restart: 202 Accepted
}
