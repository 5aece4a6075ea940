package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// TestReplicas runs the example as the README says, as processes against
// one etcd server (embedded in the test): one replica runs the scheduler
// and the other stands by; a stopped holder hands over at once; a paused
// holder loses the lease to the other within the TTL, and when it resumes,
// it stops, and the ledger refuses what it still writes.
func TestReplicas(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "singleton")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := startEtcd(t)

	a := startReplica(t, bin, addr, "a")
	tokA := a.token(t, `scheduler: holding the lease".* token=(\d+)`)
	a.wait(t, `scheduler: tick 1 from a".* err=<nil>`)
	console := freeAddr(t)
	b := startProcess(t, "b", bin, "-etcd", addr, "-name", "b", "-tick", "200ms", "-console", console)
	b.wait(t, `arbor: standby" replica=b`)
	time.Sleep(time.Second)
	if b.has(`holding the lease`) {
		t.Fatal("b runs the scheduler while a holds the lease")
	}
	if st := scheduler(t, console); st.State != "standby" || st.Lease != "app/scheduler" || st.Token != 0 {
		t.Errorf("b's console shows the scheduler as %+v, not standing by for app/scheduler", st)
	}

	stopped := time.Now()
	a.signal(t, syscall.SIGTERM)
	a.wait(t, `arbor: lease released" replica=a`)
	tokB := b.token(t, `scheduler: holding the lease".* token=(\d+)`)
	if d := time.Since(stopped); d > 2*time.Second {
		t.Errorf("b took over %v after a was told to stop", d)
	}
	if tokB <= tokA {
		t.Errorf("b's token %d is not larger than a's %d", tokB, tokA)
	}
	if st := scheduler(t, console); st.State != "running" || st.Token != tokB {
		t.Errorf("b's console shows the scheduler as %+v, not running under token %d", st, tokB)
	}
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("a: %v", err)
	}

	// b freezes, as a process paused by the kernel or the collector would;
	// c takes the lease once b's has expired.
	c := startReplica(t, bin, addr, "c")
	c.wait(t, `arbor: standby" replica=c`)
	b.wait(t, `scheduler: tick 1 from b".* err=<nil>`)
	b.signal(t, syscall.SIGSTOP)
	tokC := c.token(t, `scheduler: holding the lease".* token=(\d+)`)
	c.wait(t, `scheduler: tick 1 from c".* err=<nil>`)
	resumed := len(b.text())
	b.signal(t, syscall.SIGCONT)
	b.wait(t, `arbor: lease lost" replica=b`)
	b.wait(t, `scheduler: stopping".* cause="arbor: lease lost"`)
	after := b.text()[resumed:]
	if regexp.MustCompile(`scheduler: tick \d+ from b".* err=<nil>`).MatchString(after) {
		t.Errorf("the ledger accepted a write of b after it resumed:\n%s", after)
	}
	if tokC <= tokB {
		t.Errorf("c's token %d is not larger than b's %d", tokC, tokB)
	}
	t.Logf("b after it resumed:\n%s", after)
}

// scheduler returns the scheduler's state, lease and token as the
// console at addr shows them.
func scheduler(t *testing.T, addr string) (st struct {
	State, Lease string
	Token        uint64
}) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/tree")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tree struct {
		Children []struct {
			Path, State, Lease string
			Token              uint64
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&tree); err != nil {
		t.Fatal(err)
	}
	for _, c := range tree.Children {
		if c.Path == "app/scheduler" {
			st.State, st.Lease, st.Token = c.State, c.Lease, c.Token
			return st
		}
	}
	t.Fatal("no app/scheduler in the console's tree")
	return st
}

// freeAddr returns an address of 127.0.0.1 that nothing listens on.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startEtcd(t *testing.T) string {
	client, peer := freeAddr(t), freeAddr(t)
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cu, pu := url.URL{Scheme: "http", Host: client}, url.URL{Scheme: "http", Host: peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		t.Fatal("etcd did not start")
	}
	return client
}

// process is a replica running as a process, with its output.
type process struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
}

func startReplica(t *testing.T, bin, etcdAddr, name string) *process {
	return startProcess(t, name, bin, "-etcd", etcdAddr, "-name", name, "-tick", "200ms")
}

// startProcess runs bin with args until the test ends, keeping its output.
func startProcess(t *testing.T, name, bin string, args ...string) *process {
	p := &process{name: name, cmd: exec.Command(bin, args...)}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGCONT)
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", name, p.text())
		}
	})
	return p
}

func (p *process) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *process) has(re string) bool { return regexp.MustCompile(re).MatchString(p.text()) }

// wait waits for a line of p's output that matches re.
func (p *process) wait(t *testing.T, re string) []string {
	t.Helper()
	return p.waitFrom(t, 0, re)
}

// waitFrom waits for a line of p's output from offset on that matches re.
func (p *process) waitFrom(t *testing.T, offset int, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := r.FindStringSubmatch(p.text()[offset:]); m != nil {
			return m
		}
	}
	t.Fatalf("%s never printed %s; it printed:\n%s", p.name, re, p.text())
	return nil
}

func (p *process) token(t *testing.T, re string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(p.wait(t, re)[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (p *process) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}
