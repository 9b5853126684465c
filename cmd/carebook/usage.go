package main

import "strings"

// isCobraUsageError recognises cobra's own argument errors, which it returns
// as plain errors: unknown commands and wrong argument counts are usage
// mistakes and exit 2.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}
