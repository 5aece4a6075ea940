// Package directive holds run functions with //arbor:nolint directives.
package directive

import (
	"context"
	"net"

	"github.com/arbor-go/arbor/runtime"
)

var tree = runtime.Spec{
	Name: "t",
	Children: []runtime.Child{
		{Name: "socket", Run: runtime.Func(Socket)},
		{Name: "two", Run: Two, Ready: &runtime.Ready{}, Heartbeat: &runtime.Heartbeat{}},
		{Name: "other", Run: runtime.Func(Other)},
		{Name: "helper", Run: runtime.Func(Helper)},
		{Name: "literal", Run: literal()},
		{Name: "unknown", Run: runtime.Func(Unknown)},
		{Name: "after-slashes", Run: runtime.Func(AfterSlashes)},
	},
}

var ln net.Listener

// Socket is stopped by main, which closes the listener.
//
//arbor:nolint ctxunused -- main closes ln
func Socket(ctx context.Context) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		c.Close()
	}
}

// Two silences two checks.
//
//arbor:nolint ready,beat
func Two(ctx context.Context, a *runtime.Attempt) error {
	<-ctx.Done()
	return nil
}

// Other silences another check than the one that finds something.
//
//arbor:nolint ready
func Other(ctx context.Context) error { // want `other: Other never uses its context`
	select {}
}

func Helper(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return spin()
}

// spin is silenced where the finding is.
//
//arbor:nolint ctxloop
func spin() error {
	for {
	}
}

// literal silences the function literal it returns.
//
//arbor:nolint ctxunused
func literal() runtime.RunFunc {
	return func(ctx context.Context, a *runtime.Attempt) error { select {} }
}

// AfterSlashes has a space after //: as written, a plain comment.
//
// arbor:nolint ctxunused // want `write //arbor:nolint, without a space after //: as written, this comment silences nothing`
func AfterSlashes(ctx context.Context) error { // want `after-slashes: AfterSlashes never uses its context`
	select {}
}

// Unknown names a check that does not exist.
//
//arbor:nolint ctxunsued // want `//arbor:nolint: unknown check "ctxunsued"; the checks are ctxunused, ctxloop, ready, beat, escape, donotrestart, sleep, detach, exit`
func Unknown(ctx context.Context) error { // want `unknown: Unknown never uses its context`
	select {}
}

// Bare silences nothing.
//
//arbor:nolint // want `//arbor:nolint needs the checks it silences, such as //arbor:nolint ctxunused`
func Bare() {}

// Glued is not a directive.
//
//arbor:nolintctxunused // want `malformed directive //arbor:nolintctxunused: write //arbor:nolint followed by a space and the checks it silences`
func Glued() {}

func body() {
	//arbor:nolint ctxunused // want `//arbor:nolint silences checks on a function: put it in the doc comment of the function's declaration`
}

// literals is a spec whose run function is a function literal: the
// directive goes on the var.
//
//arbor:nolint ctxunused -- stopped by main
var literals = runtime.Spec{Name: "l", Children: []runtime.Child{
	{Name: "inline", Run: func(ctx context.Context, a *runtime.Attempt) error { select {} }},
}}

var (
	// grouped is a spec in a group of vars.
	//
	//arbor:nolint ctxunused
	grouped = runtime.Spec{Name: "g", Children: []runtime.Child{
		{Name: "inline", Run: func(ctx context.Context, a *runtime.Attempt) error { select {} }},
	}}

	ungrouped = runtime.Spec{Name: "u", Children: []runtime.Child{
		{Name: "inline", Run: func(ctx context.Context, a *runtime.Attempt) error { select {} }}, // want `inline: the function literal never uses its context`
	}}
)

// Spaced separates its checks with a comma and a space.
//
//arbor:nolint ctxunused, ready // want `//arbor:nolint: empty check name in "ctxunused,": separate the checks with commas, without spaces`
func Spaced(ctx context.Context) error { return nil }
