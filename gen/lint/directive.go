package lint

import (
	"fmt"
	"go/ast"
	"slices"
	"strings"
)

// directive starts a comment that silences checks on a function.
const directive = "//arbor:nolint"

// parseDirectives reads the //arbor:nolint directives of the package's
// function declarations, and records as findings those that are
// malformed, name an unknown check, or stand anywhere else.
func (c *checker) parseDirectives() {
	c.nolint = map[*ast.FuncDecl]map[string]bool{}
	for _, f := range c.pkg.Files {
		onDecl := map[*ast.Comment]*ast.FuncDecl{}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Doc != nil {
				for _, cm := range fd.Doc.List {
					onDecl[cm] = fd
				}
			}
		}
		for _, g := range f.Comments {
			for _, cm := range g.List {
				if !strings.HasPrefix(cm.Text, directive) {
					continue
				}
				rest := strings.TrimPrefix(cm.Text, directive)
				fd := onDecl[cm]
				switch fields := strings.Fields(rest); {
				case rest != "" && rest[0] != ' ' && rest[0] != '\t':
					c.badDirective(cm, fmt.Sprintf("malformed directive %s: write %s followed by a space and the checks it silences", strings.Fields(cm.Text)[0], directive))
				case fd == nil:
					c.badDirective(cm, fmt.Sprintf("%s silences checks on a function: put it in the doc comment of the function's declaration", directive))
				case len(fields) == 0 || !isLetter(fields[0][0]): // no names, only a reason
					c.badDirective(cm, fmt.Sprintf("%s needs the checks it silences, such as %s %s", directive, directive, CheckCtxUnused))
				default:
					for name := range strings.SplitSeq(fields[0], ",") {
						if !slices.Contains(checkNames, name) {
							c.badDirective(cm, fmt.Sprintf("%s: unknown check %q; the checks are %s", directive, name, strings.Join(checkNames, ", ")))
							continue
						}
						if c.nolint[fd] == nil {
							c.nolint[fd] = map[string]bool{}
						}
						c.nolint[fd][name] = true
					}
				}
			}
		}
	}
}

func (c *checker) badDirective(cm *ast.Comment, msg string) {
	c.badDirs = append(c.badDirs, Finding{Check: CheckDirective, Pos: cm.Pos(), Message: msg, Target: -1})
}

// silenced reports whether a directive silences a finding: on the run
// function (or the declaration that encloses a literal), or on the
// function where the finding is.
func (c *checker) silenced(fd Finding, f *fnode) bool {
	if f.decl != nil && c.nolint[f.decl][fd.Check] {
		return true
	}
	d := c.enclosingDecl(fd.Pos)
	return d != nil && c.nolint[d][fd.Check]
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
