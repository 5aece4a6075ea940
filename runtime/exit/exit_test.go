package exit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/exit"
)

// helperEnv makes the test binary act as a program that ends with
// exit.With, for the error named by its value.
const helperEnv = "ARBOR_EXIT_HELPER"

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(helperEnv); ok {
		helper(mode)
		return // as main does: exit status 0
	}
	goleak.VerifyTestMain(m)
}

// helper is the main function of the subprocess.
func helper(mode string) {
	defer fmt.Println("deferred")
	switch mode {
	case "nil":
		exit.With(nil)
	case "spec":
		exit.With(invalidSpec())
	case "giveup":
		exit.With(giveUp())
	}
	fmt.Println("returned")
}

var errBoom = errors.New("boom")

// invalidSpec is what runtime.New says of a spec with two problems.
func invalidSpec() error {
	_, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{
		{Name: "Bad"},
		{Name: "worker"},
	}})
	return err
}

// giveUp runs a tree whose only child always fails until its root gives up.
func giveUp() error {
	tr, err := runtime.New(runtime.Spec{Name: "shop",
		Backoff:      &runtime.Backoff{},
		RestartLimit: &runtime.RestartLimit{Max: 1, Window: time.Hour},
		Children: []runtime.Child{{Name: "bad", Run: runtime.Func(func(context.Context) error {
			return fmt.Errorf("connect:\n%w", errBoom) // a multi-line message
		})}},
	})
	if err != nil {
		panic(err)
	}
	return tr.Run(context.Background())
}

func TestCode(t *testing.T) {
	spec := invalidSpec()
	require.Error(t, spec)
	gave := giveUp()
	require.ErrorIs(t, gave, runtime.ErrRestartLimit)

	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exit.OK},
		{"plain", errBoom, exit.Failure},
		{"invalid spec", spec, exit.Config},
		{"wrapped invalid spec", fmt.Errorf("load: %w", spec), exit.Config},
		{"one spec error", &runtime.SpecError{Path: "shop", Msg: "bad"}, exit.Config},
		{"give-up", gave, exit.Failure},
		{"restart limit", fmt.Errorf("shop: %w", runtime.ErrRestartLimit), exit.Failure},
		{"cancelled", context.Canceled, exit.Failure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, exit.Code(tc.err))
		})
	}
	assert.Equal(t, 0, exit.OK)
	assert.Equal(t, 1, exit.Failure)
	assert.Equal(t, 78, exit.Config)
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errBoom, "boom"},
		{errors.Join(errors.New("a"), errors.New("b")), "a; b"},
		{errors.New("first\r\n\n  second  \nthird\n"), "first; second; third"},
		{errors.New("old\rmac"), "old; mac"},
		{errors.New(""), "unknown error"},
		{errors.New("\n\n"), "unknown error"},
	} {
		assert.Equal(t, tc.want, exit.Reason(tc.err), "%q", tc.err)
	}
	reason := exit.Reason(giveUp())
	assert.NotContains(t, reason, "\n")
	assert.Contains(t, reason, "connect:; boom")
}

// TestReasonBytes: the reason is one line that a terminal shows as it is
// and a log keeps whole: control characters and bytes that are not UTF-8
// are escaped (an error's text can hold any, and stderr is often a
// terminal), and a reason longer than exit.MaxReason is cut, with its
// length: a megabyte line would also make Kubernetes' termination message
// (the last 2 KB of the log) the end of the innermost error instead of the
// tree's give-up.
func TestReasonBytes(t *testing.T) {
	assert.Equal(t, `boom \x1b[2K\x00\xff\u202e!`, exit.Reason(errors.New("boom \x1b[2K\x00\xff\u202e!")))
	long := exit.Reason(fmt.Errorf("shop gave up: %w", errors.New(strings.Repeat("é", 1<<20))))
	assert.LessOrEqual(t, len(long), exit.MaxReason+len("… (2097166 bytes)"))
	assert.True(t, strings.HasPrefix(long, "shop gave up: éé"), "%.40s", long)
	assert.True(t, strings.HasSuffix(long, "… (2097166 bytes)"), "%.40s", long[len(long)-40:])
	assert.True(t, utf8.ValidString(long))
}

// hostile is an error whose every method panics.
type hostile struct{}

func (hostile) Error() string { panic("Error") }
func (hostile) Is(error) bool { panic("Is") }

// TestHostileErrors: a child's error that panics in Is or Error, wrapped in
// the give-up error that Run returns, does not crash the exit path.
func TestHostileErrors(t *testing.T) {
	tr, err := runtime.New(runtime.Spec{Name: "shop",
		Backoff:      &runtime.Backoff{},
		RestartLimit: &runtime.RestartLimit{Max: 0, Window: time.Hour},
		Children: []runtime.Child{{Name: "bad", Run: runtime.Func(func(context.Context) error {
			return hostile{}
		})}},
	})
	require.NoError(t, err)
	gave := tr.Run(context.Background())
	assert.Equal(t, exit.Failure, exit.Code(gave))
	assert.Contains(t, exit.Reason(gave), "shop/bad")
	assert.Equal(t, exit.Failure, exit.Code(fmt.Errorf("main: %w", gave)))
	assert.Equal(t, exit.Failure, exit.Code(hostile{}))
	assert.Contains(t, exit.Reason(hostile{}), "exit_test.hostile")
}

func TestWithInProcess(t *testing.T) {
	var out bytes.Buffer
	var codes []int
	defer exit.Redirect(&out, func(code int) { codes = append(codes, code) })()

	exit.With(nil)
	assert.Empty(t, out.String())
	assert.Empty(t, codes)

	exit.With(errors.Join(errors.New("a"), errors.New("b")))
	assert.Equal(t, filepath.Base(os.Args[0])+": a; b\n", out.String())
	assert.Equal(t, []int{exit.Failure}, codes)
}

// TestWithSubprocess runs the test binary as a program that ends with
// exit.With and checks its real exit status and output.
func TestWithSubprocess(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	prog := filepath.Base(exe)
	for _, tc := range []struct {
		mode   string
		code   int
		stdout string
		stderr string
	}{
		{"nil", exit.OK, "returned\ndeferred\n", ""},
		{"spec", exit.Config, "", prog + ": " + exit.Reason(invalidSpec()) + "\n"},
		{"giveup", exit.Failure, "", prog + ": " + exit.Reason(giveUp()) + "\n"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+tc.mode,
				"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0") // under -race, do not linger a second at exit
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.code == 0 {
				require.NoError(t, err, stderr.String())
			} else {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, tc.code, ee.ExitCode())
			}
			assert.Equal(t, tc.stdout, stdout.String(), "deferred functions run only when With returns")
			assert.Equal(t, tc.stderr, stderr.String())
		})
	}
}
