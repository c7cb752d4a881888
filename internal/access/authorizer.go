package access

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// Authorizer is the one permission layer every route and UI action asks
// before acting. It decides with the Engine, records every decision on a
// write in the audit log, and scopes catalog reads.
type Authorizer struct {
	policy Policy
	engine *Engine
	audit  Auditor
	logger *slog.Logger
	now    func() time.Time
	// reported holds the policy errors logged already.
	reported sync.Map
}

// NewAuthorizer returns the permission layer of p. audit may be nil only in
// tests that do not look at the audit log.
func NewAuthorizer(p Policy, audit Auditor, logger *slog.Logger) (*Authorizer, error) {
	e, err := NewEngine(p)
	if err != nil {
		return nil, err
	}
	for _, b := range p.Bindings {
		if !knownRole(e, b.Role) {
			return nil, fmt.Errorf("access: binding of unknown role %q (roles: %s)", b.Role, strings.Join(e.Roles(), ", "))
		}
	}
	return &Authorizer{policy: p, engine: e, audit: audit, logger: logger, now: time.Now}, nil
}

func knownRole(e *Engine, role string) bool {
	for _, r := range e.Roles() {
		if r == role {
			return true
		}
	}
	return false
}

type sourceKey struct{}

// WithSource returns ctx carrying the client address audit records name
// as their source.
func WithSource(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

// SourceFromContext returns the client address of ctx, "" when unknown.
func SourceFromContext(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// Enabled reports whether permission.enabled is on.
func (a *Authorizer) Enabled() bool { return a.policy.Enabled }

// Policy returns the configuration the authorizer enforces.
func (a *Authorizer) Policy() Policy { return a.policy }

// Engine returns the policy engine.
func (a *Authorizer) Engine() *Engine { return a.engine }

// Check decides action on res for the principal of ctx without auditing
// (for hiding or disabling UI controls). With no principal (authentication
// off) or permission disabled everything is allowed.
func (a *Authorizer) Check(ctx context.Context, action string, res Resource) Decision {
	p := FromContext(ctx)
	switch {
	case p == nil:
		return Decision{Allowed: true, Reason: "authentication is off"}
	case !ScopeAllows(p.Scopes, action): // a token's scopes bind even with permissions off
		return Decision{Reason: "the token's scopes (" + strings.Join(p.Scopes, ", ") + ") do not include " + action}
	case !a.policy.Enabled:
		return Decision{Allowed: true, Reason: "permission.enabled is false"}
	}
	d := a.engine.Decide(Request{Principal: p, Action: action, Resource: res})
	a.reportPolicyErrors(d)
	return d
}

// reportPolicyErrors logs each failing policy once, so that an
// administrator's mistake shows up in the log rather than as a silent
// deny.
func (a *Authorizer) reportPolicyErrors(d Decision) {
	if a.logger == nil {
		return
	}
	for _, msg := range d.PolicyErrors {
		if _, seen := a.reported.LoadOrStore(msg, true); !seen {
			a.logger.Warn("policy failed to evaluate; it is skipped", "err", msg)
		}
	}
}

// ScopeAllows reports whether a token limited to scopes may take action.
// No scopes means the principal's full rights. A scope is an action name,
// "read" (read and list), "write" (every action that changes something)
// or "*".
func ScopeAllows(scopes []string, action string) bool {
	if len(scopes) == 0 {
		return true
	}
	for _, s := range scopes {
		switch {
		case s == "*" || s == action:
			return true
		case s == ActionRead && action == ActionList:
			return true
		case s == "write" && IsWrite(action):
			return true
		}
	}
	return false
}

// Authorize decides action on res for the caller of ctx and, for a write,
// records the decision in the audit log first: a decision that cannot be
// audited is an error, and the caller must not act. A denial is returned
// as the Decision, not as an error; Err turns it into one.
func (a *Authorizer) Authorize(ctx context.Context, action string, res Resource) (Decision, error) {
	d := a.Check(ctx, action, res)
	if IsWrite(action) && FromContext(ctx) != nil {
		if err := a.record(ctx, action, res, d); err != nil {
			return Decision{}, err
		}
	}
	return d, nil
}

// record audits one decision.
func (a *Authorizer) record(ctx context.Context, action string, res Resource, d Decision) error {
	if a.audit == nil {
		return nil
	}
	p := FromContext(ctx)
	ev := AuditEvent{Time: a.now().UTC(), Action: action, Resource: res.String(), Reason: d.Reason, RequestID: greenroom.RequestID(ctx),
		Source: SourceFromContext(ctx)}
	if p != nil {
		ev.Actor, ev.ActorKind, ev.Contractor = p.UserRef, p.Kind, p.Contractor
	}
	switch {
	case d.Allowed:
		ev.Decision = DecisionAllow
	case d.NeedsApproval:
		ev.Decision = DecisionDeny
		ev.Details = map[string]string{"approval": "required"}
	default:
		ev.Decision = DecisionDeny
	}
	if err := a.audit.Audit(ctx, ev); err != nil {
		return fmt.Errorf("access: audit %s: %w", action, err)
	}
	return nil
}

// Err returns the error to answer a denied decision with: code forbidden
// with the reason (which names policies, never data the caller may not
// see).
func (d Decision) Err(action string) error {
	if d.Allowed {
		return nil
	}
	if d.NeedsApproval {
		return greenroom.Errorf(greenroom.CodeForbidden, "%s requires an approved approval request", action)
	}
	return greenroom.Errorf(greenroom.CodeForbidden, "not allowed to %s: %s", action, d.Reason)
}

// ReadScope returns what the caller of ctx may read of the catalog, for
// catalog.Service.SetReadFilter: everything without a principal or with
// permission disabled; nothing without a read permission; for a contractor
// only the allowed namespaces minus the restricted services.
func (a *Authorizer) ReadScope(ctx context.Context) (catalog.ReadScope, error) {
	p := FromContext(ctx)
	if p == nil || (!a.policy.Enabled && ScopeAllows(p.Scopes, ActionRead)) {
		return catalog.ReadScope{}, nil
	}
	if d := a.Check(ctx, ActionRead, Resource{Type: "catalog"}); !d.Allowed {
		none := query.Not(query.Exists("kind"))
		return catalog.ReadScope{Filter: &none, Visible: func(string) bool { return false }, CacheKey: "none"}, nil
	}
	if !p.Contractor || !a.policy.Enabled {
		return catalog.ReadScope{}, nil
	}
	sc := ContractorScope(a.policy.Contractors)
	sc.CacheKey = "contractor" // the policy, so the scope, is the same for every contractor
	return sc, nil
}

// ContractorScope is the read scope of a contractor under c: the filter
// runs in the store's query, Visible decides single refs the same way.
func ContractorScope(c Contractors) catalog.ReadScope {
	ns := lowerAll(c.Permissions.AllowedNamespaces)
	conds := []query.Filter{query.In("metadata.namespace", ns...)}
	if len(ns) == 0 {
		conds[0] = query.Not(query.Exists("kind"))
	}
	for _, ref := range c.Boundaries.RestrictedServices {
		r, err := greenroom.ParseEntityRef(ref, "", "")
		if err != nil {
			continue // config check refuses these
		}
		conds = append(conds, query.Not(query.All(
			query.In("kind", strings.ToLower(r.Kind)),
			query.In("metadata.namespace", strings.ToLower(r.Namespace)),
			query.In("metadata.name", strings.ToLower(r.Name)))))
	}
	f := query.All(conds...)
	return catalog.ReadScope{Filter: &f, Visible: func(ref string) bool {
		r, err := greenroom.ParseEntityRef(ref, "", "default")
		if err != nil {
			return false
		}
		return c.namespaceAllowed(r.Namespace) && !c.restricted(r.String())
	}}
}

// EntityResource describes a catalog entity (Backstage JSON) as a
// Resource: ref, owner, production and attributes from its spec and
// greenroom.io annotations.
func EntityResource(body json.RawMessage) (Resource, error) {
	var e struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Owner     any    `json:"owner"`
			Lifecycle string `json:"lifecycle"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return Resource{}, fmt.Errorf("access: decode entity: %w", err)
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	r := Resource{Type: "entity", Kind: strings.ToLower(e.Kind), Namespace: strings.ToLower(ns), Name: strings.ToLower(e.Metadata.Name),
		Attributes: map[string]string{}}
	r.Ref = r.Kind + ":" + r.Namespace + "/" + r.Name
	if o, ok := e.Spec.Owner.(string); ok && o != "" {
		if ref, err := greenroom.ParseEntityRef(o, "group", ns); err == nil {
			r.Owner = strings.ToLower(ref.String())
		}
	}
	for _, k := range AttributeKeys {
		if v := e.Metadata.Annotations[AttributeAnnotation(k)]; v != "" {
			r.Attributes[k] = v
		}
	}
	r.Production = strings.EqualFold(e.Spec.Lifecycle, "production") || strings.EqualFold(r.Attributes["environment"], "production")
	return r, nil
}
