package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/internal/wire"
	"github.com/carebook/carebook/service"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// none is the request of an operation that takes nothing.
type none struct{}

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+wire.Prefix+wire.OpLogin, s.login)
	mux.HandleFunc("POST "+wire.Prefix+wire.OpLogout, s.logout)

	handle(s, mux, wire.OpInfo, func(ctx context.Context, b backend.Backend, _ none, _ *stream) (*backend.Info, error) {
		return b.Info(ctx)
	})
	handle(s, mux, wire.OpDiagnose, func(ctx context.Context, b backend.Backend, _ none, _ *stream) ([]backend.Check, error) {
		return b.Diagnose(ctx)
	})
	handle(s, mux, wire.OpPrepare, func(ctx context.Context, b backend.Backend, req backend.PrepareRequest, _ *stream) (*backend.Reply, error) {
		return b.Prepare(ctx, req)
	})
	handle(s, mux, wire.OpAsk, func(ctx context.Context, b backend.Backend, req backend.AskRequest, st *stream) (*backend.Reply, error) {
		return b.Ask(ctx, req, st.progress)
	})
	handle(s, mux, wire.OpChoose, func(ctx context.Context, b backend.Backend, req backend.ChooseRequest, _ *stream) (*backend.Reply, error) {
		return b.Choose(ctx, req)
	})
	handle(s, mux, wire.OpPrepareForget, func(ctx context.Context, b backend.Backend, req backend.ForgetRequest, _ *stream) (*backend.Reply, error) {
		return b.PrepareForget(ctx, req)
	})
	handle(s, mux, wire.OpExecute, func(ctx context.Context, b backend.Backend, req backend.ExecuteRequest, st *stream) (*backend.Reply, error) {
		return b.Execute(ctx, req, st.progress)
	})
	handle(s, mux, wire.OpBatch, func(ctx context.Context, b backend.Backend, req backend.BatchRequest, st *stream) (*none, error) {
		return nil, b.Batch(ctx, req, func(l backend.LineResult) { st.send(wire.Frame{Line: &l}) })
	})
	handle(s, mux, wire.OpResolve, func(ctx context.Context, b backend.Backend, req backend.ResolveRequest, _ *stream) ([]tools.PatientBrief, error) {
		return b.Resolve(ctx, req)
	})
	handle(s, mux, wire.OpRecord, func(ctx context.Context, b backend.Backend, req backend.RecordRequest, _ *stream) (*backend.RecordView, error) {
		return b.Record(ctx, req)
	})
	handle(s, mux, wire.OpTags, func(ctx context.Context, b backend.Backend, _ none, _ *stream) ([]backend.TagCount, error) {
		return b.Tags(ctx)
	})
	handle(s, mux, wire.OpComplete, func(ctx context.Context, b backend.Backend, req backend.CompleteRequest, _ *stream) ([]string, error) {
		return b.Complete(ctx, req)
	})
	handle(s, mux, wire.OpAuditLog, func(ctx context.Context, b backend.Backend, req backend.AuditLogRequest, _ *stream) ([]store.AuditRowJSON, error) {
		return b.AuditLog(ctx, req)
	})
	handle(s, mux, wire.OpReport, func(ctx context.Context, b backend.Backend, req backend.ReportRequest, _ *stream) (*backend.ReportFile, error) {
		return b.Report(ctx, req)
	})
	handle(s, mux, wire.OpMyTasks, func(ctx context.Context, b backend.Backend, _ none, _ *stream) (*backend.TaskCounts, error) {
		return b.MyTasks(ctx)
	})
	handle(s, mux, wire.OpMigrate, func(ctx context.Context, b backend.Backend, req backend.MigrateRequest, st *stream) (*backend.MigrateView, error) {
		return b.Migrate(ctx, req, st.progress)
	})
	handle(s, mux, wire.OpAuditVerify, func(ctx context.Context, b backend.Backend, req wire.VerifyRequest, _ *stream) (*backend.VerifyView, error) {
		var offline io.Reader
		if req.Check {
			offline = bytes.NewReader(req.Offline)
		}
		return b.AuditVerify(ctx, offline)
	})
	handle(s, mux, wire.OpBackupDone, func(ctx context.Context, b backend.Backend, req backend.BackupDoneRequest, _ *stream) (*none, error) {
		return nil, b.BackupDone(ctx, req)
	})
	handle(s, mux, wire.OpStaffAdd, func(ctx context.Context, b backend.Backend, req backend.StaffRequest, _ *stream) (*backend.StaffView, error) {
		return b.StaffAdd(ctx, req)
	})
	handle(s, mux, wire.OpStaffList, func(ctx context.Context, b backend.Backend, _ none, _ *stream) ([]backend.StaffView, error) {
		return b.StaffList(ctx)
	})
	handle(s, mux, wire.OpStaffDisable, func(ctx context.Context, b backend.Backend, req backend.StaffRequest, _ *stream) (*backend.StaffView, error) {
		return b.StaffDisable(ctx, req)
	})
	handle(s, mux, wire.OpStaffPIN, func(ctx context.Context, b backend.Backend, req backend.StaffRequest, _ *stream) (*backend.StaffView, error) {
		return b.StaffPIN(ctx, req)
	})
	handle(s, mux, wire.OpWarm, func(ctx context.Context, b backend.Backend, _ none, _ *stream) (*none, error) {
		return nil, b.Warm(ctx)
	})
	mux.HandleFunc("POST "+wire.Prefix+wire.OpLock, s.lock)
	mux.HandleFunc("POST "+wire.Prefix+wire.OpUnlock, s.unlock)

	download(s, mux, wire.OpExport, func(ctx context.Context, b backend.Backend, req backend.ExportRequest, w io.Writer) (*backend.ExportView, error) {
		return b.Export(ctx, req, w)
	})
	download(s, mux, wire.OpAuditExport, func(ctx context.Context, b backend.Backend, req backend.AuditExportRequest, w io.Writer) (*backend.AuditExportView, error) {
		return b.AuditExport(ctx, req, w)
	})
	download(s, mux, wire.OpBackup, func(ctx context.Context, b backend.Backend, req backend.BackupRequest, w io.Writer) (*backend.BackupView, error) {
		return b.Backup(ctx, req, w, nil)
	})
	mux.HandleFunc("POST "+wire.Prefix+wire.OpImport, s.importCSV)
}

// handle registers a JSON operation: the request decoded, run as the
// session's caller, the result in the final frame.
func handle[Req, Resp any](s *Server, mux *http.ServeMux, op string, fn func(context.Context, backend.Backend, Req, *stream) (Resp, error)) {
	mux.HandleFunc("POST "+wire.Prefix+op, func(w http.ResponseWriter, r *http.Request) {
		var req Req
		sess, ok := s.begin(w, r, &req)
		if !ok {
			return
		}
		st := s.newStream(w)
		resp, err := fn(r.Context(), s.cfg.Service.For(sess.caller), req, st)
		s.logResult(op, sess, err)
		st.final(s, resp, err)
	})
}

// begin finds the request's session and decodes its JSON body into req.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, req any) (*session, bool) {
	sess, ok := s.session(w, r, working)
	if !ok || !s.decode(w, r.Body, req) {
		return nil, false
	}
	return sess, true
}

// download registers an operation whose result is a file: its bytes are
// the body, and the final frame comes in the trailer, so that a body cut
// short (the server killed mid-way) has no final frame and is not taken
// for a whole file.
func download[Req, Resp any](s *Server, mux *http.ServeMux, op string, fn func(context.Context, backend.Backend, Req, io.Writer) (Resp, error)) {
	mux.HandleFunc("POST "+wire.Prefix+op, func(w http.ResponseWriter, r *http.Request) {
		var req Req
		sess, ok := s.begin(w, r, &req)
		if !ok {
			return
		}
		w.Header().Set("Trailer", wire.Final)
		w.Header().Set("Content-Type", "application/octet-stream")
		body := &stallWriter{w: w, rc: http.NewResponseController(w), d: s.cfg.StallTimeout}
		resp, err := fn(r.Context(), s.cfg.Service.For(sess.caller), req, body)
		s.logResult(op, sess, err)
		f := wire.Frame{Done: true}
		if err == nil {
			f.Result, err = json.Marshal(resp)
		}
		if err != nil {
			f.Error = backend.ToWire(err, service.Classify)
		}
		b, _ := json.Marshal(f)
		w.Header().Set(wire.Final, base64.StdEncoding.EncodeToString(b))
	})
}

// stallWriter fails a write that the client has not taken within d: net/http
// alone would wait forever on a client that stopped reading. The deadline
// moves with every write, so a slow client is not cut off, only a stopped
// one; net/http clears it once the reply is done.
type stallWriter struct {
	w  io.Writer
	rc *http.ResponseController
	d  time.Duration
}

// stalledError says the client stopped reading a download.
type stalledError struct{ After time.Duration }

func (e *stalledError) Error() string {
	return fmt.Sprintf("the client read nothing for %v, so the server stopped sending", e.After)
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.d)); err != nil {
		return 0, fmt.Errorf("set the write deadline: %w", err)
	}
	n, err := s.w.Write(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = &stalledError{After: s.d}
	}
	return n, err
}

// importCSV is an upload: the request in a header, the CSV as the body.
func (s *Server) importCSV(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r, working)
	if !ok {
		return
	}
	var req backend.ImportRequest
	raw, err := base64.StdEncoding.DecodeString(r.Header.Get(wire.Request))
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		s.fail(w, http.StatusBadRequest, fmt.Errorf("the import request is not readable: %w", err))
		return
	}
	// Progress frames go out while the upload still comes in: HTTP/1.1
	// closes a request's body at the first write of its reply unless the
	// connection is full duplex.
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		s.fail(w, http.StatusInternalServerError, fmt.Errorf("the import cannot stream: %w", err))
		return
	}
	st := s.newStream(w)
	res, err := s.cfg.Service.For(sess.caller).Import(r.Context(), req, r.Body, st.progress)
	s.logResult(wire.OpImport, sess, err)
	st.final(s, res, err)
}

// lock records that the session locked itself (the REPL, idle).
func (s *Server) lock(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r, locking)
	if !ok {
		return
	}
	sess.mu.Lock()
	was := sess.locked
	sess.locked = true
	sess.mu.Unlock()
	if was {
		// Locked already, and audited then (the server found it idle).
		s.final(w, nil, nil)
		return
	}
	s.final(w, nil, s.cfg.Service.For(sess.caller).Lock(r.Context()))
}

// unlock checks the PIN (on a shared account) and lets the session on.
func (s *Server) unlock(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r, unlocking)
	if !ok {
		return
	}
	var req backend.UnlockRequest
	if !s.decode(w, r.Body, &req) {
		return
	}
	err := s.cfg.Service.For(sess.caller).Unlock(r.Context(), req)
	if err == nil {
		sess.mu.Lock()
		sess.locked = false
		sess.mu.Unlock()
	}
	s.logResult(wire.OpUnlock, sess, err)
	s.final(w, nil, err)
}

// logResult notes a failed request in the server's log: the operation, the
// account and the kind of error, never its text.
func (s *Server) logResult(op string, sess *session, err error) {
	if err == nil {
		return
	}
	s.logf("%s by %s: %s", op, who(sess), kindOf(err))
}
