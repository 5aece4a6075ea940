// Package exit holds run functions that end the whole process.
package exit

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	goruntime "runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arbor-go/arbor/runtime"
	rexit "github.com/arbor-go/arbor/runtime/exit"
	"lintdata/exit/logs"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "exits", Run: runtime.Func(Exits)},
		{Name: "fatal", Run: runtime.Func(Fatal)},
		{Name: "logger", Run: (&Server{}).Run},
		{Name: "syscall", Run: runtime.Func(Syscall)},
		{Name: "helper", Run: runtime.Func(Helper)},
		{Name: "goroutine", Run: runtime.Func(Goroutine)},
		{Name: "group", Run: runtime.Func(Group)},
		{Name: "wait-group", Run: runtime.Func(WaitGroup)},
		{Name: "other", Run: runtime.Func(Other)},
		{Name: "with", Run: runtime.Func(With)},
		{Name: "deferred", Run: runtime.Func(Deferred)},
		{Name: "variable", Run: runtime.Func(Variable)},
		{Name: "literal", Run: func(ctx context.Context, a *runtime.Attempt) error {
			if err := ctx.Err(); err != nil {
				log.Fatalln(err) // want `literal: log.Fatalln\(...\) ends the whole process: unlike an error or a panic, the supervisor of the function literal cannot contain`
			}
			return nil
		}},
		{Name: "depth", Run: runtime.Func(Depth)},

		{Name: "panics", Run: runtime.Func(Panics)},
		{Name: "goexit", Run: runtime.Func(Goexit)},
		{Name: "test", Run: runtime.Func(Test)},
		{Name: "handler", Run: runtime.Func(Handler)},
		{Name: "referenced", Run: runtime.Func(Referenced)},
		{Name: "with-nil", Run: runtime.Func(WithNil)},
		{Name: "own-fatal", Run: runtime.Func(OwnFatal)},
		{Name: "die", Run: runtime.Func(CallsDie)},
		{Name: "silenced", Run: runtime.Func(Silenced)},
		{Name: "silenced-helper", Run: runtime.Func(SilencedHelper)},
		{Name: "remote", Run: logs.Remote},
	},
}

var (
	fieldLogger logs.FieldLogger
	tb          logs.TB
)

func connect(ctx context.Context) error { return ctx.Err() }

func Exits(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		log.Print(err)
		os.Exit(1) // want `exits: os.Exit\(...\) ends the whole process: unlike an error or a panic, the supervisor of Exits cannot contain it, so no shutdown runs \(siblings are neither stopped nor given their grace, deferred functions do not run, no shutdown report is made\); return an error instead: the tree's restart limit decides, runtime.ErrDoNotRestart ends the child for good, a significant child ends the tree \(exit\)`
	}
	<-ctx.Done()
	return nil
}

func Fatal(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		log.Fatal(err) // want `fatal: log.Fatal\(...\) ends the whole process`
	}
	return nil
}

type Server struct{ log *log.Logger }

// Run ends the process through a *log.Logger, after a wait until shutdown.
func (s *Server) Run(ctx context.Context, a *runtime.Attempt) error {
	<-ctx.Done()
	s.log.Fatalf("stopped: %v", ctx.Err()) // want `logger: s.log.Fatalf\(...\) ends the whole process: unlike an error or a panic, the supervisor of \(\*Server\).Run`
	return nil
}

func Syscall(ctx context.Context) error {
	if ctx.Err() != nil {
		syscall.Exit(2) // want `syscall: syscall.Exit\(...\) ends the whole process`
	}
	return nil
}

func Helper(ctx context.Context) error {
	mustConnect(ctx)
	<-ctx.Done()
	return nil
}

// mustConnect is a helper: the finding is where it ends the process.
func mustConnect(ctx context.Context) {
	if err := connect(ctx); err != nil {
		log.Fatalf("connect: %v", err) // want `helper: log.Fatalf\(...\) ends the whole process: unlike an error or a panic, the supervisor of Helper`
	}
}

// Goroutine serves in a goroutine that ends the process when the server
// fails: a goroutine ends the process as well.
func Goroutine(ctx context.Context) error {
	srv := &http.Server{}
	go func() {
		log.Fatal(srv.ListenAndServe()) // want `goroutine: log.Fatal\(...\) ends the whole process`
	}()
	<-ctx.Done()
	return srv.Close()
}

func Group(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := connect(ctx); err != nil {
			os.Exit(1) // want `group: os.Exit\(...\) ends the whole process`
		}
		return nil
	})
	return g.Wait()
}

func WaitGroup(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		log.Fatal("done") // want `wait-group: log.Fatal\(...\) ends the whole process`
	})
	wg.Wait()
	return nil
}

// Other ends the process through loggers of another package.
func Other(ctx context.Context) error {
	var z logs.Logger
	var l logs.FieldLogger = fieldLogger
	if err := connect(ctx); err != nil {
		z.Fatalw("connect", "err", err) // want `other: z.Fatalw\(...\) ends the whole process`
	}
	if ctx.Err() != nil {
		l.Fatalf("stopped") // want `other: l.Fatalf\(...\) ends the whole process`
	}
	logs.Fatalf("end") // want `other: logs.Fatalf\(...\) ends the whole process`
	return nil
}

func With(ctx context.Context) error {
	rexit.With(connect(ctx)) // want `with: rexit.With\(...\) ends the whole process`
	return nil
}

// Deferred ends the process on a panic it recovers.
func Deferred(ctx context.Context) error {
	defer func() {
		if r := recover(); r != nil {
			log.Fatalf("panic: %v", r) // want `deferred: log.Fatalf\(...\) ends the whole process`
		}
	}()
	return connect(ctx)
}

// Variable calls a function literal through a variable.
func Variable(ctx context.Context) error {
	die := func(code int) { os.Exit(code) } // want `variable: os.Exit\(...\) ends the whole process`
	if err := connect(ctx); err != nil {
		die(1)
	}
	return nil
}

func Depth(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		logs.FatalDepth(1, err) // want `depth: logs.FatalDepth\(...\) ends the whole process`
	}
	return nil
}

// Silent from here on.

// Panics panics: the supervisor contains a panic.
func Panics(ctx context.Context) error {
	var z logs.Logger
	if err := connect(ctx); err != nil {
		z.Panic(err)
	}
	if ctx.Err() != nil {
		log.Panicf("stopped")
	}
	panic("unreachable")
}

// Goexit ends its goroutine, which the supervisor contains too.
func Goexit(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		goruntime.Goexit()
	}
	return nil
}

// Test calls the Fatal of a test's interface and of a test helper's type,
// which end only the goroutine.
func Test(ctx context.Context) error {
	var t logs.TB = tb
	if err := connect(ctx); err != nil {
		t.Fatal(err)
	}
	c := &logs.C{TB: t}
	if ctx.Err() != nil {
		c.Fatal("stopped")
	}
	return nil
}

// Handler ends the process in functions it only registers or passes:
// they may never run.
func Handler(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/quit", func(http.ResponseWriter, *http.Request) { os.Exit(0) })
	context.AfterFunc(ctx, func() { log.Fatal("cancelled") })
	time.AfterFunc(time.Hour, quit)
	srv := &http.Server{Handler: mux}
	context.AfterFunc(ctx, func() { srv.Close() })
	return srv.ListenAndServe()
}

func quit() { os.Exit(0) }

// Referenced holds an exiting function in a variable it never calls.
func Referenced(ctx context.Context) error {
	f := quit
	g := func() { os.Exit(1) }
	_, _ = f, g
	return connect(ctx)
}

func WithNil(ctx context.Context) error {
	rexit.With(nil)
	return connect(ctx)
}

// logger is the package's own: its Fatal does not end the process, and the
// walk follows it.
type logger struct{}

func (logger) Fatal(args ...any) { log.Print(args...) }

func OwnFatal(ctx context.Context) error {
	var l logger
	if err := connect(ctx); err != nil {
		l.Fatal(err)
	}
	return nil
}

// CallsDie ends the process in a function of another package not named as
// a logger's: calls into other packages are not followed.
func CallsDie(ctx context.Context) error {
	if err := connect(ctx); err != nil {
		logs.Die()
	}
	return nil
}

// Silenced ends the process on purpose.
//
//arbor:nolint exit -- the process must not outlive a lost lease
func Silenced(ctx context.Context) error {
	<-ctx.Done()
	os.Exit(1)
	return nil
}

func SilencedHelper(ctx context.Context) error {
	fatal(connect(ctx))
	return nil
}

//arbor:nolint exit -- a corrupt store must stop everything
func fatal(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// init and main are no run functions.
func init() {
	if os.Getenv("EXIT") != "" {
		os.Exit(1)
	}
}

func main() {
	tr, err := runtime.New(tree)
	if err != nil {
		log.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
		os.Exit(1)
	}
}
