// Arborlint runs the checks of package lint on Go packages, on its own or
// as a vet tool:
//
//	go run github.com/arbor-go/arbor/gen/lint/cmd/arborlint ./...
//	go vet -vettool=$(go env GOPATH)/bin/arborlint ./...
//
// It reports the run functions that cannot be stopped, that never report
// what their child asks for, and other misuse; see package lint.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/arbor-go/arbor/gen/lint"
)

func main() { singlechecker.Main(lint.Analyzer) }
