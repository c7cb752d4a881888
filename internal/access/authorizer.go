package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
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
	// entities are read to decide single refs under attribute policies,
	// their rows kept in rows.
	entities EntityLookup
	rows     rowCache
	// scopes caches principals' read filters (readFilter).
	scopesMu sync.Mutex
	scopes   map[string]principalReads
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
	return &Authorizer{policy: p, engine: e, audit: audit, logger: logger, now: time.Now, rows: rowCache{now: time.Now}}, nil
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
	return a.check(ctx, action, res, false)
}

func (a *Authorizer) check(ctx context.Context, action string, res Resource, approved bool) Decision {
	p := FromContext(ctx)
	switch {
	case p == nil:
		return Decision{Allowed: true, Reason: "authentication is off"}
	case !ScopeAllows(p.Scopes, action): // a token's scopes bind even with permissions off
		return Decision{Reason: "the token's scopes (" + strings.Join(p.Scopes, ", ") + ") do not include " + action}
	case !a.policy.Enabled:
		return Decision{Allowed: true, Reason: "permission.enabled is false"}
	}
	d := a.engine.Decide(Request{Principal: p, Action: action, Resource: res, Approved: approved})
	a.reportPolicyErrors(d)
	return d
}

// AuthorizeApproved decides, as an approved approval request (approval)
// allows it, action on res for the caller of ctx — the requester, as they
// are now — just before the approved action runs, and audits the decision
// like Authorize. A requester who lost the right in between (a role or
// membership gone, the entity now restricted or out of bounds, a token
// scope) is denied: the approval does not stand in for rights they no
// longer have.
func (a *Authorizer) AuthorizeApproved(ctx context.Context, action string, res Resource, approval string) (Decision, error) {
	d := a.check(ctx, action, res, true)
	if FromContext(ctx) != nil {
		if err := a.recordWith(ctx, action, res, d, map[string]string{"approval": approval, "recheck": "true"}); err != nil {
			return Decision{}, err
		}
	}
	return d, nil
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
	return a.recordWith(ctx, action, res, d, nil)
}

func (a *Authorizer) recordWith(ctx context.Context, action string, res Resource, d Decision, details map[string]string) error {
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
	for k, v := range details {
		if ev.Details == nil {
			ev.Details = map[string]string{}
		}
		ev.Details[k] = v
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
// permission disabled; nothing without a read permission on the catalog;
// otherwise what the read policies (the contractor boundaries among them,
// and every administrator's read policy on entity attributes) let the
// principal see, as a filter the store's query applies, so that lists,
// counts, facets and cursors only ever hold visible entities. Visible
// decides single refs by evaluating the same filter on the entity's
// search rows (on the ref alone when the filter reads only kind,
// namespace and name).
func (a *Authorizer) ReadScope(ctx context.Context) (catalog.ReadScope, error) {
	p := FromContext(ctx)
	if p == nil || (!a.policy.Enabled && ScopeAllows(p.Scopes, ActionRead)) {
		return catalog.ReadScope{}, nil
	}
	none := query.Not(query.Exists("kind"))
	// The same for everyone: the read cache may share its answers.
	nothing := catalog.ReadScope{Filter: &none, Visible: func(string) bool { return false }, CacheKey: "none"}
	if !a.policy.Enabled {
		if !ScopeAllows(p.Scopes, ActionRead) {
			return nothing, nil
		}
		return catalog.ReadScope{}, nil
	}
	rf, err := a.readFilter(p)
	switch {
	case err != nil:
		return catalog.ReadScope{}, err
	case rf.all:
		return catalog.ReadScope{}, nil
	case rf.none:
		return nothing, nil
	}
	f := cloneFilter(rf.f)
	visible, err := a.visible(ctx, f)
	if err != nil {
		return catalog.ReadScope{}, err
	}
	return catalog.ReadScope{Filter: &f, Visible: visible}, nil
}

// principalReads is what one principal may read: nothing, everything or
// what f selects.
type principalReads struct {
	f         query.Filter
	all, none bool
}

// maxCachedScopes bounds the cache of principals' read filters; when full
// it starts over.
const maxCachedScopes = 10000

// readFilter returns p's read filter, the catalog-level read decision
// included, cached per principal as it is now (roles, contractor flag,
// ownership, attributes, token scopes): the policies are fixed once
// loaded, so the same principal always gets the same filter.
func (a *Authorizer) readFilter(p *Principal) (principalReads, error) {
	key := principalFingerprint(p)
	a.scopesMu.Lock()
	rf, ok := a.scopes[key]
	a.scopesMu.Unlock()
	if ok {
		return rf, nil
	}
	switch {
	case !ScopeAllows(p.Scopes, ActionRead):
		rf.none = true
	case !a.catalogReadable(p):
		rf.none = true
	default:
		var err error
		if rf.f, rf.all, rf.none, err = a.engine.ReadFilter(p); err != nil {
			return principalReads{}, err
		}
	}
	a.scopesMu.Lock()
	if a.scopes == nil || len(a.scopes) >= maxCachedScopes {
		a.scopes = map[string]principalReads{}
	}
	a.scopes[key] = rf
	a.scopesMu.Unlock()
	return rf, nil
}

func (a *Authorizer) catalogReadable(p *Principal) bool {
	d := a.engine.Decide(Request{Principal: p, Action: ActionRead, Resource: Resource{Type: "catalog"}})
	a.reportPolicyErrors(d)
	return d.Allowed
}

// cloneFilter copies f deeply, so that no caller can change a cached one.
func cloneFilter(f query.Filter) query.Filter {
	f.Values = slices.Clone(f.Values)
	if f.Sub != nil {
		sub := make([]query.Filter, len(f.Sub))
		for i, s := range f.Sub {
			sub[i] = cloneFilter(s)
		}
		f.Sub = sub
	}
	return f
}

// principalFingerprint identifies everything about p the policies may read.
func principalFingerprint(p *Principal) string {
	var b strings.Builder
	field := func(s string) { b.WriteString(s); b.WriteByte(0) }
	field(string(p.Kind))
	field(p.UserRef)
	field(fmt.Sprint(p.Contractor))
	for _, list := range [][]string{p.Roles, p.OwnershipRefs, p.Scopes} {
		sorted := slices.Clone(list)
		slices.Sort(sorted)
		field(strings.Join(sorted, "\x01"))
	}
	for _, k := range slices.Sorted(maps.Keys(p.Attributes)) {
		field(k + "=" + p.Attributes[k])
	}
	return b.String()
}

// EntityLookup reads one stored entity, unscoped; the store implements it.
// A missing entity is an error with code not_found.
type EntityLookup interface {
	EntityByRef(ctx context.Context, ref string) (catalog.Record, error)
}

// SetEntities gives the authorizer the entities read scopes decide single
// refs on, when a read policy reads more of an entity than its ref. Set it
// before serving.
func (a *Authorizer) SetEntities(l EntityLookup) { a.entities = l }

// visible returns the Visible function of filter f: f evaluated on the
// search rows of the entity a ref names, each entity looked up once per
// scope (a missing entity is judged on its ref alone).
func (a *Authorizer) visible(ctx context.Context, f query.Filter) (func(string) bool, error) {
	if refOnly(f) {
		return func(ref string) bool { return f.Match(refRows(ref)) }, nil
	}
	if a.entities == nil {
		return nil, errors.New("access: a read policy reads entity attributes, and the authorizer has no entity lookup")
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(ref string) bool {
		mu.Lock()
		v, ok := seen[ref]
		mu.Unlock()
		if ok {
			return v
		}
		rows, err := a.entityRows(ctx, ref)
		if err != nil {
			a.logVisibilityError(ref, err)
			return false // fail closed, and do not remember it
		}
		v = f.Match(rows)
		mu.Lock()
		seen[ref] = v
		mu.Unlock()
		return v
	}, nil
}

// entityRows returns the search rows of the entity ref names (cached), or
// the rows its ref gives when there is no such entity.
func (a *Authorizer) entityRows(ctx context.Context, ref string) ([]query.SearchRow, error) {
	if rows, ok := a.rows.get(ref); ok {
		if rows == nil {
			return refRows(ref), nil
		}
		return rows, nil
	}
	rec, err := a.entities.EntityByRef(ctx, ref)
	var rows []query.SearchRow
	switch {
	case err == nil:
		rows, err = query.BuildSearchJSON(rec.Body, rec.UID)
		if rows == nil && err != nil {
			return nil, err
		}
	case !greenroom.IsNotFound(err):
		return nil, err
	}
	a.rows.put(ref, rows)
	if rows == nil {
		return refRows(ref), nil
	}
	return rows, nil
}

func (a *Authorizer) logVisibilityError(ref string, err error) {
	if a.logger != nil {
		a.logger.Warn("entity hidden: its visibility could not be decided", "ref", ref, "err", err)
	}
}

// EntityResource describes a catalog entity (Backstage JSON) as a
// Resource: ref, owner, production, spec.type, spec.lifecycle, tags,
// annotations, labels and ABAC attributes, read from the entity's search
// rows (query.BuildSearch) so that a decision on the entity agrees with
// the read filter the same policies become. The owner is the target of
// the ownedBy relation, or, for an entity not yet processed (a request
// body), its spec.owner completed with kind group and the entity's
// namespace.
func EntityResource(body json.RawMessage) (Resource, error) {
	var e struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Owner any `json:"owner"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return Resource{}, fmt.Errorf("access: decode entity: %w", err)
	}
	rows, err := query.BuildSearchJSON(body, "")
	if rows == nil && err != nil {
		return Resource{}, fmt.Errorf("access: entity search rows: %w", err)
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	r := resourceFromRows(rows)
	r.Kind, r.Namespace, r.Name = strings.ToLower(e.Kind), strings.ToLower(ns), strings.ToLower(e.Metadata.Name)
	r.Ref = r.Kind + ":" + r.Namespace + "/" + r.Name
	if o, ok := e.Spec.Owner.(string); ok && o != "" && r.Owner == "" {
		if ref, err := greenroom.ParseEntityRef(o, "group", ns); err == nil {
			r.Owner = strings.ToLower(ref.String())
		}
	}
	return r, nil
}
