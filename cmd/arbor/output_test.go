package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fullWriter fails every write, as stdout on a full disk (>/dev/full) or
// a closed stdout (>&-) does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}
}

// TestOutputWriteError: a command whose output is lost says so and fails,
// rather than exiting 0 as if a script had its schema or graph.
func TestOutputWriteError(t *testing.T) {
	dir := t.TempDir()
	spec := "package p\n\ntrees: t: children: a: run: \"A\"\n"
	if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	console := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := `{"seq":1,"time":"2026-01-01T00:00:00Z","text":"t/a started"}`
		switch {
		case strings.HasSuffix(r.URL.Path, "/api/tree"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"tree":"t","health":"ok","children":[{"path":"t/a","state":"running"}]}`)
		case r.Header.Get("Accept") == "text/event-stream":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "id: 1\ndata: %s\n\n", ev)
			w.(http.Flusher).Flush()
			// No end: a follower that cannot print must stop by itself.
			<-r.Context().Done()
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"events":[%s],"lastEvent":1}`, ev)
		}
	}))
	defer console.Close()
	ctl := func(args ...string) []string { return append([]string{"ctl", "-addr", console.URL}, args...) }
	for _, args := range [][]string{
		{"schema"}, {"graph", dir}, {"graph", "-format", "dot", dir},
		ctl("status"), ctl("status", "-json"), ctl("events"), ctl("events", "-json"), ctl("events", "-f"),
	} {
		var stderr bytes.Buffer
		code := run(args, fullWriter{}, &stderr)
		if code != exitCheck || !strings.Contains(stderr.String(), "no space left on device") {
			t.Errorf("arbor %s to a full stdout: exit %d, stderr %q; want exit %d and the write error", strings.Join(args, " "), code, stderr.String(), exitCheck)
		}
	}
}
