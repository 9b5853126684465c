// Package root assembles the carebook command tree.
package root

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/askcmd"
	"github.com/carebook/carebook/cmd/auditcmd"
	"github.com/carebook/carebook/cmd/backupcmd"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/democmd"
	"github.com/carebook/carebook/cmd/doctorcmd"
	"github.com/carebook/carebook/cmd/evalcmd"
	"github.com/carebook/carebook/cmd/exportcmd"
	"github.com/carebook/carebook/cmd/forgetcmd"
	"github.com/carebook/carebook/cmd/importcmd"
	"github.com/carebook/carebook/cmd/initcmd"
	"github.com/carebook/carebook/cmd/logcmd"
	"github.com/carebook/carebook/cmd/migratecmd"
	"github.com/carebook/carebook/cmd/patientscmd"
	"github.com/carebook/carebook/cmd/replcmd"
	"github.com/carebook/carebook/cmd/reportcmd"
	"github.com/carebook/carebook/cmd/runcmd"
	"github.com/carebook/carebook/cmd/scancmd"
	"github.com/carebook/carebook/cmd/showcmd"
	"github.com/carebook/carebook/cmd/tagcmd"
	"github.com/carebook/carebook/eval"
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
	// On a terminal, carebook alone starts the REPL; otherwise it shows help.
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if !f.IOStreams.CanPrompt() {
			return c.Help()
		}
		return replcmd.Run(c.Context(), replcmd.NewOptions(f, slashRunner(f)))
	}
	cmd.SetFlagErrorFunc(cmdutil.FlagErrorFunc)
	cmd.CompletionOptions.HiddenDefaultCmd = true

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
		showcmd.NewCmdShow(f, nil),
		tagcmd.NewCmdTag(f, nil),
		logcmd.NewCmdLog(f, nil),
		exportcmd.NewCmdExport(f, nil),
		reportcmd.NewCmdReport(f, nil),
		scancmd.NewCmdScan(f, nil),
		migratecmd.NewCmdMigrate(f, nil),
		forgetcmd.NewCmdForget(f, nil),
		auditcmd.NewCmdAudit(f),
		doctorcmd.NewCmdDoctor(f, nil),
		backupcmd.NewCmdBackup(f),
		backupcmd.NewCmdRestore(f),
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
		db, host, model := f.DBFlag, f.OllamaHostFlag, f.ModelFlag
		defer func() { f.DBFlag, f.OllamaHostFlag, f.ModelFlag = db, host, model }()
		cmd := NewCmdRoot(f)
		cmd.SetArgs(args)
		return cmd.ExecuteContext(ctx)
	}
}
