// Package root assembles the carebook command tree.
package root

import (
	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/democmd"
	"github.com/carebook/carebook/cmd/evalcmd"
	"github.com/carebook/carebook/cmd/exportcmd"
	"github.com/carebook/carebook/cmd/importcmd"
	"github.com/carebook/carebook/cmd/initcmd"
	"github.com/carebook/carebook/cmd/logcmd"
	"github.com/carebook/carebook/cmd/patientscmd"
	"github.com/carebook/carebook/cmd/showcmd"
	"github.com/carebook/carebook/cmd/tagcmd"
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
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetVersionTemplate("carebook {{.Version}}\n")
	cmd.PersistentFlags().StringVar(&f.DBFlag, "db", "", "database file (default $CAREBOOK_DB, else ./carebook.duckdb)")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err}
	})
	cmd.CompletionOptions.HiddenDefaultCmd = true

	for _, sub := range subcommands(f) {
		cmd.AddCommand(sub)
	}
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
		democmd.NewCmdDemo(f, nil),
		evalcmd.NewCmdEval(f, nil, nil),
	}
}
