package schema

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsSpecDir checks which directories a dir/... pattern takes for
// specs: those whose CUE declares trees at the top level, written as a
// field or inside what the package embeds there (a struct, a
// comprehension, a definition or let of the directory), and not other
// CUE, nor a field named trees deeper down.
func TestIsSpecDir(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"field", map[string]string{"s.cue": "package p\ntrees: t: children: a: run: \"F\"\n"}, true},
		{"quoted", map[string]string{"s.cue": "package p\n\"trees\": t: children: a: run: \"F\"\n"}, true},
		{"embedded struct", map[string]string{"s.cue": "package p\n{trees: t: children: a: run: \"F\"}\n"}, true},
		{"if", map[string]string{"s.cue": "package p\n_on: true\nif _on {trees: t: children: a: run: \"F\"}\n"}, true},
		{"for", map[string]string{"s.cue": "package p\nfor n in [\"t\"] {trees: (n): children: a: run: \"F\"}\n"}, true},
		{"nested comprehension", map[string]string{"s.cue": "package p\n{if true {{trees: t: children: a: run: \"F\"}}}\n"}, true},
		{"definition", map[string]string{"s.cue": "package p\n#T: trees: t: children: a: run: \"F\"\n#T\n"}, true},
		{"definition and", map[string]string{"s.cue": "package p\n#T: {trees: t: children: a: run: \"F\"}\n#T & {x: 1}\n"}, true},
		{"definition elsewhere", map[string]string{
			"a.cue": "package p\n#Base: {trees: t: children: a: run: \"F\"}\n",
			"b.cue": "package p\n(#Base)\n",
		}, true},
		{"let", map[string]string{"s.cue": "package p\nlet x = {trees: t: children: a: run: \"F\"}\nx\n"}, true},
		{"cycle", map[string]string{"s.cue": "package p\n#A: #B\n#B: #A\n#A\n// trees\n"}, false},
		{"definition not embedded", map[string]string{"s.cue": "package p\n#T: trees: t: children: a: run: \"F\"\n"}, false},
		{"deeper", map[string]string{"s.cue": "package p\nconf: trees: 3\n"}, false},
		{"config", map[string]string{"s.cue": "package p\n#Schema: {name: string}\n#Schema & {name: \"trees\"}\n"}, false},
		{"no cue", map[string]string{"x.txt": "trees: t: {}\n"}, false},
		{"hidden file", map[string]string{"_s.cue": "package p\ntrees: t: children: a: run: \"F\"\n"}, false},
		{"syntax error", map[string]string{"s.cue": "package p\ntrees: {\n"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := IsSpecDir(dir); got != tc.want {
				t.Errorf("IsSpecDir = %v, want %v", got, tc.want)
			}
		})
	}
}
