package console_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/arbor-go/arbor/runtime/console"
)

func TestScratchHostile(t *testing.T) {
	f := newFixture(t)
	h := console.Handler(f.tree, console.WithToken(token))
	auth := []string{"Authorization", "Bearer " + token}
	type req struct {
		m, u string
		body string
		hdr  []string
	}
	reqs := []req{
		{"GET", "/api/tree?instances=-1", "", nil},
		{"GET", "/api/tree?instances=1e9", "", nil},
		{"GET", "/api/tree?instances=99999999999999999999", "", nil},
		{"GET", "/api/tree?instances=0", "", nil},
		{"GET", "/api/events?after=-1", "", nil},
		{"GET", "/api/events?after=18446744073709551615", "", nil},
		{"GET", "/api/events", "", []string{"Last-Event-ID", "abc"}},
		{"GET", "/api/events", "", []string{"Last-Event-ID", "99999999999999999999999"}},
		{"GET", "/api/", "", nil},
		{"GET", "/api", "", nil},
		{"GET", "//api//tree", "", nil},
		{"GET", "/x/api/tree/", "", nil},
		{"DELETE", "/api/tree", "", nil},
		{"OPTIONS", "/api/stop", "", nil},
		{"POST", "/api/stop", "", auth},
		{"POST", "/api/stop?path=", "", auth},
		{"POST", "/api/stop?path=shop", "", auth},
		{"POST", "/api/restart?path=shop", "", auth},
		{"POST", "/api/stop?path=shop/", "", auth},
		{"POST", "/api/stop?path=shop//db", "", auth},
		{"POST", "/api/stop?path=/shop/db", "", auth},
		{"POST", "/api/stop?path=shop/conns/", "", auth},
		{"POST", "/api/stop?path=shop/conns/i1", "", auth},
		{"POST", "/api/stop?path=shop/db%00", "", auth},
		{"POST", "/api/stop?path=" + strings.Repeat("a/", 10000), "", auth},
		{"POST", "/api/stop", `{"path":"shop/db"}`, append([]string{"Content-Type", "application/json"}, auth...)},
		{"POST", "/api/stop", `{"path":"shop/db"} {}`, append([]string{"Content-Type", "application/json"}, auth...)},
		{"POST", "/api/stop", `{"path":null}`, append([]string{"Content-Type", "application/json"}, auth...)},
		{"POST", "/api/stop", `[]`, append([]string{"Content-Type", "application/json"}, auth...)},
		{"POST", "/api/stop", `{"path":1}`, append([]string{"Content-Type", "application/json"}, auth...)},
		{"POST", "/api/stop", `{"Path":"shop/db"}`, append([]string{"Content-Type", "application/json"}, auth...)},
		{"POST", "/api/stop", `{"path":"shop/db"}`, append([]string{"Content-Type", "application/json; charset=utf-8"}, auth...)},
		{"POST", "/api/stop?path=shop/db", ``, []string{"Authorization", "bearer " + token}},
		{"POST", "/api/stop?path=shop/db", ``, []string{"Authorization", "Bearer " + token + " "}},
		{"POST", "/api/stop?path=shop/db", ``, []string{"Authorization", "Bearer"}},
		{"POST", "/api/stop?path=shop/db", ``, []string{"Authorization", "Basic " + token}},
		{"POST", "/api/stop?path=shop/db&token=" + token, ``, auth},
		{"POST", "/api/stop?path=shop/db", ``, append([]string{"Origin", "http://evil"}, auth...)},
		{"POST", "/api/stop?path=shop/db", ``, append([]string{"Sec-Fetch-Site", "cross-site"}, auth...)},
		{"POST", "/api/restart?path=shop/db&path=shop/api", ``, auth},
		{"GET", "/api/events", "", []string{"Accept", "text/event-stream;q=0"}},
	}
	for _, r := range reqs {
		var body io.Reader
		if r.body != "" {
			body = strings.NewReader(r.body)
		}
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("%s %s: panic %v", r.m, r.u[:min(len(r.u), 60)], v)
				}
			}()
			res := do(h, r.m, r.u, body, r.hdr...)
			b, _ := io.ReadAll(res.Body)
			fmt.Printf("%s %.60s %v -> %d %.200s\n", r.m, r.u, r.hdr, res.StatusCode, strings.TrimSpace(string(b)))
		}()
	}
}
