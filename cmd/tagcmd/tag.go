// Package tagcmd is `carebook tag`: add, remove and list tags.
package tagcmd

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the tag commands' dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Remove   bool
	Tag      string
	Patients []string
	Yes      bool
	JSON     bool
}

// NewCmdTag builds `carebook tag` and its subcommands.
func NewCmdTag(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tag {add|remove|list}",
		Short: "Add, remove and list tags",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCmdChange(f, false, runF), newCmdChange(f, true, runF), newCmdList(f, nil))
	return cmd
}

func newCmdChange(f *cmdutil.Factory, remove bool, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.ExistingBackend, Remove: remove}
	use, short, example := "add TAG PATIENT...", "Tag patients", `  carebook tag add recall-due P1000 P1004
  carebook tag add vip "maria.garcia@example.org" --yes`
	if remove {
		use, short, example = "remove TAG PATIENT...", "Remove a tag from patients", `  carebook tag remove newsletter P1000`
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `. Each PATIENT is an MRN, an exact email address or a name; a name that
matches more than one patient stops the command with the candidates, and nothing
is written. Tags are lowercase-kebab, like refill-overdue. Without a terminal,
--yes is needed to write.`,
		Example: example,
		Args:    cmdutil.Args(2, -1, "a TAG and at least one PATIENT (an MRN, email or name)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tag, opts.Patients = args[0], args[1:]
			if !store.ValidTagName(strings.ToLower(opts.Tag)) {
				return cmdutil.FlagErrorf("tag %q is not lowercase-kebab (like refill-overdue)", opts.Tag)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunChange(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// RunChange adds or removes the tag, for every patient named, in one
// transaction. Every name is resolved before anything is written, and all
// that fail are reported together.
func RunChange(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	refs := make([]tools.PatientRef, len(opts.Patients))
	for i, p := range opts.Patients {
		refs[i] = tools.PatientRef{Match: p}
	}
	briefs, err := resolve(ctx, opts.IO, b, refs)
	if err != nil {
		return err
	}
	mrns := make([]string, len(briefs))
	for i, p := range briefs {
		mrns[i] = p.MRN
	}
	tool := tools.ToolTag
	if opts.Remove {
		tool = tools.ToolUntag
	}
	action, err := tools.NewAction(tool, tools.TagArgs{Tag: strings.ToLower(opts.Tag), Where: &tools.PatientWhere{MRNs: mrns}})
	if err != nil {
		return err
	}
	s := &session.Session{IO: opts.IO, Backend: b, Channel: cmdutil.ChannelCLI}
	_, err = s.Prepare(ctx, action, session.Options{Options: present.Options{Yes: opts.Yes, JSON: opts.JSON}})
	return err
}

// resolve names the patients by MRN. Where a person can answer (the REPL),
// a name that matches several patients is a numbered choice; any other
// failure still fails the whole command, and nothing is written.
func resolve(ctx context.Context, ios *cmdutil.IOStreams, b backend.Reader, refs []tools.PatientRef) ([]tools.PatientBrief, error) {
	req := backend.ResolveRequest{Channel: cmdutil.ChannelCLI, Refs: refs}
	briefs, err := b.Resolve(ctx, req)
	var many *backend.ManyErrors
	if err == nil || ios.ChoosePatient == nil || !errors.As(err, &many) {
		return briefs, err
	}
	var ambs []*backend.AmbiguousError
	for _, e := range many.Errs {
		var amb *backend.AmbiguousError
		if !errors.As(e, &amb) {
			return nil, err
		}
		ambs = append(ambs, amb)
	}
	for _, amb := range ambs {
		mrn, err := present.Choose(ctx, ios, amb)
		if err != nil {
			return nil, err
		}
		for i, r := range req.Refs {
			if r.Match == amb.Ref {
				req.Refs[i] = tools.PatientRef{Match: mrn}
			}
		}
	}
	return b.Resolve(ctx, req)
}

// ListOptions holds `tag list`'s dependencies and flags.
type ListOptions struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	JSON    bool
}

func newCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tags with how many patients carry each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunList(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the tags as JSON")
	return cmd
}

// RunList lists the tags. Counts name no patient, so the read is not audited.
func RunList(ctx context.Context, opts *ListOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	tags, err := b.Tags(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		if tags == nil {
			tags = []backend.TagCount{}
		}
		return cmdutil.WriteJSON(opts.IO.Out, tags)
	}
	t := cmdutil.NewTableFor(opts.IO, "TAG", "PATIENTS")
	for _, tag := range tags {
		t.Row(tag.Name, strconv.Itoa(tag.Patients))
	}
	return t.Flush()
}
