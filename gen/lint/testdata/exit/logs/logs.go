// Package logs is a logger of another package, as zap, logrus and zerolog
// are: its Fatal functions and methods log and end the process.
package logs

import (
	"context"
	"os"

	"github.com/arbor-go/arbor/runtime"
)

// Logger is a concrete logger, as zap's.
type Logger struct{}

func (Logger) Fatal(args ...any)            { os.Exit(1) }
func (Logger) Fatalw(msg string, kv ...any) { os.Exit(1) }
func (Logger) Panic(args ...any)            { panic(args) }
func (Logger) Info(args ...any)             {}
func Fatalf(format string, args ...any)     { os.Exit(1) }
func FatalDepth(depth int, args ...any)     { os.Exit(1) }

// FieldLogger is a logger's interface, as logrus's.
type FieldLogger interface {
	Fatalf(format string, args ...any)
	Panicf(format string, args ...any)
}

// TB is a test's interface, as testing.TB: its Fatal ends the goroutine,
// not the process.
type TB interface {
	Fatal(args ...any)
	FailNow()
}

// C is a test helper's type, as quicktest's: its Fatal too ends only the
// goroutine.
type C struct{ TB }

func (c *C) Fatal(args ...any) { c.TB.Fatal(args...) }

// Die ends the process under another name: calls into another package
// are not followed.
func Die() { os.Exit(1) }

// Remote is a run function of this package: checked when this package is
// analyzed, without its child's requirements.
func Remote(ctx context.Context, a *runtime.Attempt) error {
	os.Exit(3) // want `^os.Exit\(...\) ends the whole process: unlike an error or a panic, the supervisor of Remote cannot contain`
	return nil
}
