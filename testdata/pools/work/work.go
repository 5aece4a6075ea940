// Package work is another package whose function and argument type a pool
// names.
package work

import (
	"context"
	"fmt"
)

// Task is what an instance of the tasks pool works on.
type Task struct {
	ID  int
	Out chan<- string
}

// Do reports the task done.
func Do(ctx context.Context, t Task) error {
	select {
	case t.Out <- fmt.Sprintf("task %d: done", t.ID):
	case <-ctx.Done():
	}
	return nil
}

// task is an alias that only this package can name: the generated Start
// of a pool whose run takes one writes what it stands for, *work.Task.
type task = Task

// Redo does the task again.
func Redo(ctx context.Context, t *task) error { return Do(ctx, *t) }
