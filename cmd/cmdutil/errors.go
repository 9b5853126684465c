package cmdutil

import (
	"errors"
	"fmt"

	"github.com/carebook/carebook/backend"
)

// Exit codes: scripts rely on these.
const (
	ExitOK        = 0
	ExitError     = 1
	ExitUsage     = 2
	ExitCancelled = 130 // the shell convention for Ctrl-C
)

// FlagError is a usage mistake: a bad flag, a missing argument. It exits 2.
type FlagError struct {
	Err error
	// Command is the command it is about ("carebook show"), so that the
	// hint names that command's help; Execute fills it in.
	Command string
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// BadFlag is the one wording for a flag value that is not allowed, on
// every command: `invalid value "fax" for --channel: use one of call, …`.
// use says what to give instead. The value is cut short: whatever was
// pasted into the wrong flag is not repeated whole.
func BadFlag(flag, value, use string) error {
	return FlagErrorf("invalid value %q for --%s: use %s", Clip(value, 30), flag, use)
}

// ErrSilent means the command already told the user what went wrong and
// only the exit code is left to set.
var ErrSilent = errors.New("silent error")

// ErrCancelled means the user stopped the command (Ctrl-C): nothing was
// written. It is the backend's, so that both sides of a socket agree.
var ErrCancelled = backend.ErrCancelled

// ErrDeclined means the user answered no: nothing was done.
var ErrDeclined = backend.ErrDeclined

// ErrNeedsConfirmation is returned by a write run without a terminal to
// confirm on and without --yes.
var ErrNeedsConfirmation = backend.ErrNeedsConfirmation
