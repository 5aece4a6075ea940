module github.com/arbor-go/arbor/benchmarks

go 1.26.0

require (
	github.com/arbor-go/arbor v0.0.0
	github.com/thejerf/suture/v4 v4.0.6
)

replace github.com/arbor-go/arbor => ../
