//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestShop builds the example and runs it as the README tells a reader to,
// until Ctrl-C, and checks that its timeline shows what the README says a
// reader sees: the API waiting for the store and starting once it is
// ready, the one-shot setup ending its supervisor for good, the worker's
// missed heartbeat, the rest_for_one restart of the ingest pipeline, and a
// shutdown in reverse start order that exits 0.
func TestShop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	exe := filepath.Join(t.TempDir(), "shop")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout syncBuffer
	var stderr bytes.Buffer
	cmd := exec.Command(exe, "-for", "0")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})

	// The worker hangs within 4s and the upstream drops within 5s: wait
	// until both have restarted, then stop it as Ctrl-C does.
	want := []string{
		`shop/worker +started \(generation 2\)`,
		`shop/ingest/index +started \(generation 2\)`,
	}
	deadline := time.Now().Add(30 * time.Second)
	for !matchAll(stdout.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 30s", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Fatalf("after Ctrl-C: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15s after Ctrl-C; its shutdown budget is 10s")
	}

	out := stdout.String()
	inOrder(t, out,
		`^console: http://127\.0\.0\.1:\d+/ \(token \w+\)$`,
		`shop/api +waiting for store$`,
		`shop/store +ready$`,
		`shop/api +started \(generation 1\)$`,
	)
	inOrder(t, out,
		`shop/setup/migrate +exited: success$`,
		`shop/setup +exited: success$`,
		`^  shop/setup +done `,
	)
	inOrder(t, out,
		`shop/worker +exited: timeout \(arbor: heartbeat missed\)$`,
		`shop/worker +restarts in \d+ms$`,
		`shop/worker +started \(generation 2\)$`,
	)
	// rest_for_one: the stages after fetch stop, last first, and all three
	// start again in order.
	inOrder(t, out,
		`shop/ingest/fetch +exited: error \(upstream: connection reset\)$`,
		`shop/ingest/index +stopped$`,
		`shop/ingest/parse +stopped$`,
		`shop/ingest/fetch +started \(generation 2\)$`,
		`shop/ingest/parse +started \(generation 2\)$`,
		`shop/ingest/index +started \(generation 2\)$`,
	)
	// The shutdown: the reverse of the start order (setup is done already,
	// and the worker, which may be waiting out a backoff, is left out).
	inOrder(t, out,
		`shop +shutting down$`,
		`shop/monitor +stopped$`,
		`shop/ingest +stopped$`,
		`shop/api +stopped$`,
		`shop/store +stopped$`,
		`^final state:$`,
	)
}

// inOrder checks that out has a line matching each pattern, each after the
// line the previous one matched.
func inOrder(t *testing.T, out string, patterns ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			t.Errorf("no line matching %q after the previous ones in:\n%s", p, strings.Join(patterns, "\n"))
			return
		}
		i++
	}
}

func matchAll(out string, patterns []string) bool {
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			return false
		}
	}
	return true
}

// syncBuffer is a bytes.Buffer that the test reads while the process writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
