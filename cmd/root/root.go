// Package root assembles the carebook command tree.
package root

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/appointmentscmd"
	"github.com/carebook/carebook/cmd/askcmd"
	"github.com/carebook/carebook/cmd/auditcmd"
	"github.com/carebook/carebook/cmd/backupcmd"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/consentcmd"
	"github.com/carebook/carebook/cmd/democmd"
	"github.com/carebook/carebook/cmd/doctorcmd"
	"github.com/carebook/carebook/cmd/evalcmd"
	"github.com/carebook/carebook/cmd/exportcmd"
	"github.com/carebook/carebook/cmd/forgetcmd"
	"github.com/carebook/carebook/cmd/importcmd"
	"github.com/carebook/carebook/cmd/initcmd"
	"github.com/carebook/carebook/cmd/interactionscmd"
	"github.com/carebook/carebook/cmd/logcmd"
	"github.com/carebook/carebook/cmd/migratecmd"
	"github.com/carebook/carebook/cmd/patientcmd"
	"github.com/carebook/carebook/cmd/patientscmd"
	"github.com/carebook/carebook/cmd/replcmd"
	"github.com/carebook/carebook/cmd/reportcmd"
	"github.com/carebook/carebook/cmd/runcmd"
	"github.com/carebook/carebook/cmd/scancmd"
	"github.com/carebook/carebook/cmd/servecmd"
	"github.com/carebook/carebook/cmd/showcmd"
	"github.com/carebook/carebook/cmd/staffcmd"
	"github.com/carebook/carebook/cmd/tagcmd"
	"github.com/carebook/carebook/cmd/taskcmd"
	"github.com/carebook/carebook/eval"
	"github.com/carebook/carebook/store"
)

// NewCmdRoot builds the carebook command with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "carebook",
		Short: "A local-first CRM for small healthcare practices",
		Long: `Carebook keeps a practice's patients, tags, appointments and every logged
call, text, email and letter in one DuckDB file on this machine. Patient data
never leaves it.`,
		Version:       f.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	if f.Diagnose == nil {
		f.Diagnose = func(ctx context.Context) []backend.Check { return doctorcmd.Checks(ctx, doctorcmd.NewOptions(f)) }
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetVersionTemplate("carebook {{.Version}}\n")
	cmd.PersistentFlags().StringVar(&f.DBFlag, "db", f.DBFlag, "database file (default $CAREBOOK_DB, else db in ~/.config/carebook/config.toml or /etc/carebook/config.toml, else ./carebook.duckdb)")
	// Only the commands that ask the model take --model and --ollama-host:
	// the REPL (carebook alone), ask, run, repl, eval and doctor.
	cmdutil.AddModelFlags(cmd, f)
	cmd.PersistentFlags().StringVar(&f.ServerFlag, "server", f.ServerFlag, "work through carebook serve at this socket (default $CAREBOOK_SERVER, else server in the configuration)")
	cmd.PersistentFlags().StringVar(&f.StaffFlag, "staff", f.StaffFlag, "who you are, on an OS account several staff share (default $CAREBOOK_STAFF); the PIN is asked, or read from $CAREBOOK_PIN")
	// On a terminal, carebook alone starts the REPL; otherwise it shows help.
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if !f.IOStreams.CanPrompt() {
			return c.Help()
		}
		return replcmd.Run(c.Context(), replcmd.NewOptions(f, slashRunner(f)))
	}
	cmd.SetFlagErrorFunc(cmdutil.FlagErrorFunc)
	complete.Flag(cmd, "staff", complete.Staff(f.ExistingBackend))
	// carebook completion bash|zsh|fish|powershell: tags, MRNs and flag
	// values complete through the backend (see package complete).
	cmd.CompletionOptions.HiddenDefaultCmd = false

	for _, sub := range subcommands(f) {
		cmd.AddCommand(sub)
	}
	cmdutil.SuggestSubcommands(cmd)
	return cmd
}

// subcommands lists every command. Add a new one here.
func subcommands(f *cmdutil.Factory) []*cobra.Command {
	return []*cobra.Command{
		initcmd.NewCmdInit(f, nil),
		importcmd.NewCmdImport(f, nil),
		patientscmd.NewCmdPatients(f, nil),
		appointmentscmd.NewCmdAppointments(f, nil),
		interactionscmd.NewCmdInteractions(f, nil),
		showcmd.NewCmdShow(f, nil),
		tagcmd.NewCmdTag(f, nil),
		logcmd.NewCmdLog(f, nil),
		patientcmd.NewCmdPatient(f),
		consentcmd.NewCmdConsent(f, nil),
		taskcmd.NewCmdTask(f),
		exportcmd.NewCmdExport(f, nil),
		reportcmd.NewCmdReport(f, nil),
		scancmd.NewCmdScan(f, nil),
		migratecmd.NewCmdMigrate(f, nil),
		forgetcmd.NewCmdForget(f, nil),
		auditcmd.NewCmdAudit(f),
		doctorcmd.NewCmdDoctor(f, nil),
		backupcmd.NewCmdBackup(f),
		backupcmd.NewCmdRestore(f),
		servecmd.NewCmdServe(f, func(lend func(context.Context, func(*store.Store) error) error) func(context.Context) []backend.Check {
			return func(ctx context.Context) []backend.Check {
				opts := doctorcmd.NewOptions(f)
				opts.Lend = lend
				return doctorcmd.Checks(ctx, opts)
			}
		}),
		staffcmd.NewCmdStaff(f),
		askcmd.NewCmdAsk(f, nil),
		runcmd.NewCmdRun(f, nil),
		replcmd.NewCmdREPL(f, slashRunner(f)),
		democmd.NewCmdDemo(f, nil),
		evalcmd.NewCmdEval(f, func(context.Context) (eval.Decider, error) {
			a, err := f.NewAgent()
			return evalcmd.AgentDecider{Agent: a}, err
		}, nil),
	}
}

// slashRunner runs a plain command line inside the REPL, with the REPL's
// database and streams. Building a command tree binds the flags again, so
// the session's values are the defaults and are restored after.
func slashRunner(f *cmdutil.Factory) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		db, host, model, server, staff := f.DBFlag, f.OllamaHostFlag, f.ModelFlag, f.ServerFlag, f.StaffFlag
		defer func() {
			f.DBFlag, f.OllamaHostFlag, f.ModelFlag, f.ServerFlag, f.StaffFlag = db, host, model, server, staff
		}()
		cmd := NewCmdRoot(f)
		cmd.SetArgs(args)
		return cmd.ExecuteContext(ctx)
	}
}
