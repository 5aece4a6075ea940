package runtime

// GeneratedCodeVersion is the version of the code that arbor gen writes for
// this runtime. It changes when generated code needs something of the
// runtime that an earlier runtime lacks, or stops working with it.
const GeneratedCodeVersion = 1

// GeneratedCodeV1_RunArborGen is the version guard of generated code, as in
// protoc-gen-go: every arbor_gen.go refers to the constant of the version it
// was written for,
//
//	const _ = runtime.GeneratedCodeV1_RunArborGen
//
// and this runtime declares the constants of the versions it runs. A file
// written by another version of arbor therefore fails to build with
// "undefined: runtime.GeneratedCodeVN_RunArborGen", which says what to do:
// run "go tool arbor gen", so that the arbor of your go.mod, which comes
// with this runtime, writes the file again (or upgrade
// github.com/arbor-go/arbor if the file is newer than the runtime).
const GeneratedCodeV1_RunArborGen = GeneratedCodeVersion
