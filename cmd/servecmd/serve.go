// Package servecmd is `carebook serve`: the one owner process of a
// practice's database, which staff reach over a Unix socket.
package servecmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/backup"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/server"
	"github.com/carebook/carebook/service"
	"github.com/carebook/carebook/store"
)

// Options holds serve's dependencies and flags.
type Options struct {
	IO *cmdutil.IOStreams
	F  *cmdutil.Factory
	// Diagnose builds doctor's checks over the server's own store.
	Diagnose func(lend func(context.Context, func(*store.Store) error) error) func(context.Context) []backend.Check

	Socket string
	Group  string
	// ShutdownTimeout bounds the wait for requests in flight when stopping.
	ShutdownTimeout time.Duration
	// Ready, when set, is called once the socket answers (tests).
	Ready func(socket string)
}

// NewCmdServe builds `carebook serve`.
func NewCmdServe(f *cmdutil.Factory, diagnose func(lend func(context.Context, func(*store.Store) error) error) func(context.Context) []backend.Check) *cobra.Command {
	opts := &Options{IO: f.IOStreams, F: f, Diagnose: diagnose, ShutdownTimeout: 30 * time.Second}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Own the practice's database and serve the staff over a local socket",
		Long: `Run the one process that holds the practice's database, for a team: every
carebook command of every staff member (with --server SOCKET, $CAREBOOK_SERVER,
or server in their configuration) runs through it, under their own identity.

It opens the database once, in a folder only its account may open, and listens
on a Unix socket (--socket, else socket in the configuration, else <db>.sock)
that its owner and group may connect to and nobody else. The kernel says which
OS account connected; a staff name and PIN tell apart the people who share an
account. Writes run one at a time in the order they arrive, reads beside them,
and the model is asked with nothing held, so nobody waits on a lock.

SIGTERM or Ctrl-C stops it: requests in flight finish first, nothing is left
half-written. The README's "A practice with several staff" shows a service
account, a staff group and a systemd unit.`,
		Example: `  carebook serve --db /srv/carebook/practice.duckdb --socket /run/carebook/carebook.sock
  carebook serve --group carebook-staff`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Socket, "socket", "", "where to listen (default: socket in the configuration, else <db>.sock)")
	cmd.Flags().StringVar(&opts.Group, "group", "", "the staff group that may connect (default: this process's group)")
	return cmd
}

// Run serves until ctx is cancelled (SIGTERM, Ctrl-C).
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	if err := f.ServeRefusal(); err != nil {
		return err
	}
	path, source, err := f.Database()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		return &service.MissingError{Path: abs, Source: source}
	}
	if err := privateFolder(filepath.Dir(abs)); err != nil {
		return err
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	socket := opts.Socket
	if socket == "" {
		socket = cfg.Socket
	}
	if socket == "" {
		socket = abs + ".sock"
	}
	socket, err = filepath.Abs(socket)
	if err != nil {
		return err
	}
	sopts, err := f.StoreOptions()
	if err != nil {
		return err
	}
	sopts.Mode = store.ModeServer
	sopts.Holder = store.Holder{Server: true, Socket: socket}
	sopts.OnWait = nil
	st, err := store.Open(ctx, abs, sopts)
	if err != nil {
		return err
	}
	// A server killed while it copied the database for a backup left the
	// copy's name behind; holding the file now, this server is the one to
	// remove it.
	backup.RemoveStale(abs)
	shared := service.NewShared(st)
	defer shared.Close()
	model, _ := f.Model()
	idle := cfg.IdleLogoff()
	scfg := service.Config{
		DB:          shared,
		Now:         sopts.Now,
		Decider:     func() (service.Decider, error) { return f.NewAgent() },
		Model:       model,
		IdleLogoff:  idle,
		Socket:      socket,
		GroupBudget: service.DefaultGroupBudget,
	}
	if opts.Diagnose != nil {
		scfg.Diagnose = opts.Diagnose(shared.Read)
	}
	svc := service.New(scfg)
	ln, err := server.Listen(socket, opts.Group)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{Service: svc, IdleLogoff: idle, Host: cmdutil.Host(), Log: opts.IO.ErrOut})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(opts.IO.ErrOut, "carebook serve: %s at %s (pid %d); SIGTERM or Ctrl-C stops it\n", abs, socket, os.Getpid())
	if opts.Ready != nil {
		opts.Ready(socket)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(opts.IO.ErrOut, "carebook serve: stopping; requests in flight finish first")
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// privateFolder refuses a folder anyone but this account may open: the
// database's folder is the boundary, and staff reach the data only through
// the socket.
func privateFolder(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &store.BoundaryError{Path: dir, Problem: fmt.Sprintf("can be opened by other accounts (mode %04o), and carebook serve keeps the database where only its own account can reach it", perm),
			Fix: "fix it: chmod 700 " + dir + " (staff reach the data through the socket, never the folder)"}
	}
	return nil
}
