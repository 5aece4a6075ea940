package p

import "context"

// UndefinedParam names a type that does not exist.
func UndefinedParam(ctx context.Context, a *Attempt) error { return nil }

// UndefinedResult forgot to import its result's package.
func UndefinedResult(ctx context.Context) errs.Error { return nil }

// Server has a method whose context is not imported as such.
type Server struct{}

// Run takes a context from a package this file does not import.
func (*Server) Run(ctx ctx.Context) error { return nil }

// Pool takes an argument of a type that does not exist.
func Pool(ctx context.Context, conn Conn) error { return nil }
