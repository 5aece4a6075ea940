package fuzz

// Names under which this file imports packages: the generated file must not
// declare them at top level (the seed's tree wide has the spec functions
// wideSpec and wideChildren1 to 3; Go refuses to redeclare an import name).
import (
	wideChildren2 "fmt"
	wideSpec "strings"
)

var (
	_ = wideSpec.ToUpper
	_ = wideChildren2.Sprint
)
