// Package lint checks the Go functions that Arbor runs as workers for the
// bugs a supervisor can only suffer at run time: a function that cannot be
// stopped, a child that never reports the readiness or the heartbeats its
// spec asks for, an attempt that outlives its run, an error that does not
// do what it says, a call that ends the whole process.
//
// Analyzer is a golang.org/x/tools/go/analysis Analyzer: it runs under
// go vet -vettool (with the arborlint command in cmd/arborlint) and in any
// driver of analyzers. It learns what each child asks of its run function
// from the package's runtime.Child literals. Check runs the same checks for
// a caller that knows the spec, such as arbor vet: it takes the run
// functions, and what each child asks of them, explicitly. Both share every
// rule below.
//
// # Terms
//
// A target is a run function, a function whose first parameter is a
// context.Context, with what its child asks of it: ready, heartbeat, a
// timeout, a shutdown grace, and whether it is a one-shot (see Target).
//
// The checks follow calls into the same package: a static call of a
// function or concrete method declared in the package, of a function
// literal called on the spot, or of a variable that holds one of those
// and nothing else (loop := func() {...}; loop()), is walked as part of
// the caller, with the attempt bound to the parameter it is passed to, up
// to 16 calls deep. A variable holds nothing else when it is local or
// unexported, never assigned after its declaration and never has its
// address taken. Recursion ends the walk, and a check then assumes what
// keeps it silent. Calls through interfaces, other function values, or
// into other packages, are not followed.
//
// The run function's own goroutine is its body, the functions it calls,
// the function literals it calls on the spot or defers; not the function
// literals it stores or passes, nor the goroutines it starts.
//
// An endless loop is for {}, for true {}, a range over time.Tick(d) or
// a time.Ticker's C, also held by a variable that holds nothing else
// (ticks := time.Tick(d); for range ticks {}), or a loop written with
// goto: a labeled statement and the statements after it in its block up
// to a goto back to the label among them (not in an if). An exit of a
// loop is a return, a break or goto that leaves it, a continue of an
// enclosing loop, or a call of panic, of a
// function that ends the process (below), runtime.Goexit, log's Panic
// functions and methods, testing's Fatal, Fatalf, FailNow, Skip, Skipf and
// SkipNow, a function or method of another package named Fatal, Fatalf,
// Fatalln, Fatalw, Panic, Panicf, Panicln or Panicw (a logger's, as zap's
// and logrus's), or a function of the package that calls one of those
// among its top-level statements; not inside a function literal.
//
// A call ends the process when it calls os.Exit, syscall.Exit,
// golang.org/x/sys/unix's Exit, log's Fatal, Fatalf and Fatalln functions
// and methods, glog's or klog's Exit, Exitf, Exitln and ExitDepth, Arbor's
// runtime/exit.With with anything but nil, or a function or method of
// another package named Fatal, Fatalf, Fatalln, Fatalw or FatalDepth (a
// logger's, as zap's, logrus's and zerolog's); but not one of package
// testing, nor a method of a type that has FailNow too, as testing.TB
// or a test helper's type, whose Fatal ends only the goroutine.
//
// A select of one case waits as its case does: below, a receive in it is
// not inside a select.
//
// A wait until shutdown is a receive from ctx.Done() where ctx is a
// parameter that is never assigned (a context the function derived
// itself, as in ctx, cancel := context.WithTimeout(ctx, d), may end
// sooner) and, in a function the walk follows a call into, that the call
// binds to such a parameter of its caller, not to a context the caller
// derived; a call of net/http's Serve, ServeTLS, ListenAndServe or
// ListenAndServeTLS, functions or Server methods; select {}; an endless
// loop without exit; or a call of a function of the package that has one
// of those among its top-level statements (when that is a wait for the end
// of a context the function takes, only if the call passes it such a
// parameter, not a context the caller derived).
//
// Code looks at a context when it has an expression of type
// context.Context, which includes passing one to any call, or calls a
// function of the package that does.
//
// # Checks
//
// ctxunused: the context parameter is never used (it is unnamed or _, or
// each use passes it to a function of the package that does not use it),
// and the run function's own goroutine waits: an endless loop without
// exit, a range over a channel, a select without default, a send, a
// receive outside a select's cases, but not a receive from time.After,
// time.Tick or a Timer's or Ticker's C, nor a select with such a case,
// which end by themselves; or a call of Accept on a net listener, of
// Wait on a sync.WaitGroup, sync.Cond or errgroup.Group, or of net/http's
// serving functions. Cancellation cannot stop such a function: at every
// shutdown and restart it is abandoned after its grace. For a child with
// a timeout, an unused context is reported even without a wait: the
// timeout cancels that context and nothing watches it.
//
// ctxloop: an endless loop without exit on the run function's own
// goroutine that never looks at a context; or that does, but cannot
// panic on purpose (it calls neither panic, nor a function that never
// returns, nor a function of the package that may, such as must(err),
// also in its function literals): as when it watches for the end of a
// context (a receive from X.Done(), X.Err(), context.Cause(X)) but a break
// in a select or switch case leaves only the select or switch, or a case
// logs the cancellation and forgets to return, or when it hands the
// context on (for range t.C { poll(ctx) }). Once the context is done,
// such a loop goes on. Also, on the run function's own goroutine, whatever
// else looks at the context: select {}, which never ends; and a call of
// net/http's ListenAndServe or ListenAndServeTLS functions, whose server
// nothing can shut down. Not reported when ctxunused is: it says as much.
//
// ready: the child has ready, and the run function takes no
// *runtime.Attempt, or never calls a.Ready() (in its body, its function
// literals, its goroutines, or the functions of the package it passes the
// attempt to), or calls it only after a wait until shutdown on its own
// goroutine; a deferred a.Ready() comes after whatever waits among the
// function's top-level statements. The check is silent when the attempt
// goes where the walk cannot follow: stored, assigned, passed to a
// function of another package or through an interface, or taken as a
// method value such as a.Ready without a call (a comparison with nil and
// _ = a take it nowhere). A transient or temporary
// child that ends with a success counts as ready (a one-shot job, such as
// a migration): for one, a run function that never calls a.Ready() is
// reported only when it waits until shutdown among its top-level
// statements, so that it never ends with that success while it runs.
//
// beat: the child has heartbeat, and the run function takes no attempt or
// never calls a.Beat() (as for ready), or every a.Beat() runs a bounded
// number of times while its own goroutine then waits long without one. A
// beat runs a bounded number of times unless it is in a loop (other than
// a counting for init; cond; post {} or a range over an integer, string,
// array, slice or map), after a label that a later goto jumps back to, in
// a function that calls itself (directly or through others), in a
// function literal not called on the spot, or in a goroutine. Waiting long
// is an endless loop, a range over a channel, a receive from the Done of a
// context parameter as above (but as one case of a select among others),
// serving HTTP, or select {}. The watchdog cancels such an attempt after
// one heartbeat timeout.
//
// escape: a go statement on the run function's own goroutine whose
// function cannot return: among its top-level statements is an endless
// loop without exit or select {}, or a call of a function of the package
// that has one. Every attempt leaves such a goroutine behind, which
// nothing supervises or stops; when it uses the attempt (in a function
// literal's body or the call's arguments), what it reports once its
// attempt has ended is fenced and does nothing. One that does not use the
// attempt and that detach reports is left to detach.
//
// donotrestart: fmt.Errorf or errors.Join with both
// runtime.ErrDoNotRestart and ctx.Err() or context.Cause(ctx) among its
// arguments. Once the context is done, the supervisor has cancelled the
// attempt and decides itself whether the child restarts: it ignores the
// error of an attempt it stopped on purpose, and keeps only its own reason
// for one that missed a deadline when the error wraps context.Canceled or
// context.DeadlineExceeded. For a child with ready, heartbeat or a
// timeout, the check also reports a return of an error that mentions
// runtime.ErrDoNotRestart in a branch taken once the context is done (a
// select case that receives from ctx.Done(), or an if on ctx.Err() != nil,
// errors.Is(err, context.Canceled) or err == context.DeadlineExceeded):
// after a missed deadline, that error ends the child for good instead of
// restarting it. It also reports panic with a value that mentions
// runtime.ErrDoNotRestart: a panic is a failure whatever its value, so the
// child is restarted.
//
// sleep: on the run function's own goroutine, time.Sleep(d) or a receive
// from time.After(d) outside a select, where d is a constant at least the
// child's shutdown grace (runtime.DefaultChildShutdown unless the child
// sets one; silent when the grace is unknown). A shutdown during the sleep
// waits for it, and the attempt is abandoned.
//
// detach: in the run function's own body, a go statement followed only by
// other go statements, calls that log (fmt's Print functions, log,
// log/slog) or report to the attempt, and a return whose results do not
// receive nor call anything but a context's Err, context.Cause,
// errors.New, errors.Join or fmt.Errorf; and before it, no defer of
// anything but such a call or a context's cancel function (defer
// wg.Wait() waits for the goroutine).
// The supervisor sees the child end while its work runs on unsupervised; a
// permanent child is restarted and starts another.
//
// exit: a call that ends the process (see above) anywhere in the code the
// run function runs: its body, the functions of the package it calls, the
// function literals it calls on the spot or defers, and the goroutines it
// starts with a go statement or errgroup's or sync.WaitGroup's Go; not in
// a function literal it only stores or passes (an HTTP handler,
// context.AfterFunc), nor in a function it names without calling. A
// supervisor contains a returned error, a panic and runtime.Goexit, but
// not the end of the process: no shutdown runs, siblings are neither
// stopped nor given their grace, deferred functions do not run, and no
// shutdown report is made. Return an error instead: the tree's restart
// limit decides, runtime.ErrDoNotRestart ends the child for good, and a
// significant child ends the tree. init, main and functions that no run
// function calls are not checked, nor what a function of another package
// calls (it is not followed).
//
// timeout: the child has a timeout, and among the run function's
// top-level statements is a wait until shutdown (as for ready): the
// context ends only at the deadline, so every attempt that gets there
// runs until it and fails. A timeout bounds one attempt of a job; a
// service wants none (ready bounds its start). A function that never uses
// its context does not end when it does: ctxunused reports it instead.
//
// # Silencing a finding
//
// A directive in the doc comment of a function silences the named checks,
// separated by commas; what follows them is a reason for the reader:
//
//	// Serve is stopped by main, which closes the listener.
//	//
//	//arbor:nolint ctxunused -- main closes the listener
//	func Serve(ctx context.Context) error {
//
// On a run function, it silences the findings of those checks about that
// function, wherever they are (also in the functions it calls); on any
// function, it silences the findings located in it; on the function
// declaration that encloses a run function literal, it silences the
// literal's; so does one in the doc comment of the var that holds a
// literal outside any function, such as a runtime.Spec declared at the top
// level (in a group of vars, in the doc comment of its line). A directive
// without a check, with an unknown or empty check, or outside the doc
// comment of a function or var is reported (as check "directive", which
// cannot be silenced); so is a comment that would be one but for a space,
// // arbor:nolint, which silences nothing.
//
// # Targets of the Analyzer
//
// The Analyzer reads the runtime.Child composite literals of the package
// (arbor_gen.go has one per worker; hand-written runtime.Spec values too).
// A Run field that is a function (also instantiated, F[T]), a method
// value (store.Run), a function literal, runtime.Func of one of those or a
// conversion such as runtime.RunFunc(F), a variable that holds one of
// those and nothing else, or the call of a function of the package whose
// every return returns the same one (p.runner(n)), declared in the
// package, is a target: the child has ready or heartbeat
// when that field is set and not nil, a timeout when Timeout is not the
// constant 0, is a one-shot when Restart is the constant runtime.Transient
// or runtime.Temporary, and has the grace of a constant Shutdown (unknown
// when Shutdown is not constant). The run function of a pool's instances,
// given to (*runtime.Pool).Start, is a target with no requirements and an
// unknown grace (which pool a call starts an instance of is not known): a
// function of the package, or a function literal outside generated files;
// a literal that only returns the call of a function of the package, as
// arbor_gen.go writes for a pool (return Handle(ctx, a, arg)), stands for
// that function. Every other function or method of the package with the
// signature func(context.Context, *runtime.Attempt, ...) error, outside
// generated files, is a target with no requirements and an unknown grace,
// unless the package calls it outside its tests: then it is a helper,
// walked as part of its callers (a helper that starts goroutines and
// returns is no detached run function). So a run function declared in
// another package than its child's literal is checked only when its own
// package is analyzed, only if it takes an attempt, and without the
// child's requirements; Check, given the spec, has no such limit.
//
// # Noise
//
// Low noise is the point: when the walk cannot tell, a check stays
// silent. TestChecks runs the Analyzer on testdata/corpus, 54 run
// functions of 55 children written the way services are written (HTTP,
// TCP, UDP, Unix and RPC servers, pollers, consumers, a Kafka-like reader,
// pipelines with errgroup, worker pools, jobs, leader election, heartbeats
// from loops, goroutines and handlers): it reports nothing, and any
// finding fails the test. BENCHMARKS.md records the counts on the
// repository's own code.
package lint
