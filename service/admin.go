package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Info says who is asking, in which mode, on which database.
func (v *view) Info(ctx context.Context) (*backend.Info, error) {
	return &backend.Info{Protocol: backend.ProtocolVersion, Mode: v.c.Mode, Database: v.s.cfg.DB.Path(), Server: v.s.cfg.Socket,
		Staff: v.c.Staff, Role: v.c.Role, OSUser: v.c.OSUser, Model: v.s.cfg.Model, IdleLogoff: v.s.cfg.IdleLogoff,
		NeedsPIN: v.c.NeedsPIN}, nil
}

// Diagnose runs doctor's checks on this side.
func (v *view) Diagnose(ctx context.Context) ([]backend.Check, error) {
	if v.s.cfg.Diagnose == nil {
		return nil, nil
	}
	return v.s.cfg.Diagnose(ctx), nil
}

// Warmer is a Decider that can ready its model ahead of the first request:
// the agent (agent.Agent.Warm).
type Warmer interface {
	Warm(ctx context.Context) error
}

// Warm checks the model as before every request and sends it the prompt's
// fixed prefix, when the decider can (a decider that cannot has nothing to
// warm). No audit row is written: nothing of the practice's is read or
// sent, no patient and no vocabulary, only the system prompt and the
// examples that every practice's requests start with; a model refused by
// the check (a cloud one) is sent nothing at all, and the first request
// meets, and audits, the same refusal.
func (v *view) Warm(ctx context.Context) error {
	dec, err := v.s.deciderFor()
	if err != nil {
		return err
	}
	w, ok := dec.(Warmer)
	if !ok {
		return nil
	}
	return w.Warm(ctx)
}

var staffName = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} .'_-]{0,62}$`)

// StaffAdd adds a staff member, or enables a disabled one again with the
// role and OS account given.
func (v *view) StaffAdd(ctx context.Context, req backend.StaffRequest) (*backend.StaffView, error) {
	if err := v.allow(ctx, "staff", backend.ChannelStaff); err != nil {
		return nil, err
	}
	req.Name = strings.TrimSpace(req.Name)
	if !staffName.MatchString(req.Name) {
		return nil, &tools.ValidationError{Msg: "a staff name is 1 to 63 letters, digits, spaces, dots, dashes or apostrophes"}
	}
	if !slices.Contains(backend.Roles, req.Role) {
		return nil, &tools.ValidationError{Msg: fmt.Sprintf("the role must be one of %s, not %q", strings.Join(backend.Roles, ", "), req.Role)}
	}
	if req.OSUser == "" {
		req.OSUser = strings.ToLower(req.Name)
	}
	s := store.Staff{Name: req.Name, Role: req.Role, OSUser: req.OSUser}
	if req.PIN != "" {
		if err := ValidPIN(req.PIN); err != nil {
			return nil, err
		}
		s.PINHash = HashPIN(req.PIN)
	}
	var out backend.StaffView
	err := v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
		old, err := st.Reader().StaffByName(ctx, req.Name)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if exists && !old.Disabled {
			return &tools.ValidationError{Msg: fmt.Sprintf("%s is a staff member already; change a PIN with carebook staff pin %s", old.Name, old.Name)}
		}
		entry := v.staffEntry("staff_add", req, s.PINHash != "")
		return st.Write(ctx, entry, func(tx *store.Tx) error {
			if exists {
				if s.PINHash == "" {
					s.PINHash = old.PINHash
				}
				return tx.UpdateStaff(ctx, s)
			}
			return tx.AddStaff(ctx, s)
		})
	})
	if err != nil {
		return nil, err
	}
	out = staffView(s)
	return &out, nil
}

// staffEntry is a staff change's audit row: never the PIN.
func (v *view) staffEntry(tool string, req backend.StaffRequest, pin bool) store.AuditEntry {
	e := v.entry(backend.ChannelStaff)
	args := map[string]any{"name": req.Name}
	if req.Role != "" {
		args["role"] = req.Role
	}
	if req.OSUser != "" {
		args["os_user"] = req.OSUser
	}
	if pin {
		args["pin"] = "set"
	}
	b, _ := json.Marshal(map[string]any{"tool": tool, "args": args})
	e.Action = string(b)
	return e
}

func staffView(s store.Staff) backend.StaffView {
	return backend.StaffView{Name: s.Name, Role: s.Role, OSUser: s.OSUser, HasPIN: s.PINHash != "", Disabled: s.Disabled, LockedUntil: s.LockedUntil}
}

// StaffList lists the staff.
func (v *view) StaffList(ctx context.Context) ([]backend.StaffView, error) {
	if err := v.allow(ctx, "staff", backend.ChannelStaff); err != nil {
		return nil, err
	}
	var out []backend.StaffView
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		all, err := st.Reader().ListStaff(ctx)
		for _, s := range all {
			out = append(out, staffView(s))
		}
		return err
	})
	return out, err
}

// StaffDisable disables a staff member. The last enabled manager stays.
func (v *view) StaffDisable(ctx context.Context, req backend.StaffRequest) (*backend.StaffView, error) {
	return v.staffChange(ctx, "staff_disable", req, func(st *store.Store, s *store.Staff) error {
		if s.Role == backend.RoleManager && !s.Disabled {
			n, err := st.Reader().CountManagers(ctx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return &tools.ValidationError{Msg: fmt.Sprintf("%s is the last manager; add another manager first, so that someone can still manage the staff", s.Name)}
			}
		}
		s.Disabled = true
		return nil
	})
}

// StaffPIN sets or changes a PIN, and lifts a lockout.
func (v *view) StaffPIN(ctx context.Context, req backend.StaffRequest) (*backend.StaffView, error) {
	if err := ValidPIN(req.PIN); err != nil {
		return nil, err
	}
	return v.staffChange(ctx, "staff_pin", req, func(_ *store.Store, s *store.Staff) error {
		s.PINHash, s.FailedPINs, s.LockedUntil = HashPIN(req.PIN), 0, time.Time{}
		return nil
	})
}

func (v *view) staffChange(ctx context.Context, tool string, req backend.StaffRequest, change func(*store.Store, *store.Staff) error) (*backend.StaffView, error) {
	if err := v.allow(ctx, "staff", backend.ChannelStaff); err != nil {
		return nil, err
	}
	var out backend.StaffView
	err := v.s.cfg.DB.Write(ctx, func(st *store.Store) error {
		s, err := st.Reader().StaffByName(ctx, req.Name)
		if errors.Is(err, store.ErrNotFound) {
			return &tools.ValidationError{Msg: fmt.Sprintf("there is no staff member %q (carebook staff list)", req.Name)}
		}
		if err != nil {
			return err
		}
		if err := change(st, &s); err != nil {
			return err
		}
		req.Name = s.Name
		err = st.Write(ctx, v.staffEntry(tool, req, tool == "staff_pin"), func(tx *store.Tx) error { return tx.UpdateStaff(ctx, s) })
		out = staffView(s)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Lock records that a session locked itself after sitting idle.
func (v *view) Lock(ctx context.Context) error {
	return v.logLock(ctx, `{"tool":"lock","args":{"why":"idle"}}`, "session locked after sitting idle; the screen was cleared")
}

// IdleLocked records that carebook serve locked a session that had made
// no request since lastUse, for idle (idle_logoff). The server notices at
// the session's next request, so the row says when the lock began.
func (s *Service) IdleLocked(ctx context.Context, c Caller, lastUse time.Time, idle time.Duration) error {
	since := lastUse.Add(idle).UTC().Format(time.RFC3339)
	action, _ := json.Marshal(map[string]any{"tool": "lock", "args": map[string]any{"why": "idle", "by": "server", "locked_at": since}})
	v := &view{s: s, c: c}
	return v.logLock(ctx, string(action), fmt.Sprintf("session locked by carebook serve at %s, after %s without a request", since, idle))
}

func (v *view) logLock(ctx context.Context, action, msg string) error {
	return v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		e := v.entry(backend.ChannelSession)
		e.Action = action
		return st.LogOutcome(ctx, e, nil, 0, store.OutcomeOK, msg)
	})
}

// Unlock records that a locked session was unlocked, checking the PIN when
// the OS account is shared.
func (v *view) Unlock(ctx context.Context, req backend.UnlockRequest) error {
	if v.c.NeedsPIN {
		_, err := v.s.Authenticate(ctx, Identity{OSUser: v.c.OSUser, Host: v.c.Host, Staff: v.c.Staff, PIN: req.PIN}, v.c.Session)
		if err != nil {
			return err
		}
	}
	return v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		e := v.entry(backend.ChannelSession)
		e.Action = `{"tool":"unlock"}`
		return st.LogOutcome(ctx, e, nil, 0, store.OutcomeOK, "session unlocked")
	})
}
