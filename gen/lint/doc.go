// Package lint checks the Go functions that Arbor runs as workers.
package lint
