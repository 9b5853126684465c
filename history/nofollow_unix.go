//go:build unix

package history

import "syscall"

// noFollow makes opening a link fail instead of following it.
const noFollow = syscall.O_NOFOLLOW
