//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd

package cmdutil

import "os"

// flushTerminalInput does nothing where the terminal cannot be flushed.
func flushTerminalInput(f *os.File) {}
