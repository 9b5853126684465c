// Package client is carebook's side of carebook serve: a typed client over
// the Unix socket, one method per operation, context first. It implements
// backend.Backend, so that every command runs on it unchanged, and turns
// each wire error back into the type it came from.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/internal/wire"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Client talks to one carebook serve. Log in before anything else.
type Client struct {
	socket string
	http   *http.Client
	token  string
	info   *backend.Info

	// OnLocked, when set, is asked what to do about a request the server
	// refused because the session locked itself after sitting idle: nil
	// means the session was unlocked, and the request is sent once more;
	// an error is returned in the refusal's place. The REPL sets it, to
	// ask for the PIN there and then rather than leave the person stuck.
	OnLocked func(ctx context.Context, refusal error) error
}

// New is a client of the server at socket.
func New(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		// Nothing here goes through a proxy: the socket is the server.
		Proxy:             nil,
		DisableKeepAlives: false,
		MaxIdleConns:      4,
	}
	return &Client{socket: socket, http: &http.Client{Transport: tr}}
}

var _ backend.Backend = (*Client)(nil)

// NotRunningError says nothing answers at the socket.
type NotRunningError struct {
	Socket string
	Err    error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("carebook serve is not answering at %s (%v); start it (systemctl start carebook, or carebook serve), or check --server / $CAREBOOK_SERVER", e.Socket, e.Err)
}

func (e *NotRunningError) Unwrap() error { return e.Err }

// Login opens a session as the OS account this process runs as (the
// server asks the kernel), naming the staff member and giving the PIN when
// the account is shared.
func (c *Client) Login(ctx context.Context, staff, pin string) (*backend.Info, error) {
	var out wire.LoginReply
	if err := c.call(ctx, wire.OpLogin, wire.LoginRequest{Staff: staff, PIN: pin}, &out, nil, nil); err != nil {
		return nil, err
	}
	c.token, c.info = out.Token, out.Info
	return out.Info, nil
}

// Logout ends the session; its pending plans go with it.
func (c *Client) Logout(ctx context.Context) error {
	if c.token == "" {
		return nil
	}
	err := c.call(ctx, wire.OpLogout, struct{}{}, nil, nil, nil)
	c.token = ""
	return err
}

func (c *Client) request(ctx context.Context, op string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://carebook"+wire.Prefix+op, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(wire.Protocol, strconv.Itoa(backend.ProtocolVersion))
	if c.token != "" {
		req.Header.Set(wire.Session, c.token)
	}
	return req, nil
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, fmt.Errorf("%w", req.Context().Err())
		}
		var op *net.OpError
		if errors.As(err, &op) && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
			return nil, &NotRunningError{Socket: c.socket, Err: err}
		}
		if errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("this account may not use carebook serve at %s (permission denied): ask the practice's administrator to add it to the staff group", c.socket)
		}
		return nil, fmt.Errorf("carebook serve at %s: %w", c.socket, err)
	}
	if v := resp.Header.Get(wire.Protocol); v != "" && v != strconv.Itoa(backend.ProtocolVersion) {
		resp.Body.Close()
		n, _ := strconv.Atoi(v)
		return nil, &backend.VersionError{Client: backend.ProtocolVersion, Server: n}
	}
	return resp, nil
}

// call sends a JSON request and reads the NDJSON reply: progress and line
// frames to their callbacks, the final frame into out.
func (c *Client) call(ctx context.Context, op string, in, out any, progress func(backend.Progress), line func(backend.LineResult)) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.unlocking(ctx, op, func() error { return c.send(ctx, op, body, out, progress, line) })
}

// unlocking makes a request with send and, when the server refused it
// for the idle lock and OnLocked unlocked the session, sends it again:
// the refusal came before any of it ran, so a write is still done once.
func (c *Client) unlocking(ctx context.Context, op string, send func() error) error {
	err := send()
	switch op {
	case wire.OpLogin, wire.OpLock, wire.OpUnlock, wire.OpLogout:
		return err
	}
	if c.OnLocked == nil || !backend.IsIdleLocked(err) {
		return err
	}
	if err := c.OnLocked(ctx, err); err != nil {
		return err
	}
	return send()
}

func (c *Client) send(ctx context.Context, op string, body []byte, out any, progress func(backend.Progress), line func(backend.LineResult)) error {
	req, err := c.request(ctx, op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.read(ctx, resp.Body, out, progress, line)
}

func (c *Client) read(ctx context.Context, body io.Reader, out any, progress func(backend.Progress), line func(backend.LineResult)) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), maxFrame)
	for sc.Scan() {
		var f wire.Frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return fmt.Errorf("carebook serve answered something unreadable: %w", err)
		}
		switch {
		case f.Progress != nil:
			if progress != nil {
				progress(*f.Progress)
			}
		case f.Line != nil:
			if line != nil {
				line(*f.Line)
			}
		case f.Done:
			return finish(f, out)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("carebook serve stopped answering: %w", err)
	}
	return errors.New("carebook serve stopped answering before it was done (was it stopped?); what was in progress was rolled back")
}

// maxFrame bounds one reply line (a patient list of a large practice).
const maxFrame = 256 << 20

// finish reads the final frame: the result into out, the error rebuilt.
// Both may be there (an import's bad rows and its report).
func finish(f wire.Frame, out any) error {
	if len(f.Result) > 0 && out != nil {
		if err := json.Unmarshal(f.Result, out); err != nil {
			return fmt.Errorf("carebook serve answered something unreadable: %w", err)
		}
	}
	return backend.FromWire(f.Error)
}

// download reads a file-shaped reply into w; the final frame is in the
// trailer, and its absence means the body was cut short.
func (c *Client) download(ctx context.Context, op string, in any, w io.Writer, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	// A refusal comes before any of the file, so w is still empty.
	return c.unlocking(ctx, op, func() error { return c.fetchInto(ctx, op, body, w, out) })
}

func (c *Client) fetchInto(ctx context.Context, op string, body []byte, w io.Writer, out any) error {
	req, err := c.request(ctx, op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "application/x-ndjson" {
		// Refused before any data: an ordinary reply.
		return c.read(ctx, resp.Body, out, nil, nil)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("carebook serve stopped sending (%w); nothing was kept", err)
	}
	raw, err := base64.StdEncoding.DecodeString(resp.Trailer.Get(wire.Final))
	if err != nil || len(raw) == 0 {
		return errors.New("carebook serve stopped sending before the end; nothing was kept")
	}
	var f wire.Frame
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("carebook serve answered something unreadable: %w", err)
	}
	return finish(f, out)
}

// get makes a call whose result is one T.
func get[T any](ctx context.Context, c *Client, op string, in any, progress func(backend.Progress)) (*T, error) {
	var out T
	if err := c.call(ctx, op, in, &out, progress, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// list makes a call whose result is a list of T.
func list[T any](ctx context.Context, c *Client, op string, in any) ([]T, error) {
	var out []T
	return out, c.call(ctx, op, in, &out, nil, nil)
}

// fetch makes a download whose final frame is one T.
func fetch[T any](ctx context.Context, c *Client, op string, in any, w io.Writer) (*T, error) {
	var out T
	if err := c.download(ctx, op, in, w, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Info says who this session is, and of whom.
func (c *Client) Info(ctx context.Context) (*backend.Info, error) {
	return get[backend.Info](ctx, c, wire.OpInfo, struct{}{}, nil)
}

// Diagnose runs doctor's checks on the server.
func (c *Client) Diagnose(ctx context.Context) ([]backend.Check, error) {
	return list[backend.Check](ctx, c, wire.OpDiagnose, struct{}{})
}

func (c *Client) reply(ctx context.Context, op string, in any, progress func(backend.Progress)) (*backend.Reply, error) {
	return get[backend.Reply](ctx, c, op, in, progress)
}

// Prepare prepares an action on the server.
func (c *Client) Prepare(ctx context.Context, req backend.PrepareRequest) (*backend.Reply, error) {
	return c.reply(ctx, wire.OpPrepare, req, nil)
}

// Ask has the server ask the model.
func (c *Client) Ask(ctx context.Context, req backend.AskRequest, progress func(backend.Progress)) (*backend.Reply, error) {
	return c.reply(ctx, wire.OpAsk, req, progress)
}

// Choose picks a candidate of an ambiguous request.
func (c *Client) Choose(ctx context.Context, req backend.ChooseRequest) (*backend.Reply, error) {
	return c.reply(ctx, wire.OpChoose, req, nil)
}

// PrepareForget previews a forget.
func (c *Client) PrepareForget(ctx context.Context, req backend.ForgetRequest) (*backend.Reply, error) {
	return c.reply(ctx, wire.OpPrepareForget, req, nil)
}

// Execute runs or declines a plan.
func (c *Client) Execute(ctx context.Context, req backend.ExecuteRequest, progress func(backend.Progress)) (*backend.Reply, error) {
	return c.reply(ctx, wire.OpExecute, req, progress)
}

// Batch runs a batch, line results as they come.
func (c *Client) Batch(ctx context.Context, req backend.BatchRequest, line func(backend.LineResult)) error {
	return c.call(ctx, wire.OpBatch, req, nil, nil, line)
}

// Resolve names patients by MRN.
func (c *Client) Resolve(ctx context.Context, req backend.ResolveRequest) ([]tools.PatientBrief, error) {
	return list[tools.PatientBrief](ctx, c, wire.OpResolve, req)
}

// Record reads one patient's record.
func (c *Client) Record(ctx context.Context, req backend.RecordRequest) (*backend.RecordView, error) {
	return get[backend.RecordView](ctx, c, wire.OpRecord, req, nil)
}

// Tags lists tags with counts.
func (c *Client) Tags(ctx context.Context) ([]backend.TagCount, error) {
	return list[backend.TagCount](ctx, c, wire.OpTags, struct{}{})
}

// Complete offers completions.
func (c *Client) Complete(ctx context.Context, req backend.CompleteRequest) ([]string, error) {
	return list[string](ctx, c, wire.OpComplete, req)
}

// AuditLog lists audit rows.
func (c *Client) AuditLog(ctx context.Context, req backend.AuditLogRequest) ([]store.AuditRowJSON, error) {
	return list[store.AuditRowJSON](ctx, c, wire.OpAuditLog, req)
}

// Report reads a report's aggregates.
func (c *Client) Report(ctx context.Context, req backend.ReportRequest) (*backend.ReportFile, error) {
	return get[backend.ReportFile](ctx, c, wire.OpReport, req, nil)
}

// MyTasks counts this session's open tasks due today and overdue.
func (c *Client) MyTasks(ctx context.Context) (*backend.TaskCounts, error) {
	var out backend.TaskCounts
	if err := c.call(ctx, wire.OpMyTasks, struct{}{}, &out, nil, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Import uploads a CSV.
func (c *Client) Import(ctx context.Context, req backend.ImportRequest, csv io.Reader, progress func(backend.Progress)) (*backend.ImportView, error) {
	meta, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, err := c.request(ctx, wire.OpImport, csv)
	if err != nil {
		return nil, err
	}
	hr.Header.Set(wire.Request, base64.StdEncoding.EncodeToString(meta))
	hr.Header.Set("Content-Type", "text/csv")
	resp, err := c.do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out backend.ImportView
	err = c.read(ctx, resp.Body, &out, progress, nil)
	if out.Kind == "" {
		return nil, err
	}
	return &out, err
}

// Migrate uploads files and the confirmed mapping.
func (c *Client) Migrate(ctx context.Context, req backend.MigrateRequest, progress func(backend.Progress)) (*backend.MigrateView, error) {
	return get[backend.MigrateView](ctx, c, wire.OpMigrate, req, progress)
}

// Export streams an export into w.
func (c *Client) Export(ctx context.Context, req backend.ExportRequest, w io.Writer) (*backend.ExportView, error) {
	return fetch[backend.ExportView](ctx, c, wire.OpExport, req, w)
}

// AuditExport streams the audit log's offline copy into w.
func (c *Client) AuditExport(ctx context.Context, req backend.AuditExportRequest, w io.Writer) (*backend.AuditExportView, error) {
	return fetch[backend.AuditExportView](ctx, c, wire.OpAuditExport, req, w)
}

// AuditVerify verifies the log, and an offline copy against it.
func (c *Client) AuditVerify(ctx context.Context, offline io.Reader) (*backend.VerifyView, error) {
	req := wire.VerifyRequest{}
	if offline != nil {
		data, err := io.ReadAll(offline)
		if err != nil {
			return nil, err
		}
		req.Offline, req.Check = data, true
	}
	var out backend.VerifyView
	if err := c.call(ctx, wire.OpAuditVerify, req, &out, nil, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Backup streams the encrypted snapshot into w.
func (c *Client) Backup(ctx context.Context, req backend.BackupRequest, w io.Writer, progress func(backend.Progress)) (*backend.BackupView, error) {
	return fetch[backend.BackupView](ctx, c, wire.OpBackup, req, w)
}

// BackupDone records how the backup ended.
func (c *Client) BackupDone(ctx context.Context, req backend.BackupDoneRequest) error {
	return c.call(ctx, wire.OpBackupDone, req, nil, nil, nil)
}

// StaffAdd adds a staff member.
func (c *Client) StaffAdd(ctx context.Context, req backend.StaffRequest) (*backend.StaffView, error) {
	return c.staff(ctx, wire.OpStaffAdd, req)
}

// StaffList lists the staff.
func (c *Client) StaffList(ctx context.Context) ([]backend.StaffView, error) {
	return list[backend.StaffView](ctx, c, wire.OpStaffList, struct{}{})
}

// StaffDisable disables a staff member.
func (c *Client) StaffDisable(ctx context.Context, req backend.StaffRequest) (*backend.StaffView, error) {
	return c.staff(ctx, wire.OpStaffDisable, req)
}

// StaffPIN sets a PIN.
func (c *Client) StaffPIN(ctx context.Context, req backend.StaffRequest) (*backend.StaffView, error) {
	return c.staff(ctx, wire.OpStaffPIN, req)
}

func (c *Client) staff(ctx context.Context, op string, req backend.StaffRequest) (*backend.StaffView, error) {
	return get[backend.StaffView](ctx, c, op, req, nil)
}

// Warm has the server check and warm its own model.
func (c *Client) Warm(ctx context.Context) error {
	return c.call(ctx, wire.OpWarm, struct{}{}, nil, nil, nil)
}

// Lock records that the session locked itself.
func (c *Client) Lock(ctx context.Context) error {
	return c.call(ctx, wire.OpLock, struct{}{}, nil, nil, nil)
}

// Unlock unlocks the session.
func (c *Client) Unlock(ctx context.Context, req backend.UnlockRequest) error {
	return c.call(ctx, wire.OpUnlock, req, nil, nil, nil)
}
