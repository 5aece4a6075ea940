// Package benchmarks runs Arbor's runtime and suture v4 on the same work, in
// turns in one run of the program, and compares them: restarts per second
// with and without an observer (in the program's process), the time to
// start and to stop 100k children, and memory per idle child against a bare
// goroutine (each in a fresh process: a start reuses what the process's last
// stop left, so each library gets a process of its own).
//
// It is a module of its own so that the main module never depends on the
// libraries it is compared with. Run the comparison with
//
//	cd benchmarks && go run ./cmd/compare
//
// or single workloads with go test -bench. BENCHMARKS.md at the repository's
// root has the figures and how they were taken.
package benchmarks
