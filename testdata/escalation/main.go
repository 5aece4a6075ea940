package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/arbor-go/arbor/runtime"
)

//go:generate go tool arbor gen

var starts atomic.Int32

// Fail fails at once.
func Fail(ctx context.Context) error {
	starts.Add(1)
	return errors.New("boom")
}

func main() {
	err := NewApp().Run(context.Background())
	fmt.Println("starts:", starts.Load())
	fmt.Println("restart limit:", errors.Is(err, runtime.ErrRestartLimit))
	fmt.Println("error:", err)
}
