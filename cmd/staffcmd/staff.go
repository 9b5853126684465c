// Package staffcmd is `carebook staff`: who may use the practice's database
// through carebook serve, in which role, from which OS account, with which
// PIN.
package staffcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
)

// Options holds the staff commands' dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	// ReadPIN reads a new PIN, asked twice on a terminal.
	ReadPIN func(ctx context.Context, prompt string) (string, error)

	Name   string
	Role   string
	OSUser string
	PIN    bool
	JSON   bool
}

// NewCmdStaff builds `carebook staff` and its subcommands.
func NewCmdStaff(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staff {add|list|disable|pin}",
		Short: "Manage who may use the practice's database, and how",
		Long: `Staff records say who may work through carebook serve: a name, a role and
the OS account they log in as. An OS account mapped to one staff member is that
member; an account several staff share (the front-desk PC) needs a staff name
and PIN (--staff, and the PIN typed or in $CAREBOOK_PIN). Roles: front-desk and
clinician (queries, show, tag, log, ask, run, reports), manager (also import,
migrate, export, forget, backup, audit and staff). Every change is audited.

The first manager is added by the database's owner without a server
(carebook staff add … on the file itself, as the service account).`,
		Args: cmdutil.Args(0, 0, ""),
	}
	base := func() *Options {
		return &Options{IO: f.IOStreams, Backend: f.ExistingBackend, ReadPIN: func(ctx context.Context, p string) (string, error) { return cmdutil.ReadPassword(ctx, f.IOStreams, p) }}
	}
	cmd.AddCommand(newCmdAdd(base()), newCmdList(base()), newCmdDisable(base()), newCmdPIN(base()))
	return cmd
}

func newCmdAdd(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add NAME --role ROLE",
		Short: "Add a staff member (or enable a disabled one again)",
		Example: `  carebook staff add "Ana Ruiz" --role front-desk --os-user frontdesk --pin
  carebook staff add drkim --role clinician
  carebook staff add "Maria Lopez" --role manager --os-user maria`,
		Args: cmdutil.Args(1, 1, "a staff NAME, in quotes if it has spaces"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.Role == "" {
				return cmdutil.FlagErrorf("staff add needs --role: %s", strings.Join(backend.Roles, ", "))
			}
			if err := cmdutil.OneOf("role", opts.Role, backend.Roles); err != nil {
				return err
			}
			return RunAdd(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Role, "role", "", "front-desk, clinician or manager")
	cmd.Flags().StringVar(&opts.OSUser, "os-user", "", "the OS account they log in as (default: the name, in lower case)")
	cmd.Flags().BoolVar(&opts.PIN, "pin", false, "set a PIN now (needed when several staff share an OS account)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the staff member as JSON")
	complete.Flag(cmd, "role", complete.Values(backend.Roles...))
	return cmd
}

// RunAdd adds the staff member.
func RunAdd(ctx context.Context, opts *Options) error {
	req := backend.StaffRequest{Name: opts.Name, Role: opts.Role, OSUser: opts.OSUser}
	if opts.PIN {
		pin, err := newPIN(ctx, opts)
		if err != nil {
			return err
		}
		req.PIN = pin
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	s, err := b.StaffAdd(ctx, req)
	if err != nil {
		return err
	}
	return printStaff(opts, s, "Added")
}

// newPIN reads a new PIN: typed twice on a terminal, or one line on stdin
// for a script.
func newPIN(ctx context.Context, opts *Options) (string, error) {
	pin, err := opts.ReadPIN(ctx, "New PIN: ")
	if err != nil {
		return "", fmt.Errorf("read the PIN: %w", err)
	}
	if opts.IO.IsStdinTTY() {
		again, err := opts.ReadPIN(ctx, "Again: ")
		if err != nil {
			return "", fmt.Errorf("read the PIN: %w", err)
		}
		if again != pin {
			return "", errors.New("the two PINs differ; nothing was changed")
		}
	}
	return pin, nil
}

func printStaff(opts *Options, s *backend.StaffView, verb string) error {
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, s)
	}
	pin := "no PIN"
	if s.HasPIN {
		pin = "a PIN"
	}
	fmt.Fprintf(opts.IO.Out, "%s %s: %s, OS account %s, %s.\n", verb, s.Name, s.Role, s.OSUser, pin)
	return nil
}

func newCmdList(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the staff",
		Args:  cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return RunList(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the staff as JSON")
	return cmd
}

// RunList lists the staff (never a PIN's hash).
func RunList(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	all, err := b.StaffList(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		if all == nil {
			all = []backend.StaffView{}
		}
		return cmdutil.WriteJSON(opts.IO.Out, all)
	}
	t := cmdutil.NewTable(opts.IO.Out, opts.IO.IsStdoutTTY(), "NAME", "ROLE", "OS ACCOUNT", "PIN", "STATE")
	for _, s := range all {
		pin, state := "no", "active"
		if s.HasPIN {
			pin = "yes"
		}
		switch {
		case s.Disabled:
			state = "disabled"
		case !s.LockedUntil.IsZero():
			state = "locked out until " + s.LockedUntil.Local().Format("15:04")
		}
		t.Row(s.Name, s.Role, s.OSUser, pin, state)
	}
	return t.Flush()
}

func newCmdDisable(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable a staff member: they can no longer log in",
		Args:  cmdutil.Args(1, 1, "the staff NAME to disable (carebook staff list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			b, err := opts.Backend(cmd.Context())
			if err != nil {
				return err
			}
			s, err := b.StaffDisable(cmd.Context(), backend.StaffRequest{Name: opts.Name})
			if err != nil {
				return err
			}
			return printStaff(opts, s, "Disabled")
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the staff member as JSON")
	return cmd
}

func newCmdPIN(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pin NAME",
		Short: "Set or change a staff member's PIN (and lift a lockout)",
		Long: `Set or change a PIN: typed twice on a terminal, or one line on standard input
in a script (echo "$PIN" | carebook staff pin NAME). A PIN has at least 6
characters. Five wrong PINs in a row lock the name for 15 minutes; a new PIN
lifts the lockout.`,
		Args: cmdutil.Args(1, 1, "the staff NAME whose PIN to set (carebook staff list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			pin, err := newPIN(cmd.Context(), opts)
			if err != nil {
				return err
			}
			b, err := opts.Backend(cmd.Context())
			if err != nil {
				return err
			}
			s, err := b.StaffPIN(cmd.Context(), backend.StaffRequest{Name: opts.Name, PIN: pin})
			if err != nil {
				return err
			}
			return printStaff(opts, s, "Set the PIN of")
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the staff member as JSON")
	return cmd
}
