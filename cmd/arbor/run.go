package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/arbor-go/arbor/gen"
	"github.com/arbor-go/arbor/schema"
)

// Exit codes.
const (
	exitOK    = 0
	exitCheck = 1 // spec or check errors, or a stale file
	exitUsage = 2
)

const usage = `Arbor checks supervision-tree specs written in CUE and generates their Go wiring.

Usage:

	arbor <command> [flags] [dir ...]

Commands:

	gen      write arbor_gen.go next to each spec
	vet      check specs and their Go references; silent when all is well
	diff     exit 1, printing the difference, if an arbor_gen.go is stale
	graph    draw the trees as a Mermaid flowchart or a Graphviz digraph
	schema   print the CUE schema that specs are checked against

Run "arbor <command> -h" for a command's flags and examples.
Exit codes: 0 ok, 1 spec or check errors (or a stale file), 2 usage errors.
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
does, without writing anything. It prints nothing when all is well.

Examples:

	arbor vet
	arbor vet ./services/...
`},
	{name: "diff", args: "[-tags list] [dir ...]", run: (*cli).diff, flags: tagsFlag, help: `Diff generates the code for each dir (default ".") in memory and compares it
with the arbor_gen.go on disk. It prints a unified diff and exits 1 when they
differ or the file is missing. With dir/..., it checks every directory below
dir that has an arbor_gen.go. Use it in CI to catch a stale generated file.

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
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	i := slices.IndexFunc(commands, func(c *command) bool { return c.name == name })
	if i < 0 {
		fmt.Fprintf(stderr, "arbor: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	cmd := commands[i]
	c := &cli{stdout: stdout, stderr: stderr}
	flags := flag.NewFlagSet("arbor "+name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: arbor %s %s\n\n%s", name, cmd.args, cmd.help)
		if cmd.flags != nil {
			fmt.Fprintf(flags.Output(), "\nFlags:\n")
			flags.PrintDefaults()
		}
	}
	if cmd.flags != nil {
		cmd.flags(flags, c)
	}
	if err := flags.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			flags.SetOutput(stdout)
			flags.Usage()
			return exitOK
		}
		return exitUsage
	}
	return cmd.run(c, flags)
}

func (c *cli) options() *gen.Options {
	o := &gen.Options{}
	if c.tags != "" {
		o.BuildFlags = []string{"-tags=" + c.tags}
	}
	return o
}

// dirs expands the arguments: "." by default, and dir/... into every
// directory below dir holding a file that want accepts.
func (c *cli) dirs(args []string, want func(name string) bool) ([]string, bool) {
	if len(args) == 0 {
		args = []string{"."}
	}
	var out []string
	for _, arg := range args {
		root, ok := strings.CutSuffix(arg, "...")
		if !ok {
			if st, err := os.Stat(arg); err != nil || !st.IsDir() {
				fmt.Fprintf(c.stderr, "arbor: %s is not a directory\n", arg)
				return nil, false
			}
			out = append(out, arg)
			continue
		}
		root = filepath.Clean(root)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			if !d.IsDir() && want(d.Name()) {
				if dir := filepath.Dir(path); !slices.Contains(out, dir) {
					out = append(out, dir)
				}
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(c.stderr, "arbor: %v\n", err)
			return nil, false
		}
	}
	return out, true
}

func isSpec(name string) bool { return strings.HasSuffix(name, ".cue") }

func isGenerated(name string) bool { return name == "arbor_gen.go" }

// report prints err, with spec positions relative to the working directory.
func (c *cli) report(err error) {
	var list schema.ErrorList
	if errors.As(err, &list) {
		if wd, e := os.Getwd(); e == nil {
			list = list.Relative(wd)
		}
		fmt.Fprintln(c.stderr, list.Error())
		return
	}
	fmt.Fprintf(c.stderr, "arbor: %v\n", err)
}

// each generates the code of every dir and hands it to f, returning the
// exit code.
func (c *cli) each(flags *flag.FlagSet, want func(string) bool, f func(r *gen.Result) int) int {
	dirs, ok := c.dirs(flags.Args(), want)
	if !ok {
		return exitUsage
	}
	code := exitOK
	for _, dir := range dirs {
		r, err := gen.Generate(context.Background(), dir, c.options())
		if err != nil {
			c.report(err)
			code = exitCheck
			continue
		}
		code = max(code, f(r))
	}
	return code
}

func (c *cli) gen(flags *flag.FlagSet) int {
	return c.each(flags, isSpec, func(r *gen.Result) int {
		if err := write(r.Path, r.Content); err != nil {
			c.report(err)
			return exitCheck
		}
		return exitOK
	})
}

func (c *cli) vet(flags *flag.FlagSet) int {
	return c.each(flags, isSpec, func(*gen.Result) int { return exitOK })
}

func (c *cli) diff(flags *flag.FlagSet) int {
	return c.each(flags, isGenerated, func(r *gen.Result) int {
		old, err := os.ReadFile(r.Path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.report(err)
			return exitCheck
		}
		if bytes.Equal(old, r.Content) {
			return exitOK
		}
		name := c.relative(r.Path)
		if err != nil {
			fmt.Fprintf(c.stderr, "arbor: %s is missing; run arbor gen\n", name)
			return exitCheck
		}
		c.stdout.Write(diff.Diff(name+" (on disk)", old, name+" (generated)", r.Content))
		fmt.Fprintf(c.stderr, "arbor: %s is stale; run arbor gen\n", name)
		return exitCheck
	})
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
	c.stdout.Write(out)
	return exitOK
}

func (c *cli) schema(flags *flag.FlagSet) int {
	if flags.NArg() > 0 {
		fmt.Fprintln(c.stderr, "arbor schema: takes no arguments")
		return exitUsage
	}
	io.WriteString(c.stdout, schema.Source())
	return exitOK
}

func (c *cli) relative(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, path); err == nil {
			return rel
		}
	}
	return path
}
