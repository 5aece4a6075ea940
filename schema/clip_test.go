package schema

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestClip(t *testing.T) {
	short := strings.Repeat("a", maxShown)
	assert.Equal(t, short, Clip(short), "a name that fits is kept whole")
	assert.Equal(t, `"`+short+`"`, Quote(short))

	long := strings.Repeat("a", 1<<20)
	assert.Equal(t, strings.Repeat("a", keepShown)+"… (1048576 bytes)", Clip(long))
	assert.Equal(t, `"`+strings.Repeat("a", keepShown)+`…" (1048576 bytes)`, Quote(long))

	// A rune is never split, whatever the offset.
	for i := range 4 {
		s := strings.Repeat("x", i) + strings.Repeat("€", 100)
		assert.True(t, utf8.ValidString(Clip(s)), "%q", Clip(s))
	}

	assert.Equal(t, "a -> b -> c", ClipList([]string{"a", "b", "c"}, " -> "))
	names := strings.Split("a b c d e f g h i j k", " ")
	assert.Equal(t, "a, b, c, d, e, f, g, h, ... (3 more)", ClipList(names, ", "))
	assert.Equal(t, "a/"+Clip(long)+"/b", ClipPath([]string{"a", long, "b"}, "/"))
}

func TestSprintf(t *testing.T) {
	long := strings.Repeat("a", 1000)
	n := &Node{Path: []string{"t", long}}
	assert.Equal(t, "t/"+Clip(long)+": run "+Quote(long), Sprintf("%s: run %q", n, long), "a node's path and a quoted string are clipped")
	assert.Equal(t, "method "+Clip(long), Sprintf("method %s", long), "so is a word")
	hint := " (did you mean " + long + "?)"
	assert.Equal(t, "x"+hint, Sprintf("x%s", hint), "text with spaces, built beforehand, is kept whole")
	assert.Equal(t, `"ab"`, Sprintf("%q", "ab"))
	assert.Equal(t, "007", Sprintf("%03d", 7))
	assert.EqualError(t, Errorf("run %q: %w", long, assert.AnError), "run "+Quote(long)+": "+assert.AnError.Error())
}
