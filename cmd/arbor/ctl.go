package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/arbor-go/arbor/runtime/console"
)

const ctlHelp = `Ctl talks to the console of a running program (package runtime/console).

Commands:

	status [-json]    the tree: health, and each child's state, generation,
	                  attempt, restarts, time in state, last exit and error;
	                  -json prints the JSON of the console's /api/tree
	events [-f] [-json]   the events the program's journal holds; -f then
	                  follows new ones until the tree stops (or Ctrl-C),
	                  and resumes where it was if the stream breaks
	restart PATH      restart the child at PATH, such as shop/db
	stop PATH         stop the child at PATH; restart starts it again

The address comes from -addr or ARBOR_ADDR, such as 127.0.0.1:8090 or
http://host:8090/arbor/ (where the program mounts its console), and the
token that restart and stop need from -token or ARBOR_TOKEN. Errors from
the program (unknown path, no token, refused) are printed on one line.
Exit codes: 0 ok, 1 errors from the program or the network, 2 usage errors.

Examples:

	export ARBOR_ADDR=127.0.0.1:8090 ARBOR_TOKEN=...
	arbor ctl status
	arbor ctl events -f
	arbor ctl restart shop/worker
`

// ctlFlags are the flags every ctl command takes, before or after its name.
// Their defaults come from the environment only once the flags are parsed,
// so that -h never prints the token.
func ctlFlags(flags *flag.FlagSet, c *cli) {
	flags.StringVar(&c.addr, "addr", "", "the console's address (default $ARBOR_ADDR)")
	flags.StringVar(&c.token, "token", "", "the console's token, for restart and stop (default $ARBOR_TOKEN)")
}

func (c *cli) ctl(flags *flag.FlagSet) int {
	args := flags.Args()
	if len(args) == 0 {
		fmt.Fprint(c.stderr, "arbor ctl: which command? status, events, restart or stop\n\nusage: arbor ctl "+ctlArgs+"\n")
		return exitUsage
	}
	name := args[0]
	sub := flag.NewFlagSet("arbor ctl "+name, flag.ContinueOnError)
	sub.SetOutput(c.stderr)
	var addr, token string
	sub.StringVar(&addr, "addr", "", "the console's address (default $ARBOR_ADDR)")
	sub.StringVar(&token, "token", "", "the console's token, for restart and stop (default $ARBOR_TOKEN)")
	var asJSON, follow bool
	nargs, usage := 0, ""
	switch name {
	case "status":
		sub.BoolVar(&asJSON, "json", false, "print the console's JSON")
		usage = "[-json]"
	case "events":
		sub.BoolVar(&follow, "f", false, "follow new events until the tree stops")
		sub.BoolVar(&asJSON, "json", false, "print each event as a line of JSON")
		usage = "[-f] [-json]"
	case "restart", "stop":
		nargs, usage = 1, "PATH"
	default:
		fmt.Fprintf(c.stderr, "arbor ctl: unknown command %q (want status, events, restart or stop)\n", name)
		return exitUsage
	}
	sub.Usage = func() {} // printed below, to stdout for -h
	if err := sub.Parse(args[1:]); err != nil {
		w := c.stderr
		if errors.Is(err, flag.ErrHelp) {
			w = c.stdout
		}
		sub.SetOutput(w)
		fmt.Fprintf(w, "usage: arbor ctl %s %s\n\nFlags:\n", name, usage)
		sub.PrintDefaults()
		if w == c.stdout {
			return exitOK
		}
		return exitUsage
	}
	if sub.NArg() != nargs || nargs == 1 && strings.TrimSpace(sub.Arg(0)) == "" {
		switch {
		case nargs == 0:
			fmt.Fprintf(c.stderr, "arbor ctl %s: takes no arguments\n", name)
		case sub.NArg() > nargs:
			// The flag package stops at the first argument: a flag after
			// PATH is an argument.
			fmt.Fprintf(c.stderr, "arbor ctl %s: want one PATH, got %d arguments: flags such as -token go before PATH\n", name, sub.NArg())
		default:
			fmt.Fprintf(c.stderr, "arbor ctl %s: which child? usage: arbor ctl %s PATH, such as shop/db\n", name, name)
		}
		return exitUsage
	}
	c.addr = cmp.Or(addr, c.addr, os.Getenv("ARBOR_ADDR"))
	// Without its surrounding white space, which no header can carry and
	// a token read from a file ends with; the console takes it so too.
	c.token = strings.TrimSpace(cmp.Or(token, c.token, os.Getenv("ARBOR_TOKEN")))
	if nargs > 0 && strings.ContainsFunc(c.token, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		fmt.Fprintf(c.stderr, "arbor ctl: the token holds a control character, which no HTTP header can carry\n")
		return exitUsage
	}
	base, err := consoleURL(c.addr)
	if err != nil {
		fmt.Fprintf(c.stderr, "arbor ctl: %v\n", err)
		return exitUsage
	}
	cl := &ctlClient{base: base, token: c.token, stdout: c.stdout, stderr: c.stderr}
	switch name {
	case "status":
		err = cl.status(asJSON)
	case "events":
		err = cl.events(follow, asJSON)
	default:
		err = cl.order(name, sub.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "arbor ctl: %s\n", printable(err.Error()))
		return exitCheck
	}
	return exitOK
}

const ctlArgs = "[-addr URL] [-token T] status [-json] | events [-f] [-json] | restart PATH | stop PATH"

// consoleURL turns -addr into the console's base URL, ending in a slash.
// hidePassword replaces the password of a user:password@ in addr, which
// may not parse as a URL.
func hidePassword(addr string) string {
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		return addr
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok || strings.Contains(userinfo, "/") {
		return addr
	}
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return addr
}

func consoleURL(addr string) (*url.URL, error) {
	addr = strings.TrimSpace(addr) // as read from a file
	if addr == "" {
		return nil, errors.New("no address: pass -addr (such as 127.0.0.1:8090) or set ARBOR_ADDR")
	}
	bare := !strings.Contains(addr, "://")
	if bare {
		addr = "http://" + addr
	}
	given := hidePassword(addr) // as the user gave it, but the password
	if bare {
		given = strings.TrimPrefix(given, "http://")
	}
	u, err := url.Parse(addr)
	if err != nil {
		// url.Parse's error repeats the address, password included.
		return nil, fmt.Errorf("bad address %q: not a URL", given)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bad address %q: want host:port or an http:// or https:// URL", given)
	}
	// Usage errors, not a network's: a mistyped port, or a port alone.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("bad address %q: the port must be 1 to 65535", given)
		}
	} else if strings.Trim(u.Hostname(), "0123456789") == "" {
		return nil, fmt.Errorf("bad address %q: a port needs its host, such as 127.0.0.1:%s", given, u.Hostname())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

type ctlClient struct {
	base           *url.URL
	token          string
	stdout, stderr io.Writer
	timeout        time.Duration // of each request but a stream; 0: requestTimeout
	run            string        // the console.RunHeader of the last answer
}

// httpClient is ctl's client: it follows no redirect. A console never
// sends one, and following it would hand the token (which Go's client
// keeps for another port of the same host, or for http:// after https://)
// and the operator's order to whatever the answer names.
var httpClient = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
	return &redirectError{to: req.URL.Redacted()}
}}

// redirectError is the answer of a console address that redirects.
type redirectError struct{ to string }

func (e *redirectError) Error() string {
	return "it redirects to " + e.to + ", which ctl does not follow: pass the console's own address with -addr"
}

// requestTimeout bounds each request but the event stream. A variable for
// the tests, which read 64 MB under the race detector on a busy machine.
var requestTimeout = 10 * time.Second

func (cl *ctlClient) limit() time.Duration {
	if cl.timeout > 0 {
		return cl.timeout
	}
	return requestTimeout
}

// get fetches path below the console's URL, with query, and returns the
// body of a 200.
func (cl *ctlClient) get(path string, query url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cl.limit())
	defer cancel()
	u := cl.base.JoinPath(path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, err
	}
	return cl.do(req, http.StatusOK)
}

// do sends req and returns the body of a response with status want; any
// other is an error of one line.
func (cl *ctlClient) do(req *http.Request, want int) ([]byte, error) {
	res, err := httpClient.Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("the console at %s did not answer within %v", cl.base.Redacted(), cl.limit())
	}
	if err != nil {
		return nil, reachError(cl.base, err)
	}
	defer res.Body.Close()
	cl.run = res.Header.Get(console.RunHeader)
	if res.ContentLength > maxAnswer {
		return nil, tooLarge(res)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("the console at %s did not finish its answer within %v", cl.base.Redacted(), cl.limit())
	}
	if err != nil {
		return nil, fmt.Errorf("reading from %s: %v", cl.base.Redacted(), err)
	}
	if res.StatusCode != want {
		return nil, serverError(res, body)
	}
	if len(body) > maxAnswer {
		return nil, tooLarge(res)
	}
	return body, nil
}

func tooLarge(res *http.Response) error {
	return fmt.Errorf("the answer of %s is larger than %d MB, more than ctl reads", res.Request.URL.Redacted(), maxAnswer>>20)
}

// maxAnswer bounds what ctl reads of an answer: that of a tree of a
// hundred thousand pool instances, for status -json, is about 30 MB.
const maxAnswer = 64 << 20

// serverError is the console's error message, or the status when the
// answer is not the console's.
func serverError(res *http.Response, body []byte) error {
	var e console.Error
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return &statusError{res.StatusCode, fmt.Sprintf("%s (%s)", oneLine(e.Error), res.Status)}
	}
	return &statusError{res.StatusCode, fmt.Sprintf("%s from %s: is it an arbor console?", res.Status, res.Request.URL.Redacted())}
}

// statusError is an answer with a status other than the one wanted.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// reachError is the error of a request to the console at base that had
// no answer.
func reachError(base *url.URL, err error) error {
	var redirect *redirectError
	if errors.As(err, &redirect) {
		return fmt.Errorf("the console at %s: %v", base.Redacted(), redirect)
	}
	return fmt.Errorf("cannot reach the console at %s: %v", base.Redacted(), rootCause(err))
}

func rootCause(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// printable escapes what a terminal would act on rather than show: control
// characters (an error's text may carry escape sequences from anywhere),
// bidirectional overrides and bytes that are not UTF-8. The operator reads
// the text; the program does not get to drive the terminal.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r != '\n' && !safeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || safeRune(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// printableJSON is printable for valid JSON: what a terminal would act on
// can only be in its strings (C1 controls, DEL, bidirectional overrides,
// bytes that are not UTF-8; C0 controls are escaped by JSON itself), and
// becomes a \u escape there, so that the output is the same JSON.
func printableJSON(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r < 0x7f || safeRune(r) {
			if out != nil {
				out = append(out, b[i:i+n]...)
			}
		} else {
			if out == nil {
				out = append([]byte(nil), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += n
	}
	if out == nil {
		return b
	}
	return out
}

func safeRune(r rune) bool {
	return r != utf8.RuneError && !unicode.IsControl(r) && !unicode.Is(unicode.Bidi_Control, r)
}

// isTree checks that body, JSON, is a console's tree, which always has
// these fields: other JSON (`{}`, null, another program's) would read as a
// tree without children.
func (cl *ctlClient) isTree(body []byte) error {
	var seen struct {
		Tree, Health *string
		Children     *[]struct{}
	}
	json.Unmarshal(body, &seen)
	if seen.Tree == nil || *seen.Tree == "" || seen.Health == nil || *seen.Health == "" || seen.Children == nil {
		return cl.notConsole("api/tree", "a tree")
	}
	return nil
}

// notConsole is the error of an answer at path that is JSON but not a
// console's, which would have been want.
func (cl *ctlClient) notConsole(path, want string) error {
	return fmt.Errorf("%s answered JSON that is not %s: is it an arbor console?", cl.base.JoinPath(path).Redacted(), want)
}

// maxInstances is how many of each pool's instances the status table
// lists; a line says how many more live.
const maxInstances = 20

func (cl *ctlClient) status(asJSON bool) error {
	var query url.Values
	if !asJSON {
		query = url.Values{"instances": {strconv.Itoa(maxInstances)}}
	}
	body, err := cl.get("api/tree", query)
	if err != nil {
		return err
	}
	if asJSON {
		if !json.Valid(body) {
			return errors.New("the console's answer is not JSON")
		}
		if err := cl.isTree(body); err != nil {
			return err
		}
		_, err := cl.stdout.Write(printableJSON(body))
		return err
	}
	var t console.Tree
	if err := json.Unmarshal(body, &t); err != nil {
		return fmt.Errorf("the console's answer is not a tree: %v", err)
	}
	if err := cl.isTree(body); err != nil {
		return err
	}
	head := t.Tree + ": " + t.Health
	if t.Reason != "" && t.Reason != t.Health { // stopped: stopped
		head += ": " + oneLine(t.Reason)
	}
	var out, table bytes.Buffer
	fmt.Fprintln(&out, printable(head))
	w := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PATH\tSTATE\tREADY\tGEN\tATTEMPT\tRESTARTS\tFOR\tLAST EXIT\tERROR")
	// After a pool's listed instances, how many more live: in the STATE
	// column, which the pool's own "(pool: N live)" makes wide enough,
	// with every cell of the row ended, so that the rows after it keep
	// the table's columns (tabwriter ends a column at a row without it).
	var pool string
	more := 0
	unlisted := func() {
		if more > 0 {
			fmt.Fprintf(w, "%s/…\t(%d more instances)\t\t\t\t\t\t\t\n", printable(oneLine(pool)), more)
		}
		more = 0
	}
	for _, ch := range t.Children {
		if ch.Kind != "instance" {
			unlisted()
		}
		if ch.Pool != nil {
			pool, more = ch.Path, ch.Pool.Live-ch.Pool.Listed
		}
		var notes []string
		switch {
		case ch.Pool != nil:
			notes = append(notes, fmt.Sprintf("pool: %d live", ch.Pool.Live))
		case ch.Kind == "supervisor":
			notes = append(notes, "supervisor")
		}
		if ch.Token != 0 {
			notes = append(notes, fmt.Sprintf("lease: token %d", ch.Token)) // held here
		}
		state := ch.State
		if notes != nil {
			state += " (" + strings.Join(notes, ", ") + ")"
		}
		ready := "no"
		if ch.Ready {
			ready = "yes"
		}
		since := t.Time.Sub(ch.Since).Round(time.Second)
		errText := ch.LastError
		if ch.LeaseError != "" {
			// Why a singleton stands by: with the store unreachable, no
			// replica may run it, and the tree is ready all the same.
			errText = "lease: " + ch.LeaseError
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", printable(oneLine(ch.Path)), printable(oneLine(state)), ready,
			ch.Generation, ch.Attempt, ch.Restarts, since, printable(oneLine(ch.LastExit)), printable(oneLine(errText)))
	}
	unlisted()
	w.Flush()
	for line := range strings.Lines(table.String()) {
		fmt.Fprintln(&out, strings.TrimRight(line, " \n"))
	}
	_, err = cl.stdout.Write(out.Bytes())
	return err
}

func (cl *ctlClient) events(follow, asJSON bool) error {
	if follow {
		return cl.follow(asJSON)
	}
	// Page by page, up to the latest event when the first page was made:
	// a busy tree does not keep the command running.
	var after, end uint64
	var run string
	for first := true; ; first = false {
		body, err := cl.get("api/events", url.Values{"after": {strconv.FormatUint(after, 10)}})
		if err != nil {
			return err
		}
		if first {
			run = cl.run
		} else if cl.run != run {
			// Its new run numbers its events from 1 again: this page is
			// not the rest of the journal listed so far.
			return errors.New("the program was restarted while ctl read its events: its new run numbers them from 1 again; run the command again for the new run's")
		}
		var evs console.Events
		if err := json.Unmarshal(body, &evs); err != nil {
			return fmt.Errorf("the console's answer is not a list of events: %v", err)
		}
		var seen struct {
			Events    *[]struct{}
			LastEvent *uint64
		}
		json.Unmarshal(body, &seen)
		if seen.Events == nil || seen.LastEvent == nil {
			return cl.notConsole("api/events", "a list of events")
		}
		if first {
			end = evs.Latest
		}
		if evs.Missed > 0 {
			fmt.Fprintf(cl.stderr, "arbor ctl: %d earlier events are no longer in the journal\n", evs.Missed)
		}
		for _, e := range evs.Events {
			if err := cl.print(e, asJSON); err != nil {
				return err
			}
		}
		// Also the end with a console that would send the same page
		// again, or one older than pages (no more field).
		if !evs.More || evs.LastEvent <= after || evs.LastEvent >= end {
			return nil
		}
		after = evs.LastEvent
	}
}

// print prints an event. Its error (a full disk, a closed stdout) ends the
// command: events -f would otherwise follow for nobody.
func (cl *ctlClient) print(e console.Event, asJSON bool) error {
	if asJSON {
		b, _ := json.Marshal(e)
		_, err := fmt.Fprintf(cl.stdout, "%s\n", printableJSON(b))
		return err
	}
	_, err := fmt.Fprintf(cl.stdout, "%s %6d %s\n", e.Time.Local().Format("15:04:05.000"), e.Seq, printable(oneLine(e.Text)))
	return err
}

// follow prints the stream until the tree stops or Ctrl-C. A stream that
// breaks once it was up is resumed where it broke, as EventSource does
// (Last-Event-ID), until the console answers again: a program restarted in
// the meantime numbers its events from 1 again, and says so.
func (cl *ctlClient) follow(asJSON bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	f := &follower{cl: cl, asJSON: asJSON, retry: 2 * time.Second, silence: maxSilence}
	return f.run(ctx)
}

// maxSilence is how long a stream may send nothing before it is taken as
// broken: three of the console's keep-alives (every 15 s). A connection cut
// without a word (a peer that went away, a NAT that forgot it) reads as
// silence, not as an end.
const maxSilence = 45 * time.Second

// minPause is the shortest pause of the output that ctl names when the
// stream breaks after it: a console drops a client that has not taken a
// write for 30 s.
const minPause = 10 * time.Second

// The bounds of the console's retry: field: a console (or whatever answers
// in its place) does not put events -f to sleep for days, nor make it
// hammer the console.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = time.Minute
)

// maxLine is the longest line of a stream that follow reads: a console's
// events are a few KB (console.MaxText bounds their texts).
const maxLine = 16 << 20

// errSilent is why a stream was given up.
var errSilent = errors.New("silent")

// errRestarted is a stream from a restarted program that resumed after
// the last event printed: follow asks again, from its first event.
var errRestarted = errors.New("restarted")

// run follows the stream until the tree stops or ctx is done.
func (f *follower) run(ctx context.Context) error {
	cl := f.cl
	broken := false
	for {
		err := f.stream(ctx)
		if err != errRestarted {
			f.again = false // a re-ask that failed: the next stream is a reconnection
		}
		var b *brokenStream
		switch {
		case ctx.Err() != nil:
			return nil // Ctrl-C
		case err == errRestarted:
			continue
		case err == nil:
			return nil // the tree stopped
		case !errors.As(err, &b):
			return err
		case !f.connected:
			return b.err // never reached: the address is wrong, or nothing listens
		case b.up || !broken: // once per outage
			broken = true
			fmt.Fprintf(cl.stderr, "arbor ctl: %v; reconnecting every %v\n", b.err, f.retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.retry):
		}
	}
}

// follower is the state of arbor ctl events -f across reconnections.
type follower struct {
	cl        *ctlClient
	asJSON    bool
	retry     time.Duration // the console's retry: field, 2s until it says
	connected bool          // a stream has been up
	last      uint64        // the last event printed
	runID     string        // the console's console.RunHeader, once a stream was up
	again     bool          // the next stream asks a restarted program from its first event
	silence   time.Duration // maxSilence, but in tests
	paused    time.Duration // the longest pause of the output during this stream
	pauseNote time.Duration // minPause, but in tests
}

// brokenStream is a stream that could not be had or broke: follow tries
// again. up says it was up for a while.
type brokenStream struct {
	err error
	up  bool
}

func (b *brokenStream) Error() string { return b.err.Error() }

// stream reads one connection's stream; it returns nil at the end of the
// tree's run.
func (f *follower) stream(ctx context.Context) error {
	cl := f.cl
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silent := time.AfterFunc(f.silence, func() { cancel(errSilent) })
	defer silent.Stop()
	req, err := http.NewRequestWithContext(ctx, "GET", cl.base.JoinPath("api/events").String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if f.last > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(f.last, 10))
	}
	res, err := httpClient.Do(req)
	var redirect *redirectError
	switch {
	case errors.As(err, &redirect):
		return reachError(cl.base, err) // not worth another try
	case context.Cause(ctx) == errSilent:
		return &brokenStream{err: fmt.Errorf("the console at %s took the connection but was silent for %v", cl.base.Redacted(), f.silence)}
	case err != nil:
		return &brokenStream{err: reachError(cl.base, err)}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		err := serverError(res, body)
		if f.connected && res.StatusCode >= 500 {
			return &brokenStream{err: err} // a proxy whose program is away
		}
		return err
	}
	// Another run's events are numbered from 1 again: after f.last, this
	// answer would skip as many of them, and resumes after none.
	restarted := false
	if run := res.Header.Get(console.RunHeader); run != f.runID {
		restarted = f.runID != "" && run != "" && f.last > 0
		f.runID = run
	}
	if f.connected && !f.again {
		resume := ""
		if f.last > 0 && !restarted {
			resume = fmt.Sprintf(", resuming after event %d", f.last)
		}
		fmt.Fprintf(cl.stderr, "arbor ctl: reconnected to %s%s\n", cl.base.Redacted(), resume)
	}
	f.connected, f.again, f.paused = true, false, 0
	if restarted {
		restartedNote(cl.stderr, f.last)
		f.last, f.again = 0, true
		return errRestarted
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, maxLine)
	var kind string
	var data []byte
	for sc.Scan() {
		silent.Reset(f.silence)
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			// What follows is ctl's output, which a paused terminal or a
			// slow reader holds up: no silence of the console's.
			silent.Stop()
			began := time.Now()
			done, err := f.message(kind, data)
			f.paused = max(f.paused, time.Since(began))
			if done || err != nil {
				return err
			}
			silent.Reset(f.silence)
			kind, data = "", nil
		case bytes.HasPrefix(line, []byte("event:")):
			kind = strings.TrimSpace(string(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimPrefix(line[len("data:"):], []byte(" "))...)
		case bytes.HasPrefix(line, []byte("retry:")):
			if ms, err := strconv.ParseUint(strings.TrimSpace(string(line[len("retry:"):])), 10, 32); err == nil && ms > 0 {
				f.retry = min(max(time.Duration(ms)*time.Millisecond, minRetry), maxRetry)
			}
		}
	}
	if context.Cause(ctx) == errSilent {
		return &brokenStream{err: fmt.Errorf("the event stream from %s was silent for %v", cl.base.Redacted(), f.silence), up: true}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		// Not a console's: following it again would read the same.
		return fmt.Errorf("the event stream from %s has a line longer than %d MB: is it an arbor console?", cl.base.Redacted(), maxLine>>20)
	}
	// A console drops a client that does not read: say so when the
	// output was paused long enough for that.
	paused := ""
	if f.paused >= cmp.Or(f.pauseNote, minPause) {
		paused = fmt.Sprintf(", after ctl's output was paused for %v (a console drops a client that has not read for 30s)", f.paused.Round(time.Millisecond))
	}
	if err := sc.Err(); err != nil {
		return &brokenStream{err: fmt.Errorf("the event stream from %s broke%s: %v", cl.base.Redacted(), paused, rootCause(err)), up: true}
	}
	return &brokenStream{err: fmt.Errorf("the event stream from %s ended before the tree stopped%s", cl.base.Redacted(), paused), up: true}
}

// restartedNote says that the program was restarted, and that the events
// of its previous run after last, which ctl did not get, are lost with it.
func restartedNote(w io.Writer, last uint64) {
	fmt.Fprintf(w, "arbor ctl: the program was restarted: its events are numbered from 1 again (the previous run's after event %d, if any, are lost)\n", last)
}

// message handles one message of the stream; done is true at its end.
func (f *follower) message(kind string, data []byte) (done bool, err error) {
	cl := f.cl
	switch kind {
	case "":
		if len(data) == 0 {
			return false, nil // the retry line
		}
		var e console.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return false, fmt.Errorf("bad event from %s: %v: is it an arbor console?", cl.base.Redacted(), err)
		}
		if e.Seq == 0 { // a console numbers its events from 1
			return false, fmt.Errorf("bad event from %s: it has no seq: is it an arbor console?", cl.base.Redacted())
		}
		if e.Seq <= f.last { // a console that does not name its run
			restartedNote(cl.stderr, f.last)
		}
		f.last = e.Seq
		if err := cl.print(e, f.asJSON); err != nil {
			return false, err
		}
	case "gap":
		var g console.Gap
		json.Unmarshal(data, &g)
		fmt.Fprintf(cl.stderr, "arbor ctl: %d events lost: no longer in the journal (those after event %d)\n", g.Missed, f.last)
	case "end":
		return true, nil
	}
	return false, nil
}

func (cl *ctlClient) order(name, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cl.limit())
	defer cancel()
	u := cl.base.JoinPath("api", name)
	u.RawQuery = url.Values{"path": {path}}.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", u.String(), nil)
	if err != nil {
		return err
	}
	if cl.token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.token)
	}
	body, err := cl.do(req, http.StatusAccepted)
	if err == nil {
		var res console.OrderResult
		if json.Unmarshal(body, &res) != nil || res.Path != path || res.Order != name {
			err = cl.notConsole("api/"+name, "the order it took")
		}
	}
	var refused *statusError
	if errors.As(err, &refused) {
		// A console names the order and the child in what it refuses
		// (409, 500): this error names them already.
		refused.msg = strings.TrimPrefix(refused.msg, name+" "+path+": ")
	}
	if errors.As(err, &refused) && refused.code == http.StatusUnauthorized && cl.token == "" {
		return fmt.Errorf("%s %s: %v; no token was given: pass -token or set ARBOR_TOKEN", name, path, err)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %v", name, path, err)
	}
	return nil
}
