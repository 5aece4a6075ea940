package etcd_test

import (
	"context"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/lease/etcd"
)

// A tree whose scheduler runs in one replica at a time: every replica runs
// this program against the same etcd.
func Example() {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "scheduler", Lease: &runtime.LeaseSpec{TTL: 5 * time.Second}, Run: func(ctx context.Context, a *runtime.Attempt) error {
			// Write with a.Token(), to stores that refuse smaller tokens.
			<-ctx.Done()
			return nil
		}},
	}}, runtime.WithLeaser(etcd.New(cli, etcd.WithValue("replica-1"))))
	if err != nil {
		log.Fatal(err)
	}
	if err := tree.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
