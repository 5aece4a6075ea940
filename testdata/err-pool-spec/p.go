package p

import (
	"context"
	"net"
)

// Serve serves one connection.
func Serve(ctx context.Context, conn net.Conn) error { return nil }
