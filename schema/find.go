package schema

import (
	"bytes"
	"io/fs"
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
		if e.IsDir() || !isSpecFile(name) {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.Mode().IsRegular() {
			return true // not to be read (a pipe, a device): loading it says what it is
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

// isSpecFile reports whether a file of that name is part of a spec: a .cue
// file whose name does not start with . or _, which CUE ignores.
func isSpecFile(name string) bool {
	return strings.HasSuffix(name, ".cue") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// FileKind names the kind of a file that is neither regular nor a
// directory, such as "a named pipe".
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}
