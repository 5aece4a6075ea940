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
	"syscall"
	"testing"
	"time"
)

// TestQuickstart builds the example and runs it until it is stopped, by
// Ctrl-C or by SIGTERM (what Kubernetes and systemctl stop send), and checks
// the timeline the README shows: the API waiting for the store, the
// worker's failure (a panic or an error) and its restart after a backoff, and a clean shutdown in
// reverse start order that exits 0.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	exe := filepath.Join(t.TempDir(), "quickstart")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
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

			// The worker crashes within 2s; stop the tree once it restarted.
			restarted := regexp.MustCompile(`quickstart/worker starting gen=2 `)
			deadline := time.Now().Add(30 * time.Second)
			for !restarted.MatchString(stdout.String()) {
				if time.Now().After(deadline) {
					t.Fatal("the worker did not restart within 30s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				done <- err // for the cleanup
				if err != nil {
					t.Fatalf("after %v: %v", sig, err)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("still running 15s after %v; its shutdown budget is 10s", sig)
			}

			inOrder(t, stdout.String(),
				`quickstart/store starting gen=1 attempt=1$`,
				`quickstart/api waiting for=store$`,
				`quickstart/store ready gen=1 attempt=1$`,
				`quickstart/api starting gen=1 attempt=1$`,
				`quickstart/worker exited gen=1 attempt=1 exit=(panic|error) err="`,
				`quickstart/worker restart scheduled gen=1 attempt=1 delay=\d+ms$`,
				`quickstart/worker starting gen=2 attempt=2 restarts=1$`,
				`quickstart shutting down$`,
				`quickstart/worker stopped gen=2 attempt=2 exit=cancelled$`,
				`quickstart/api stopped gen=1 attempt=1 exit=cancelled$`,
				`quickstart/store stopped gen=1 attempt=1 exit=cancelled$`,
				`^quickstart/worker +stopped +restarts=1 last=cancelled$`,
			)
		})
	}
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
