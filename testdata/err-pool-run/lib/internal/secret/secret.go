// Package secret is internal to lib.
package secret

// Key is exported, from a package only lib may import.
type Key string
