//go:build darwin || freebsd

package server

import "golang.org/x/sys/unix"

// peerUID is LOCAL_PEERCRED (getpeereid): the uid of the process that
// connected.
func peerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, err
	}
	return int(cred.Uid), nil
}
