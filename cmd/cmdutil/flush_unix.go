//go:build linux

package cmdutil

import (
	"os"

	"golang.org/x/sys/unix"
)

// flushTerminalInput discards input the terminal received but nobody read.
func flushTerminalInput(f *os.File) {
	_ = unix.IoctlSetInt(int(f.Fd()), unix.TCFLSH, unix.TCIFLUSH)
}
