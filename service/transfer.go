package service

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/backup"
	"github.com/carebook/carebook/importer"
	"github.com/carebook/carebook/internal/charset"
	"github.com/carebook/carebook/migrate"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Import imports one uploaded CSV, all or nothing.
func (v *view) Import(ctx context.Context, req backend.ImportRequest, csv io.Reader, progress func(backend.Progress)) (*backend.ImportView, error) {
	if err := v.allow(ctx, "import", backend.ChannelImport); err != nil {
		return nil, err
	}
	kind, err := importer.ParseKind(req.Kind)
	if err != nil {
		return nil, &tools.ValidationError{Msg: err.Error()}
	}
	enc, err := charset.Parse(req.Encoding)
	if err != nil {
		return nil, &tools.ValidationError{Msg: err.Error()}
	}
	opts := importer.Options{Kind: kind, Map: req.Map, DryRun: req.DryRun, SkipBad: req.SkipBad, Now: v.s.cfg.Now(),
		Encoding: enc, Audit: v.entry(backend.ChannelImport)}
	if progress != nil {
		opts.Progress = func(done, total int64) { progress(backend.Progress{Stage: "reading", Done: done, Total: total}) }
	}
	if req.Size > 0 {
		csv = sized{csv, req.Size}
	}
	// The file is read and checked with nothing held; only the check of
	// its MRNs and the write take the write lane.
	parsed, ierr := importer.Parse(ctx, req.FileName, csv, opts)
	res := parsed.Result
	if ierr == nil {
		err = v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
			res, ierr = parsed.Apply(ctx, st)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	view := importView(res)
	var bad *importer.BadRowsError
	if ierr != nil && !errors.As(ierr, &bad) {
		return nil, fmt.Errorf("import %s: %w", req.FileName, ierr)
	}
	if ierr != nil {
		return view, fmt.Errorf("import %s: %w", req.FileName, ierr)
	}
	return view, nil
}

// sized tells the importer an upload's size, for progress.
type sized struct {
	io.Reader
	n int64
}

func (s sized) Size() int64 { return s.n }

func importView(r importer.Result) *backend.ImportView {
	out := &backend.ImportView{Kind: string(r.Kind), File: r.File, Rows: r.Rows, Inserted: r.Inserted, Updated: r.Updated,
		Unchanged: r.Unchanged, TagLinks: r.TagLinks, Notes: len(r.Notes), DryRun: r.DryRun, Written: r.Written,
		Bad: []backend.RowErrorView{}, Mapping: []backend.ColumnMapView{}, Skipped: append([]string{}, r.Skipped()...)}
	for _, b := range r.Bad {
		out.Bad = append(out.Bad, backend.RowErrorView{Line: b.Line, Message: b.Message})
	}
	for _, m := range r.Mapping {
		out.Mapping = append(out.Mapping, backend.ColumnMapView{Header: m.Header, Field: m.Field})
	}
	return out
}

// Migrate inspects and resolves the uploaded files again, with the mapping
// the person confirmed, and imports them in one transaction. The files are
// kept, for the moment it takes, in a private folder beside the database.
func (v *view) Migrate(ctx context.Context, req backend.MigrateRequest, progress func(backend.Progress)) (*backend.MigrateView, error) {
	if err := v.allow(ctx, "migrate", backend.ChannelImport); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(v.s.cfg.DB.Path()), ".migrate-*")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer os.RemoveAll(dir)
	var paths []string
	for i, f := range req.Files {
		// Numbered folders keep two files of the same name apart; the
		// base name is what the migration reports.
		sub := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(sub, 0o700); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		p := filepath.Join(sub, filepath.Base(f.Name))
		if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		paths = append(paths, p)
	}
	report := func(stage string) {
		if progress != nil {
			progress(backend.Progress{Stage: stage})
		}
	}
	report("resolving")
	enc, err := charset.Parse(req.Encoding)
	if err != nil {
		return nil, &tools.ValidationError{Msg: err.Error()}
	}
	plan, err := migrate.Inspect(ctx, paths, enc)
	if err != nil {
		return nil, err
	}
	if req.Mapping != "" {
		mp := filepath.Join(dir, "mapping.toml")
		if err := os.WriteFile(mp, []byte(req.Mapping), 0o600); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		m, err := migrate.LoadMapping(mp)
		if err != nil {
			return nil, &tools.ValidationError{Msg: err.Error()}
		}
		if err := plan.ApplyMapping(m); err != nil {
			return nil, &tools.ValidationError{Msg: err.Error()}
		}
	}
	res, err := plan.Resolve(v.s.cfg.Now())
	if err != nil {
		return nil, err
	}
	report("writing")
	var out *migrate.Result
	err = v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
		var err error
		if req.DryRun {
			out, err = migrate.Rehearse(ctx, st, res)
			return err
		}
		out, err = migrate.Write(ctx, st, res, v.entry(backend.ChannelImport))
		return err
	})
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(out)
	var view backend.MigrateView
	json.Unmarshal(b, &view)
	return &view, nil
}

// AuditExport writes the offline copy. Its own row is written first, so
// that the copy records that it was made, and lists every patient the
// copied rows name.
func (v *view) AuditExport(ctx context.Context, req backend.AuditExportRequest, w io.Writer) (*backend.AuditExportView, error) {
	if err := v.allow(ctx, "audit", backend.ChannelExport); err != nil {
		return nil, err
	}
	var since time.Time
	if req.Since != "" {
		var err error
		if since, err = tools.ParsePoint(req.Since, v.s.cfg.Now()); err != nil {
			return nil, &tools.ValidationError{Msg: "--since: " + err.Error()}
		}
	}
	var n int
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		// Refuse to copy a log that does not verify: the copy would
		// certify it.
		if _, err := st.VerifyAudit(ctx); err != nil {
			return fmt.Errorf("the audit log fails verification, so no copy was made: %w", err)
		}
		rows, err := st.Reader().FindAudit(ctx, store.AuditQuery{Since: since})
		if err != nil {
			return err
		}
		var ids []int64
		for _, r := range rows {
			ids = append(ids, r.PatientIDs...)
		}
		action, _ := json.Marshal(map[string]any{"tool": "audit_export", "args": map[string]string{"since": req.Since}})
		entry := v.entry(backend.ChannelExport)
		entry.Action = string(action)
		if err := st.LogOutcome(ctx, entry, ids, len(rows), store.OutcomeOK, ""); err != nil {
			return err
		}
		bw := bufio.NewWriter(w)
		if n, err = st.ExportAudit(ctx, since, bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return nil, err
	}
	return &backend.AuditExportView{Rows: n}, nil
}

// AuditVerify recomputes the log, and checks an offline copy against it.
func (v *view) AuditVerify(ctx context.Context, offline io.Reader) (*backend.VerifyView, error) {
	if err := v.allow(ctx, "audit", backend.ChannelCLI); err != nil {
		return nil, err
	}
	out := &backend.VerifyView{}
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		rep, verr := st.VerifyAudit(ctx)
		var damaged *store.DamagedError
		if errors.As(verr, &damaged) {
			return verr
		}
		out.Rows, out.Redacted, out.Tree, out.Restores = rep.Rows, rep.Redacted, rep.Tree.String(), rep.Restores
		if verr != nil {
			out.Error = verr.Error()
			var bad *store.AuditIntegrityError
			if errors.As(verr, &bad) {
				switch bad.Head {
				case store.HeadDamaged:
					out.HeadProblem = "damaged"
				case store.HeadMissing:
					out.HeadProblem = "missing"
				}
			}
		}
		if p := st.CompactionPending(); p != nil {
			out.Pending = p.Error()
		}
		if verr == nil && offline != nil {
			out.FileChecked = true
			n, ferr := st.CheckAuditExport(ctx, offline)
			out.FileRows = n
			if ferr != nil {
				out.FileError = ferr.Error()
			}
		}
		return nil
	})
	out.OK = out.Error == "" && out.FileError == ""
	return out, err
}

// Backup writes an encrypted snapshot to w. Everyone waits only while the
// file is copied, so that the copy is one consistent state; the key's
// derivation, the encryption and the streaming, which a client that stops
// reading can make last forever, work from the copy with nothing held.
// Only ciphertext leaves. The audit row comes from BackupDone, once the
// backup is safe on its disk: a backup that never got there must not read
// as made.
func (v *view) Backup(ctx context.Context, req backend.BackupRequest, w io.Writer, progress func(backend.Progress)) (*backend.BackupView, error) {
	if err := v.allow(ctx, "backup", backend.ChannelBackup); err != nil {
		return nil, err
	}
	var recipient age.Recipient
	switch {
	case req.Recipient != "" && req.Passphrase != "":
		return nil, &tools.ValidationError{Msg: "a backup is encrypted to a passphrase or to a recipient, not both"}
	case req.Recipient != "":
		r, err := age.ParseX25519Recipient(req.Recipient)
		if err != nil {
			return nil, &tools.ValidationError{Msg: fmt.Sprintf("the recipient is not an age public key (age1…): %v", err)}
		}
		recipient = r
	case len(req.Passphrase) < 12:
		return nil, &tools.ValidationError{Msg: "the passphrase is shorter than 12 characters; a backup of patient data deserves a long one"}
	default:
		r, err := age.NewScryptRecipient(req.Passphrase)
		if err != nil {
			return nil, err
		}
		recipient = r
	}
	start := time.Now()
	var snap *backup.Snapshot
	err := v.s.cfg.DB.Exclusive(ctx, func(st *store.Store) error {
		var err error
		snap, err = backup.Take(ctx, st)
		return err
	})
	var sum backup.Summary
	if err == nil {
		if progress != nil {
			progress(backend.Progress{Stage: "encrypting"})
		}
		sum, err = snap.Write(ctx, w, recipient)
	}
	if snap != nil {
		if cerr := snap.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("let the copy go: %w", cerr)
		}
	}
	if err != nil {
		v.BackupDone(context.WithoutCancel(ctx), backend.BackupDoneRequest{File: req.File, Error: err.Error()})
		return nil, fmt.Errorf("backup: %w; nothing was written to %s", err, req.File)
	}
	return &backend.BackupView{Database: v.s.cfg.DB.Path(), Bytes: sum.Bytes, Seconds: time.Since(start).Seconds()}, nil
}

// BackupDone records how a backup ended, once its file is complete and
// synced (or is not).
func (v *view) BackupDone(ctx context.Context, req backend.BackupDoneRequest) error {
	if err := v.allow(ctx, "backup", backend.ChannelBackup); err != nil {
		return err
	}
	action, _ := json.Marshal(map[string]any{"tool": "backup", "args": map[string]string{"file": filepath.Base(req.File)}})
	entry := v.entry(backend.ChannelBackup)
	entry.Action = string(action)
	outcome, msg := store.OutcomeOK, "encrypted backup"
	if req.Error != "" {
		outcome, msg = store.OutcomeError, "backup failed: "+req.Error
	}
	return v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		return st.LogOutcome(ctx, entry, nil, 0, outcome, msg)
	})
}
