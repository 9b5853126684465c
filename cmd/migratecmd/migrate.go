// Package migratecmd is `carebook migrate`: the guided move out of a cloud
// CRM (HubSpot, Mailchimp, Keap or any CSV of contacts) into Carebook.
package migratecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/migrate"
	"github.com/carebook/carebook/phiscan"
)

// Options holds the migrate command's dependencies and flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	// Existing is the backend of a database that must exist: a dry run
	// must not create one.
	Existing func(context.Context) (backend.Backend, error)
	Clock    func() (func() time.Time, error)
	// DBFlag is --db as given, repeated in the next-step command.
	DBFlag string

	Files   []string
	MapFile string
	Yes     bool
	DryRun  bool
	JSON    bool
	// Encoding is --encoding as typed: the files' encoding when they have
	// no byte order mark.
	Encoding string
}

// NewCmdMigrate builds `carebook migrate`.
func NewCmdMigrate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Backend: f.CreatingBackend, Existing: f.ExistingBackend, Clock: f.Clock}
	cmd := &cobra.Command{
		Use:   "migrate FILE.csv [FILE.csv...]",
		Short: "Move contacts out of a cloud CRM (HubSpot, Mailchimp, Keap) into Carebook",
		Long: `Migrate contact exports from HubSpot, Mailchimp, Keap or any CSV into Carebook,
in five steps:

  1. scan each file for PHI and show what every column holds (headers and
     counts only, never a value);
  2. propose which Carebook field each column fills, and let you confirm or
     change it (at a terminal), or take it from --map, or accept it with --yes;
  3. merge the same person found twice (same email ignoring case, or same
     phone and date of birth), listing every merge and every disagreement;
     rows with the same email but different dates of birth (a parent and a
     child sharing an address) stay separate patients, and are listed;
  4. import everything in one audited transaction: patients, tags, and each
     note kept as a note interaction by "migration". Any error or Ctrl-C
     writes nothing;
  5. summarise, and say what to do next.

Rows without an MRN get a stable one: HS-<Record ID> (HubSpot), MC-<LEID>
(Mailchimp), KP-<Id> (Keap), else E-<hash of the email>.

The --map file is TOML (or JSON when it ends in .json):

  [columns]
  "Record ID" = "record_id"
  "Create Date" = "skip"

Columns it does not name keep the proposed field. Fields: ` + strings.Join(migrate.Fields, ", ") + `.

--dry-run takes the proposed mapping (or --map), makes the migration in a
transaction and rolls it back: the summary's counts are what it would do, and
nothing is written. It needs the practice database to exist (carebook init).`,
		Example: `  carebook migrate hubspot-contacts.csv mailchimp-subscribed.csv
  carebook migrate contacts.csv --map mapping.toml --json
  carebook migrate keap-export.csv --yes
  carebook migrate hubspot-contacts.csv --dry-run`,
		Args: cmdutil.Args(1, -1, "at least one CSV FILE exported from the old CRM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			opts.DBFlag = f.DBFlag
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.MapFile, "map", "", "mapping file (TOML, or JSON): column header = field or \"skip\"")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "accept the proposed mapping and import without asking")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what the migration would do, and write nothing")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the inventory and the result as JSON")
	cmd.Flags().StringVar(&opts.Encoding, "encoding", "", "the files' encoding when they are not UTF-8 and have no byte order mark: "+charset.Names)
	return cmd
}

// ErrNeedsMapping is the refusal to guess a mapping for a script.
var ErrNeedsMapping = errors.New("migrate needs a confirmed column mapping, and there is no terminal to ask on: " +
	"pass --map mapping.toml to give the mapping, or --yes to accept the proposed one " +
	"(run carebook migrate at a terminal to see the proposal)")

// Run migrates the files.
func Run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	interactive := opts.IO.CanPrompt() && !opts.JSON
	// A dry run writes nothing, so the proposed mapping needs no
	// confirmation: it is shown, with what it would do.
	if !interactive && !opts.Yes && opts.MapFile == "" && !opts.DryRun {
		return &cmdutil.FlagError{Err: ErrNeedsMapping}
	}
	enc, err := charset.Parse(opts.Encoding)
	if err != nil {
		return &cmdutil.FlagError{Err: err}
	}
	var mapping migrate.Mapping
	if opts.MapFile != "" {
		m, err := migrate.LoadMapping(opts.MapFile)
		if err != nil {
			return &cmdutil.FlagError{Err: err}
		}
		mapping = m
	}
	clock, err := opts.Clock()
	if err != nil {
		return err
	}

	plan, err := migrate.Inspect(ctx, opts.Files, enc)
	if err != nil {
		return err
	}
	if mapping != nil {
		if err := plan.ApplyMapping(mapping); err != nil {
			return &cmdutil.FlagError{Err: fmt.Errorf("--map %s: %w", opts.MapFile, err)}
		}
	}
	if !opts.JSON {
		if err := printInventory(opts.IO, plan); err != nil {
			return err
		}
	}
	if interactive && !opts.Yes && !opts.DryRun && mapping == nil {
		changed, err := confirmMapping(ctx, opts.IO, plan)
		if err != nil {
			return err
		}
		if changed {
			fmt.Fprintln(opts.IO.Out, "\nThe mapping now:")
			if err := printMapping(opts.IO, plan); err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.Out, "To repeat this in a script, save this as mapping.toml and pass --map mapping.toml:\n%s\n", plan.TOML())
		}
	}

	res, err := plan.Resolve(clock())
	var bad *migrate.BadRowsError
	if errors.As(err, &bad) {
		if opts.JSON {
			if jerr := cmdutil.WriteJSON(opts.IO.Out, map[string]any{"written": false, "bad_values": bad.Bad, "inventory": plan.Files}); jerr != nil {
				return jerr
			}
			return cmdutil.ErrSilent
		}
		printBad(opts.IO, bad.Bad)
		return err
	}
	if err != nil {
		return err
	}

	if interactive && !opts.Yes && !opts.DryRun {
		fmt.Fprintf(opts.IO.Out, "\nReady: %s → %s (%s merged), %s to keep as interactions.\n",
			cmdutil.Plural(res.Rows, "row", "rows"), cmdutil.Plural(len(res.Patients), "patient", "patients"),
			cmdutil.Plural(res.Merged(), "duplicate row", "duplicate rows"), cmdutil.Plural(res.Notes, "note", "notes"))
		if n := len(res.NotMerged); n > 0 {
			fmt.Fprintf(opts.IO.Out, "%s matched but kept apart (different dates of birth).\n", cmdutil.Plural(n, "pair of rows", "pairs of rows"))
		}
		ok, err := opts.IO.Confirm(ctx, "Import into the practice database?")
		if err != nil {
			return askError(err)
		}
		if !ok {
			return cmdutil.ErrCancelled
		}
	}

	// The backend inspects and resolves the files again with the mapping
	// confirmed here, and writes them in one transaction.
	open := opts.Backend
	if opts.DryRun && opts.Existing != nil {
		open = opts.Existing
	}
	b, err := open(ctx)
	if err != nil {
		return err
	}
	req := backend.MigrateRequest{Mapping: plan.TOML(), Encoding: opts.Encoding, DryRun: opts.DryRun}
	for _, path := range opts.Files {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", path, err)
		}
		req.Files = append(req.Files, backend.MigrateFile{Name: path, Data: data})
	}
	view, werr := b.Migrate(ctx, req, nil)
	if werr != nil {
		if ctx.Err() != nil {
			return cmdutil.ErrCancelled
		}
		return werr
	}
	out, err := resultOf(view)
	if err != nil {
		return err
	}

	next := nextSteps(opts, plan)
	if opts.DryRun {
		// The next step of a dry run is the migration itself.
		next = []string{"To migrate, run the same command without --dry-run."}
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, struct {
			Inventory []*migrate.File `json:"inventory"`
			*migrate.Result
			Next []string `json:"next"`
		}{plan.Files, out, next})
	}
	printSummary(opts.IO, out)
	for _, line := range next {
		fmt.Fprintln(opts.IO.Out, line)
	}
	return nil
}

// resultOf reads the migration's result back from its wire form.
func resultOf(view *backend.MigrateView) (*migrate.Result, error) {
	b, err := json.Marshal(view)
	if err != nil {
		return nil, err
	}
	var out migrate.Result
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("read the migration's result: %w", err)
	}
	return &out, nil
}

// printInventory shows each file's PHI scan and proposed mapping: headers,
// counts and fields, never a value.
func printInventory(ios *cmdutil.IOStreams, plan *migrate.Plan) error {
	for i, f := range plan.Files {
		if i > 0 {
			fmt.Fprintln(ios.Out)
		}
		phi := "no PHI found"
		if f.HoldsPHI {
			phi = "holds PHI"
		}
		fmt.Fprintf(ios.Out, "%s (%s): %s, %s; %s; scan recommends %s (%s)\n", f.Name, f.Vendor.Name(),
			cmdutil.Plural(f.Rows, "row", "rows"), cmdutil.Plural(len(f.Columns), "column", "columns"),
			phi, f.Recommendation, f.Recommendation.Describe())
		if err := printColumns(ios, f); err != nil {
			return err
		}
	}
	return nil
}

func printColumns(ios *cmdutil.IOStreams, f *migrate.File) error {
	// Not fitted to the terminal, like scan's: what a column mentions is
	// the finding.
	t := cmdutil.NewTable(ios.Out, ios.IsStdoutTTY(), "COLUMN", "HOLDS", "FILLED", "MENTIONS", "IMPORT AS")
	for _, c := range f.Columns {
		t.Row(c.Header, c.Holds, fmt.Sprint(c.Filled), phiscan.MentionsText(c.Mentions), fieldText(c))
	}
	return t.Flush()
}

func fieldText(c migrate.Column) string {
	s := c.Field
	if s == "" {
		s = "skip"
		if c.Source == migrate.SourceNone {
			s = "skip (not recognised)"
		}
	}
	if c.Why != "" {
		s += " (" + c.Why + ")"
	}
	if c.Source == migrate.SourceMapFile || c.Source == migrate.SourceUser {
		s += " [" + c.Source + "]"
	}
	return s
}

func printMapping(ios *cmdutil.IOStreams, plan *migrate.Plan) error {
	for _, f := range plan.Files {
		fmt.Fprintf(ios.Out, "%s:\n", f.Name)
		t := cmdutil.NewTable(ios.Out, ios.IsStdoutTTY(), "COLUMN", "IMPORT AS")
		for _, c := range f.Columns {
			t.Row(c.Header, fieldText(c))
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// confirmMapping asks to accept the proposal, and otherwise goes through
// the columns one by one. It reports whether anything changed.
func confirmMapping(ctx context.Context, ios *cmdutil.IOStreams, plan *migrate.Plan) (bool, error) {
	answer, err := ios.Ask(ctx, "\nUse this mapping? [Y/n] (n to go through the columns one by one) ")
	if err != nil {
		return false, askError(err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "", "y", "yes":
		return false, nil
	}
	fmt.Fprintf(ios.Out, "For each column press Enter to keep its field, or type a field or \"skip\".\nFields: %s.\n", strings.Join(migrate.Fields, ", "))
	changed := false
	for fi, f := range plan.Files {
		for ci, c := range f.Columns {
			current := c.Field
			if current == "" {
				current = migrate.Skip
			}
			for {
				a, err := ios.Ask(ctx, fmt.Sprintf("%s %q [%s]: ", f.Name, c.Header, current))
				if err != nil {
					return changed, askError(err)
				}
				a = strings.ToLower(strings.TrimSpace(a))
				if a == "" || a == current {
					break
				}
				if err := plan.Set(fi, ci, a, migrate.SourceUser); err != nil {
					fmt.Fprintln(ios.Out, err)
					continue
				}
				changed = true
				break
			}
		}
	}
	return changed, nil
}

func askError(err error) error {
	if errors.Is(err, cmdutil.ErrNoAnswer) {
		return cmdutil.ErrCancelled
	}
	return err
}

const maxBadShown = 50

func printBad(ios *cmdutil.IOStreams, bad []migrate.RowError) {
	for i, b := range bad {
		if i == maxBadShown {
			fmt.Fprintf(ios.ErrOut, "… and %d more\n", len(bad)-maxBadShown)
			break
		}
		fmt.Fprintln(ios.ErrOut, b.Error())
	}
}

func printSummary(ios *cmdutil.IOStreams, r *migrate.Result) {
	w := ios.Out
	files := make([]string, len(r.Files))
	for i, f := range r.Files {
		files[i] = fmt.Sprintf("%s %d", f.File, f.Rows)
	}
	if r.Written {
		fmt.Fprintf(w, "\nMigrated %s in one audited transaction.\n", cmdutil.Plural(len(r.Files), "file", "files"))
	} else {
		fmt.Fprintf(w, "\nDry run of %s: nothing was written. A migration now would do this:\n", cmdutil.Plural(len(r.Files), "file", "files"))
	}
	fmt.Fprintf(w, "Rows read:          %d (%s)\n", r.Rows, strings.Join(files, ", "))
	fmt.Fprintf(w, "Patients imported:  %d (%d new, %d updated, %d unchanged)\n", r.Patients, r.Inserted, r.Updated, r.Unchanged)
	fmt.Fprintf(w, "Duplicates merged:  %s", cmdutil.Plural(r.Merged, "row", "rows"))
	if r.Merged > 0 {
		fmt.Fprint(w, " (rows numbered as in a spreadsheet; the header is row 1)")
	}
	fmt.Fprintln(w)
	for _, m := range r.Merges {
		how := "same " + m.Key
		if m.With != m.Into {
			how += " as " + m.With.String()
		}
		fmt.Fprintf(w, "  %s merged into %s (%s)\n", m.Row, m.Into, how)
	}
	for _, n := range r.NotMerged {
		fmt.Fprintf(w, "Not merged (%s): %s\n", n.Reason, pairText(n.Rows))
	}
	if len(r.Conflicts) > 0 {
		fmt.Fprintln(w, "Disagreements (the first non-empty value was kept):")
		for _, c := range r.Conflicts {
			others := make([]string, len(c.Others))
			for i, o := range c.Others {
				others[i] = o.String()
			}
			fmt.Fprintf(w, "  %s: kept %s; differs in %s\n", c.Field, c.Kept, strings.Join(others, ", "))
		}
	}
	fmt.Fprintf(w, "Notes kept:         %d, as note interactions by %q dated %s", r.NotesKept, migrate.NoteStaff, cmdutil.DateTime(r.ImportedAt))
	if r.NotesAlready > 0 {
		fmt.Fprintf(w, "; %d already kept by an earlier migration", r.NotesAlready)
	}
	if r.RepeatedNotes > 0 {
		fmt.Fprintf(w, "; %d identical to another note of the same patient, kept once", r.RepeatedNotes)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Tags:               %s added\n", cmdutil.Plural(r.TagLinks, "tag link", "tag links"))
	rules := make([]string, len(r.IDRules))
	for i, rule := range r.IDRules {
		rules[i] = fmt.Sprintf("%d from %s", rule.Patients, rule.How)
	}
	fmt.Fprintf(w, "MRNs:               %s\n", strings.Join(rules, ", "))
	if r.YearlessBirthdays > 0 {
		fmt.Fprintf(w, "Birthdays:          %s without a year, not kept (Carebook keeps full dates of birth only)\n",
			cmdutil.Plural(r.YearlessBirthdays, "row has one", "rows have one"))
	}
	skipped := map[string][]string{}
	var order []string
	for _, s := range r.SkippedColumns {
		if _, ok := skipped[s.File]; !ok {
			order = append(order, s.File)
		}
		skipped[s.File] = append(skipped[s.File], s.Header)
	}
	if len(order) == 0 {
		fmt.Fprintln(w, "Columns skipped:    none")
	} else {
		fmt.Fprintf(w, "Columns skipped:    %d (what they hold is not in Carebook: check before deleting the cloud copy)\n", len(r.SkippedColumns))
		for _, f := range order {
			fmt.Fprintf(w, "  %s: %s\n", f, strings.Join(skipped[f], ", "))
		}
	}
}

// pairText names two rows, the file once when they share it: "a.csv row 3
// and row 7".
func pairText(rows []migrate.RowRef) string {
	if len(rows) != 2 {
		parts := make([]string, len(rows))
		for i, r := range rows {
			parts[i] = r.String()
		}
		return strings.Join(parts, " and ")
	}
	second := rows[1].String()
	if rows[1].File == rows[0].File {
		second = fmt.Sprintf("row %d", rows[1].Row)
	}
	return rows[0].String() + " and " + second
}

// nextSteps are the marketing list and the clean-up of the cloud CRM.
func nextSteps(opts *Options, plan *migrate.Plan) []string {
	var vendors []string
	to := ""
	for _, f := range plan.Files {
		if f.Vendor == migrate.VendorGeneric {
			continue
		}
		name := f.Vendor.Name()
		if !containsString(vendors, name) {
			vendors = append(vendors, name)
		}
		if to == "" || f.Vendor == migrate.VendorMailchimp {
			to = name
		}
	}
	if to == "" {
		to = `"your marketing tool"`
	}
	db := ""
	if opts.DBFlag != "" {
		db = " --db " + shellQuote(opts.DBFlag)
	}
	crm := "the cloud CRM"
	if len(vendors) > 0 {
		crm = strings.Join(vendors, " and ")
	}
	return []string{
		fmt.Sprintf("Next: make the marketing list with `carebook%s export patients --profile marketing --to %s -o marketing.csv` (name and email of opted-in active patients only).", db, to),
		fmt.Sprintf("Then, once you have checked the patients in Carebook (`carebook%s patients`), delete these contacts, their notes and tags from %s, and delete the export files: they hold PHI.", db, crm),
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[](){}<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
