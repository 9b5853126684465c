package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carebook/carebook/store"
)

// AuditChannel is the audit log's channel for a migration.
const AuditChannel = "import"

// NoteStaff is the staff name on the interactions that keep notes.
const NoteStaff = "migration"

// FileSummary is one file as the result reports it.
type FileSummary struct {
	File   string `json:"file"`
	Vendor Vendor `json:"vendor"`
	Rows   int    `json:"rows"`
}

// Result says what a migration did. It names rows and headers, never values.
type Result struct {
	Files     []FileSummary `json:"files"`
	Rows      int           `json:"rows_read"`
	Patients  int           `json:"patients"`
	Inserted  int           `json:"new"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	TagLinks  int           `json:"tag_links_added"`
	// Merged counts rows that went into a patient first seen in another row.
	Merged int     `json:"duplicates_merged"`
	Merges []Merge `json:"merges"`
	// NotMerged lists rows that matched but were kept as separate
	// patients, because they have different dates of birth.
	NotMerged []NotMerged `json:"not_merged"`
	Conflicts []Conflict  `json:"conflicts"`
	// NotesKept counts the notes written as interactions; NotesAlready
	// those an earlier migration of the same file wrote; RepeatedNotes the
	// notes identical to another of the same patient, kept once.
	NotesKept         int             `json:"notes_kept"`
	NotesAlready      int             `json:"notes_already_there"`
	RepeatedNotes     int             `json:"repeated_notes_kept_once"`
	YearlessBirthdays int             `json:"birthdays_without_year"`
	IDRules           []IDRule        `json:"mrns"`
	SkippedColumns    []SkippedColumn `json:"columns_skipped"`
	ImportedAt        time.Time       `json:"imported_at"`
	Written           bool            `json:"written"`
}

// Write imports a resolved migration into st in one transaction with one
// audit entry: patients upserted by MRN, tags added, and each note kept as
// an inbound note interaction by "migration" at the store's "now". Any
// error, or ctx cancelled before the commit, writes nothing.
//
// who says who migrates, for the audit row (its channel and action are the
// migration's).
func Write(ctx context.Context, st *store.Store, res *Resolution, who store.AuditEntry) (*Result, error) {
	out := res.summary()
	if st == nil {
		return out, errors.New("migrate: no database")
	}
	entry := who
	entry.Channel, entry.Action = AuditChannel, res.auditAction()
	err := st.Write(ctx, entry, func(tx *store.Tx) error {
		out.ImportedAt = tx.Now()
		if err := upsert(ctx, tx, res.Patients, out); err != nil {
			return err
		}
		if res.afterPatients != nil {
			if err := res.afterPatients(); err != nil {
				return err
			}
		}
		return keepNotes(ctx, tx, res.Patients, out)
	})
	if err != nil {
		out.Inserted, out.Updated, out.Unchanged, out.TagLinks, out.NotesKept, out.NotesAlready = 0, 0, 0, 0, 0, 0
		return out, fmt.Errorf("migrate: nothing was written: %w", err)
	}
	out.Written = true
	return out, nil
}

// Rehearse is Write rolled back: the counts (new, updated, unchanged, tag
// links, notes) are what a migration would do now, and nothing is kept or
// audited, as nothing changes (migrate --dry-run).
func Rehearse(ctx context.Context, st *store.Store, res *Resolution) (*Result, error) {
	out := res.summary()
	if st == nil {
		return out, errors.New("migrate: no database")
	}
	err := st.Rehearse(ctx, func(tx *store.Tx) error {
		out.ImportedAt = tx.Now()
		if err := upsert(ctx, tx, res.Patients, out); err != nil {
			return err
		}
		return keepNotes(ctx, tx, res.Patients, out)
	})
	if err != nil {
		return out, fmt.Errorf("migrate (dry run): %w", err)
	}
	return out, nil
}

func (res *Resolution) summary() *Result {
	out := &Result{
		Files: res.FileSummaries, Rows: res.Rows, Patients: len(res.Patients), Merged: res.Merged(),
		Merges: nonNil(res.Merges), NotMerged: nonNil(res.NotMerged), Conflicts: nonNil(res.Conflicts), RepeatedNotes: res.RepeatedNotes,
		YearlessBirthdays: res.YearlessBirthdays, IDRules: nonNil(res.IDRules), SkippedColumns: nonNil(res.Skipped),
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (res *Resolution) auditAction() string {
	type args struct {
		Files    []string `json:"files"`
		Rows     int      `json:"rows"`
		Patients int      `json:"patients"`
		Merged   int      `json:"merged"`
		Notes    int      `json:"notes"`
	}
	b, _ := json.Marshal(struct {
		Tool string `json:"tool"`
		Args args   `json:"args"`
	}{"migrate", args{res.Files, res.Rows, len(res.Patients), res.Merged(), res.Notes}})
	return string(b)
}

// alwaysSafe are the fields an empty cell cannot erase: the store writes
// them as NULL, and an upsert keeps what it has for NULL.
var alwaysSafe = []store.PatientField{store.FieldDOB, store.FieldSex, store.FieldEmail, store.FieldPhone,
	store.FieldCity, store.FieldLanguage}

// upsert writes the patients. Names, consent and status are written as
// values even when unknown (an empty name, no consent, active), so each
// patient updates only those it has a value for: patients are upserted in
// groups by which of them they have.
func upsert(ctx context.Context, tx *store.Tx, patients []*Patient, out *Result) error {
	optional := []struct {
		field string
		store store.PatientField
	}{
		{FieldFirstName, store.FieldFirstName}, {FieldLastName, store.FieldLastName},
		{FieldMarketingConsent, store.FieldMarketingConsent}, {FieldStatus, store.FieldStatus},
	}
	groups := map[string][]store.Patient{}
	fields := map[string][]store.PatientField{}
	var order []string
	for _, p := range patients {
		var sig strings.Builder
		fs := append([]store.PatientField(nil), alwaysSafe...)
		for _, o := range optional {
			if p.has[o.field] {
				sig.WriteString(o.field + ",")
				fs = append(fs, o.store)
			}
		}
		k := sig.String()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
			fields[k] = fs
		}
		groups[k] = append(groups[k], p.Patient)
	}
	for _, k := range order {
		stats, err := tx.UpsertPatients(ctx, groups[k], fields[k])
		if err != nil {
			return err
		}
		out.Inserted += stats.Inserted
		out.Updated += stats.Updated
		out.Unchanged += stats.Unchanged
		out.TagLinks += stats.TagLinks
	}
	return nil
}

// keepNotes logs every note as an interaction, except those an earlier
// migration already logged for the same patient with the same text.
func keepNotes(ctx context.Context, tx *store.Tx, patients []*Patient, out *Result) error {
	var mrns []string
	for _, p := range patients {
		if len(p.Notes) > 0 {
			mrns = append(mrns, p.MRN)
		}
	}
	if len(mrns) == 0 {
		return nil
	}
	stored, err := tx.FindPatients(ctx, store.PatientFilter{MRNs: mrns}, 0)
	if err != nil {
		return err
	}
	ids := make(map[string]int64, len(stored))
	for _, p := range stored {
		ids[strings.ToUpper(p.MRN)] = p.ID
	}
	earlier, err := tx.FindInteractions(ctx, store.InteractionQuery{
		Interaction: store.InteractionFilter{Channels: []store.Channel{store.ChannelNote}, Staff: NoteStaff},
		Patients:    store.PatientFilter{MRNs: mrns},
	}, 0)
	if err != nil {
		return err
	}
	type noteKey struct {
		id   int64
		text string
	}
	have := make(map[noteKey]bool, len(earlier))
	for _, it := range earlier {
		if it.Staff == NoteStaff && it.Direction == store.DirectionInbound {
			have[noteKey{it.PatientID, it.Summary}] = true
		}
	}
	now := tx.Now()
	for _, p := range patients {
		if len(p.Notes) == 0 {
			continue
		}
		id, ok := ids[strings.ToUpper(p.MRN)]
		if !ok {
			return fmt.Errorf("patient of %s not found after the upsert", p.Rows[0])
		}
		for _, n := range p.Notes {
			if err := ctx.Err(); err != nil {
				return err
			}
			if have[noteKey{id, n.Text}] {
				out.NotesAlready++
				continue
			}
			_, err := tx.LogInteraction(ctx, store.NewInteraction{
				At: now, Channel: store.ChannelNote, Direction: store.DirectionInbound, Staff: NoteStaff, Summary: n.Text,
			}, []int64{id})
			if err != nil {
				return fmt.Errorf("note in %s: %w", n.Row, err)
			}
			have[noteKey{id, n.Text}] = true
			out.NotesKept++
		}
	}
	return nil
}
