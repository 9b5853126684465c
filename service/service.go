// Package service is the one place that decides, resolves, executes and
// audits. It implements backend.Backend over a Database: in the command's
// own process in direct mode (the file opened per unit of work), and inside
// carebook serve in team mode (one store, shared). The terminal side never
// sees a store, a plan's closure or an internal id: it gets views.
package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Decider turns a request into a prepared plan: the agent, in production.
type Decider interface {
	Decide(ctx context.Context, vocab store.Vocabulary, env tools.Env, request string, prepare agent.PrepareFunc) (*agent.Decision, error)
	Model() string
}

// Config is what a Service is built from.
type Config struct {
	DB Database
	// Now is "today" for relative dates: the system clock, or
	// CAREBOOK_NOW where the service runs (never the client's).
	Now func() time.Time
	// Decider builds the model client, on the first request that needs it.
	Decider func() (Decider, error)
	// Model names the model, for Info, without building a client.
	Model string
	// HistoryFile is the REPL history a forget scrubs ("" for none).
	HistoryFile string
	// IdleLogoff is how long a REPL may sit idle before it locks.
	IdleLogoff time.Duration
	// Diagnose runs doctor's checks on this side.
	Diagnose func(ctx context.Context) []backend.Check
	// Socket is the server's socket, in server mode, for Info.
	Socket string
	// GroupSize bounds how many lines of a batch share one commit, and
	// GroupBudget (zero: no limit) how long a group may hold the write
	// lane: everyone else's write waits about that long for a batch, at
	// most. The server sets it; in direct mode each group opens the file,
	// which costs more than waiting for a whole group.
	GroupSize   int
	GroupBudget time.Duration
}

// DefaultGroupBudget is how long one group of a batch may hold the server's
// write lane: short enough that a colleague's write between two groups
// waits little, long enough that a group shares its commit among many
// lines.
const DefaultGroupBudget = 100 * time.Millisecond

// Service is the database and the model behind every command.
type Service struct {
	cfg   Config
	plans *plans

	deciderMu sync.Mutex
	decider   Decider
}

// New builds a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.GroupSize == 0 {
		cfg.GroupSize = 64
	}

	return &Service{cfg: cfg, plans: newPlans()}
}

// Caller is who asks: the staff member (authenticated by the server, or
// none in direct mode), the OS account, and the session their plans belong
// to.
type Caller struct {
	Staff  string
	Role   string
	OSUser string
	Host   string
	// Mode is store.ModeDirect or store.ModeServer.
	Mode string
	// Session names the connection or REPL session that owns its plans.
	Session string
	// NeedsPIN says the OS account is shared, so unlocking takes the PIN.
	NeedsPIN bool
	// pinHash is the member's PIN as it was at login: Recheck ends the
	// session when a manager changes it.
	pinHash string
}

// For is the backend as caller sees it.
func (s *Service) For(c Caller) backend.Backend {
	if c.Mode == "" {
		c.Mode = store.ModeDirect
	}
	return &view{s: s, c: c}
}

// EndSession drops the plans of a session that ended.
func (s *Service) EndSession(session string) { s.plans.forgetOwner(session) }

// view is the backend for one caller.
type view struct {
	s *Service
	c Caller
}

var _ backend.Backend = (*view)(nil)

// entry is an audit row's content for this caller on channel.
func (v *view) entry(channel string) store.AuditEntry {
	return store.AuditEntry{Channel: channel, Staff: v.c.Staff, OSUser: v.c.OSUser, Host: v.c.Host, Mode: v.c.Mode}
}

// env is what resolving an action needs: "today", and who logs an
// interaction when the action does not say.
func (v *view) env() tools.Env {
	staff := v.c.Staff
	if staff == "" {
		staff = v.c.OSUser
	}
	return tools.Env{Now: v.s.cfg.Now(), Staff: staff}
}

// Operations that need the manager role. Everything else (queries, show,
// tag, log, patient add and edit, consent, tasks, ask, run, doctor) every
// role may do. Merging two patients' records is a manager's call: it
// removes one record, and a wrong merge mixes two people's histories.
var managerOps = []string{"import", "migrate", "export", "forget", "backup", "audit", "staff", "merge"}

// ManagerOnly reports whether op needs the manager role.
func ManagerOnly(op string) bool { return slices.Contains(managerOps, op) }

// allow refuses op to a caller whose role does not include it, and audits
// the refusal. Direct mode's caller owns the file, and may do anything.
func (v *view) allow(ctx context.Context, op, channel string) error {
	if !ManagerOnly(op) || v.c.Role == backend.RoleManager {
		return nil
	}
	err := &backend.ForbiddenError{Op: op, Role: v.c.Role, Staff: v.c.Staff}
	v.logRefusal(ctx, channel, op, err.Error())
	return err
}

// logRefusal audits a refused operation.
func (v *view) logRefusal(ctx context.Context, channel, op, msg string) {
	e := v.entry(channel)
	e.Action = fmt.Sprintf(`{"tool":%q}`, op)
	_ = v.s.cfg.DB.Read(context.WithoutCancel(ctx), func(st *store.Store) error {
		return st.LogOutcome(context.WithoutCancel(ctx), e, nil, 0, store.OutcomeRefused, msg)
	})
}

// errNoModel is returned when a request needs the model and none is set up.
var errNoModel = errors.New("no model is configured for this backend")

// deciderFor builds the model client once.
func (s *Service) deciderFor() (Decider, error) {
	s.deciderMu.Lock()
	defer s.deciderMu.Unlock()
	if s.decider != nil {
		return s.decider, nil
	}
	if s.cfg.Decider == nil {
		return nil, errNoModel
	}
	d, err := s.cfg.Decider()
	if err != nil {
		return nil, err
	}
	s.decider = d
	return d, nil
}

// Local is the backend over the file at path for the account that owns it
// (direct mode: the owner of the file may do anything), without a model.
func Local(path string, opts store.Options, create bool) backend.Backend {
	return New(Config{DB: NewDirect(path, opts, create), Now: opts.Now}).
		For(Caller{OSUser: opts.Actor, Host: opts.Host, Mode: store.ModeDirect, Role: backend.RoleManager, Session: "direct"})
}
