package main

import (
	"context"
	"fmt"
)

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }

func main() {
	t := NewJobs()
	for _, p := range []string{
		t.Handle().Path(),
		t.Batch().Handle().Path(),
		t.Batch().Run().Path(),
		t.Batch().Tree().Path(),
		t.Batch().Deep().Handle().Path(),
		t.Batch().Deep().Run().Path(),
		t.Batch().Deep().Tree().Path(),
	} {
		fmt.Println(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- t.Run(ctx) }()
	<-t.Tree().Ready()
	fmt.Println(t.Batch().Deep().Tree().State())
	cancel()
	fmt.Println("run:", <-done)
}
