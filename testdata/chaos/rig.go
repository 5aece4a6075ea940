// Package chaos is the tree of TestGenChaos (cmd/arbor), generated from
// spec.cue: the test drives every run function through a Rig.
package chaos

//go:generate go tool arbor gen

import (
	"context"

	"github.com/arbor-go/arbor/runtime"
)

// Rig is the receiver of every run method. Act decides what an attempt
// does: it gets the attempt (nil for the methods without one), the child's
// name and the instance's argument (nil for a worker).
type Rig struct {
	Act func(ctx context.Context, a *runtime.Attempt, child string, arg any) error
}

// Conn is the argument of an instance of soak/conns.
type Conn struct{ ID uint64 }

// Job is the argument of an instance of soak/jobs.
type Job struct {
	ID   uint64
	Tags []string
}

// Tenant is the argument of an instance of soak/ingest/shards/tenants.
type Tenant uint64

func (r *Rig) Store(ctx context.Context, a *runtime.Attempt) error {
	return r.Act(ctx, a, "store", nil)
}
func (r *Rig) API(ctx context.Context, a *runtime.Attempt) error { return r.Act(ctx, a, "api", nil) }
func (r *Rig) Migrate(ctx context.Context, a *runtime.Attempt) error {
	return r.Act(ctx, a, "migrate", nil)
}
func (r *Rig) Warm(ctx context.Context, a *runtime.Attempt) error { return r.Act(ctx, a, "warm", nil) }
func (r *Rig) Fetch(ctx context.Context, a *runtime.Attempt) error {
	return r.Act(ctx, a, "fetch", nil)
}
func (r *Rig) Parse(ctx context.Context, a *runtime.Attempt) error {
	return r.Act(ctx, a, "parse", nil)
}
func (r *Rig) Leader(ctx context.Context, a *runtime.Attempt) error {
	return r.Act(ctx, a, "leader", nil)
}
func (r *Rig) A(ctx context.Context, a *runtime.Attempt) error    { return r.Act(ctx, a, "a", nil) }
func (r *Rig) B(ctx context.Context) error                        { return r.Act(ctx, nil, "b", nil) }
func (r *Rig) X(ctx context.Context, a *runtime.Attempt) error    { return r.Act(ctx, a, "x", nil) }
func (r *Rig) Once(ctx context.Context, a *runtime.Attempt) error { return r.Act(ctx, a, "once", nil) }

func (r *Rig) Conn(ctx context.Context, a *runtime.Attempt, c *Conn) error {
	return r.Act(ctx, a, "conns", c)
}

func (r *Rig) Job(ctx context.Context, j Job) error { return r.Act(ctx, nil, "jobs", j) }

func (r *Rig) Tenant(ctx context.Context, a *runtime.Attempt, t Tenant) error {
	return r.Act(ctx, a, "tenants", t)
}

func (r *Rig) Cell(ctx context.Context, a *runtime.Attempt, id uint64) error {
	return r.Act(ctx, a, "cells", id)
}
