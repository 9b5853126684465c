package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/carebook/carebook/tools"
)

// ExitCode prints err as one message on stderr and returns the exit code a
// script sees: 0 ok, 1 error, 2 usage, 130 cancelled.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var flagErr *FlagError
	var partial *PartlyDoneError
	switch {
	case errors.As(err, &partial):
		fmt.Fprintln(stderr, partial.Error())
		return ExitCancelled
	case errors.Is(err, ErrSilent):
		return ExitError
	case errors.Is(err, ErrDeclined):
		// "n" at a confirmation is an answer, not an interruption: 130
		// stays for Ctrl-C.
		fmt.Fprintln(stderr, "Not confirmed; nothing was done.")
		return ExitError
	case errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "cancelled; nothing was written")
		return ExitCancelled
	case errors.As(err, &flagErr) || isCobraUsageError(err):
		fmt.Fprintln(stderr, err)
		command := "carebook"
		if flagErr != nil && flagErr.Command != "" {
			command = flagErr.Command
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", command)
		return ExitUsage
	}
	fmt.Fprintln(stderr, plainMessage(err))
	return ExitError
}

// plainMessage is err without the field path a validation error carries
// for the model ("appointments.provider: …"): the person gave a flag, and
// the path is not a name they know.
func plainMessage(err error) string {
	var val *tools.ValidationError
	if !errors.As(err, &val) || val.Field == "" {
		return err.Error()
	}
	return strings.Replace(err.Error(), val.Error(), val.Msg, 1)
}

// isCobraUsageError recognises cobra's own argument errors, which it returns
// as plain errors: unknown commands and wrong argument counts are usage
// mistakes and exit 2.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// PartlyDoneError is an interruption after some work was done, as in a
// batch stopped by Ctrl-C: "nothing was written" would not be true.
type PartlyDoneError struct{ Msg string }

func (e *PartlyDoneError) Error() string { return e.Msg }

// GCPercent is the garbage collector's target for the carebook process. A
// command lives for a moment and DuckDB's memory is not Go's, so collecting
// less often is free; listing thousands of patients got a third faster.
const GCPercent = 400
