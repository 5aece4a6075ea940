package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"slices"
	"strings"
)

// directive starts a comment that silences checks on a function.
const directive = "//arbor:nolint"

// parseDirectives reads the //arbor:nolint directives of the package's
// function declarations, and records as findings those that are
// malformed (also // arbor:nolint, a plain comment), name an unknown
// check, or stand anywhere else.
func (c *checker) parseDirectives() {
	c.nolint = map[ast.Node]map[string]bool{}
	for _, f := range c.pkg.Files {
		// The declarations a directive may be on: functions, and vars,
		// which may hold function literals (a runtime.Spec at the top
		// level); in a group of vars, one spec.
		onDecl := map[*ast.Comment]ast.Node{}
		on := func(doc *ast.CommentGroup, n ast.Node) {
			if doc != nil {
				for _, cm := range doc.List {
					onDecl[cm] = n
				}
			}
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				on(d.Doc, d)
			case *ast.GenDecl:
				if d.Tok == token.VAR {
					on(d.Doc, d)
					for _, spec := range d.Specs {
						on(spec.(*ast.ValueSpec).Doc, spec)
					}
				}
			}
		}
		for _, g := range f.Comments {
			for _, cm := range g.List {
				if !strings.HasPrefix(cm.Text, directive) {
					if strings.HasPrefix(strings.TrimLeft(cm.Text[2:], " \t"), directive[2:]) {
						c.badDirective(cm, fmt.Sprintf("write %s, without a space after //: as written, this comment silences nothing", directive))
					}
					continue
				}
				rest := strings.TrimPrefix(cm.Text, directive)
				fd := onDecl[cm]
				switch fields := strings.Fields(rest); {
				case rest != "" && rest[0] != ' ' && rest[0] != '\t':
					c.badDirective(cm, fmt.Sprintf("malformed directive %s: write %s followed by a space and the checks it silences", strings.Fields(cm.Text)[0], directive))
				case fd == nil:
					c.badDirective(cm, fmt.Sprintf("%s silences checks on a function: put it in the doc comment of the function's declaration, or of the var that holds a function literal", directive))
				case len(fields) == 0 || !isLetter(fields[0][0]): // no names, only a reason
					c.badDirective(cm, fmt.Sprintf("%s needs the checks it silences, such as %s %s", directive, directive, CheckCtxUnused))
				default:
					for name := range strings.SplitSeq(fields[0], ",") {
						if name == "" {
							c.badDirective(cm, fmt.Sprintf("%s: empty check name in %q: separate the checks with commas, without spaces", directive, fields[0]))
							continue
						}
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
	for _, pos := range []token.Pos{f.node.Pos(), fd.Pos} {
		for _, d := range c.enclosing(pos) {
			if c.nolint[d][fd.Check] {
				return true
			}
		}
	}
	return false
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
