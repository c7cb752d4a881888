package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"greenroom/internal/greenroom"
)

// The states of an approval request: pending until decided; approved
// while its executor runs, then executed or failed; or denied.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalDenied   = "denied"
	ApprovalExecuted = "executed"
	ApprovalFailed   = "failed"
)

// Approval is one approval request.
type Approval struct {
	ID       string `json:"id"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	// Owner is the owner ref of the resource: its members approve.
	Owner     string `json:"owner,omitempty"`
	Requester string `json:"requester"`
	// Executor names the registered executor that runs the action with
	// Payload once approved.
	Executor string          `json:"executor"`
	Payload  json.RawMessage `json:"payload"`
	// Reason is why approval was required (the policy decision).
	Reason    string    `json:"reason"`
	State     string    `json:"state"`
	DecidedBy string    `json:"decidedBy,omitempty"`
	Decision  string    `json:"decision,omitempty"` // the approver's comment
	Result    string    `json:"result,omitempty"`   // the executor's error
	CreatedAt time.Time `json:"createdAt"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
	// FinishedAt is when the executor finished.
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// ApprovalStore keeps approval requests. DecideApproval changes a pending
// request only (else code conflict) and FinishApproval an approved one, so
// that concurrent deciders cannot both win; unknown ids are code not_found.
type ApprovalStore interface {
	CreateApproval(ctx context.Context, a Approval) error
	Approval(ctx context.Context, id string) (Approval, error)
	ListApprovals(ctx context.Context, state string, limit int) ([]Approval, error)
	DecideApproval(ctx context.Context, id, state, by, comment string, at time.Time) (Approval, error)
	FinishApproval(ctx context.Context, id, state, result string, at time.Time) error
}

// Executor runs an approved action from its payload. It must be
// idempotent enough to be run once; it is never run without an approved
// request.
type Executor func(ctx context.Context, a Approval) error

// Approvals runs the approval workflow: actions that need approval become
// requests, approvers decide them, and approved ones run through their
// executor. Requests and decisions are audited.
type Approvals struct {
	store ApprovalStore
	authz *Authorizer
	audit Auditor
	now   func() time.Time

	mu        sync.RWMutex
	executors map[string]Executor
}

// NewApprovals returns the workflow over st.
func NewApprovals(st ApprovalStore, authz *Authorizer, audit Auditor) *Approvals {
	return &Approvals{store: st, authz: authz, audit: audit, now: time.Now, executors: map[string]Executor{}}
}

// Register names an executor. Registering a name twice panics (a
// programming error at start-up).
func (a *Approvals) Register(name string, ex Executor) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.executors[name]; ok {
		panic("access: executor " + name + " registered twice")
	}
	a.executors[name] = ex
}

// Executors returns the registered executor names, sorted.
func (a *Approvals) Executors() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Sorted(maps.Keys(a.executors))
}

func (a *Approvals) executor(name string) (Executor, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	ex, ok := a.executors[name]
	return ex, ok
}

// maxPayloadBytes bounds an approval's payload.
const maxPayloadBytes = 256 << 10

// Request stores an approval request for action on res by the caller of
// ctx, to run executor with payload once approved. The caller has been
// told by Authorize that the action needs approval.
func (a *Approvals) Request(ctx context.Context, action string, res Resource, executor string, payload any, why string) (Approval, error) {
	p := FromContext(ctx)
	if p == nil {
		return Approval{}, greenroom.Errorf(greenroom.CodeUnauthorized, "sign in to request an approval")
	}
	if _, ok := a.executor(executor); !ok {
		return Approval{}, fmt.Errorf("access: no executor %q registered", executor)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return Approval{}, fmt.Errorf("access: approval payload: %w", err)
	}
	if len(b) > maxPayloadBytes {
		return Approval{}, greenroom.Errorf(greenroom.CodeTooLarge, "approval payload is larger than %d bytes", maxPayloadBytes)
	}
	ap := Approval{ID: newID(), Action: action, Resource: res.String(), Owner: res.Owner, Requester: p.UserRef,
		Executor: executor, Payload: b, Reason: why, State: ApprovalPending, CreatedAt: a.now().UTC()}
	if err := a.store.CreateApproval(ctx, ap); err != nil {
		return Approval{}, fmt.Errorf("access: store approval: %w", err)
	}
	if err := a.auditEvent(ctx, "approval.request", ap, DecisionNone, why); err != nil {
		return Approval{}, err
	}
	return ap, nil
}

// CanDecide reports whether the caller of ctx may decide ap.
func (a *Approvals) CanDecide(ctx context.Context, ap Approval) Decision {
	p := FromContext(ctx)
	if p == nil {
		return Decision{Reason: "sign in to decide approvals"}
	}
	if a.authz.Enabled() {
		return a.authz.engine.Decide(Request{Principal: p, Action: ActionApprove, Resource: approvalResource(ap), Requester: ap.Requester})
	}
	if p.UserRef == ap.Requester {
		return Decision{Reason: "nobody approves their own request"}
	}
	return Decision{Allowed: true, Reason: "permission.enabled is false"}
}

func approvalResource(ap Approval) Resource {
	return Resource{Type: "approvals", Ref: ap.ID, Owner: ap.Owner}
}

// Decide approves or denies a pending request as the caller of ctx; an
// approved request then runs its executor at once. The decision is audited
// whether it is permitted or not.
func (a *Approvals) Decide(ctx context.Context, id string, approve bool, comment string) (Approval, error) {
	ap, err := a.store.Approval(ctx, id)
	if err != nil {
		return Approval{}, err
	}
	d := a.CanDecide(ctx, ap)
	decision := DecisionDeny
	if d.Allowed {
		decision = DecisionAllow
	}
	if err := a.auditEvent(ctx, "approval.decide", ap, decision, d.Reason); err != nil {
		return Approval{}, err
	}
	if !d.Allowed {
		return Approval{}, greenroom.Errorf(greenroom.CodeForbidden, "not allowed to decide this request: %s", d.Reason)
	}
	state := ApprovalDenied
	if approve {
		state = ApprovalApproved
	}
	ap, err = a.store.DecideApproval(ctx, id, state, FromContext(ctx).UserRef, comment, a.now().UTC())
	if err != nil {
		return Approval{}, err
	}
	if err := a.auditEvent(ctx, "approval."+state, ap, DecisionNone, comment); err != nil {
		return Approval{}, err
	}
	if state == ApprovalApproved {
		return a.execute(ctx, ap)
	}
	return ap, nil
}

// execute runs an approved request's executor once and records the
// outcome.
func (a *Approvals) execute(ctx context.Context, ap Approval) (Approval, error) {
	ex, ok := a.executor(ap.Executor)
	state, result := ApprovalExecuted, ""
	switch {
	case !ok:
		state, result = ApprovalFailed, "no executor "+ap.Executor+" is registered"
	default:
		if err := ex(ctx, ap); err != nil {
			state, result = ApprovalFailed, greenroom.ErrorMessage(err)
		}
	}
	at := a.now().UTC()
	if err := a.store.FinishApproval(ctx, ap.ID, state, result, at); err != nil {
		return Approval{}, err
	}
	ap.State, ap.Result, ap.FinishedAt = state, result, at
	if err := a.auditEvent(ctx, "approval."+state, ap, DecisionNone, result); err != nil {
		return Approval{}, err
	}
	return ap, nil
}

// Pending returns the pending requests, oldest first.
func (a *Approvals) Pending(ctx context.Context, limit int) ([]Approval, error) {
	return a.store.ListApprovals(ctx, ApprovalPending, limit)
}

// Get returns one request.
func (a *Approvals) Get(ctx context.Context, id string) (Approval, error) {
	return a.store.Approval(ctx, id)
}

func (a *Approvals) auditEvent(ctx context.Context, action string, ap Approval, decision, reason string) error {
	if a.audit == nil {
		return nil
	}
	ev := AuditEvent{Time: a.now().UTC(), Action: action, Resource: "approval:" + ap.ID, Decision: decision, Reason: reason,
		RequestID: greenroom.RequestID(ctx), Source: SourceFromContext(ctx),
		Details: map[string]string{"action": ap.Action, "resource": ap.Resource, "requester": ap.Requester}}
	if p := FromContext(ctx); p != nil {
		ev.Actor, ev.ActorKind, ev.Contractor = p.UserRef, p.Kind, p.Contractor
	}
	if err := a.audit.Audit(ctx, ev); err != nil {
		return fmt.Errorf("access: audit %s: %w", action, err)
	}
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
