// Package lib is one of two packages named lib.
package lib

import "context"

// Server runs until cancelled.
type Server struct{}

// Run runs until cancelled.
func (*Server) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Work runs until cancelled.
func Work(ctx context.Context) error { <-ctx.Done(); return nil }
