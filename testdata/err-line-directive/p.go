package p

import "context"

// A //line directive, as parser generators write them: messages point
// where it says.
//
//line grammar.y:10
func Parsed(ctx context.Context, n int) error { return nil }

// One that names no file keeps the file's name.
//
//line :40
func Unnamed(ctx context.Context, n int) error { return nil }
