// Package taskcmd is `carebook task`: follow-up tasks and recalls.
package taskcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// NewCmdTask builds `carebook task` and its subcommands.
func NewCmdTask(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task {add|list|done|reopen}",
		Short: "Follow-up tasks and recalls",
		Args:  cmdutil.Args(0, 0, ""),
	}
	cmd.AddCommand(NewCmdAdd(f, nil), NewCmdList(f, nil), NewCmdDone(f, nil), NewCmdReopen(f, nil))
	return cmd
}

func runAction(ctx context.Context, ios *cmdutil.IOStreams, backendFn func(context.Context) (backend.Backend, error), action tools.Action, w cmdutil.WriteFlags) error {
	b, err := backendFn(ctx)
	if err != nil {
		return err
	}
	_, err = session.RunAction(ctx, ios, b, action, w)
	return err
}

// AddOptions holds `task add`'s dependencies and flags.
type AddOptions struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	Args    tools.AddTaskArgs
	Born    string
	cmdutil.WriteFlags
}

// NewCmdAdd builds `carebook task add`.
func NewCmdAdd(f *cmdutil.Factory, runF func(context.Context, *AddOptions) error) *cobra.Command {
	opts := &AddOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	var where string
	cmd := &cobra.Command{
		Use:   "add {PATIENT TEXT | --where FILTER TEXT}",
		Short: "Add a follow-up task, or a recall for every patient a filter selects",
		Long: `Add a task for one patient (assigned to you unless --assign names someone), or a
recall: the same task, with a reason and a due date, for every patient --where
selects. FILTER is the patient filter of query and tag actions, as JSON (see
README: "A patient filter"). --due takes a day: 2026-06-23, tomorrow, friday,
next tuesday (next week's), in 2 weeks.`,
		Example: `  carebook task add P1000 "call back about lab results" --due "next tuesday"
  carebook task add "Ann Lee" "send the referral" --assign Carla --yes
  carebook task add --where '{"tags":["diabetes"],"last_visit_before":"6 months ago"}' "diabetes recall" --due "in 2 weeks"`,
		Args: cmdutil.Args(1, 2, "a PATIENT (an MRN, email or name) and the TEXT of the task, or --where FILTER and the TEXT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case where != "" && len(args) == 1:
				w, err := parseWhere(where)
				if err != nil {
					return err
				}
				opts.Args.Where, opts.Args.Text = w, args[0]
				if opts.Args.Due == "" {
					return cmdutil.FlagErrorf("a recall needs --due (like --due \"in 2 weeks\")")
				}
			case where == "" && len(args) == 2:
				opts.Args.Patient, opts.Args.Text = &tools.PatientRef{Match: args[0], Born: opts.Born}, args[1]
			default:
				return cmdutil.FlagErrorf("task add needs a PATIENT (an MRN, email or name) and the TEXT of the task, or --where FILTER and the TEXT")
			}
			if strings.TrimSpace(opts.Args.Text) == "" {
				return cmdutil.FlagErrorf("say what the task is: TEXT is empty")
			}
			if opts.Args.Due != "" {
				if _, err := tools.ParseDue(opts.Args.Due, time.Now()); err != nil {
					return cmdutil.BadFlag("due", opts.Args.Due, `a day like 2026-06-23, tomorrow, friday or "in 2 weeks"`)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunAdd(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Args.Due, "due", "", `when it is due ("next tuesday", "in 2 weeks", 2026-06-23)`)
	cmd.Flags().StringVar(&opts.Args.AssignTo, "assign", "", "the staff member who does it (default: you; a recall: anyone)")
	complete.Flag(cmd, "assign", complete.Staff(f.ExistingBackend))
	// The PATIENT; with --where the first argument is the TEXT, and a
	// completion offered for it is ignored as any other.
	cmd.ValidArgsFunction = complete.Each(complete.MRNs(f.ExistingBackend))
	cmd.Flags().StringVar(&where, "where", "", "a patient filter as JSON: a recall for every patient it selects")
	cmd.Flags().StringVar(&opts.Born, "born", "", "year or date of birth, to tell namesakes apart")
	opts.WriteFlags.Bind(cmd)
	return cmd
}

// parseWhere reads a patient filter strictly: a misspelt member must not
// widen a recall to patients nobody meant.
func parseWhere(s string) (*tools.PatientWhere, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	var w tools.PatientWhere
	if err := dec.Decode(&w); err != nil {
		return nil, cmdutil.FlagErrorf("--where is not a patient filter (JSON like {\"tags\":[\"diabetes\"]}): %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return &w, nil
}

// RunAdd adds the task or the recall after a preview and a confirmation.
func RunAdd(ctx context.Context, opts *AddOptions) error {
	action, err := tools.NewAction(tools.ToolAddTask, opts.Args)
	if err != nil {
		return err
	}
	return runAction(ctx, opts.IO, opts.Backend, action, opts.WriteFlags)
}

// ListOptions holds `task list`'s dependencies and flags.
type ListOptions struct {
	IO       *cmdutil.IOStreams
	Backend  func(context.Context) (backend.Backend, error)
	Due      string
	Mine     bool
	Assigned string
	Done     bool
	Patient  string
	JSON     bool
}

// NewCmdList builds `carebook task list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "list [PATIENT]",
		Short: "List open tasks (or done ones), optionally by due day or staff member",
		Long: `List open tasks, earliest due first: all of them, one patient's, those due in a
period (--due today, this week, next 7 days, …) or overdue (--due overdue), those
of a staff member (--assigned) or your own (--mine: your staff name, else your
OS account). Days are the practice's calendar days.`,
		Example: `  carebook task list --due today --mine
  carebook task list --due overdue --json
  carebook task list P1000 --done`,
		Args: cmdutil.Args(0, 1, "at most one PATIENT: an MRN, email or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Patient = args[0]
			}
			if opts.Mine && opts.Assigned != "" {
				return cmdutil.FlagErrorf("give --mine or --assigned, not both")
			}
			if due := strings.TrimSpace(opts.Due); !strings.EqualFold(due, "overdue") {
				if err := cmdutil.CheckRange("due", due); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunList(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Due, "due", "", "today, overdue, this week, next 7 days, a date, …")
	cmd.Flags().BoolVar(&opts.Mine, "mine", false, "only tasks assigned to you")
	cmd.Flags().StringVar(&opts.Assigned, "assigned", "", "only tasks assigned to this staff member")
	complete.Flag(cmd, "assigned", complete.Staff(f.ExistingBackend))
	cmd.ValidArgsFunction = complete.Each(complete.MRNs(f.ExistingBackend))
	cmd.Flags().BoolVar(&opts.Done, "done", false, "list done tasks instead of open ones")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array of tasks")
	return cmd
}

// RunList lists the tasks through the query tool, so the validation and
// the audit row are those of a plain-language request for them.
func RunList(ctx context.Context, opts *ListOptions) error {
	w := &tools.TaskWhere{Mine: opts.Mine, AssignedTo: opts.Assigned}
	if opts.Done {
		w.Status = tools.TaskDone
	}
	switch due := strings.ToLower(strings.TrimSpace(opts.Due)); due {
	case "":
	case "overdue":
		w.Overdue = true
	default:
		w.Due = opts.Due
	}
	args := tools.QueryArgs{Entity: tools.EntityTasks, Tasks: w}
	if opts.Patient != "" {
		args.Patient = &tools.PatientRef{Match: opts.Patient}
	}
	res, err := cmdutil.Query(ctx, opts.Backend, args)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSONList(opts.IO.Out, res.Tasks)
	}
	present.Tasks(opts.IO.Out, opts.IO.IsStdoutTTY(), res.Tasks)
	return nil
}

// DoneOptions holds `task done`'s and `task reopen`'s dependencies and
// flags.
type DoneOptions struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	ID      int64
	Channel string
	Summary string
	cmdutil.WriteFlags
}

// NewCmdDone builds `carebook task done`.
func NewCmdDone(f *cmdutil.Factory, runF func(context.Context, *DoneOptions) error) *cobra.Command {
	opts := &DoneOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "done ID [--log CHANNEL SUMMARY]",
		Short: "Mark a task done, and log the contact that did it",
		Long: `Mark a task done (ID as task list shows it). With --log CHANNEL and a summary, the
call, text, email, letter, visit or note that did it is logged in the same step.`,
		Example: `  carebook task done 12
  carebook task done 12 --log call "left a voicemail"`,
		Args: cmdutil.Args(1, 2, "a task ID (carebook task list shows them)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := tools.ParseTaskID(args[0])
			if err != nil {
				return cmdutil.FlagErrorf("%v", err)
			}
			opts.ID = id
			if len(args) == 2 {
				opts.Summary = args[1]
			}
			switch {
			case opts.Channel == "" && opts.Summary != "":
				return cmdutil.FlagErrorf("to log the contact, give --log CHANNEL before the summary")
			case opts.Channel != "" && strings.TrimSpace(opts.Summary) == "":
				return cmdutil.FlagErrorf("--log needs a summary: task done ID --log %s \"what happened\"", opts.Channel)
			case opts.Channel != "" && !store.Channel(strings.ToLower(opts.Channel)).Valid():
				return cmdutil.OneOf("log", opts.Channel, store.Channels)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunDone(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Channel, "log", "", "log the contact that did it: call, sms, email, in-person, portal, letter or note")
	opts.WriteFlags.Bind(cmd)
	return cmd
}

// RunDone marks the task done after a preview and a confirmation.
func RunDone(ctx context.Context, opts *DoneOptions) error {
	action, err := tools.NewAction(tools.ToolCompleteTask, tools.CompleteTaskArgs{ID: opts.ID, Channel: strings.ToLower(opts.Channel), Summary: opts.Summary})
	if err != nil {
		return err
	}
	return runAction(ctx, opts.IO, opts.Backend, action, opts.WriteFlags)
}

// NewCmdReopen builds `carebook task reopen`.
func NewCmdReopen(f *cmdutil.Factory, runF func(context.Context, *DoneOptions) error) *cobra.Command {
	opts := &DoneOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:     "reopen ID",
		Short:   "Open a done task again",
		Example: `  carebook task reopen 12`,
		Args:    cmdutil.Args(1, 1, "a task ID (carebook task list shows them)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := tools.ParseTaskID(args[0])
			if err != nil {
				return cmdutil.FlagErrorf("%v", err)
			}
			opts.ID = id
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunReopen(cmd.Context(), opts)
		},
	}
	opts.WriteFlags.Bind(cmd)
	return cmd
}

// RunReopen opens the task again after a preview and a confirmation.
func RunReopen(ctx context.Context, opts *DoneOptions) error {
	action, err := tools.NewAction(tools.ToolReopenTask, tools.ReopenTaskArgs{ID: opts.ID})
	if err != nil {
		return err
	}
	return runAction(ctx, opts.IO, opts.Backend, action, opts.WriteFlags)
}
