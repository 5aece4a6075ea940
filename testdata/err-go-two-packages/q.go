// Package q is in the wrong directory.
package q
