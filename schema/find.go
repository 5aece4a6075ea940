package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
)

// IsSpecDir reports whether dir holds a spec: a .cue file that declares
// trees at its top level, or one that does not parse (so that loading it
// reports the error). Other CUE, such as configuration that happens to
// live in the same repository, is not a spec. Files whose names start with
// . or _ do not count, as CUE ignores them.
func IsSpecDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".cue") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Contains(src, []byte("trees")) {
			continue
		}
		f, err := parser.ParseFile(name, src)
		if err != nil {
			return true
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.Field); ok {
				if label, _, _ := ast.LabelName(fd.Label); label == "trees" {
					return true
				}
			}
		}
	}
	return false
}
