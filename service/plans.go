package service

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// PlanTTL is how long a preview can be confirmed. A plan re-checks its
// patients when it runs, so a late confirmation cannot touch anyone
// unseen; the limit keeps the registry small and a forgotten terminal
// harmless.
const PlanTTL = 10 * time.Minute

// pending is a prepared plan waiting for its confirmation, or a decided
// action waiting for the person to choose between namesakes.
type pending struct {
	plan *tools.Plan
	// forget is the patient a forget plan deletes.
	forget *store.Patient
	// decided is the model's (or the command's) action, when its patient
	// reference was ambiguous, and candidates the patients it matched.
	decided    *tools.Action
	candidates []store.Patient
	// entry is the audit row's content, built where the plan was made.
	entry store.AuditEntry
	env   tools.Env
	// owner is the session that made it: only it may take it.
	owner   string
	expires time.Time
}

// errPlanGone is a plan that was never made, was taken already, expired,
// or belongs to someone else: the same sentence for each, so that a plan
// ID reveals nothing.
var errPlanGone = &tools.ValidationError{Msg: "this preview has expired or was already answered; run the request again"}

// plans holds pending plans under random IDs.
type plans struct {
	mu sync.Mutex
	m  map[string]*pending
	// now is the real clock: expiry is not "today".
	now func() time.Time
}

func newPlans() *plans { return &plans{m: map[string]*pending{}, now: time.Now} }

// put stores p and returns its ID, and sweeps out expired plans.
func (r *plans) put(p *pending) (string, time.Time) {
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	now := r.now()
	p.expires = now.Add(PlanTTL)
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.m {
		if now.After(v.expires) {
			delete(r.m, k)
		}
	}
	r.m[id] = p
	return id, p.expires
}

// take removes and returns the plan id, if owner may have it.
func (r *plans) take(id, owner string) (*pending, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.m[id]
	if !ok || p.owner != owner {
		return nil, errPlanGone
	}
	delete(r.m, id)
	if r.now().After(p.expires) {
		return nil, errPlanGone
	}
	return p, nil
}

// forgetOwner drops every plan of a session that ended.
func (r *plans) forgetOwner(owner string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.m {
		if v.owner == owner {
			delete(r.m, k)
		}
	}
}
