package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/carebook/carebook/store"
)

// Database lends the practice's store for one unit of work. Nothing is held
// between units: not while the model thinks, not while a person reads a
// preview.
type Database interface {
	// Read lends the store for reads (and their audit rows), alongside
	// other reads and writes.
	Read(ctx context.Context, fn func(*store.Store) error) error
	// Write lends the store for a change; changes run one at a time, in
	// the order they arrive.
	Write(ctx context.Context, fn func(*store.Store) error) error
	// Exclusive lends the store with nobody else using it: forget's
	// rewrite of the file.
	Exclusive(ctx context.Context, fn func(*store.Store) error) error
	// Path is the database file.
	Path() string
	// Lent says the store stays open between units of work (the server),
	// so that a unit of reads beside the write lane costs nothing more;
	// direct mode opens the file for every unit.
	Lent() bool
}

// Direct opens the file for every unit of work and closes it after, so
// that other carebook processes get in between: a practice of one, with no
// server. Opening waits for another process that holds the file.
type Direct struct {
	path string
	// source says where the path came from, for the message when the
	// file is missing ("" when it was given directly).
	source string
	opts   store.Options
	// create makes a missing database (init, import); otherwise a missing
	// file is an error, so that a typo in --db cannot hide the real data
	// behind a new, empty practice.
	create bool
}

// NewDirect is the file at path, opened with opts for every unit of work.
func NewDirect(path string, opts store.Options, create bool) *Direct {
	return &Direct{path: path, opts: opts, create: create}
}

// WithSource says where the path came from (a flag, a variable, a
// configuration file), for the message when the file is missing.
func (d *Direct) WithSource(source string) *Direct {
	d.source = source
	return d
}

// MissingError says there is no database where one was expected.
type MissingError struct{ Path, Source string }

func (e *MissingError) Error() string {
	from := ""
	if e.Source != "" && e.Source != "default" {
		from = " (from " + e.Source + ")"
	}
	return fmt.Sprintf("no database at %s%s; create one with `carebook init` (or choose another with --db or $CAREBOOK_DB)", e.Path, from)
}

// Path is the database file.
func (d *Direct) Path() string { return d.path }

// Lent is false: every unit of work opens the file.
func (d *Direct) Lent() bool { return false }

func (d *Direct) with(ctx context.Context, fn func(*store.Store) error) error {
	if !d.create {
		if _, err := os.Stat(d.path); errors.Is(err, os.ErrNotExist) {
			return &MissingError{Path: d.path, Source: d.source}
		}
	}
	st, err := store.Open(ctx, d.path, d.opts)
	if err != nil {
		return store.Damaged(d.path, err)
	}
	err = fn(st)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	// DuckDB finds a damaged block when it reads it, whatever the query:
	// one sentence with the fix, not the driver's text.
	return store.Damaged(d.path, err)
}

// Read opens the file, reads, closes it.
func (d *Direct) Read(ctx context.Context, fn func(*store.Store) error) error { return d.with(ctx, fn) }

// Write opens the file, writes, closes it.
func (d *Direct) Write(ctx context.Context, fn func(*store.Store) error) error {
	return d.with(ctx, fn)
}

// Exclusive opens the file, which no other process can then open until it
// is closed: the lock file is held across forget's rewrite.
func (d *Direct) Exclusive(ctx context.Context, fn func(*store.Store) error) error {
	return d.with(ctx, fn)
}

// Shared is one store, open for the life of carebook serve, lent to every
// request. Reads run alongside each other and alongside the one write in
// progress; writes queue in arrival order (a Go mutex hands itself to the
// longest waiter once anyone has waited a millisecond); the rewrite after a
// forget waits for everyone to finish and makes everyone wait.
type Shared struct {
	st *store.Store
	// gate: requests hold it shared, the rewrite exclusively.
	gate sync.RWMutex
	// lane orders writes.
	lane sync.Mutex
}

// NewShared lends st to every request.
func NewShared(st *store.Store) *Shared { return &Shared{st: st} }

// Path is the database file.
func (s *Shared) Path() string { return s.st.Path() }

// Lent is true: the store stays open.
func (s *Shared) Lent() bool { return true }

// Read lends the store alongside everyone else.
func (s *Shared) Read(ctx context.Context, fn func(*store.Store) error) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	return store.Damaged(s.st.Path(), fn(s.st))
}

// Write lends the store in the write lane.
func (s *Shared) Write(ctx context.Context, fn func(*store.Store) error) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	s.lane.Lock()
	defer s.lane.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	return store.Damaged(s.st.Path(), fn(s.st))
}

// Exclusive lends the store to fn alone.
func (s *Shared) Exclusive(ctx context.Context, fn func(*store.Store) error) error {
	s.gate.Lock()
	defer s.gate.Unlock()
	return store.Damaged(s.st.Path(), fn(s.st))
}

// Close closes the store once everyone is done with it.
func (s *Shared) Close() error {
	s.gate.Lock()
	defer s.gate.Unlock()
	return s.st.Close()
}
