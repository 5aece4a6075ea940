package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// ttl is the scheduler's lease TTL in singleton.cue.
const ttl = 3 * time.Second

// TestEtcdStopped runs etcd as a process of its own (./cmd/etcd) with
// three replicas, and stops it the two ways an operator or a crash does:
// frozen (SIGSTOP), then killed (SIGKILL) and started again. Each time, the
// holder stops its scheduler within the TTL, no replica runs it while etcd
// is away, and once etcd is back exactly one replica does, under a larger
// token.
func TestEtcdStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("half a minute of etcd going away and coming back; without -short it runs")
	}
	dir := t.TempDir()
	bin, etcdBin := filepath.Join(dir, "singleton"), filepath.Join(dir, "etcd")
	for out, pkg := range map[string]string{bin: ".", etcdBin: "./cmd/etcd"} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	addr, peer, data := freeAddr(t), freeAddr(t), filepath.Join(dir, "data")
	startServer := func() *process {
		p := startProcess(t, "etcd", etcdBin, "-addr", addr, "-peer", peer, "-dir", data)
		p.wait(t, `etcd serving`)
		return p
	}
	server := startServer()
	reps := []*process{startReplica(t, bin, addr, "a")}
	token := reps[0].token(t, `scheduler: holding the lease".* token=(\d+)`)
	for _, name := range []string{"b", "c"} {
		r := startReplica(t, bin, addr, name)
		r.wait(t, `arbor: standby" replica=`+name)
		reps = append(reps, r)
	}
	holder := reps[0]

	for _, sig := range []syscall.Signal{syscall.SIGSTOP, syscall.SIGKILL} {
		holder.wait(t, `scheduler: tick \d+ from .* err=<nil>`)
		offsets := make([]int, len(reps))
		for i, r := range reps {
			offsets[i] = len(r.text())
		}
		down := time.Now()
		server.signal(t, sig)
		holder.waitFrom(t, offsets[holder.idx(reps)], `scheduler: stopping".* cause="arbor: lease lost"`)
		if d := time.Since(down); d > ttl {
			t.Errorf("%v: the holder %s stopped its scheduler %v after etcd went away, later than the TTL", sig, holder.name, d)
		}
		time.Sleep(ttl)
		if sig == syscall.SIGSTOP {
			server.signal(t, syscall.SIGCONT)
		} else {
			server.cmd.Wait()
			server = startServer()
		}
		back := time.Now()
		var seen time.Time
		holder, token, seen = exactlyOne(t, reps, offsets, token)
		t.Logf("%v: %s runs the scheduler %v after etcd came back, token %d", sig, holder.name, seen.Sub(back), token)
	}
}

// exactlyOne waits until a replica holds the lease again (after offsets),
// checks for a while that no other does, and that its token is larger
// than last. It returns when the holder was first seen.
func exactlyOne(t *testing.T, reps []*process, offsets []int, last uint64) (*process, uint64, time.Time) {
	t.Helper()
	holding := regexp.MustCompile(`scheduler: holding the lease".* token=(\d+)`)
	holders := func() (out []*process, tokens []uint64) {
		for i, r := range reps {
			if m := holding.FindStringSubmatch(r.text()[offsets[i]:]); m != nil {
				n, _ := strconv.ParseUint(m[1], 10, 64)
				out, tokens = append(out, r), append(tokens, n)
			}
		}
		return out, tokens
	}
	var seen time.Time
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if h, _ := holders(); len(h) > 0 {
			seen = time.Now()
			break
		}
	}
	time.Sleep(ttl)
	h, tokens := holders()
	if len(h) != 1 {
		t.Fatalf("%d replicas took the lease after etcd came back, not one", len(h))
	}
	if tokens[0] <= last {
		t.Errorf("%s's token %d is not larger than %d", h[0].name, tokens[0], last)
	}
	return h[0], tokens[0], seen
}

func (p *process) idx(reps []*process) int {
	for i, r := range reps {
		if r == p {
			return i
		}
	}
	return -1
}
