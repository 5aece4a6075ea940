package schema

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specDuration writes d as a spec would: "1m", not "1m0s".
func specDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return strconv.Quote(s)
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// documented are the defaults as the schema's comments and the README must
// write them, rendered from the table the decoder uses.
func documented() map[string]string {
	d := defaults
	limit := fmt.Sprintf("{max: %d, window: %s}", d.limit.Max, specDuration(d.limit.Window))
	backoff := fmt.Sprintf("{initial: %s, max: %s, multiplier: %s, jitter: %s, resetAfter: %s}",
		specDuration(d.backoff.Initial), specDuration(d.backoff.Max), num(d.backoff.Multiplier),
		num(d.backoff.Jitter), specDuration(d.backoff.ResetAfter))
	return map[string]string{
		"#Supervisor.strategy":     strconv.Quote(d.strategy),
		"#Supervisor.restartLimit": limit,
		"#Supervisor.backoff":      backoff,
		"#Supervisor.shutdown":     specDuration(d.treeShutdown),
		"#Child.restart":           strconv.Quote(d.restart),
		"#Child.after":             "[]",
		"#Child.significant":       strconv.FormatBool(d.significant),
		"#Worker.shutdown":         specDuration(d.workerShutdown),
		"#Worker.restartLimit":     "absent; on a pool " + limit,
		"#Pool.max":                "0",
		"#Lease.name":              "the child's path",
		"#Lease.ttl":               specDuration(d.leaseTTL),
		"#RestartLimit.max":        strconv.Itoa(d.limit.Max),
		"#RestartLimit.window":     specDuration(d.limit.Window),
		"#Backoff.initial":         specDuration(d.backoff.Initial),
		"#Backoff.max":             specDuration(d.backoff.Max),
		"#Backoff.multiplier":      num(d.backoff.Multiplier),
		"#Backoff.jitter":          num(d.backoff.Jitter),
		"#Backoff.resetAfter":      specDuration(d.backoff.ResetAfter),
	}
}

// TestDocumentedDefaults checks that the defaults arbor.cue documents in
// its comments (what `arbor schema` prints) are the decoder's, which are
// the runtime's: one table, documented where users read it.
func TestDocumentedDefaults(t *testing.T) {
	want := documented()
	got := map[string]string{}
	def, comment := "", ""
	defRE := regexp.MustCompile(`^(#\w+): `)
	fieldRE := regexp.MustCompile(`^\t(\w+)\??: `)
	defaultRE := regexp.MustCompile(`Default: (.*?)\.(?:\s|$)`)
	for _, line := range strings.Split(Source(), "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "//"):
			comment += " " + strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "//"))
			continue
		case defRE.MatchString(line):
			def = defRE.FindStringSubmatch(line)[1]
		case fieldRE.MatchString(line) && def != "":
			field := def + "." + fieldRE.FindStringSubmatch(line)[1]
			if m := defaultRE.FindStringSubmatch(comment + " "); m != nil {
				got[field] = m[1]
			}
		}
		comment = ""
	}
	for field, value := range want {
		assert.Equal(t, value, got[field], "arbor.cue documents the default of %s", field)
	}
	for field, value := range got {
		if _, ok := want[field]; !ok {
			assert.Regexp(t, `^(none|absent\b)`, value, "%s documents a default that is not in the table", field)
		}
	}
}

// TestREADMEDefaults checks the README's spec reference against the same
// table.
func TestREADMEDefaults(t *testing.T) {
	src, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	want := documented()
	code := func(s string) string { return "`" + s + "`" }
	rows := map[string]string{ // first two cells of a row → its default cell
		"`strategy` | tree, nested supervisor":                                                      code(want["#Supervisor.strategy"]),
		"`restartLimit: {max, window}` | tree, nested, worker override":                             code(want["#Supervisor.restartLimit"]),
		"`backoff: {initial, max, multiplier, jitter, resetAfter}` | tree, nested, worker override": code(want["#Supervisor.backoff"]),
		"`shutdown` | tree, nested":                                                                 code(want["#Supervisor.shutdown"]),
		"`restart` | child":                                                                         code(want["#Child.restart"]),
		"`shutdown` | worker":                                                                       code(want["#Worker.shutdown"]),
		"`after: [names]` | child":                                                                  code(want["#Child.after"]),
		"`significant` | child":                                                                     code(want["#Child.significant"]),
		"`pool: {max}` | worker":                                                                    "absent; " + code("max: "+want["#Pool.max"]) + " (no cap)",
		"`lease: {name, ttl}` | child":                                                              "absent; " + code("name") + ": " + want["#Lease.name"] + ", " + code("ttl: "+want["#Lease.ttl"]),
	}
	found := 0
	for _, line := range strings.Split(string(src), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 4 {
			continue
		}
		value, ok := rows[cells[0]+" | "+cells[1]]
		if !ok {
			continue
		}
		found++
		assert.Equal(t, value, cells[3], "README: default of %s", cells[0])
		if cells[0] == "`pool: {max}`" {
			// A pool's own limit defaults to the limit of a supervisor.
			assert.Contains(t, cells[2], "(default "+code(want["#Supervisor.restartLimit"])+")", "README: a pool's restartLimit")
		}
	}
	assert.Equal(t, len(rows), found, "README rows of the spec reference")
}
