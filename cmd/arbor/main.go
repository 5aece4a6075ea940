// Command arbor checks supervision-tree specs written in CUE and generates
// their typed Go wiring.
//
// Usage:
//
//	arbor gen [-tags list] [dir ...]     write arbor_gen.go next to each spec
//	arbor vet [-tags list] [dir ...]     check specs, Go references, arbor_gen.go
//	arbor diff [-tags list] [dir ...]    exit 1 if an arbor_gen.go is stale
//	arbor graph [-format f] [dir]        draw the trees (mermaid or dot)
//	arbor schema                         print the CUE schema
//	arbor version                        print the versions of arbor and of its code
//	arbor ctl [-addr URL] [-token T] status|events [-f]|restart PATH|stop PATH
//	                                     talk to a running program's console
//	arbor help [command]                 list the commands, or give one's flags and examples
//
// A dir ending in /... names every directory at or below it that holds a
// spec, as the go command's ./... does (skipping testdata, vendor, cue.mod,
// names starting with . or _, and nested modules). Exit codes: 0 ok, 1 spec
// or check errors (or a stale or missing arbor_gen.go), 2 usage errors.
package main

import (
	"os"
	"runtime/debug"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A short-lived command that builds big trees of values: collecting
		// less often saves a fifth of its CPU for a bounded rise in memory.
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
