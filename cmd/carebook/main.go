// Command carebook is a local-first CRM for small healthcare practices.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/root"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run())
}

func run() int {
	// Everything Carebook creates holds patient data or could: the database,
	// its WAL, DuckDB's temporary files, backups, history. A umask of 077
	// makes all of them 0600 and every folder 0700, including the files
	// DuckDB creates itself.
	syscall.Umask(0o077)
	debug.SetGCPercent(cmdutil.GCPercent)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	f := cmdutil.New(version)
	defer f.Close(context.Background())
	cmd := root.NewCmdRoot(f)
	err := cmdutil.Execute(ctx, cmd)
	if err == nil {
		return cmdutil.ExitOK
	}
	return cmdutil.ExitCode(err, f.IOStreams.ErrOut)
}
