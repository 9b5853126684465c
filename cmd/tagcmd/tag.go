// Package tagcmd is `carebook tag`: add, remove, rename, delete and list
// tags.
package tagcmd

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
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
	DryRun   bool
	JSON     bool
}

// NewCmdTag builds `carebook tag` and its subcommands.
func NewCmdTag(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tag {add|remove|rename|delete|list}",
		Short: "Add, remove, rename, delete and list tags",
		Args:  cmdutil.Args(0, 0, ""),
	}
	cmd.AddCommand(newCmdChange(f, false, runF), newCmdChange(f, true, runF), newCmdRename(f, nil), newCmdDelete(f, nil), newCmdList(f, nil))
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
is written. Tags are lowercase-kebab, like refill-overdue; a new tag close to one
in use asks "did you mean …?" first. A change that would change nothing (every
patient has the tag already, or none has it) says so and asks nothing. Without
a terminal, --yes is needed to write; --dry-run shows what would change.`,
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
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would change, and change nothing")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	cmd.ValidArgsFunction = complete.First(complete.Tags(f.ExistingBackend), complete.MRNs(f.ExistingBackend))
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
	_, err = s.Prepare(ctx, action, session.Options{Options: present.Options{Yes: opts.Yes, DryRun: opts.DryRun, JSON: opts.JSON}})
	return err
}

// AdminOptions holds `tag rename` and `tag delete`'s dependencies and flags.
type AdminOptions struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)

	Tag    string
	To     string // the new name, for rename
	Yes    bool
	DryRun bool
	JSON   bool
}

func newCmdRename(f *cmdutil.Factory, runF func(context.Context, *AdminOptions) error) *cobra.Command {
	opts := &AdminOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Rename a tag on every patient who carries it",
		Long: `Rename a tag on every patient who carries it, in one transaction with one audit
row listing them. If NEW is a tag in use already, the two are merged. The
preview says how many patients carry it; on a terminal it asks, in a script it
needs --yes.`,
		Example: `  carebook tag rename recal-due recall-due
  carebook tag rename flu-2025 flu-shot --dry-run`,
		Args: cmdutil.Args(2, 2, "the OLD tag and its NEW name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tag, opts.To = args[0], args[1]
			for _, t := range args {
				if !store.ValidTagName(strings.ToLower(t)) {
					return cmdutil.FlagErrorf("tag %q is not lowercase-kebab (like refill-overdue)", t)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunAdmin(cmd.Context(), opts)
		},
	}
	adminFlags(cmd, opts)
	cmd.ValidArgsFunction = complete.Only(1, complete.Tags(f.ExistingBackend))
	return cmd
}

func newCmdDelete(f *cmdutil.Factory, runF func(context.Context, *AdminOptions) error) *cobra.Command {
	opts := &AdminOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "delete TAG",
		Short: "Remove a tag from every patient and delete it",
		Long: `Remove a tag from every patient who carries it and delete the tag, in one
transaction with one audit row listing them. The preview says how many patients
carry it; on a terminal it asks, in a script it needs --yes.`,
		Example: `  carebook tag delete flu-2024
  carebook tag delete newsletter --dry-run`,
		Args: cmdutil.Args(1, 1, "the TAG to delete (carebook tag list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tag = args[0]
			if !store.ValidTagName(strings.ToLower(opts.Tag)) {
				return cmdutil.FlagErrorf("tag %q is not lowercase-kebab (like refill-overdue)", opts.Tag)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunAdmin(cmd.Context(), opts)
		},
	}
	adminFlags(cmd, opts)
	cmd.ValidArgsFunction = complete.Only(1, complete.Tags(f.ExistingBackend))
	return cmd
}

func adminFlags(cmd *cobra.Command, opts *AdminOptions) {
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would change, and change nothing")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
}

// RunAdmin renames or deletes a tag: the rename_tag and delete_tag tools,
// previewed, confirmed and audited as any write. The model is never
// offered them.
func RunAdmin(ctx context.Context, opts *AdminOptions) error {
	var action tools.Action
	var err error
	if opts.To != "" {
		action, err = tools.NewAction(tools.ToolRenameTag, tools.RenameTagArgs{Tag: strings.ToLower(opts.Tag), To: strings.ToLower(opts.To)})
	} else {
		action, err = tools.NewAction(tools.ToolDeleteTag, tools.DeleteTagArgs{Tag: strings.ToLower(opts.Tag)})
	}
	if err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	s := &session.Session{IO: opts.IO, Backend: b, Channel: cmdutil.ChannelCLI}
	_, err = s.Prepare(ctx, action, session.Options{Options: present.Options{Yes: opts.Yes, DryRun: opts.DryRun, JSON: opts.JSON}})
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
		Args:  cmdutil.Args(0, 0, ""),
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

// RunList lists the tags in use (a tag nobody carries is left out). Counts
// name no patient, so the read is not audited.
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
