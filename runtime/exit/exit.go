// Package exit turns the result of a supervision tree's Run into the
// process's exit status, so that the process's own supervisor (systemd,
// the kubelet, a shell script) can tell what to do next:
//
//	code  constant  Run returned                           the process's supervisor should
//	0     OK        nil: cancelled, or a significant       leave it stopped
//	                child ended the tree
//	1     Failure   any other error, such as the root's    start it again: a fresh process
//	                give-up (runtime.ErrRestartLimit)      may do better
//	78    Config    an invalid spec                        not start it again: the same spec
//	                (runtime.ErrInvalidSpec)               fails the same way (systemd:
//	                                                       RestartPreventExitStatus=78)
//
// 78 is EX_CONFIG of BSD's sysexits.h, the usual status for "configuration
// error".
//
// The usual end of main is
//
//	exit.With(shop.Run(ctx))
//
// With returns when Run returned nil, so that main returns normally and its
// deferred functions run; otherwise it prints the reason on one line of
// standard error and exits at once.
package exit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// The exit codes that Code returns.
const (
	// OK is the status of a tree that stopped cleanly: Run returned nil.
	OK = 0
	// Failure is the status of a tree that failed at run time, for example
	// because its root exceeded its restart limit. The process's supervisor
	// should start it again.
	Failure = 1
	// Config (EX_CONFIG) is the status of a tree whose spec is invalid.
	// Restarting will not help: tell systemd with RestartPreventExitStatus=78.
	Config = 78
)

// For tests.
var (
	osExit           = os.Exit
	stderr io.Writer = os.Stderr
)

// Code returns the exit status for err, the result of a tree's Run: OK for
// nil, Config for an error that wraps runtime.ErrInvalidSpec, and Failure
// for any other, including one that wraps runtime.ErrRestartLimit.
func Code(err error) (code int) {
	switch err.(type) {
	case nil:
		return OK
	case *runtime.GiveUpError, *runtime.ChildError:
		return Failure // without searching the children's errors
	}
	defer func() {
		if recover() != nil {
			code = Failure // an Is or Unwrap method of the user's panicked
		}
	}()
	if errors.Is(err, runtime.ErrInvalidSpec) {
		return Config
	}
	return Failure
}

// MaxReason is the most of an error's message that Reason keeps, in
// bytes: a longer one is cut there, at a character, and ends in
// "… (N bytes)", its whole length.
const MaxReason = 4 << 10

// Reason returns err's message on one line: its lines, trimmed and without
// the empty ones, joined with "; " (errors.Join and invalid specs make
// multi-line messages), with control characters, bidirectional overrides
// and bytes that are not UTF-8 escaped as Go escapes them (a child's error
// can hold any bytes, and stderr is often a terminal), and cut at
// MaxReason. It returns "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	return text.Clip(text.Escape(oneLine(errorText(err))), MaxReason)
}

// oneLine joins the lines of msg, trimmed and without the empty ones, with
// "; ".
func oneLine(msg string) string {
	if !strings.ContainsAny(msg, "\r\n") {
		if msg = strings.TrimSpace(msg); msg == "" {
			return "unknown error"
		}
		return msg
	}
	var parts []string
	for line := range strings.Lines(strings.ReplaceAll(msg, "\r", "\n")) {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	if len(parts) == 0 {
		return "unknown error"
	}
	return strings.Join(parts, "; ")
}

// With ends the process for a non-nil err: it prints "<program>: <reason>"
// (see Reason) on standard error and calls os.Exit with Code(err), so
// deferred functions do not run. For nil it returns, so that
// exit.With(tree.Run(ctx)) at the end of main lets main return normally,
// running its deferred functions, with status 0.
func With(err error) {
	if err == nil {
		return
	}
	fmt.Fprintf(stderr, "%s: %s\n", program(), Reason(err))
	osExit(Code(err))
}

// program is the name the process was started as, without its directory.
func program() string {
	if len(os.Args) == 0 || os.Args[0] == "" {
		return "program"
	}
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
}

// errorText is err.Error(), or the error's type when that panics.
func errorText(err error) (msg string) {
	defer func() {
		if recover() != nil {
			msg = fmt.Sprintf("%T (its Error method panicked)", err)
		}
	}()
	return err.Error()
}
