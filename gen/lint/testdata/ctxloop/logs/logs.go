// Package logs is a logger of another package, as zap and logrus are:
// its Fatal ends the process.
package logs

import "os"

type Logger struct{}

func (Logger) Fatal(msg string, args ...any) { os.Exit(1) }
