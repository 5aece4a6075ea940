package p

import (
	"context"
	"net"
)

// Handler serves connections.
type Handler struct{}

// Serve serves one connection.
func (*Handler) Serve(ctx context.Context, conn net.Conn) error { return nil }

// Job runs one job.
func Job(ctx context.Context, n int) error { return nil }

// TJobs is the name of the generated type of the pool t/jobs.
type TJobs struct{}

// Start is a method of the generated type of the pool t/conns.
func (*TConns) Start() {}

// handler is the name of the field that keeps the receiver of t/conns.
func (*T) handler() {}

// pool is the field of a pool's generated type.
func (*TTenantsShards) pool() {}

// handler is kept by the nested supervisor too.
func (TTenants) handler() {}
