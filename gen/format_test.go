package gen

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestFormatBatches generates every fixture and example with a file cut
// at each of its declarations, each formatted on its own, and checks that
// the pieces join into the very file that gofmt of the whole gives: the
// one on disk.
func TestFormatBatches(t *testing.T) {
	files, err := filepath.Glob("../testdata/*/arbor_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob("../examples/*/arbor_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, examples...)
	if len(files) < 10 {
		t.Fatalf("only %d generated files in ../testdata and ../examples", len(files))
	}
	for _, file := range files {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Generate(context.Background(), dir, &Options{batch: 1})
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Content) != string(want) {
				t.Errorf("formatted one declaration at a time, the output differs from %s", file)
			}
		})
	}
}
