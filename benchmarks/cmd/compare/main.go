// Command compare runs Arbor's runtime and suture v4 on the same work in one
// process and prints a table of figures and ratios. Memory is measured in
// fresh processes: this program, started again.
//
//	go run ./cmd/compare [-rounds 5] [-restarts 200000] [-children 100000] [-memory 3]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/arbor-go/arbor/benchmarks"
)

func main() {
	benchmarks.MeasureIfAsked()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg := benchmarks.DefaultConfig
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "measurements of each workload and library")
	fs.IntVar(&cfg.Restarts, "restarts", cfg.Restarts, "restarts per restart measurement")
	fs.IntVar(&cfg.Children, "children", cfg.Children, "children for start, stop and memory")
	fs.IntVar(&cfg.Memory, "memory", cfg.Memory, "fresh processes per subject for memory (0: skip)")
	quiet := fs.Bool("q", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || cfg.Rounds < 1 || cfg.Restarts < 1 || cfg.Children < 1 || cfg.Memory < 0 {
		fs.Usage()
		return 2
	}
	log := stderr
	if *quiet {
		log = nil
	}
	res, err := benchmarks.Compare(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	if err := res.Write(stdout); err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	return 0
}
