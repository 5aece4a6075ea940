// Package lib exports names that the generated code would declare.
package lib

// NewT is a constructor of its own.
func NewT() {}

// T is a type of its own.
type T int

// Helper is what the dot-import is for.
var Helper = 1
