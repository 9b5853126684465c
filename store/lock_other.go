//go:build !unix

package store

import (
	"context"
	"time"
)

// fileLock is a no-op where flock does not exist: DuckDB's own lock is all
// there is, and forget's rewrite has its gap.
type fileLock struct{}

func acquireLock(ctx context.Context, path string, holder Holder, timeout time.Duration, onWait func(Holder)) (*fileLock, error) {
	return &fileLock{}, nil
}

func (l *fileLock) release() {}

// ServedBy cannot tell without flock: the restore's own open refuses.
func ServedBy(path string) error { return nil }
