//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// fileLock is the held lock file.
type fileLock struct {
	f *os.File
}

// acquireLock takes the lock file beside path exclusively, waiting up to
// timeout for another process to release it, and records holder in it. A
// server holding it is not waited for. onWait, if set, is told once, after
// about a second, whom the wait is for.
func acquireLock(ctx context.Context, path string, holder Holder, timeout time.Duration, onWait func(Holder)) (*fileLock, error) {
	lp := LockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("open database %s: %s is a symbolic link, which Carebook does not follow beside a database; remove it", path, lp)
		}
		return nil, fmt.Errorf("open database %s: lock file: %w", path, err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		// waitLock owns f from here on failure.
		if err := waitLock(ctx, f, path, timeout, onWait); err != nil {
			return nil, err
		}
	} else if err != nil {
		f.Close()
		return nil, fmt.Errorf("open database %s: lock: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt(holder.marshal(), 0)
	}
	return &fileLock{f: f}, nil
}

// waitLock waits in the kernel's queue for the lock (not by polling, so
// that a process waiting longer is not overtaken by every newcomer's
// retry), for exactly timeout. On failure f is closed, now or, when the
// wait is abandoned, once the blocked flock returns.
func waitLock(ctx context.Context, f *os.File, path string, timeout time.Duration, onWait func(Holder)) error {
	holder := readHolder(f)
	if holder.Server {
		f.Close()
		return &ServerHoldsError{Path: path, Holder: holder}
	}
	var mu sync.Mutex
	abandoned := false
	got := make(chan error, 1)
	go func() {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			// Too late: let the next waiter in.
			if err == nil {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			}
			f.Close()
			return
		}
		got <- err
	}()
	abandon := func() {
		mu.Lock()
		abandoned = true
		mu.Unlock()
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tell := time.NewTimer(time.Second)
	defer tell.Stop()
	for {
		select {
		case err := <-got:
			if err != nil {
				f.Close()
				return fmt.Errorf("open database %s: lock: %w", path, err)
			}
			return nil
		case <-tell.C:
			if onWait != nil {
				onWait(readHolder(f))
			}
		case <-deadline.C:
			h := readHolder(f)
			abandon()
			select {
			case err := <-got: // got it at the last moment after all
				if err == nil {
					return nil
				}
				f.Close()
			default:
			}
			return &LockedError{Path: path, PID: h.PID, Holder: h}
		case <-ctx.Done():
			abandon()
			return fmt.Errorf("open database %s: %w", path, ctx.Err())
		}
	}
}

func readHolder(f *os.File) Holder {
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	return parseHolder(buf[:n])
}

// release lets the next process in. The file stays: removing it would let
// two processes lock two different files of the same name.
func (l *fileLock) release() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// ServedBy reports, without waiting, whether carebook serve holds the
// database at path: a *ServerHoldsError, or nil. restore asks it before
// the passphrase and the decryption, which a refusal would waste.
func ServedBy(path string) error {
	f, err := os.OpenFile(LockPath(path), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil // no lock file: nobody holds it
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return nil
	}
	if h := readHolder(f); errors.Is(err, syscall.EWOULDBLOCK) && h.Server {
		return &ServerHoldsError{Path: path, Holder: h}
	}
	return nil
}
