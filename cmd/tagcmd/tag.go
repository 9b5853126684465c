// Package tagcmd is `carebook tag`: add, remove and list tags.
package tagcmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Options holds the tag commands' dependencies and flags.
type Options struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)
	Clock     func() (func() time.Time, error)

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
	opts := &Options{IO: f.IOStreams, OpenStore: f.OpenStore, Clock: f.Clock, Remove: remove}
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
		Args:    cobra.MinimumNArgs(2),
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
// transaction. Every name is resolved before anything is written.
func RunChange(ctx context.Context, opts *Options) error {
	clock, err := opts.Clock()
	if err != nil {
		return err
	}
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	mrns, err := ResolveAll(ctx, st.Reader(), opts.Patients)
	if err != nil {
		return err
	}
	tool := tools.ToolTag
	if opts.Remove {
		tool = tools.ToolUntag
	}
	action, err := tools.NewAction(tool, tools.TagArgs{Tag: strings.ToLower(opts.Tag), Where: &tools.PatientWhere{MRNs: mrns}})
	if err != nil {
		return err
	}
	plan, err := tools.Prepare(ctx, st, action, cmdutil.Env(clock()))
	st.Close()
	if err != nil {
		return err
	}
	_, err = present.Run(ctx, opts.IO, present.OpenEach(opts.OpenStore), plan, store.AuditEntry{Channel: cmdutil.ChannelCLI}, present.Options{Yes: opts.Yes, JSON: opts.JSON})
	return err
}

// ResolveAll turns what staff typed into MRNs. It reports every reference
// that is ambiguous or unknown at once, so that one run shows them all.
func ResolveAll(ctx context.Context, r store.Reader, refs []string) ([]string, error) {
	var mrns []string
	var problems []string
	for _, ref := range refs {
		p, err := tools.ResolvePatient(ctx, r, tools.PatientRef{Match: ref})
		var amb *tools.AmbiguousError
		var nf *tools.NotFoundError
		switch {
		case errors.As(err, &amb), errors.As(err, &nf):
			problems = append(problems, err.Error())
			continue
		case err != nil:
			return nil, err
		}
		if !slices.Contains(mrns, p.MRN) {
			mrns = append(mrns, p.MRN)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s\nNothing was written.", strings.Join(problems, "\n"))
	}
	return mrns, nil
}

// ListOptions holds `tag list`'s dependencies and flags.
type ListOptions struct {
	IO        *cmdutil.IOStreams
	OpenStore func(context.Context) (*store.Store, error)
	JSON      bool
}

func newCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, OpenStore: f.OpenStore}
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
	st, err := opts.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tags, err := st.Reader().ListTags(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		type tagJSON struct {
			Name     string `json:"name"`
			Patients int    `json:"patients"`
		}
		out := make([]tagJSON, 0, len(tags))
		for _, t := range tags {
			out = append(out, tagJSON{t.Name, t.Patients})
		}
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	t := cmdutil.NewTable(opts.IO.Out, opts.IO.IsStdoutTTY(), "TAG", "PATIENTS")
	for _, tag := range tags {
		t.Row(tag.Name, strconv.Itoa(tag.Patients))
	}
	return t.Flush()
}
