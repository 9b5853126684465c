package cmdutil

import "github.com/spf13/cobra"

// WriteFlags are the flags every previewed write shares.
type WriteFlags struct {
	Yes    bool
	DryRun bool
	JSON   bool
}

// Bind adds --yes, --dry-run and --json to cmd.
func (w *WriteFlags) Bind(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&w.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&w.DryRun, "dry-run", false, "show what would change, and change nothing")
	cmd.Flags().BoolVar(&w.JSON, "json", false, "print the result as JSON")
}
