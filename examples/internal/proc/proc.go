// Package proc runs an example program as its user would, for the
// examples' tests: built, started, read while it runs, and stopped by a
// signal.
package proc

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

// Build builds the package in the current directory and returns the
// program's path, in the test's temporary directory.
func Build(t testing.TB, name string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// Proc is a running program.
type Proc struct {
	cmd            *exec.Cmd
	stdout, stderr buffer
	done           chan error
}

// Start runs exe with args. The program is killed when the test ends,
// and its output logged if the test failed.
func Start(t testing.TB, exe string, args ...string) *Proc {
	t.Helper()
	p := &Proc{cmd: exec.Command(exe, args...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", p.Stdout(), p.stderr.String())
		}
	})
	return p
}

// Stdout returns what the program has written to its standard output.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Await waits up to d for a line of the program's output to match pattern,
// and returns the match and its submatches.
func (p *Proc) Await(t testing.TB, d time.Duration, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile("(?m)" + pattern)
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.Stdout()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %q within %v", pattern, d)
		}
	}
}

// Stop sends sig and checks that the program exits 0 within d.
func (p *Proc) Stop(t testing.TB, sig os.Signal, d time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("after %v: %v", sig, err)
		}
	case <-time.After(d):
		t.Fatalf("still running %v after %v", d, sig)
	}
}

// InOrder checks that out has a line matching each pattern, each after
// the line the previous one matched.
func InOrder(t testing.TB, out string, patterns ...string) {
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

// buffer is a bytes.Buffer that the test reads while the program writes.
type buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
