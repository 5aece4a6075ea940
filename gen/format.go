package gen

import (
	"bytes"
	"fmt"
	goformat "go/format"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// code is emit's output, unformatted: the file's header and imports, then
// each top-level declaration after a splitMark line (jennifer's rendering,
// to format) or a textMark line (written as gofmt writes it).
type code struct {
	raw    []byte
	splits int // how many splitMark lines emit wrote
}

// splitMark and textMark are the comment lines where formatOutput may
// cut the file: before a declaration to format, and before one to leave
// as it is. No other line of the output can start as they do: every name
// and reference of a spec that reaches a comment is checked first, and
// none may hold a line break.
const (
	markPrefix = "//arbor:"
	splitMark  = markPrefix + "split"
	textMark   = markPrefix + "text"
)

// batchSize is about how many bytes of unformatted code formatOutput
// gofmts at a time: enough batches at 10,000 children (4.5 MB) for every
// core to stay busy until the end, few enough that each gofmt's setup
// does not count.
const batchSize = 64 << 10

// batchPackage is the package clause that makes a batch of declarations,
// cut from the file, a file gofmt accepts.
const batchPackage = "package p\n"

// formatOutput gofmts emit's output and groups its imports, formatting
// batches of about size bytes. gofmt treats
// each top-level declaration on its own, and every declaration that emit
// marks has a doc comment, which gofmt separates from the one before by a
// blank line whatever that one is: so the file is cut at the marks into
// batches, formatted at once on every core (on a big spec the costliest
// step of generation), and joined again, with the same bytes as gofmt of
// the whole file.
func formatOutput(c *code, size int) ([]byte, error) {
	pieces := bytes.Split(c.raw, []byte("\n"+markPrefix))
	if len(pieces) != c.splits+1 {
		return nil, fmt.Errorf("%w: %d declarations marked, %d found", ErrInternal, c.splits, len(pieces)-1)
	}
	// batches holds code to format, and code to leave as it is.
	var batches [][]byte
	keep := map[int]bool{}
	var batch []byte
	for i, p := range pieces {
		if i > 0 {
			mark, rest, _ := bytes.Cut(p, []byte("\n"))
			switch markPrefix + string(mark) {
			case splitMark:
			case textMark:
				if batch != nil {
					batches = append(batches, batch)
					batch = nil
				}
				keep[len(batches)] = true
				batches = append(batches, append(rest, '\n'))
				continue
			default:
				return nil, fmt.Errorf("%w: a line %q", ErrInternal, markPrefix+string(mark))
			}
			p = rest
		}
		if len(batch) > 0 {
			batch = append(batch, '\n')
		} else if i > 0 {
			batch = append(batch, batchPackage...)
		}
		batch = append(batch, p...)
		if len(batch) >= size {
			batches = append(batches, batch)
			batch = nil
		}
	}
	if batch != nil {
		batches = append(batches, batch)
	}

	out := make([][]byte, len(batches))
	errs := make([]error, len(batches))
	next := make(chan int, len(batches))
	for i := range batches {
		if keep[i] {
			out[i] = batches[i]
		} else {
			next <- i
		}
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(batches)) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = goformat.Source(batches[i])
			}
		})
	}
	wg.Wait()
	if errs[0] == nil {
		out[0] = groupImports(out[0]) // the imports come first
	}

	var src []byte
	for i, b := range out {
		if errs[i] != nil {
			return nil, fmt.Errorf("%w: %v", ErrInternal, errs[i])
		}
		if i > 0 && !keep[i] {
			decls, ok := bytes.CutPrefix(b, []byte(batchPackage+"\n"))
			if !ok {
				return nil, fmt.Errorf("%w: a batch of declarations formatted as %.40q", ErrInternal, b)
			}
			b = decls
		}
		if i > 0 {
			src = append(src, '\n')
		}
		src = append(src, b...)
	}
	return src, nil
}

// groupImports groups the imports of jennifer's formatted output as
// goimports does: the standard library first, a blank line, the others.
// Each group stays sorted, so the file stays gofmt-clean. (goimports
// itself would format the whole file twice more: at 10,000 children, a
// second and a half.)
func groupImports(src []byte) []byte {
	s := string(src)
	start := strings.Index(s, "\nimport (\n")
	if start < 0 {
		return src
	}
	start += len("\nimport (\n")
	end := strings.Index(s[start:], "\n)\n")
	if end < 0 {
		return src
	}
	var std, others []string
	for _, line := range strings.Split(s[start:start+end], "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		path, err := strconv.Unquote(fields[len(fields)-1])
		if first, _, _ := strings.Cut(path, "/"); err == nil && !strings.Contains(first, ".") {
			std = append(std, line)
		} else {
			others = append(others, line)
		}
	}
	block := strings.Join(std, "\n")
	if len(std) > 0 && len(others) > 0 {
		block += "\n\n"
	}
	block += strings.Join(others, "\n")
	return []byte(s[:start] + block + s[start+end:])
}
