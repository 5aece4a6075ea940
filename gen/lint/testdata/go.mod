module lintdata

go 1.26.0

require (
	github.com/arbor-go/arbor v0.0.0
	golang.org/x/sync v0.24.0
)

replace github.com/arbor-go/arbor => ../../..
