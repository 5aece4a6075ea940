// Package runtime is not Arbor's.
package runtime

// Attempt is an impostor.
type Attempt struct{}
