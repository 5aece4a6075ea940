package benchmarks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
)

// The requests a re-executed process answers, each "subject:n".
const (
	memEnv   = "ARBOR_COMPARE_MEMORY"    // MeasureIdle
	startEnv = "ARBOR_COMPARE_STARTSTOP" // startStops
)

// MeasureIfAsked is the child side of MeasureIdleFresh and StartStopFresh:
// when this process was started to take a measurement, it takes it, prints
// it and exits. Call it first in main, or in TestMain.
func MeasureIfAsked() {
	for _, env := range []string{memEnv, startEnv} {
		arg := os.Getenv(env)
		if arg == "" {
			continue
		}
		subject, count, _ := strings.Cut(arg, ":")
		n, err := strconv.Atoi(count)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var v any
		if env == memEnv {
			v, err = MeasureIdle(subject, n)
		} else {
			v, err = startStops(subject, n)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out, _ := json.Marshal(v)
		fmt.Printf("%s=%s\n", env, out)
		os.Exit(0)
	}
}

// MeasureIdleFresh runs MeasureIdle(subject, n) in a fresh process: this
// program, started again, whose main or TestMain calls MeasureIfAsked.
func MeasureIdleFresh(subject string, n int) (Memory, error) {
	var m Memory
	err := fresh(memEnv, subject, n, &m)
	return m, err
}

// StartStopFresh starts and stops n idle children of subject (Arbor or
// Suture) twice in a fresh process, and returns the second cycle's figures.
// The first makes the goroutine descriptors and heap pages the second
// reuses. A process of its own keeps the other library out: in a process
// where suture had started and stopped 100k services, Arbor's starts were
// slower for good (BENCHMARKS.md, "Start and stop in a process of their
// own").
func StartStopFresh(subject string, n int) (StartStop, error) {
	var r [2]StartStop
	err := fresh(startEnv, subject, n, &r)
	return r[1], err
}

func startStops(subject string, n int) ([2]StartStop, error) {
	f := ArborStartStop
	switch subject {
	case Arbor:
	case Suture:
		f = SutureStartStop
	default:
		return [2]StartStop{}, fmt.Errorf("unknown subject %q", subject)
	}
	var r [2]StartStop
	for i := range r {
		goruntime.GC()
		var err error
		if r[i], err = f(n); err != nil {
			return r, err
		}
	}
	return r, nil
}

// fresh runs this program again to measure subject with n children, and
// decodes what it prints into v.
func fresh(env, subject string, n int, v any) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d", env, subject, n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("measuring %s: %v\n%s", subject, err, out)
	}
	for line := range strings.Lines(string(out)) {
		if js, ok := strings.CutPrefix(line, env+"="); ok {
			if err := json.Unmarshal([]byte(js), v); err != nil {
				return fmt.Errorf("measuring %s: %v\n%s", subject, err, out)
			}
			return nil
		}
	}
	return fmt.Errorf("measuring %s: no measurement in the output:\n%s", subject, out)
}
