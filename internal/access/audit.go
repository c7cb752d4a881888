package access

import (
	"context"
	"time"
)

// Decision values of an AuditEvent.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
	// DecisionNone is for events that are not permission decisions
	// (sign-in, token use, admin changes).
	DecisionNone = ""
)

// AuditEvent is one append-only audit record: who did what to which
// resource, what was decided and why.
type AuditEvent struct {
	Time      time.Time
	Actor     string // user or service ref; "" for an anonymous caller
	ActorKind Kind
	// Contractor marks events of a contractor, kept only for
	// permission.contractors.permissions.dataRetentionDays.
	Contractor bool
	// Action names what was attempted, e.g. "auth.signin", "auth.token.use",
	// "catalog.entity.delete", "scaffolder.task.create", "approval.decide".
	Action string
	// Resource is what it was attempted on: an entity ref, a route, a token id.
	Resource string
	Decision string // DecisionAllow, DecisionDeny or DecisionNone
	Reason   string // why; safe to show (never secrets)
	// RequestID and Source (the client IP) tie the record to a request.
	RequestID string
	Source    string
	Details   map[string]string
}

// Auditor stores audit events. Implementations must be append-only and safe
// for concurrent use; a failure to audit is returned so that callers of
// sensitive actions can refuse to act unaudited.
type Auditor interface {
	Audit(ctx context.Context, ev AuditEvent) error
}
