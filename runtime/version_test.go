package runtime_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/arbor-go/arbor/runtime"
)

// TestVersionGuard checks that the runtime declares the guard constant of
// the version of generated code it claims, the name arbor gen refers to.
func TestVersionGuard(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "version.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("GeneratedCodeV%d_RunArborGen", runtime.GeneratedCodeVersion)
	obj := f.Scope.Lookup(want)
	if obj == nil || obj.Kind != ast.Con {
		t.Fatalf("version.go does not declare the constant %s", want)
	}
}
