package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
)

// PIN hashing: argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane),
// about 30 ms here: slow for a thief with the database, quick at the desk.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// Lockout: this many wrong PINs in a row lock a name for LockoutFor.
const (
	MaxWrongPINs = 5
	LockoutFor   = 15 * time.Minute
	// MinPINLength keeps PINs out of reach of a few guesses between
	// lockouts.
	MinPINLength = 6
)

// HashPIN hashes a PIN for the staff table.
func HashPIN(pin string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pin), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// checkPIN compares a PIN with its hash in constant time.
func checkPIN(hash, pin string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pin), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// ValidPIN says what is wrong with a new PIN, or nil.
func ValidPIN(pin string) error {
	if len([]rune(pin)) < MinPINLength {
		return &backend.AuthError{Msg: fmt.Sprintf("a PIN has at least %d characters", MinPINLength)}
	}
	return nil
}

// Identity is who a connection says it is: the OS account (as the kernel
// reported it, never an environment variable), the host, and, for an OS
// account that several staff share, the staff member named and their PIN.
type Identity struct {
	OSUser string
	Host   string
	Staff  string
	PIN    string
}

// Authenticate decides who is asking. An OS account mapped to one staff
// member is that member. An account shared by several needs a staff name
// and that member's PIN. Anyone else is refused with a sentence that says
// how to get access, and every refusal is audited; five wrong PINs lock
// the name for a while.
func (s *Service) Authenticate(ctx context.Context, id Identity, session string) (Caller, error) {
	c := Caller{OSUser: id.OSUser, Host: id.Host, Mode: store.ModeServer, Session: session}
	var out Caller
	// A login reads beside everyone else; only a wrong-PIN count to
	// change takes the write lane, afterwards.
	var wrongPIN, resetPINs bool
	var name string
	err := s.cfg.DB.Read(ctx, func(st *store.Store) error {
		r := st.Reader()
		mapped, err := r.StaffForOSUser(ctx, id.OSUser)
		if err != nil {
			return err
		}
		var members, disabled []store.Staff
		for _, m := range mapped {
			if m.Disabled {
				disabled = append(disabled, m)
			} else {
				members = append(members, m)
			}
		}
		shared := len(members) > 1
		var m store.Staff
		switch {
		case id.Staff != "":
			m, err = r.StaffByName(ctx, id.Staff)
			if errors.Is(err, store.ErrNotFound) {
				return s.refuse(ctx, st, c, id.Staff, fmt.Sprintf("there is no staff member %q; check the name (carebook staff list, for a manager), or ask a manager to add you", id.Staff))
			}
			if err != nil {
				return err
			}
			if m.OSUser != id.OSUser {
				return s.refuse(ctx, st, c, m.Name, fmt.Sprintf("%s does not work from the OS account %s; log in as their account, or ask a manager to map it (carebook staff add … --os-user)", m.Name, id.OSUser))
			}
		case len(members) == 1:
			m = members[0]
		case len(disabled) > 0:
			// Nobody enabled works from this account, and someone did.
			m = disabled[0]
		case len(members) == 0:
			return s.refuse(ctx, st, c, "", fmt.Sprintf("the OS account %s is not a Carebook staff member; ask a manager to add you: carebook staff add NAME --role ROLE --os-user %s", id.OSUser, id.OSUser))
		default:
			err := &backend.AuthError{NeedStaff: true, Msg: fmt.Sprintf("the OS account %s is shared by several staff members: say who you are with --staff NAME (your PIN is asked, or read from $CAREBOOK_PIN)", id.OSUser)}
			return err
		}
		if m.Disabled {
			return s.refuse(ctx, st, c, m.Name, disabledText(m))
		}
		now := time.Now().UTC()
		if m.LockedUntil.After(now) {
			return s.refuse(ctx, st, c, m.Name, fmt.Sprintf("%s is locked out until %s after %d wrong PINs; wait, or ask a manager to set a new PIN (carebook staff pin %s)",
				m.Name, m.LockedUntil.Local().Format("15:04"), MaxWrongPINs, m.Name))
		}
		if shared || id.PIN != "" {
			if m.PINHash == "" {
				return s.refuse(ctx, st, c, m.Name, fmt.Sprintf("%s has no PIN yet, and this OS account is shared; ask a manager to set one: carebook staff pin %s", m.Name, m.Name))
			}
			if id.PIN == "" {
				return &backend.AuthError{NeedPIN: true, Msg: fmt.Sprintf("%s's PIN is needed: type it when asked, or set $CAREBOOK_PIN in a script", m.Name)}
			}
			if !checkPIN(m.PINHash, id.PIN) {
				wrongPIN, name = true, m.Name
				return nil
			}
		}
		resetPINs, name = m.FailedPINs > 0, m.Name
		out = c
		out.Staff, out.Role, out.NeedsPIN, out.pinHash = m.Name, m.Role, shared, m.PINHash
		return nil
	})
	switch {
	case err != nil:
		return Caller{}, err
	case wrongPIN:
		return Caller{}, s.countWrongPIN(ctx, c, name)
	case resetPINs:
		err = s.cfg.DB.Write(ctx, func(st *store.Store) error {
			m, err := st.Reader().StaffByName(ctx, name)
			if err != nil || m.FailedPINs == 0 {
				return err
			}
			m.FailedPINs, m.LockedUntil = 0, time.Time{}
			return st.Write(ctx, s.sessionEntry(c, m.Name, "login"), func(tx *store.Tx) error { return tx.UpdateStaff(ctx, m) })
		})
	}
	return out, err
}

// disabledText says that m is disabled, and how a manager enables them
// again, as they were.
func disabledText(m store.Staff) string {
	return fmt.Sprintf("%s is disabled; ask a manager to enable them again: carebook staff add %s --role %s --os-user %s",
		m.Name, shellWord(m.Name), m.Role, m.OSUser)
}

// shellWord quotes a staff name that has spaces or an apostrophe, so
// that the command given can be typed as it is. A name holds no double
// quote, dollar or backslash (staffName), so double quotes suffice.
func shellWord(s string) string {
	if !strings.ContainsAny(s, " '") {
		return s
	}
	return `"` + s + `"`
}

// Recheck ends a server session whose staff member changed since it
// logged in: disabled, given another role or OS account, or a new PIN (a
// manager sets one when the old may be known to someone else). Roles are
// enforced from the session's caller, so without this a session would
// keep, for as long as it is used, what the practice took away. Every
// request pays one read of the staff table, a handful of rows; a wrong
// PIN typed against the name changes nothing here, so that nobody can end
// a colleague's session by guessing.
func (s *Service) Recheck(ctx context.Context, c Caller) error {
	if c.Mode != store.ModeServer || c.Staff == "" {
		return nil
	}
	return s.cfg.DB.Read(ctx, func(st *store.Store) error {
		m, err := st.Reader().StaffByName(ctx, c.Staff)
		var why, msg string
		switch {
		case errors.Is(err, store.ErrNotFound):
			why = "removed"
			msg = fmt.Sprintf("%s is no longer a staff member; ask a manager to add you: carebook staff add NAME --role ROLE --os-user %s", c.Staff, c.OSUser)
		case err != nil:
			return err
		case m.Disabled:
			why, msg = "disabled", disabledText(m)
		case m.OSUser != c.OSUser:
			why = "os_user"
			msg = fmt.Sprintf("%s no longer works from the OS account %s; log in from theirs, or ask a manager to map this one (carebook staff add … --os-user)", m.Name, c.OSUser)
		case m.Role != c.Role:
			why = "role"
			msg = fmt.Sprintf("%s is a %s now, not a %s; run the command again (or start the REPL again) to work as a %s", m.Name, m.Role, c.Role, m.Role)
		case m.PINHash != c.pinHash:
			why = "pin"
			msg = fmt.Sprintf("%s's PIN was changed; log in again with the new PIN (a manager sets it: carebook staff pin %s)", m.Name, shellWord(m.Name))
		default:
			return nil
		}
		err = &backend.AuthError{Msg: "refused: this session ended because " + msg}
		e := s.sessionEntry(c, c.Staff, "session_end")
		e.Action = fmt.Sprintf(`{"tool":"session_end","args":{"why":%q}}`, why)
		if lerr := st.LogOutcome(context.WithoutCancel(ctx), e, nil, 0, store.OutcomeRefused, err.Error()); lerr != nil {
			return errors.Join(err, lerr)
		}
		return err
	})
}

// countWrongPIN counts a wrong PIN against name, in the write lane from
// their record as it is there (two wrong PINs at once both count), locks
// the name out at the last try, and audits and returns the refusal.
func (s *Service) countWrongPIN(ctx context.Context, c Caller, name string) error {
	var refusal error
	err := s.cfg.DB.Write(context.WithoutCancel(ctx), func(st *store.Store) error {
		m, err := st.Reader().StaffByName(ctx, name)
		if err != nil {
			return err
		}
		m.FailedPINs++
		msg := fmt.Sprintf("wrong PIN for %s (%d of %d tries before a %d-minute lockout)", m.Name, m.FailedPINs, MaxWrongPINs, int(LockoutFor.Minutes()))
		if m.FailedPINs >= MaxWrongPINs {
			m.FailedPINs, m.LockedUntil = 0, time.Now().UTC().Add(LockoutFor)
			msg = fmt.Sprintf("wrong PIN for %s, %d times: locked out until %s; ask a manager to set a new PIN (carebook staff pin %s)",
				m.Name, MaxWrongPINs, m.LockedUntil.Local().Format("15:04"), m.Name)
		}
		if err := st.Write(ctx, s.sessionEntry(c, m.Name, "login"), func(tx *store.Tx) error { return tx.UpdateStaff(ctx, m) }); err != nil {
			return err
		}
		refusal = s.refuse(ctx, st, c, m.Name, msg)
		return nil
	})
	if err != nil {
		return err
	}
	return refusal
}

func (s *Service) sessionEntry(c Caller, staff, tool string) store.AuditEntry {
	return store.AuditEntry{Channel: backend.ChannelSession, Action: fmt.Sprintf(`{"tool":%q}`, tool),
		Staff: staff, OSUser: c.OSUser, Host: c.Host, Mode: c.Mode}
}

// refuse audits a refused login and returns it.
func (s *Service) refuse(ctx context.Context, st *store.Store, c Caller, staff, msg string) error {
	err := &backend.AuthError{Msg: "refused: " + msg}
	if lerr := st.LogOutcome(context.WithoutCancel(ctx), s.sessionEntry(c, staff, "login"), nil, 0, store.OutcomeRefused, err.Msg); lerr != nil {
		return errors.Join(err, lerr)
	}
	return err
}
