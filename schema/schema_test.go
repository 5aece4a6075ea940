package schema

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden loads each directory of testdata and compares the decoded
// model with want.golden, or the errors with errors.golden.
func TestGolden(t *testing.T) {
	dirs, err := os.ReadDir("testdata")
	require.NoError(t, err)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join("testdata", d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel()
			spec, err := Load(dir)
			var got, golden string
			if err != nil {
				var list ErrorList
				require.True(t, errors.As(err, &list), "error is not an ErrorList: %v", err)
				require.NotEmpty(t, list)
				got, golden = list.Relative(dir).Error()+"\n", "errors.golden"
				require.Nil(t, spec)
			} else {
				got, golden = dump(spec), "want.golden"
			}
			path := filepath.Join(dir, golden)
			if *update {
				os.Remove(filepath.Join(dir, "want.golden"))
				os.Remove(filepath.Join(dir, "errors.golden"))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no %s (run go test -update); got:\n%s", golden, got)
			assert.Equal(t, string(want), got)
		})
	}
}

// dump prints a spec readably, with file names relative to its directory.
func dump(s *Spec) string {
	var b strings.Builder
	pos := func(p Pos) string { return p.Relative(s.Dir).String() }
	var files []string
	for _, f := range s.Files {
		files = append(files, Pos{Filename: f}.Relative(s.Dir).Filename)
	}
	fmt.Fprintf(&b, "package %s\nfiles %s\n", s.Package, strings.Join(files, " "))
	var node func(n *Node, ind string)
	node = func(n *Node, ind string) {
		what := "worker"
		switch {
		case n.Tree:
			what = "tree"
		case n.IsSupervisor():
			what = "supervisor"
		}
		fmt.Fprintf(&b, "%s%s %s %s (%s) @%s\n", ind, what, n.Name, strings.Join(n.Path, "/"), n.CUEPath, pos(n.Pos))
		ind += "  "
		if n.Run != "" || n.RunPos.IsValid() {
			fmt.Fprintf(&b, "%srun %q @%s\n", ind, n.Run, pos(n.RunPos))
		}
		if n.Strategy != "" || n.StrategyPos.IsValid() {
			fmt.Fprintf(&b, "%sstrategy %s @%s\n", ind, n.Strategy, pos(n.StrategyPos))
		}
		if n.Restart != "" || n.RestartPos.IsValid() {
			fmt.Fprintf(&b, "%srestart %s @%s\n", ind, n.Restart, pos(n.RestartPos))
		}
		fmt.Fprintf(&b, "%sshutdown %v @%s\n", ind, n.Shutdown, pos(n.ShutdownPos))
		if n.Timeout != 0 || n.TimeoutPos.IsValid() {
			fmt.Fprintf(&b, "%stimeout %v @%s\n", ind, n.Timeout, pos(n.TimeoutPos))
		}
		if l := n.RestartLimit; l != nil {
			fmt.Fprintf(&b, "%srestartLimit max=%d window=%v @%s\n", ind, l.Max, l.Window, pos(l.Pos))
		}
		if o := n.Backoff; o != nil {
			fmt.Fprintf(&b, "%sbackoff initial=%v max=%v multiplier=%v jitter=%v resetAfter=%v @%s\n",
				ind, o.Initial, o.Max, o.Multiplier, o.Jitter, o.ResetAfter, pos(o.Pos))
		}
		if p := n.Ready; p != nil {
			fmt.Fprintf(&b, "%sready timeout=%v @%s\n", ind, p.Timeout, pos(p.Pos))
		}
		if p := n.Heartbeat; p != nil {
			fmt.Fprintf(&b, "%sheartbeat timeout=%v @%s\n", ind, p.Timeout, pos(p.Pos))
		}
		if n.After != nil {
			var refs []string
			for _, r := range n.After {
				refs = append(refs, r.Name+"@"+pos(r.Pos))
			}
			fmt.Fprintf(&b, "%safter [%s] @%s\n", ind, strings.Join(refs, " "), pos(n.AfterPos))
		}
		if !n.Tree {
			fmt.Fprintf(&b, "%ssignificant %v @%s\n", ind, n.Significant, pos(n.SignificantPos))
		}
		if p := n.Pool; p != nil {
			fmt.Fprintf(&b, "%spool max=%d @%s\n", ind, p.Max, pos(p.Pos))
		}
		for _, c := range n.Children {
			node(c, ind)
		}
	}
	for _, t := range s.Trees {
		node(t, "")
	}
	return b.String()
}

// TestPositionsInUserFiles checks that no position of a decoded spec
// points into the schema or is missing.
func TestPositionsInUserFiles(t *testing.T) {
	for _, dir := range []string{"testdata/full", "testdata/templates", "testdata/nested"} {
		spec, err := Load(dir)
		require.NoError(t, err)
		check := func(what string, p Pos) {
			t.Helper()
			assert.True(t, p.IsValid(), "%s: invalid position", what)
			assert.True(t, filepath.IsAbs(p.Filename), "%s: %s not absolute", what, p)
			assert.Contains(t, spec.Files, p.Filename, "%s: %s not in a spec file", what)
		}
		for _, tree := range spec.Trees {
			tree.Walk(func(n *Node) bool {
				name := dir + ":" + n.String()
				check(name, n.Pos)
				check(name+" shutdown", n.ShutdownPos)
				if n.IsSupervisor() {
					check(name+" strategy", n.StrategyPos)
					require.NotNil(t, n.RestartLimit, name)
					require.NotNil(t, n.Backoff, name)
				} else {
					check(name+" run", n.RunPos)
				}
				if !n.Tree {
					check(name+" restart", n.RestartPos)
					check(name+" significant", n.SignificantPos)
					for _, r := range n.After {
						check(name+" after "+r.Name, r.Pos)
					}
				}
				if n.RestartLimit != nil {
					check(name+" restartLimit", n.RestartLimit.Pos)
				}
				if n.Backoff != nil {
					check(name+" backoff", n.Backoff.Pos)
				}
				return true
			})
		}
	}
}

func TestLoadFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "does", "not", "exist")
	spec, err := LoadFiles(dir, map[string][]byte{
		"a.cue": []byte("package p\ntrees: t: children: w: run: \"W\"\n"),
		"b.cue": []byte("package p\ntrees: t: children: v: {run: \"V\", after: [\"w\"]}\n"),
	})
	require.NoError(t, err)
	require.Len(t, spec.Trees, 1)
	tree := spec.Trees[0]
	require.Len(t, tree.Children, 2)
	assert.Equal(t, "w", tree.Children[0].Name)
	assert.Equal(t, "v", tree.Children[1].Name)
	assert.Equal(t, []Ref{{Name: "w", Pos: Pos{Filename: filepath.Join(dir, "b.cue"), Line: 2, Column: 43}}}, tree.Children[1].After)
	assert.Equal(t, []string{filepath.Join(dir, "a.cue"), filepath.Join(dir, "b.cue")}, spec.Files)
	assert.Equal(t, "p", spec.Package)

	_, err = LoadFiles(dir, nil)
	require.EqualError(t, err, dir+": spec directory does not exist")

	empty := t.TempDir()
	_, err = LoadFiles(empty, map[string][]byte{"README": []byte("hi")})
	require.EqualError(t, err, empty+": no .cue files in the spec directory")
}

func TestLoadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Load(dir)
	require.EqualError(t, err, dir+": spec directory does not exist")
}

// TestLoadEmptyDir: a directory with no file at all, or only
// subdirectories (arbor gen run one level too high), is told it has no
// .cue files, as one with other files is, not cue/load's `"." matched no
// packages`.
func TestLoadEmptyDir(t *testing.T) {
	empty := t.TempDir()
	_, err := Load(empty)
	require.EqualError(t, err, empty+": no .cue files in the spec directory")

	require.NoError(t, os.Mkdir(filepath.Join(empty, "sub"), 0o755))
	_, err = Load(empty)
	require.EqualError(t, err, empty+": no .cue files in the spec directory")
}

// TestIgnoredSpecNames: a directory whose only spec file has a name CUE
// does not read (an upper-case extension, a leading _ or ., a trailing
// space) is told which file CUE skipped and why.
func TestIgnoredSpecNames(t *testing.T) {
	for _, name := range []string{"spec.CUE", "_spec.cue", ".spec.cue", "spec.cue "} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("package p\n\ntrees: t: children: a: run: \"Work\"\n"), 0o644))
		_, err := Load(dir)
		require.EqualError(t, err, fmt.Sprintf("%s: no .cue files in the spec directory (CUE skips %q: it reads the files whose names end in .cue and do not start with _ or .)", dir, name), name)
	}
}

// TestLoadUnreadableDir: a directory the user may not list is told so,
// not that it has no .cue files. Root reads it all the same, so the test
// needs another user.
func TestLoadUnreadableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may list any directory")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.cue"), []byte("package p\n"), 0o644))
	require.NoError(t, os.Chmod(dir, 0o300))
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	_, err := Load(dir)
	require.ErrorContains(t, err, dir+": cannot read the directory: ")
}

func TestSource(t *testing.T) {
	src := Source()
	require.Contains(t, src, "package arbor")
	for _, f := range []string{"strategy", "restartLimit", "backoff", "shutdown", "run", "restart",
		"timeout", "ready", "heartbeat", "after", "significant", "children", "initial", "multiplier",
		"jitter", "resetAfter", "window", "pool", "max"} {
		assert.Contains(t, src, "\t"+f, "field %s", f)
	}
}

func TestErrorList(t *testing.T) {
	var l ErrorList
	require.NoError(t, l.Err())
	l.Add(Pos{Filename: "/d/b.cue", Line: 2, Column: 1}, "two")
	l.Add(Pos{Filename: "/d/a.cue", Line: 9, Column: 3}, "one")
	l.Add(Pos{Filename: "/d/b.cue", Line: 2, Column: 1}, "two")
	l.Add(Pos{}, "nowhere")
	l.RemoveMultiples()
	require.Len(t, l, 3)
	assert.Equal(t, "nowhere\n/d/a.cue:9:3: one\n/d/b.cue:2:1: two", l.Err().Error())
	assert.Equal(t, "nowhere\na.cue:9:3: one\nb.cue:2:1: two", Relative(l, "/d").Error())
	assert.Equal(t, "/d/a.cue:9:3", l[1].Pos.String(), "Relative must not change the list")
	assert.Equal(t, "-", Pos{}.String())
	assert.Equal(t, "f.cue", Pos{Filename: "f.cue"}.String())
	assert.Equal(t, "f.cue:3", Pos{Filename: "f.cue", Line: 3}.String())
}

// TestErrorAt checks errors about a place in Go code, such as the
// findings of arbor vet's static checks: the place is printed, made
// relative, and orders errors that share a spec position and a message,
// which RemoveMultiples keeps apart.
func TestErrorAt(t *testing.T) {
	at := func(line int) *Error {
		return &Error{Pos: Pos{Filename: "/d/a.cue", Line: 3, Column: 5}, Msg: "t/a: this loop never ends (ctxloop)",
			At: Pos{Filename: "/d/a.go", Line: line, Column: 2}, Also: []Pos{{Filename: "/d/b.go", Line: 1, Column: 1}}}
	}
	l := ErrorList{at(20), at(10), at(20)}
	l.RemoveMultiples()
	require.Len(t, l, 2)
	assert.Equal(t, "a.cue:3:5: t/a: this loop never ends (ctxloop) (at a.go:10:2) (also at b.go:1:1)\n"+
		"a.cue:3:5: t/a: this loop never ends (ctxloop) (at a.go:20:2) (also at b.go:1:1)", l.Relative("/d").Error())
	assert.Equal(t, "/d/a.go:10:2", l[0].At.String(), "Relative must not change the list")
}

// TestConcurrentLoads checks that loads do not share mutable CUE state.
func TestConcurrentLoads(t *testing.T) {
	const n = 4
	errc := make(chan error, n)
	for i := range n {
		go func() {
			src := "package p\ntrees: t" + strconv.Itoa(i) + ": children: w: {run: \"W\", backoff: initial: \"1s\"}\n"
			spec, err := LoadFiles(t.TempDir(), map[string][]byte{"a.cue": []byte(src)})
			if err == nil && spec.Trees[0].Children[0].Backoff.Initial.String() != "1s" {
				err = fmt.Errorf("bad backoff %v", spec.Trees[0].Children[0].Backoff)
			}
			errc <- err
		}()
	}
	for range n {
		require.NoError(t, <-errc)
	}
}

// TestOneDirectoryOneSpec: in a CUE module, cue/load adds a parent
// directory's files of the same package to a subdirectory's; a spec is its
// own directory's files all the same, and imports still resolve.
func TestOneDirectoryOneSpec(t *testing.T) {
	dir, err := filepath.Abs("testdata/cuemod/sub")
	require.NoError(t, err)
	spec, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "spec.cue")}, spec.Files)
	require.Len(t, spec.Trees, 1, "the parent directory's tree leaked in")
	assert.Equal(t, "child", spec.Trees[0].Name)
	assert.Equal(t, "transient", spec.Trees[0].Children[0].Restart, "from the imported template")
}

// TestFastPath checks that every valid fixture decodes the same with and
// without the fast path (loader.fast), and that the plain ones take it.
func TestFastPath(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/want.golden")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, golden := range dirs {
		dir := filepath.Dir(golden)
		before := fastLoads.Load()
		fast, err := Load(dir)
		require.NoError(t, err, dir)
		took := fastLoads.Load() > before
		full, err := loadSpec(dir, nil, false)
		require.NoError(t, err, dir)
		assert.Equal(t, dump(full), dump(fast), dir)
		switch filepath.Base(dir) {
		case "minimal", "full", "nested", "templates", "multitree", "multifile", "userdefaults", "pool":
			assert.True(t, took, "%s: a plain valid spec should take the fast path", dir)
		}
	}
}

// TestFastPathRejects: specs with one problem that only the schema would
// see, were the decoder not strict. Each must fail with the schema's error.
func TestFastPathRejects(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{`trees: t: children: w: {run: "W", strategy: "one_for_all"}`, "strategy: field not allowed"},
		{`trees: t: children: w: {children: v: run: "V", timeout: "1s"}`, "timeout: field not allowed"},
		{`trees: t: {run: "X", children: w: run: "W"}`, "trees.t.run: field not allowed"},
		{`trees: t: children: w: {run: "W", restartz: "permanent"}`, "restartz: field not allowed"},
		{`trees: t: children: w: {run: "W", backoff: {initial: "1s", factor: 2}}`, "backoff.factor: field not allowed"},
		{`trees: t: children: w: {run: "W", restartLimit: {max: 1, span: "1s"}}`, "restartLimit.span: field not allowed"},
		{`trees: t: children: w: {run: "W", ready: {timeout: "1s", grace: "1s"}}`, "ready.grace: field not allowed"},
		{`trees: t: children: w: run: "W"` + "\nother: 1", "other: field not allowed"},
		{`trees: t: children: w: {run: "W", timeout!: "1s"}`, "timeout"},
		{`trees: t: children: w: {run: "W", pool: {max: 1, min: 1}}`, "pool.min: field not allowed"},
		{`trees: t: children: w: {children: v: run: "V", pool: {}}`, "pool: field not allowed (a pool cannot have children"},
		{`trees: t: {pool: {}, children: w: run: "W"}`, "trees.t.pool: field not allowed (a tree has no pool"},
		// A comprehension whose condition is not concrete leaves its
		// fields out: the struct around it is incomplete, not smaller.
		{"_on: bool\ntrees: t: children: {w: run: \"W\", if _on {v: run: \"V\"}}", "trees.t.children: incomplete bool: bool"},
		{"_on: bool\ntrees: {t: children: w: run: \"W\", if _on {u: children: v: run: \"V\"}}", "trees: incomplete bool: bool"},
		{"_on: bool\ntrees: t: children: w: {run: \"W\", if _on {restart: \"temporary\"}}", "trees.t.children.w: incomplete bool: bool"},
	} {
		src := "package p\n" + c.spec + "\n"
		_, err := LoadFiles(t.TempDir(), map[string][]byte{"spec.cue": []byte(src)})
		if assert.Error(t, err, "%s", c.spec) {
			assert.Contains(t, err.Error(), c.want, "%s", c.spec)
		}
	}
}

// TestUnreadableFiles: files of the spec's directory that cannot be read
// are errors at the file, not messages with the absolute path alone; and
// a dangling symbolic link that is no spec file (an editor's lock file) is
// ignored.
func TestUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "spec.cue"), []byte("package p\n\ntrees: t: children: a: run: \"Work\"\n"), 0o644))
	require.NoError(t, os.Symlink("user@host.1234", filepath.Join(dir, ".#spec.cue")))
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dir, "notes.txt")))
	_, err := Load(dir)
	require.NoError(t, err)

	require.NoError(t, os.Symlink("nowhere.cue", filepath.Join(dir, "extra.cue")))
	_, err = Load(dir)
	assert.EqualError(t, err, filepath.Join(dir, "extra.cue")+": cannot read the file: it is a symbolic link to nowhere.cue, which does not exist")
	require.NoError(t, os.Remove(filepath.Join(dir, "extra.cue")))

	if os.Geteuid() == 0 {
		t.Skip("root reads a file of mode 000")
	}
	secret := filepath.Join(dir, "secret.cue")
	require.NoError(t, os.WriteFile(secret, []byte("package p\n"), 0o000))
	_, err = Load(dir)
	assert.EqualError(t, err, secret+": cannot read the file: permission denied")
}

// TestUnloadableFileNames: cue/load refuses a spec file whose name has a
// colon or a backslash ("invalid io/fs path", at no position): it is an
// error at the file that says to rename it. Other files of such names are
// no business of the spec's.
func TestUnloadableFileNames(t *testing.T) {
	for _, name := range []string{"shop:v2.cue", `shop\v2.cue`} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "spec.cue"), []byte("package p\n\ntrees: t: children: a: run: \"Work\"\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "notes:"+name+".txt"), nil, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "_"+name), nil, 0o644))
			_, err := Load(dir)
			require.NoError(t, err)

			bad := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(bad, []byte("package p\n"), 0o644))
			_, err = Load(dir)
			assert.EqualError(t, err, bad+`: CUE cannot load a file whose name has ":" or "\"; rename it`)
		})
	}
}

// TestBadCUEModule: a cue.mod that CUE refuses (a module.cue of a newer
// language, without a version, a cue.mod that is a file) is an error at
// the module file, whatever directory of the module the spec is in, not a
// message without a file.
func TestBadCUEModule(t *testing.T) {
	spec := []byte("package p\n\ntrees: t: children: a: run: \"Work\"\n")
	for _, c := range []struct {
		name, module, want string
	}{
		{"too new", "module: \"example.com/m\"\nlanguage: version: \"v0.99.0\"\n", "cue.mod/module.cue: language version \"v0.99.0\" declared in module.cue is too new"},
		{"no version", "module: \"example.com/m\"\n", "cue.mod/module.cue: no language version declared in module.cue"},
		{"a file", "", "cue.mod: cue.mod files are no longer supported; use cue.mod/module.cue"},
		{"syntax", "module: \"example.com/m\n", "cue.mod/module.cue:1:9: invalid module file syntax: string literal not terminated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if c.module == "" {
				require.NoError(t, os.WriteFile(filepath.Join(root, "cue.mod"), nil, 0o644))
			} else {
				require.NoError(t, os.MkdirAll(filepath.Join(root, "cue.mod"), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(root, "cue.mod", "module.cue"), []byte(c.module), 0o644))
			}
			for _, dir := range []string{root, filepath.Join(root, "sub")} {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, "spec.cue"), spec, 0o644))
				_, err := Load(dir)
				var list ErrorList
				if assert.ErrorAs(t, err, &list, dir) {
					assert.Contains(t, list.Relative(root).Error(), c.want, dir)
				}
			}
		})
	}
}

// TestEmbedErrors: a spec whose package fails to build (an @embed of a
// file that is missing or not JSON, or outside a CUE module) is reported
// by that error alone, not also as a spec without trees.
func TestEmbedErrors(t *testing.T) {
	spec := []byte("@extern(embed)\n\npackage p\n\n_x: _ @embed(file=\"data.json\")\ntrees: t: children: a: run: _x.run\n")
	for _, c := range []struct {
		name, module, data, want string
	}{
		{"no module", "", "{\"run\": \"Work\"}", "spec.cue:3:9: cannot embed files when not in a module"},
		{"missing", "module: \"example.com/m\"\nlanguage: version: \"v0.12.0\"\n", "", "spec.cue:5:7: @embed: open data.json: no such file or directory"},
		{"not json", "module: \"example.com/m\"\nlanguage: version: \"v0.12.0\"\n", "nope", "spec.cue:5:7: @embed: invalid JSON for file \"data.json\": invalid character 'o' in literal null (expecting 'u')"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "spec.cue"), spec, 0o644))
			if c.module != "" {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "cue.mod"), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, "cue.mod", "module.cue"), []byte(c.module), 0o644))
			}
			if c.data != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "data.json"), []byte(c.data), 0o644))
			}
			_, err := Load(dir)
			var list ErrorList
			if assert.ErrorAs(t, err, &list) {
				assert.Equal(t, c.want, list.Relative(dir).Error())
			}
		})
	}
}

// TestHyphenNameHint: an unquoted name with a hyphen, the first thing a
// newcomer writes for "http-server", is a subtraction to CUE, which says
// only "missing ','"; the error now says to quote the name, and so for an
// unquoted duration. A syntax error elsewhere gets no such hint.
func TestHyphenNameHint(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"trees: t: children: {\n\thttp-server: {run: \"S\"}\n}\n",
			`a.cue:3:13: missing ',' in struct literal (quote a name with a hyphen: "http-server":)`},
		{"trees: t: children: {a: {run: \"A\"}, web-api-2: {run: \"S\"}}\n",
			`a.cue:2:46: missing ',' in struct literal (quote a name with a hyphen: "web-api-2":)`},
		{"trees: my-app: children: a: run: \"A\"\n",
			`a.cue:2:14: missing ',' in struct literal (quote a name with a hyphen: "my-app":)`},
		{"trees: t: children: {a: {run: \"A\" b: 1}}\n",
			`a.cue:2:35: missing ',' in struct literal`},
		// An unquoted duration is a number and a stray unit.
		{"trees: t: {shutdown: 10s, children: a: run: \"A\"}\n",
			`a.cue:2:24: missing ',' in struct literal (a duration is a string: "10s")`},
		{"trees: t: {shutdown: 1m30s, children: a: run: \"A\"}\n",
			`a.cue:2:23: missing ',' in struct literal (a duration is a string: "1m30s")`},
	} {
		dir := t.TempDir()
		_, err := LoadFiles(dir, map[string][]byte{"a.cue": []byte("package p\n" + c.src)})
		require.Error(t, err, c.src)
		assert.Equal(t, filepath.Join(dir, c.want), err.Error(), c.src)
	}
}

// TestUnknownFieldOfBlock: a field of a small block (restartLimit,
// backoff, ready, heartbeat, pool, lease) that is close to none of its
// fields is told which fields the block has.
func TestUnknownFieldOfBlock(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`trees: t: {restartLimit: {maxRestarts: 3}, children: a: run: "A"}`,
			`a.cue:2:27: trees.t.restartLimit.maxRestarts: field not allowed (restartLimit has the fields max and window)`},
		{`trees: t: children: a: {run: "A", heartbeat: interval: "1s"}`,
			`a.cue:2:46: trees.t.children.a.heartbeat.interval: field not allowed (heartbeat has one field, timeout)`},
		{`trees: t: children: a: {run: "A", ready: timout: "1s"}`,
			`a.cue:2:42: trees.t.children.a.ready.timout: field not allowed (did you mean timeout?)`},
	} {
		dir := t.TempDir()
		_, err := LoadFiles(dir, map[string][]byte{"a.cue": []byte("package p\n" + c.src + "\n")})
		require.Error(t, err, c.src)
		assert.Contains(t, err.Error(), filepath.Join(dir, c.want), c.src)
	}
}

// TestNegativeDuration: "-1s" is a Go duration, but no field takes one;
// the error says so rather than "must be a duration such as 10s".
func TestNegativeDuration(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadFiles(dir, map[string][]byte{"a.cue": []byte("package p\ntrees: t: {shutdown: \"-1s\", children: a: run: \"A\"}\n")})
	require.Error(t, err)
	assert.Equal(t, filepath.Join(dir, `a.cue:2:22: trees.t.shutdown: invalid duration "-1s" (a duration here is never negative)`), err.Error())
}

// TestControlCharFileNames: a file name with a newline or another control
// character is quoted in a position, as Go quotes a string, so that each
// error stays one line that starts with its file.
func TestControlCharFileNames(t *testing.T) {
	for _, name := range []string{"a\nb.cue", "a\rb.cue", "a\tb\x1b[31m.cue"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(path, []byte("package p\n\ntrees: t: children: a: run: 1\n"), 0o644))
			_, err := Load(dir)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "\r")
			assert.True(t, strings.HasPrefix(err.Error(), strconv.Quote(path)+":3:"), err.Error())
		})
	}
	// A message that names another file quotes it too.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a\nb.cue"), []byte("package p\n\ntrees: t: children: a: run: \"F\"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.cue"), []byte("package q\n"), 0o644))
	_, err := Load(dir)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\n")
	assert.Equal(t, `"a\nb.cue":2:24`, Pos{Filename: "a\nb.cue", Line: 2, Column: 24}.String())
	assert.Equal(t, "a b.cue:2:24", Pos{Filename: "a b.cue", Line: 2, Column: 24}.String())
}
