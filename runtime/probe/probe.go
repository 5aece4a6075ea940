// Package probe serves Kubernetes-style liveness and readiness probes for a
// supervision tree.
//
// Handler answers three paths, matched on their last element so that the
// handler can be mounted at the root of a mux or under a prefix:
//
//	/livez    200 while the tree is live (starting, ready, degraded or stopping),
//	          503 once Run has returned (failed or stopped)
//	/healthz  an alias of /livez
//	/readyz   200 while the tree is serving (ready, or degraded while it repairs
//	          itself), 503 while it is starting or stopping and after Run returned
//
// The body is one line of text: "ok", or "<state>: <reason>" when the check
// fails ("stopping" and "stopped" alone). With the query parameter verbose
// (any value, as in ?verbose) the body lists every child in the style of the
// Kubernetes API server, one line each, followed by a verdict. A pool's instances are summed up in one line, and
// only those that are not well are listed, at most MaxListed of them:
//
//	[+]shop/db ok
//	[-]shop/worker restarting after error: boom
//	[+]shop/conns ok
//	[-]shop/conns/* 1 of 5000 instances not ok
//	[-]shop/conns/c17 restarting after error: EOF
//	readyz check passed
//
// A live tree is one a process supervisor should leave alone: a failing
// liveness probe makes the kubelet restart the container, which is the right
// response only once the tree has given up. A degraded tree still serves:
// taking the pod out of the load balancer because one child is in its
// restart backoff would turn a local repair into an outage.
//
// A probe that passes, without verbose, answers from the tree's Ready,
// Stopping and Done channels alone, at no cost whatever the tree's size;
// a failing or verbose one reads the tree's health (runtime.Tree.Health),
// a walk of every child and pool instance, for the reasons.
//
// Responses are text/plain, never cached (Cache-Control: no-store), and only
// GET and HEAD are allowed.
package probe

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// MaxReason is the most of a reason that a line of an answer holds, in
// bytes: a longer one (an error's text can be as long as whatever a program
// wrapped into it) is cut there, at a character, and ends in "…".
const MaxReason = 1024

// MaxListed is how many of a pool's instances that are not well ?verbose
// lists, at most; it counts the others.
const MaxListed = 10

// Handler returns an http.Handler serving /livez, /healthz and /readyz for
// t, as described in the package documentation. Any other path is 404.
//
// A nil t is reported as failed by every probe. (A generated tree's Tree
// method never returns nil: arbor gen checks the spec before it runs.)
func Handler(t *runtime.Tree) http.Handler {
	return handler{tree: t}
}

type handler struct {
	tree *runtime.Tree
}

// check is one probe: which name it reports under and what it requires,
// of the tree's health or, without reading it, of the tree's Ready,
// Stopping and Done, which say the same.
type check struct {
	name  string
	pass  func(runtime.HealthState) bool
	quick func(t *runtime.Tree) bool
}

var (
	livez = check{"livez", runtime.HealthState.Live, func(t *runtime.Tree) bool {
		return !closed(t.Done()) // not failed or stopped
	}}
	readyz = check{"readyz", runtime.HealthState.Serving, func(t *runtime.Tree) bool {
		return closed(t.Ready()) && !closed(t.Stopping()) && !closed(t.Done()) // ready or degraded
	}}
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var c check
	switch path.Base(r.URL.Path) {
	case "livez", "healthz":
		c = livez
	case "readyz":
		c = readyz
	default:
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	// A probe that passes, without ?verbose, answers from the tree's
	// channels: the health is a walk of every child, a pool's 100k
	// instances too (0.1 s and 40 MB), which the kubelet would pay every
	// few seconds, with a timeout of one. The reason needs it.
	verbose := r.URL.Query().Has("verbose")
	ok := h.tree != nil && c.quick(h.tree)
	var health runtime.Health
	if verbose || !ok {
		health = h.health()
		ok = c.pass(health.State)
	}
	var b strings.Builder
	if verbose {
		children := health.Children
		for i := 0; i < len(children); i++ {
			ch := children[i]
			line(&b, ch)
			if ch.Pool {
				n := 0
				for i+1+n < len(children) && children[i+1+n].Instance {
					n++
				}
				instances(&b, ch.Path, children[i+1:i+1+n])
				i += n
			}
		}
		if ok {
			b.WriteString(c.name + " check passed\n")
		} else {
			b.WriteString(c.name + " check failed: " + health.State.String() + "\n")
		}
	} else if ok {
		b.WriteString("ok\n")
	} else {
		b.WriteString(summary(health) + "\n")
	}

	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
}

// line writes the line of one child.
func line(b *strings.Builder, ch runtime.ChildHealth) {
	if ch.OK {
		b.WriteString("[+]" + ch.Path + " ok\n")
	} else {
		b.WriteString("[-]" + ch.Path + " " + oneLine(ch.Reason) + "\n")
	}
}

// instances sums up the instances of the pool at path in one line, then
// lists those that are not well, the first MaxListed of them by path, and
// counts the others: a pool may have more instances than a probe's answer
// should have lines, or a probe's memory copies of them.
func instances(b *strings.Builder, path string, all []runtime.ChildHealth) {
	var first []runtime.ChildHealth // the first MaxListed not well, by path
	bad := 0
	for _, ch := range all {
		if ch.OK {
			continue
		}
		bad++
		i, _ := slices.BinarySearchFunc(first, ch.Path, func(x runtime.ChildHealth, p string) int { return strings.Compare(x.Path, p) })
		if i < MaxListed {
			first = slices.Insert(first, i, ch)
			first = first[:min(len(first), MaxListed)]
		}
	}
	switch {
	case len(all) == 0:
		fmt.Fprintf(b, "[+]%s/* no instances\n", path)
	case bad == 0:
		fmt.Fprintf(b, "[+]%s/* %d instances ok\n", path, len(all))
	default:
		fmt.Fprintf(b, "[-]%s/* %d of %d instances not ok\n", path, bad, len(all))
	}
	for _, ch := range first {
		line(b, ch)
	}
	if bad > MaxListed {
		fmt.Fprintf(b, "[-]%s/* %d more not listed\n", path, bad-MaxListed)
	}
}

func (h handler) health() runtime.Health {
	if h.tree == nil {
		return runtime.Health{State: runtime.HealthFailed, Reason: "no tree"}
	}
	return h.tree.Health()
}

// summary is "<state>" or "<state>: <reason>", on one line.
func summary(h runtime.Health) string {
	s := h.State.String()
	if h.Reason == "" || h.Reason == s {
		return s
	}
	return s + ": " + oneLine(h.Reason)
}

// oneLine joins the lines of s with "; ", so that a multi-line error (such
// as one made by errors.Join) stays on its line of the response, cuts it at
// MaxReason bytes, and escapes it.
func oneLine(s string) string {
	return text.Escape(lines(s))
}

// lines joins the lines of s with "; " and cuts it at MaxReason bytes.
func lines(s string) string {
	s = text.Cut(s, MaxReason)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var parts []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}
