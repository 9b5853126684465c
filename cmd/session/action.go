package session

import (
	"context"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/tools"
)

// RunAction takes one action of a plain command through the backend:
// preview, confirmation (or --yes), execution and the result, as every
// write does, or the preview alone with --dry-run.
func RunAction(ctx context.Context, ios *cmdutil.IOStreams, b backend.Backend, action tools.Action, w cmdutil.WriteFlags) (*backend.Reply, error) {
	s := &Session{IO: ios, Backend: b, Channel: cmdutil.ChannelCLI}
	return s.Prepare(ctx, action, Options{Options: present.Options{Yes: w.Yes, DryRun: w.DryRun, JSON: w.JSON}})
}
