package console_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/console"
)

func TestTree(t *testing.T) {
	f := newFixture(t)
	f.crash(t)
	_, err := f.tree.Pool("shop/conns").Start("c1", runtime.Func(idle))
	require.NoError(t, err)
	f.waitFor(t, "instance running", func() bool { return f.tree.Pool("shop/conns").Counts().Running == 1 })

	res := do(console.Handler(f.tree), "GET", "/api/tree", nil)
	require.Equal(t, 200, res.StatusCode)
	tr := decode[console.Tree](t, res)
	assert.Equal(t, "shop", tr.Tree)
	assert.Equal(t, "ready", tr.Health)
	assert.False(t, tr.Control, "no token")
	assert.Equal(t, f.tree.LastEvent(), tr.LastEvent)
	assert.WithinDuration(t, time.Now(), tr.Time, time.Minute)

	var paths []string
	byPath := map[string]console.Child{}
	for _, c := range tr.Children {
		paths = append(paths, c.Path)
		byPath[c.Path] = c
	}
	assert.Equal(t, []string{"shop/db", "shop/api", "shop/flaky", "shop/ingest", "shop/ingest/fetch", "shop/conns", "shop/conns/c1"}, paths)
	db := byPath["shop/db"]
	assert.Equal(t, "worker", db.Kind)
	assert.Equal(t, "running", db.State)
	assert.True(t, db.Ready)
	assert.EqualValues(t, 1, db.Generation)
	assert.Equal(t, 1, db.Attempt)
	assert.Equal(t, "none", db.LastExit)
	assert.Equal(t, []string{"db"}, byPath["shop/api"].After)

	flaky := byPath["shop/flaky"]
	assert.EqualValues(t, 2, flaky.Generation)
	assert.Equal(t, 1, flaky.Restarts)
	assert.Equal(t, "error", flaky.LastExit)
	assert.Equal(t, "flaky <b>failed</b>", flaky.LastError)

	assert.Equal(t, "supervisor", byPath["shop/ingest"].Kind)
	conns := byPath["shop/conns"]
	assert.Equal(t, "pool", conns.Kind)
	require.NotNil(t, conns.Pool)
	assert.Equal(t, 1, conns.Pool.Live)
	assert.Equal(t, 1, conns.Pool.Running)
	assert.EqualValues(t, 1, conns.Pool.Started)
	assert.Equal(t, "instance", byPath["shop/conns/c1"].Kind)
	assert.Equal(t, 1, conns.Pool.Listed)

	// The fields the contract names are in the JSON under these names.
	res = do(console.Handler(f.tree), "GET", "/api/tree", nil)
	var raw struct {
		Children []map[string]any `json:"children"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&raw))
	for _, k := range []string{"path", "state", "generation", "attempt", "restarts"} {
		assert.Contains(t, raw.Children[0], k)
	}

	assert.True(t, decode[console.Tree](t, do(console.Handler(f.tree, console.WithToken(token)), "GET", "/api/tree", nil)).Control)
	res = do(console.Handler(f.tree), "DELETE", "/api/tree", nil)
	assert.Equal(t, 405, res.StatusCode)
}

// TestTreeInstancesCap: ?instances=N lists at most N instances of a pool,
// so that the page can watch a pool of 100k without reading them all; the
// pool's counts still tell how many live.
func TestTreeInstancesCap(t *testing.T) {
	f := newFixture(t)
	p := f.tree.Pool("shop/conns")
	for _, name := range []string{"c1", "c2", "c3"} {
		_, err := p.Start(name, runtime.Func(idle))
		require.NoError(t, err)
	}
	f.waitFor(t, "instances running", func() bool { return p.Counts().Running == 3 })
	h := console.Handler(f.tree)
	for _, c := range []struct {
		query  string
		listed int
	}{{"", 3}, {"?instances=2", 2}, {"?instances=0", 0}, {"?instances=9", 3}} {
		tr := decode[console.Tree](t, do(h, "GET", "/api/tree"+c.query, nil))
		instances := 0
		var conns console.Child
		for _, ch := range tr.Children {
			switch ch.Kind {
			case "instance":
				instances++
			case "pool":
				conns = ch
			}
		}
		assert.Equal(t, c.listed, instances, c.query)
		require.NotNil(t, conns.Pool, c.query)
		assert.Equal(t, c.listed, conns.Pool.Listed, c.query)
		assert.Equal(t, 3, conns.Pool.Live, c.query)
		assert.Equal(t, "shop/db", tr.Children[0].Path, "the static children are all there")
	}
	for _, bad := range []string{"-1", "many", "1e3"} {
		res := do(h, "GET", "/api/tree?instances="+bad, nil)
		assert.Equal(t, 400, res.StatusCode, bad)
	}
}

func TestEventsJSON(t *testing.T) {
	f := newFixture(t)
	f.crash(t)
	h := console.Handler(f.tree)
	all := decode[console.Events](t, do(h, "GET", "/api/events", nil))
	require.NotEmpty(t, all.Events)
	assert.Zero(t, all.Missed)
	for i, e := range all.Events {
		assert.EqualValues(t, i+1, e.Seq)
		assert.NotEmpty(t, e.Text)
	}
	assert.Equal(t, all.Events[len(all.Events)-1].Seq, all.LastEvent)
	var exited *console.Event
	for i, e := range all.Events {
		if e.Kind == "exited" {
			exited = &all.Events[i]
		}
	}
	require.NotNil(t, exited)
	assert.Equal(t, "shop/flaky", exited.Path)
	assert.Equal(t, "error", exited.Exit)
	assert.Equal(t, "flaky <b>failed</b>", exited.Error)
	assert.EqualValues(t, 1, exited.Generation)

	some := decode[console.Events](t, do(h, "GET", "/api/events?after=3", nil))
	assert.Equal(t, all.Events[3:], some.Events)
	none := decode[console.Events](t, do(h, "GET", "/api/events?after="+itoa(all.LastEvent), nil))
	assert.Empty(t, none.Events)
	assert.Equal(t, all.LastEvent, none.LastEvent)
	stale := decode[console.Events](t, do(h, "GET", "/api/events?after=999999", nil))
	assert.Equal(t, all.Events, stale.Events, "a number from an earlier run of the program: everything")

	for _, bad := range []string{"?after=x", "?after=-1", "?after=1e3"} {
		res := do(h, "GET", "/api/events"+bad, nil)
		assert.Equal(t, 400, res.StatusCode, bad)
		assert.Contains(t, decode[console.Error](t, res).Error, "is not an event number")
	}
	res := do(h, "GET", "/api/events", nil, "Last-Event-ID", "zz")
	assert.Equal(t, 400, res.StatusCode)
}

func TestEventsMissed(t *testing.T) {
	f := newFixture(t, runtime.WithJournal(3))
	f.crash(t)
	got := decode[console.Events](t, do(console.Handler(f.tree), "GET", "/api/events?after=1", nil))
	assert.Len(t, got.Events, 3)
	assert.Equal(t, f.tree.LastEvent()-3-1, got.Missed)
}

// TestReadsRefuseBadQueries: a read's query is parsed as strictly as an
// order's: a misspelt parameter (?instance=5, which would list every
// instance of every pool), one given twice or a value of the wrong type is
// a 400 that names it, not an answer to another question.
func TestReadsRefuseBadQueries(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree)
	for _, c := range []struct{ url, want string }{
		{"/api/tree?instance=5", `unknown parameter "instance" (this path takes instances)`},
		{"/api/tree?instances=1&instances=2", `parameter "instances" given 2 times`},
		{"/api/tree?instances=", `instances: "" is not a number of instances`},
		{"/api/tree?instances=x", `instances: "x" is not a number of instances`},
		{"/api/tree?instances=1;x=2", "bad query"},
		{"/api/events?afer=3", `unknown parameter "afer" (this path takes after)`},
		{"/api/events?after=1&after=2", `parameter "after" given 2 times`},
		{"/api/events?after=", `after: "" is not an event number`},
		{"/api/events?after=%zz", "bad query"},
	} {
		res := do(h, "GET", c.url, nil)
		assert.Equal(t, 400, res.StatusCode, c.url)
		assert.Contains(t, decode[console.Error](t, res).Error, c.want, c.url)
	}
	res := do(h, "GET", "/api/events?after=x", nil, "Accept", "text/event-stream")
	assert.Equal(t, 400, res.StatusCode, "a stream too")
	for _, url := range []string{"/api/tree", "/api/tree?instances=3", "/api/events", "/api/events?after=2", "/?from=bookmark"} {
		assert.Equal(t, 200, do(h, "GET", url, nil).StatusCode, url)
	}
}
