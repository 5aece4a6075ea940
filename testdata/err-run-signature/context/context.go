// Package context is not the standard library's: a run function that takes
// its Context has the wrong signature.
package context

// Context is an impostor.
type Context interface{ Done() <-chan struct{} }
