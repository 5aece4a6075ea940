package gen

import (
	"path/filepath"
	"slices"

	"github.com/arbor-go/arbor/schema"
)

// A Go file of the spec's package other than arbor_gen.go that starts
// with arbor's header is a copy of a generated file: a backup, or a merge
// tool's (arbor_gen_BACKUP_1234.go, arbor_gen_LOCAL_1234.go). Arbor writes
// no such file, and its declarations clash with every one arbor_gen.go
// makes: one error at the copy says what to do, rather than one per clash
// that says to rename the tree.

// generatedCopies returns the errors with each clash at a copy replaced
// by one error at the copy.
func (ws *workspace) generatedCopies(errs schema.ErrorList) schema.ErrorList {
	var copies []string
	for _, f := range ws.ownFiles() {
		name := ws.fset.Position(f.Package).Filename
		if filepath.Base(name) == outputName || len(f.Comments) == 0 || f.Comments[0].Pos() > f.Package {
			continue
		}
		if f.Comments[0].List[0].Text == "// "+Header {
			copies = append(copies, name)
		}
	}
	if len(copies) == 0 {
		return errs
	}
	errs = slices.DeleteFunc(errs, func(e *schema.Error) bool {
		return slices.Contains(copies, e.Decl.Filename)
	})
	for _, name := range copies {
		errs = append(errs, &schema.Error{Pos: schema.Pos{Filename: name}, Msg: "a copy of a file arbor generated (it starts with arbor's header), whose declarations clash with arbor_gen.go's: remove it (arbor writes only arbor_gen.go)"})
	}
	return errs
}
