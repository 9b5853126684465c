package server

import (
	"errors"
	"fmt"
	"net"
	"os/user"
	"strconv"
)

// Peer is who is on the other end of a connection, as the kernel says:
// never a header or an environment variable, which the client controls.
type Peer struct {
	UID int
	// User is the account's name, or "uid:N" when it has no entry.
	User string
}

// errNoPeer is a connection the kernel cannot vouch for.
var errNoPeer = errors.New("the kernel did not say who connected")

// peerOf asks the kernel who is on the other end of c.
func peerOf(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, errNoPeer
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var uid int
	var cerr error
	if err := raw.Control(func(fd uintptr) { uid, cerr = peerUID(int(fd)) }); err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	if cerr != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", cerr)
	}
	return Peer{UID: uid, User: accountName(uid)}, nil
}

// accountName is the name of uid's account, or "uid:N" when the account
// database has none.
func accountName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid:" + strconv.Itoa(uid)
}
