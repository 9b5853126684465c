package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/carebook/carebook/tools"
)

// ErrCancelled means the person stopped the command (Ctrl-C, or "no" at a
// confirmation): nothing was written.
var ErrCancelled = errors.New("cancelled; nothing was written")

// ErrDeclined means the person answered no: nothing was done. It matches
// ErrCancelled too, for callers that only care that nothing was written.
var ErrDeclined error = declinedError{}

type declinedError struct{}

func (declinedError) Error() string        { return "not confirmed; nothing was done" }
func (declinedError) Is(target error) bool { return target == ErrCancelled }

// ErrNeedsConfirmation is a write asked for without a terminal to confirm
// on and without --yes.
var ErrNeedsConfirmation = errors.New("this changes the database; re-run with --yes to confirm (stdin is not a terminal)")

// AmbiguousError says a reference matches several patients. Carebook never
// guesses: the REPL offers a numbered choice (Choose, with PlanID), the
// other channels fail with the list.
type AmbiguousError struct {
	Ref        string               `json:"ref"`
	Candidates []tools.PatientBrief `json:"candidates"`
	// PlanID, when set, continues the request with Choose.
	PlanID string `json:"plan_id,omitempty"`
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d patients match %q; say which one (by MRN, or with their date of birth):", len(e.Candidates), e.Ref)
	for _, p := range e.Candidates {
		dob := p.DOB
		if dob == "" {
			dob = "unknown"
		}
		fmt.Fprintf(&b, "\n  %s  %s  born %s", p.MRN, p.Name, dob)
	}
	return b.String()
}

// ManyErrors are several references that failed together (tag add with
// three names, two unknown).
type ManyErrors struct{ Errs []error }

func (e *ManyErrors) Error() string {
	var lines []string
	for _, err := range e.Errs {
		lines = append(lines, err.Error())
	}
	return strings.Join(lines, "\n") + "\nNothing was written."
}

func (e *ManyErrors) Unwrap() []error { return e.Errs }

// MessageError is the model's clarify or refuse: its sentence for the
// person. Nothing was done.
type MessageError struct {
	Tool    string `json:"tool"`
	Message string `json:"message"`
}

func (e *MessageError) Error() string { return e.Message }

// ForbiddenError says the staff member's role does not allow the
// operation. The refusal is audited.
type ForbiddenError struct {
	Op    string `json:"op"`
	Role  string `json:"role"`
	Staff string `json:"staff"`
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("refused: %s is %s, and %s is for managers; ask a manager to do it, or to change your role (carebook staff)", orSomeone(e.Staff), article(e.Role), e.Op)
}

func orSomeone(s string) string {
	if s == "" {
		return "this account"
	}
	return s
}

func article(role string) string {
	if role == "" {
		return "without a role"
	}
	if strings.ContainsRune("aeiou", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}

// AuthError says who is asking could not be established: an unknown OS
// account, a disabled member, a wrong PIN, a locked-out name. Its message
// says how to get access. The refusal is audited.
type AuthError struct {
	Msg string `json:"message"`
	// NeedStaff says the OS account is shared: name the staff member
	// (--staff) and give the PIN.
	NeedStaff bool `json:"need_staff,omitempty"`
	// NeedPIN says the PIN is missing.
	NeedPIN bool `json:"need_pin,omitempty"`
	// IdleLocked says the server locked the session after it sat idle,
	// and refused the request before anything of it ran: unlocking and
	// sending it again does it once.
	IdleLocked bool `json:"idle_locked,omitempty"`
}

func (e *AuthError) Error() string { return e.Msg }

// IsIdleLocked reports whether err is the server's refusal of a session it
// locked after sitting idle.
func IsIdleLocked(err error) bool {
	var auth *AuthError
	return errors.As(err, &auth) && auth.IdleLocked
}

// VersionError says the client and the server speak different versions.
type VersionError struct {
	Client, Server int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("this carebook speaks protocol %d and the server speaks %d: use the carebook that came with the server (or upgrade both together)", e.Client, e.Server)
}

// Error is any other failure that crossed the wire: its kind and sentence.
type Error struct {
	Kind string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Wire error kinds.
const (
	KindValidation   = "validation"
	KindAmbiguous    = "ambiguous"
	KindNotFound     = "not_found"
	KindMany         = "many"
	KindNeedsConfirm = "needs_confirmation"
	KindCancelled    = "cancelled"
	KindDeclined     = "declined"
	KindMessage      = "message"
	KindForbidden    = "forbidden"
	KindAuth         = "auth"
	KindVersion      = "version"
	KindRefused      = "refused" // the guard: nothing left the machine
	KindAuditBroken  = "audit_broken"
	KindBusy         = "busy"
	KindError        = "error"
)

// WireError is an error as it crosses the socket: enough to rebuild its
// type on the other side, so that errors.As works the same in both modes.
type WireError struct {
	Kind       string               `json:"kind"`
	Message    string               `json:"message"`
	Ref        string               `json:"ref,omitempty"`
	Candidates []tools.PatientBrief `json:"candidates,omitempty"`
	PlanID     string               `json:"plan_id,omitempty"`
	Tool       string               `json:"tool,omitempty"`
	Field      string               `json:"field,omitempty"`
	Op         string               `json:"op,omitempty"`
	Role       string               `json:"role,omitempty"`
	Staff      string               `json:"staff,omitempty"`
	NeedStaff  bool                 `json:"need_staff,omitempty"`
	NeedPIN    bool                 `json:"need_pin,omitempty"`
	IdleLocked bool                 `json:"idle_locked,omitempty"`
	Many       []*WireError         `json:"many,omitempty"`
	Client     int                  `json:"client,omitempty"`
	Server     int                  `json:"server,omitempty"`
}

// Classifier names the kind of errors this package does not know (the
// guard's refusal, a broken audit log); the server sets it.
type Classifier func(error) string

// ToWire turns err into its wire form.
func ToWire(err error, classify Classifier) *WireError {
	if err == nil {
		return nil
	}
	w := &WireError{Kind: KindError, Message: err.Error()}
	var (
		amb   *AmbiguousError
		many  *ManyErrors
		val   *tools.ValidationError
		dup   *tools.DuplicateError
		nf    *tools.NotFoundError
		msg   *MessageError
		forb  *ForbiddenError
		auth  *AuthError
		ver   *VersionError
		other *Error
	)
	switch {
	case errors.As(err, &many):
		w.Kind = KindMany
		for _, e := range many.Errs {
			w.Many = append(w.Many, ToWire(e, classify))
		}
	case errors.As(err, &amb):
		w.Kind, w.Ref, w.Candidates, w.PlanID = KindAmbiguous, amb.Ref, amb.Candidates, amb.PlanID
	case errors.As(err, &val):
		w.Kind, w.Message, w.Field = KindValidation, val.Msg, val.Field
	case errors.As(err, &dup):
		// The person has something to decide, as with any bad input; the
		// list of records travels in the message.
		w.Kind = KindValidation
	case errors.As(err, &nf):
		w.Kind, w.Ref = KindNotFound, nf.Ref
	case errors.As(err, &msg):
		w.Kind, w.Tool, w.Message = KindMessage, msg.Tool, msg.Message
	case errors.As(err, &forb):
		w.Kind, w.Op, w.Role, w.Staff = KindForbidden, forb.Op, forb.Role, forb.Staff
	case errors.As(err, &auth):
		w.Kind, w.NeedStaff, w.NeedPIN, w.IdleLocked = KindAuth, auth.NeedStaff, auth.NeedPIN, auth.IdleLocked
	case errors.As(err, &ver):
		w.Kind, w.Client, w.Server = KindVersion, ver.Client, ver.Server
	case errors.Is(err, ErrDeclined):
		w.Kind = KindDeclined
	case errors.Is(err, ErrNeedsConfirmation):
		w.Kind = KindNeedsConfirm
	case errors.Is(err, ErrCancelled), errors.Is(err, context.Canceled):
		w.Kind = KindCancelled
	case errors.As(err, &other):
		w.Kind = other.Kind
	default:
		if classify != nil {
			if k := classify(err); k != "" {
				w.Kind = k
			}
		}
	}
	return w
}

// FromWire turns a wire error back into the type it came from.
func FromWire(w *WireError) error {
	if w == nil {
		return nil
	}
	switch w.Kind {
	case KindMany:
		many := &ManyErrors{}
		for _, e := range w.Many {
			many.Errs = append(many.Errs, FromWire(e))
		}
		return many
	case KindAmbiguous:
		return &AmbiguousError{Ref: w.Ref, Candidates: w.Candidates, PlanID: w.PlanID}
	case KindValidation:
		return &tools.ValidationError{Msg: w.Message, Field: w.Field}
	case KindNotFound:
		return &tools.NotFoundError{Ref: w.Ref}
	case KindMessage:
		return &MessageError{Tool: w.Tool, Message: w.Message}
	case KindForbidden:
		return &ForbiddenError{Op: w.Op, Role: w.Role, Staff: w.Staff}
	case KindAuth:
		return &AuthError{Msg: w.Message, NeedStaff: w.NeedStaff, NeedPIN: w.NeedPIN, IdleLocked: w.IdleLocked}
	case KindVersion:
		return &VersionError{Client: w.Client, Server: w.Server}
	case KindDeclined:
		return ErrDeclined
	case KindNeedsConfirm:
		return ErrNeedsConfirmation
	case KindCancelled:
		return ErrCancelled
	}
	return &Error{Kind: w.Kind, Msg: w.Message}
}
