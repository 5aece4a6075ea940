package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/diff"
	"golang.org/x/mod/modfile"

	"github.com/arbor-go/arbor/gen"
	arborruntime "github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/schema"
)

// Exit codes.
const (
	exitOK    = 0
	exitCheck = 1 // spec or check errors, or a stale or missing arbor_gen.go
	exitUsage = 2
)

const usage = `Arbor checks supervision-tree specs written in CUE and generates their Go wiring.

Usage:

	arbor <command> [flags] [dir ...]

Commands:

	gen      write arbor_gen.go next to each spec
	vet      check specs, the Go code they name, and that arbor_gen.go is up to date
	diff     exit 1 if an arbor_gen.go is stale (printing the difference) or missing
	graph    draw the trees as a Mermaid flowchart or a Graphviz digraph
	schema   print the CUE schema that specs are checked against
	version  print the version of arbor, of the code it writes, and of its Go
	ctl      talk to a running program's console: status, events, restart, stop
	help     list the commands, or give one command's flags and examples

A dir ending in /... names every spec directory at or below it, skipping
testdata, vendor, cue.mod, names starting with . or _, and nested modules
(as the go command's ./... does), unless the pattern starts inside one.

Run "arbor help <command>" (or "arbor <command> -h") for a command's flags and examples.
Exit codes: 0 ok, 1 spec or check errors (or a stale or missing arbor_gen.go), 2 usage errors.
`

// command is one subcommand.
type command struct {
	name, args, help string
	run              func(c *cli, flags *flag.FlagSet) int
	flags            func(flags *flag.FlagSet, c *cli)
}

// cli holds one invocation's output streams and flags.
type cli struct {
	stdout, stderr io.Writer
	tags           string
	format         string
	lint           bool            // run the static checks of run functions (vet)
	addr, token    string          // ctl
	printed        map[string]bool // the error lines report printed
}

var commands = []*command{
	{name: "gen", args: "[-tags list] [dir ...]", run: (*cli).gen, flags: tagsFlag, help: `Gen loads the spec in each dir (default "."), checks it against the Go code it
names, and writes arbor_gen.go next to it. The file is written atomically and
only when its content changes; a file of that name that arbor did not
generate is never overwritten. Errors are printed as path:line:col: message.

Examples:

	arbor gen                      # the spec in the current directory
	arbor gen ./...                # every spec below here
	//go:generate go tool arbor gen   # in a Go file next to the spec
`},
	{name: "vet", args: "[-tags list] [dir ...]", run: (*cli).vet, flags: tagsFlag, help: `Vet checks the spec in each dir (default ".") and the Go code it names, as gen
does, and that arbor_gen.go is the file gen would write: a missing or stale
file is exit 1. It writes nothing and prints nothing when all is well.

It also runs the static checks of package gen/lint on the run functions,
with what each child asks of its function (ready, heartbeat, timeout,
shutdown). A finding is an error at the child's field, naming the Go code
and the check, such as:

	spec.cue:5:26: t/db: the child has ready, but (*DB).Run never calls a.Ready(): ... (ready) (at db.go:13:14)

A directive in the function's doc comment silences a check where you know
better:

	//arbor:nolint ready -- the store's hook calls a.Ready()

Examples:

	arbor vet
	arbor vet ./services/...
`},
	{name: "diff", args: "[-tags list] [dir ...]", run: (*cli).diff, flags: tagsFlag, help: `Diff generates the code for each dir (default ".") in memory and compares it
with the arbor_gen.go on disk. It prints a unified diff and exits 1 when they
differ or the file is missing. With dir/..., it checks every spec directory
below dir, including one that has no arbor_gen.go yet. Use it in CI to catch a
stale generated file.

Examples:

	arbor diff
	arbor diff ./... || echo "run go generate"
`},
	{name: "graph", args: "[-format mermaid|dot] [dir]", run: (*cli).graph, help: `Graph prints the trees of the spec in dir (default ".") as a Mermaid flowchart
(default) or a Graphviz digraph: supervisors with their strategy, workers with
their run function and restart type. A dashed edge labelled "before" goes from
a child to each sibling that waits for it: for api: {after: ["db"]}, it reads
db -- before --> api, in start order.

Examples:

	arbor graph > tree.mmd
	arbor graph -format dot | dot -Tsvg > tree.svg
`, flags: func(flags *flag.FlagSet, c *cli) {
		flags.StringVar(&c.format, "format", gen.Mermaid, "output format: mermaid or dot")
	}},
	{name: "version", run: (*cli).version, help: `Version prints the version of this arbor, the version of the code it writes
(the generated file's guard, runtime.GeneratedCodeV1_RunArborGen for 1), and
the Go it was built with. A generated file that does not build with the
runtime of your go.mod was written by another arbor: run go tool arbor gen.

Example:

	arbor version
	go tool arbor version   # the arbor of your go.mod
`},
	{name: "ctl", args: ctlArgs, run: (*cli).ctl, flags: ctlFlags, help: ctlHelp},
	{name: "schema", run: (*cli).schema, help: `Schema prints the CUE schema that every spec is unified with, with each field's
meaning and default.

Example:

	arbor schema | less
`},
}

func tagsFlag(flags *flag.FlagSet, c *cli) {
	flags.StringVar(&c.tags, "tags", "", "comma-separated build tags for loading Go code")
}

// run is the whole program: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if name == "help" {
		return help(args[1:], stdout, stderr)
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "arbor: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	c := &cli{stdout: stdout, stderr: stderr}
	flags := cmd.flagSet(c)
	if err := flags.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cmd.usage(stdout, flags)
			return exitOK
		}
		cmd.usage(stderr, flags)
		return exitUsage
	}
	if strings.Contains(cmd.args, "[dir") && flagAfterDirs(stderr, name, flags.Args()) {
		return exitUsage
	}
	return cmd.run(c, flags)
}

// help prints the usage, or that of the command it names, as go help
// build does: arbor help gen is arbor gen -h.
func help(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0 || len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprint(stdout, usage)
		return exitOK
	case len(args) > 1:
		fmt.Fprintln(stderr, "usage: arbor help [command]")
		return exitUsage
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "arbor help %s: unknown command; run \"arbor help\" for the list\n", args[0])
		return exitUsage
	}
	cmd.usage(stdout, cmd.flagSet(&cli{stdout: stdout, stderr: stderr}))
	return exitOK
}

// lookup returns the command of that name, or nil.
func lookup(name string) *command {
	if i := slices.IndexFunc(commands, func(c *command) bool { return c.name == name }); i >= 0 {
		return commands[i]
	}
	return nil
}

// flagSet returns the command's flags, bound to c.
func (cmd *command) flagSet(c *cli) *flag.FlagSet {
	flags := flag.NewFlagSet("arbor "+cmd.name, flag.ContinueOnError)
	flags.SetOutput(c.stderr)
	// Parse calls Usage on -h and on a bad flag alike; the caller prints
	// the usage once, to stdout for -h and to stderr after an error.
	flags.Usage = func() {}
	if cmd.flags != nil {
		cmd.flags(flags, c)
	}
	return flags
}

// usage prints the command's usage, help and flags to w.
func (cmd *command) usage(w io.Writer, flags *flag.FlagSet) {
	flags.SetOutput(w)
	fmt.Fprintf(w, "usage: %s\n\n%s", strings.TrimSpace("arbor "+cmd.name+" "+cmd.args), cmd.help)
	if cmd.flags != nil {
		fmt.Fprintf(w, "\nFlags:\n")
		flags.PrintDefaults()
	}
}

// flagAfterDirs reports, and says on stderr how to fix it, whether args
// has a flag after a directory, which the flag package, stopping at the
// first argument that is not a flag, leaves among the directories:
// arbor gen . -tags x. An existing directory whose name starts with a
// dash is none.
func flagAfterDirs(stderr io.Writer, name string, args []string) bool {
	for i, arg := range args {
		if i > 0 && len(arg) > 1 && arg[0] == '-' && !exists(arg) {
			fixed := append(append([]string{"arbor", name}, args[i:]...), args[:i]...)
			fmt.Fprintf(stderr, "arbor: %s is not a directory (flags go before the directories: %s)\n", arg, strings.Join(fixed, " "))
			return true
		}
	}
	return false
}

func (c *cli) options() *gen.Options {
	o := &gen.Options{Lint: c.lint}
	if c.tags != "" {
		o.BuildFlags = []string{"-tags=" + c.tags}
	}
	return o
}

// dirs expands the arguments into spec directories: "." by default, a
// directory as given, and dir/... into every directory at or below dir that
// holds a spec (schema.IsSpecDir) or an arbor_gen.go (whose spec may be
// gone). Like the go command's ./..., a walk skips testdata, vendor and
// cue.mod directories, directories whose names start with . or _, those
// the ignore directives of the module's go.mod name, and nested modules
// (directories with their own go.mod), unless the pattern
// itself starts there: ./testdata/... matches inside testdata. A pattern
// that matches nothing (not even a directory named before it) is a
// warning; when nothing at all is left to do, it is exit 1. A missing
// directory is a usage error. Each directory comes once, however often
// and however spelt the arguments name it.
func (c *cli) dirs(args []string) ([]string, int) {
	if len(args) == 0 {
		args = []string{"."}
	}
	var out []string
	seen := map[string]bool{} // absolute: ".", "./" and $PWD are one directory
	add := func(dir string) {
		key, err := filepath.Abs(dir)
		if err != nil {
			key = dir
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, dir)
		}
	}
	for _, arg := range args {
		root, walk := strings.CutSuffix(arg, "...")
		if root == "" && walk {
			root = "."
		}
		if !c.isDir(arg, root) {
			return nil, exitUsage
		}
		if !walk {
			add(arg)
			continue
		}
		root = filepath.Clean(root)
		matched := false             // also a directory an earlier argument named
		modules := moduleAbove(root) // the module the walk is in, if any
		var nested []string          // the nested modules left out
		// The ignore directives of the module a directory is in: the one
		// above root, or one the walk finds (from a go.work's root).
		ignores := map[string]func(string) bool{}
		ignored := func(dir string) bool {
			for _, m := range slices.Backward(modules) {
				if within(dir, m) {
					if ignores[m] == nil {
						ignores[m] = ignoredBy(m)
					}
					return ignores[m](dir)
				}
			}
			return false
		}
		if ignored(root) { // the pattern starts in an ignored directory: it matches there
			ignored = func(string) bool { return false }
		}
		// Walking root/. follows root when it is a symbolic link to a
		// directory, as the go command does with a pattern's root.
		err := filepath.WalkDir(filepath.Join(root, ".")+string(filepath.Separator)+".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			path = filepath.Clean(path)
			if path != root && (skipDir(d.Name()) || ignored(path)) {
				return filepath.SkipDir
			}
			if exists(filepath.Join(path, "go.mod")) {
				if path != root && slices.ContainsFunc(modules, func(m string) bool { return within(path, m) }) {
					nested = append(nested, path)
					return filepath.SkipDir // a nested module
				}
				modules = append(modules, path)
			}
			if schema.IsSpecDir(path) || exists(filepath.Join(path, "arbor_gen.go")) {
				matched = true
				add(path)
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(c.stderr, "arbor: %v\n", err)
			return nil, exitCheck
		}
		if !matched {
			why := ""
			if i := slices.IndexFunc(nested, holdsSpec); i >= 0 {
				// What was left out may be what the user meant.
				why = fmt.Sprintf("; %s is a module of its own (%s), which %s leaves out as the go command does: name it, as in %s/...",
					nested[i], filepath.Join(nested[i], "go.mod"), arg, nested[i])
			}
			fmt.Fprintf(c.stderr, "arbor: warning: %q matched no spec directories%s\n", arg, why)
		}
	}
	if len(out) == 0 {
		fmt.Fprintln(c.stderr, "arbor: no spec directories to check")
		return nil, exitCheck
	}
	return out, exitOK
}

// holdsSpec reports whether dir, or a directory below it that dir/...
// would match, is a spec directory.
func holdsSpec(dir string) bool {
	found := errors.New("found")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil || !d.IsDir():
			return nil
		case path != dir && (skipDir(d.Name()) || exists(filepath.Join(path, "go.mod"))):
			return filepath.SkipDir
		case schema.IsSpecDir(path):
			return found
		}
		return nil
	})
	return errors.Is(err, found)
}

// isDir reports whether root, the directory named by the argument arg,
// is one, and says so on stderr when it is not. An empty argument (an
// unset variable) is not the current directory.
func (c *cli) isDir(arg, root string) bool {
	if st, err := os.Stat(root); root == "" || err != nil || !st.IsDir() {
		name := arg
		if arg == "" {
			name = `""`
		}
		fmt.Fprintf(c.stderr, "arbor: %s is not a directory\n", name)
		return false
	}
	return true
}

// skipDir reports whether a walk leaves out a directory of that name, as
// the go command's ./... does.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
		name == "testdata" || name == "vendor" || name == "cue.mod"
}

// ignoredBy returns what tells whether the ignore directives of the go.mod
// of the module at root make the go command's ./... skip a directory, as
// it reads them: ./x is the directory x at the module's root, x any
// directory of the module whose path ends with the elements of x, and
// either one all that is below it.
func ignoredBy(root string) func(dir string) bool {
	none := func(string) bool { return false }
	root, err := filepath.Abs(root)
	if err != nil {
		return none
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return none
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil || len(f.Ignore) == 0 {
		return none
	}
	slashed := func(p string) string { return "/" + strings.Trim(filepath.ToSlash(p), "/") + "/" }
	var fromRoot, anywhere []string
	for _, ig := range f.Ignore {
		if p, ok := strings.CutPrefix(ig.Path, "./"); ok {
			fromRoot = append(fromRoot, slashed(p))
		} else {
			anywhere = append(anywhere, slashed(ig.Path))
		}
	}
	return func(dir string) bool {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return false
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return false
		}
		rel = slashed(rel)
		return slices.ContainsFunc(fromRoot, func(p string) bool { return strings.HasPrefix(rel, p) }) ||
			slices.ContainsFunc(anywhere, func(p string) bool { return strings.Contains(rel, p) })
	}
}

// moduleAbove returns the directory of the go.mod at or above dir, if any.
func moduleAbove(dir string) []string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	for d := abs; ; d = filepath.Dir(d) {
		if exists(filepath.Join(d, "go.mod")) {
			return []string{d}
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// within reports whether path is at or below dir; both may be relative.
func within(path, dir string) bool {
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	rel, err := filepath.Rel(ad, ap)
	return err1 == nil && err2 == nil && err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// report prints err, with spec positions relative to the working directory.
func (c *cli) report(err error) {
	var list schema.ErrorList
	if errors.As(err, &list) {
		if wd, e := os.Getwd(); e == nil {
			list = list.Relative(wd)
		}
		for _, e := range list {
			// Two specs that name one package that does not compile
			// get its errors each: print them once.
			line := e.Error()
			if c.printed[line] {
				continue
			}
			if c.printed == nil {
				c.printed = map[string]bool{}
			}
			c.printed[line] = true
			fmt.Fprintln(c.stderr, line)
		}
		return
	}
	fmt.Fprintf(c.stderr, "arbor: %v\n", err)
}

// each generates the code of every dir and hands it to f, returning the
// exit code.
func (c *cli) each(flags *flag.FlagSet, f func(r *gen.Result) int) int {
	dirs, code := c.dirs(flags.Args())
	if code != exitOK {
		return code
	}
	ctx, stop := c.interruptible()
	defer stop()
	for _, dir := range dirs {
		r, err := gen.Generate(ctx, dir, c.options())
		if ctx.Err() != nil {
			return c.interrupted()
		}
		if err != nil {
			c.report(err)
			code = exitCheck
			continue
		}
		code = max(code, f(r))
	}
	return code
}

// interruptible returns a context that an interrupt (Ctrl-C) or SIGTERM
// cancels, rather than ending the process at once: the go command it runs
// is stopped, and the temporary files are removed on the way out. Work
// that does not look at the context (CUE evaluating a large spec) has a
// short grace, after which the process ends all the same, as it does at a
// second signal. The function it returns undoes this.
func (c *cli) interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		cancel()
		signal.Stop(sig) // a second signal ends the process
		select {
		case <-time.After(interruptGrace):
			os.Exit(c.interrupted())
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}

// interruptGrace is how long an interrupted command has to stop on its own.
const interruptGrace = 2 * time.Second

// interrupted reports an interrupted command.
func (c *cli) interrupted() int {
	fmt.Fprintln(c.stderr, "arbor: interrupted")
	return exitCheck
}

// gen writes the code of every dir. A spec may name what another's
// arbor_gen.go declares (run: "(*example.com/m/b.Inner).Run" supervises
// the tree of b's spec): a directory that fails is tried again after a
// pass that wrote another's file, so that the outcome of arbor gen ./...
// does not depend on the order of the directories. Its errors are
// reported once it has failed for good.
func (c *cli) gen(flags *flag.FlagSet) int {
	dirs, code := c.dirs(flags.Args())
	if code != exitOK {
		return code
	}
	ctx, stop := c.interruptible()
	defer stop()
	for len(dirs) > 0 {
		wrote := false
		var failed []string
		errs := map[string]error{}
		for _, dir := range dirs {
			r, err := gen.Generate(ctx, dir, c.options())
			if ctx.Err() != nil {
				return c.interrupted() // no write starts after an interrupt
			}
			if err != nil {
				failed = append(failed, dir)
				errs[dir] = err
				continue
			}
			old, _ := os.ReadFile(r.Path)
			if err := write(r.Path, r.Content); err != nil {
				c.report(err)
				code = exitCheck
				continue
			}
			wrote = wrote || !sameCode(old, r.Content)
		}
		if !wrote {
			for _, dir := range failed {
				c.report(errs[dir])
				code = exitCheck
			}
			break
		}
		dirs = failed
	}
	return code
}

// vet checks as gen does, runs the static checks of the run functions,
// and checks that the arbor_gen.go on disk is the one gen would write: a
// stale or missing file must not pass CI quietly.
func (c *cli) vet(flags *flag.FlagSet) int {
	c.lint = true
	return c.each(flags, func(r *gen.Result) int {
		code := exitOK
		if len(r.Findings) > 0 {
			c.report(r.Findings)
			code = exitCheck
		}
		_, stale := c.compare(r)
		return max(code, stale)
	})
}

func (c *cli) diff(flags *flag.FlagSet) int {
	return c.each(flags, func(r *gen.Result) int {
		old, code := c.compare(r)
		if old != nil {
			name := relative(r.Path)
			code = max(code, c.output(diff.Diff(name+" (on disk)", old, name+" (generated)", r.Content)))
		}
		return code
	})
}

// compare compares the generated code with the file on disk and reports a
// missing or stale file. It returns a stale file's content.
func (c *cli) compare(r *gen.Result) ([]byte, int) {
	old, err := os.ReadFile(r.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if st, err := os.Lstat(r.Path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
			c.report(dangling(r.Path)) // which gen would not replace
			return nil, exitCheck
		}
		fmt.Fprintf(c.stderr, "arbor: %s is missing; run arbor gen%s\n", relative(r.Path), generateHint(r.Path))
		return nil, exitCheck
	case err != nil:
		if st, lerr := os.Lstat(r.Path); lerr == nil && st.Mode()&fs.ModeSymlink != 0 {
			c.report(unfollowable(r.Path, err))
			return nil, exitCheck
		}
		c.report(relativeErr(err))
		return nil, exitCheck
	case !sameCode(old, r.Content):
		fmt.Fprintf(c.stderr, "arbor: %s is stale; run arbor gen%s\n", relative(r.Path), generateHint(r.Path))
		old = bytes.ReplaceAll(old, []byte("\r\n"), []byte("\n")) // the edit, not every line's CR
		return old, exitCheck
	}
	return nil, exitOK
}

// generateHint says whether go generate would write the file too: only if
// a Go file of the package next to the spec has a //go:generate line that
// runs arbor, which newcomers forget (go generate then does nothing, and
// says nothing). As for go generate, a file whose name starts with _ or .,
// or whose build constraint does not hold, is none of the package's; go
// generate sets the build tag "generate", which a file may require to be
// left out of other builds.
func generateHint(r string) string {
	dir := filepath.Dir(r)
	ctxt := build.Default
	ctxt.BuildTags = append(slices.Clip(ctxt.BuildTags), "generate")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".go") || e.Name() == filepath.Base(r) {
			continue
		}
		if ok, err := ctxt.MatchFile(dir, e.Name()); !ok || err != nil {
			continue
		}
		src, err := os.ReadFile(filepath.Join(filepath.Dir(r), e.Name()))
		if err != nil {
			continue
		}
		for line := range bytes.Lines(src) {
			// go generate reads a directive whose command follows a space or a tab.
			directive := bytes.HasPrefix(line, []byte("//go:generate ")) || bytes.HasPrefix(line, []byte("//go:generate\t"))
			if directive && bytes.Contains(line, []byte("arbor")) {
				return " (or go generate)"
			}
		}
	}
	return "; to let go generate run it, add //go:generate go tool arbor gen to a Go file of the package"
}

func (c *cli) graph(flags *flag.FlagSet) int {
	args := flags.Args()
	if len(args) > 1 || len(args) == 1 && strings.HasSuffix(args[0], "...") {
		fmt.Fprintln(c.stderr, "arbor graph: draws the spec of one directory; run it once per directory")
		return exitUsage
	}
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	if !c.isDir(dir, dir) {
		return exitUsage
	}
	if c.format != gen.Mermaid && c.format != gen.DOT {
		fmt.Fprintf(c.stderr, "arbor graph: unknown format %q (want mermaid or dot)\n", c.format)
		return exitUsage
	}
	spec, err := schema.Load(dir)
	if err == nil {
		err = gen.Check(spec)
	}
	if err != nil {
		c.report(err)
		return exitCheck
	}
	out, err := gen.Graph(spec, c.format)
	if err != nil {
		c.report(err)
		return exitCheck
	}
	return c.output(out)
}

// output writes out to stdout. Output that is lost (a full disk, a closed
// stdout) is a failure, not a silent exit 0.
func (c *cli) output(out []byte) int {
	if _, err := c.stdout.Write(out); err != nil {
		fmt.Fprintf(c.stderr, "arbor: %v\n", err)
		return exitCheck
	}
	return exitOK
}

func (c *cli) version(flags *flag.FlagSet) int {
	if flags.NArg() > 0 {
		fmt.Fprintln(c.stderr, "arbor version: takes no arguments")
		return exitUsage
	}
	return c.output(fmt.Appendf(nil, "arbor version %s (generated code v%d) %s %s/%s\n",
		gen.Version(), arborruntime.GeneratedCodeVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH))
}

func (c *cli) schema(flags *flag.FlagSet) int {
	if flags.NArg() > 0 {
		fmt.Fprintln(c.stderr, "arbor schema: takes no arguments")
		return exitUsage
	}
	return c.output([]byte(schema.Source()))
}
