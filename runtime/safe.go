package runtime

import (
	"fmt"
	"reflect"
)

// User code hands the runtime error and panic values whose methods may
// panic, never return from a chain that loops, or be typed nils. The
// runtime's own goroutines touch them only through these functions, so
// that a bug in a child stays a failure of that child.

// errText returns err.Error(), or a description of err when its Error
// method panics.
func errText(err error) (s string) {
	if err == nil {
		return "<nil>"
	}
	defer func() {
		if recover() != nil {
			s = describe(err, "Error")
		}
	}()
	return err.Error()
}

// ErrorText returns err.Error(), or a description of err when its Error
// method panics: the way for adapters to show the errors of user code that
// the runtime reports (in events and snapshots) without trusting them.
func ErrorText(err error) string { return errText(err) }

// valueText formats a panic value as fmt's %v does, or describes it when
// its Error or String method panics.
func valueText(v any) (s string) {
	defer func() {
		if recover() != nil {
			s = describe(v, "Error or String")
		}
	}()
	return fmt.Sprint(v)
}

// describe names v's type without calling any of its methods.
func describe(v any, method string) string {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return fmt.Sprintf("<nil %s>", rv.Type())
	}
	return fmt.Sprintf("<%s: its %s method panicked>", reflect.TypeOf(v), method)
}

// maxErrorChain bounds the errors errIs visits, against Unwrap chains that
// loop or explode.
const maxErrorChain = 100

// errIs is errors.Is for user errors: a panicking Is or Unwrap method, or a
// chain longer than maxErrorChain, ends the search with false.
func errIs(err, target error) (found bool) {
	defer func() {
		if recover() != nil {
			found = false
		}
	}()
	budget := maxErrorChain
	return is(err, target, &budget)
}

func is(err, target error, budget *int) bool {
	for err != nil {
		if *budget--; *budget < 0 {
			return false
		}
		if err == target { // targets are the runtime's and context's sentinels: comparable
			return true
		}
		if x, ok := err.(interface{ Is(error) bool }); ok && x.Is(target) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if is(e, target, budget) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
