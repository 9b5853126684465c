// Package patientcmd is `carebook patient`: add a patient, edit one's
// contact details and status, and merge two records of one person.
package patientcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/complete"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// run takes the action through the backend: preview, confirmation,
// execution and the result.
func run(ctx context.Context, ios *cmdutil.IOStreams, backendFn func(context.Context) (backend.Backend, error), action tools.Action, w cmdutil.WriteFlags) error {
	b, err := backendFn(ctx)
	if err != nil {
		return err
	}
	_, err = session.RunAction(ctx, ios, b, action, w)
	return err
}

// NewCmdPatient builds `carebook patient` and its subcommands.
func NewCmdPatient(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "patient {add|edit|merge}",
		Short: "Add a patient, edit one, or merge two records of one person",
		Args:  cmdutil.Args(0, 0, ""),
	}
	cmd.AddCommand(NewCmdAdd(f, nil), NewCmdEdit(f, nil), NewCmdMerge(f, nil))
	return cmd
}

// AddOptions holds `patient add`'s dependencies and flags.
type AddOptions struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	Args    tools.AddPatientArgs
	cmdutil.WriteFlags
}

// NewCmdAdd builds `carebook patient add`.
func NewCmdAdd(f *cmdutil.Factory, runF func(context.Context, *AddOptions) error) *cobra.Command {
	opts := &AddOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "add FIRST LAST",
		Short: "Add a patient",
		Long: `Add one patient. The MRN is generated (CB and a number) unless --mrn gives one.
A record whose name and date of birth, email or phone match a patient the practice
has already is refused with that patient listed, so that the same person is not
entered twice; --allow-duplicate adds it anyway (twins, a parent and child sharing
a phone). Patients are added by a person, never from a plain-language request.`,
		Example: `  carebook patient add Ann Lee --dob 1980-04-02 --phone "555 201 3344" --email ann@example.org
  carebook patient add Ann Lee --dob 1980-04-02 --mrn P2001 --yes --json`,
		Args: cmdutil.Args(2, 2, "a FIRST and a LAST name, each in quotes if it has spaces"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args.FirstName, opts.Args.LastName = args[0], args[1]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunAdd(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Args.DOB, "dob", "", "date of birth (1980-04-02 or 04/02/1980)")
	fl.StringVar(&opts.Args.Sex, "sex", "", "sex (F, M, X, …)")
	fl.StringVar(&opts.Args.Email, "email", "", "email address")
	fl.StringVar(&opts.Args.Phone, "phone", "", "phone number")
	fl.StringVar(&opts.Args.City, "city", "", "city")
	fl.StringVar(&opts.Args.Language, "language", "", "preferred language")
	fl.StringVar(&opts.Args.MRN, "mrn", "", "the practice's MRN (default: generated)")
	fl.BoolVar(&opts.Args.AllowDuplicate, "allow-duplicate", false, "add the patient even when a record matches (another person)")
	opts.WriteFlags.Bind(cmd)
	return cmd
}

// RunAdd adds the patient after a preview and a confirmation.
func RunAdd(ctx context.Context, opts *AddOptions) error {
	action, err := tools.NewAction(tools.ToolAddPatient, opts.Args)
	if err != nil {
		return err
	}
	return run(ctx, opts.IO, opts.Backend, action, opts.WriteFlags)
}

// EditOptions holds `patient edit`'s dependencies and flags.
type EditOptions struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	Args    tools.UpdatePatientArgs
	cmdutil.WriteFlags
}

// NewCmdEdit builds `carebook patient edit`.
func NewCmdEdit(f *cmdutil.Factory, runF func(context.Context, *EditOptions) error) *cobra.Command {
	opts := &EditOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	var ref tools.PatientRef
	var email, phone, city, language, status string
	cmd := &cobra.Command{
		Use:   "edit PATIENT",
		Short: "Change a patient's contact details or status",
		Long: `Change one patient's phone, email, city, language or status. PATIENT is an MRN,
an exact email address or a name. The preview shows each field before and after;
an empty value ("") clears a field. The audit log keeps the old and new values.`,
		Example: `  carebook patient edit P1000 --phone "555 201 3344" --email ann.lee@example.org
  carebook patient edit "Ann Lee" --born 1980 --status inactive --yes`,
		Args: cmdutil.Args(1, 1, "a PATIENT: an MRN, email or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref.Match = args[0]
			opts.Args.Patient = &ref
			for _, f := range []struct {
				name string
				v    *string
				dst  **string
			}{{"email", &email, &opts.Args.Email}, {"phone", &phone, &opts.Args.Phone}, {"city", &city, &opts.Args.City},
				{"language", &language, &opts.Args.Language}, {"status", &status, &opts.Args.Status}} {
				if cmd.Flags().Changed(f.name) {
					*f.dst = f.v
				}
			}
			if opts.Args.Email == nil && opts.Args.Phone == nil && opts.Args.City == nil && opts.Args.Language == nil && opts.Args.Status == nil {
				return cmdutil.FlagErrorf("say what to change: --phone, --email, --city, --language or --status")
			}
			if err := cmdutil.OneOf("status", status, store.Statuses); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunEdit(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&email, "email", "", "email address")
	fl.StringVar(&phone, "phone", "", "phone number")
	fl.StringVar(&city, "city", "", "city")
	fl.StringVar(&language, "language", "", "preferred language")
	fl.StringVar(&status, "status", "", "active, inactive or deceased")
	fl.StringVar(&ref.Born, "born", "", "year or date of birth, to tell namesakes apart")
	opts.WriteFlags.Bind(cmd)
	cmd.ValidArgsFunction = complete.Each(complete.MRNs(f.ExistingBackend))
	complete.Flag(cmd, "status", complete.Values(store.Statuses...))
	return cmd
}

// RunEdit changes the patient after a preview and a confirmation.
func RunEdit(ctx context.Context, opts *EditOptions) error {
	action, err := tools.NewAction(tools.ToolUpdatePatient, opts.Args)
	if err != nil {
		return err
	}
	return run(ctx, opts.IO, opts.Backend, action, opts.WriteFlags)
}

// MergeOptions holds `patient merge`'s dependencies and flags.
type MergeOptions struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	Keep    string
	Other   string
	cmdutil.WriteFlags
}

// NewCmdMerge builds `carebook patient merge`.
func NewCmdMerge(f *cmdutil.Factory, runF func(context.Context, *MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{IO: f.IOStreams, Backend: f.ExistingBackend}
	cmd := &cobra.Command{
		Use:   "merge KEEP OTHER",
		Short: "Merge two records of one person (managers)",
		Long: `Merge OTHER into KEEP, two records of the same person: OTHER's tags,
appointments, interactions, tasks and consent history move to KEEP, its details
fill KEEP's blank fields, and OTHER is removed. Records with different dates of
birth are refused. Give MRNs. Managers only, in team mode.`,
		Example: `  carebook patient merge P1000 CB000241`,
		Args:    cmdutil.Args(2, 2, "the PATIENT to KEEP and the OTHER record to merge into it, each an MRN, email or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Keep, opts.Other = args[0], args[1]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunMerge(cmd.Context(), opts)
		},
	}
	opts.WriteFlags.Bind(cmd)
	cmd.ValidArgsFunction = complete.Each(complete.MRNs(f.ExistingBackend), complete.MRNs(f.ExistingBackend))
	return cmd
}

// RunMerge merges after a preview and a confirmation.
func RunMerge(ctx context.Context, opts *MergeOptions) error {
	action, err := tools.NewAction(tools.ToolMergePatients, tools.MergeArgs{Keep: &tools.PatientRef{Match: opts.Keep}, Other: &tools.PatientRef{Match: opts.Other}})
	if err != nil {
		return err
	}
	return run(ctx, opts.IO, opts.Backend, action, opts.WriteFlags)
}
