package access

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
)

//go:embed policies/*.cedar
var defaultPolicies embed.FS

// Resource is what an action is taken on.
type Resource struct {
	// Type is "entity" for a catalog entity, else the name of a route-level
	// resource ("catalog", "locations", "audit", "approvals", "admin", …).
	Type string
	// Ref is the entity ref (lowercased) of an entity, else an identifier
	// of the resource such as a location id; may be "".
	Ref string
	// Kind, Namespace and Name are the entity's (lowercased).
	Kind, Namespace, Name string
	// Owner is the entity's spec.owner as a full ref, "" when none.
	Owner string
	// Production marks an entity or action of a production environment
	// (spec.lifecycle production, or greenroom.io/environment production).
	Production bool
	// Integration names the integration an action goes through (github,
	// argocd…), for contractors' allowedIntegrations.
	Integration string
	// Attributes are ABAC attributes of the resource: department, project,
	// environment, cost_center.
	Attributes map[string]string
	// SpecType and Lifecycle are an entity's spec.type and spec.lifecycle;
	// Tags its metadata.tags; Annotations and Labels its metadata's (keys
	// and values lowercased, as the catalog's search index holds them, so
	// that a decision on one entity agrees with the read filter).
	SpecType, Lifecycle string
	Tags                []string
	Annotations, Labels map[string]string
}

// String names the resource for audit records.
func (r Resource) String() string {
	if r.Ref != "" {
		if r.Type == "entity" {
			return r.Ref
		}
		return r.Type + ":" + r.Ref
	}
	return r.Type
}

// Decision is the outcome of one authorization.
type Decision struct {
	Allowed bool
	// NeedsApproval is set when the action is denied now but an approved
	// approval request would allow it.
	NeedsApproval bool
	// Reason says why, naming the deciding policies; safe to show.
	Reason string
	// PolicyErrors are the policies that failed to evaluate (a typo in an
	// administrator's file, e.g. an attribute no resource has); Cedar
	// skips them.
	PolicyErrors []string
}

// AttributeKeys are the ABAC attributes read from greenroom.io/<key>
// annotations (cost_center from greenroom.io/cost-center).
var AttributeKeys = []string{"department", "project", "environment", "cost_center"}

// Engine evaluates the Cedar policies: the defaults shipped in policies/
// and the administrator's extra files.
type Engine struct {
	policies *cedar.PolicySet
	reads    []readPolicy // the policies deciding entity reads, in load order
	roles    []string
	cfg      Contractors
	ctxRec   cedar.RecordMap // the contractor part of every request's context
}

// maxPolicyFiles and maxPolicyBytes bound what policy files may hold.
const (
	maxPolicyFiles = 100
	maxPolicyBytes = 1 << 20
)

var roleRef = regexp.MustCompile(`Role::"([^"\\]+)"`)

// NewEngine compiles the default policies and files. A file that does not
// parse is an error naming the file and position.
func NewEngine(p Policy) (*Engine, error) {
	ps := cedar.NewPolicySet()
	roles := map[string]bool{}
	var reads []readPolicy
	add := func(name string, text []byte, builtin bool) error {
		if len(text) > maxPolicyBytes {
			return fmt.Errorf("access: policy file %s is larger than %d bytes", name, maxPolicyBytes)
		}
		list, err := cedar.NewPolicyListFromBytes(name, text)
		if err != nil {
			return fmt.Errorf("access: policy file %s: %w", name, err)
		}
		for i, pol := range list {
			id := cedar.PolicyID(fmt.Sprintf("%s#%d", name, i))
			if v, ok := pol.Annotations()["id"]; ok {
				id = cedar.PolicyID(v)
			}
			if ps.Get(id) != nil {
				return fmt.Errorf("access: policy file %s: policy id %s is used twice", name, id)
			}
			rp, err := checkReadPolicy(string(id), pol)
			if err != nil {
				return fmt.Errorf("access: policy file %s line %d: %w", name, pol.Position().Line, err)
			}
			if rp != nil {
				rp.builtin = builtin
				reads = append(reads, *rp)
			}
			ps.Add(id, pol)
		}
		for _, m := range roleRef.FindAllSubmatch(text, -1) {
			roles[string(m[1])] = true
		}
		return nil
	}
	entries, err := fs.ReadDir(defaultPolicies, "policies")
	if err != nil {
		return nil, fmt.Errorf("access: default policies: %w", err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(defaultPolicies, "policies/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("access: default policies: %w", err)
		}
		if err := add("default/"+e.Name(), b, true); err != nil {
			return nil, err
		}
	}
	if len(p.Files) > maxPolicyFiles {
		return nil, fmt.Errorf("access: more than %d policy files", maxPolicyFiles)
	}
	for _, f := range p.Files {
		if err := add(f.Name, f.Text, false); err != nil {
			return nil, err
		}
	}
	e := &Engine{policies: ps, reads: reads, cfg: p.Contractors}
	for r := range roles {
		e.roles = append(e.roles, r)
	}
	slices.Sort(e.roles)
	c := p.Contractors
	e.ctxRec = cedar.RecordMap{
		"canCreateServices":     cedar.Boolean(c.Permissions.CanCreateServices),
		"canViewCostData":       cedar.Boolean(c.Permissions.CanViewCostData),
		"canTriggerDeployments": cedar.Boolean(c.Permissions.CanTriggerDeployments),
		"canAccessProduction":   cedar.Boolean(c.Permissions.CanAccessProduction),
		"allowedNamespaces":     stringSet(lowerAll(c.Permissions.AllowedNamespaces)),
		"allowedIntegrations":   stringSet(c.Boundaries.AllowedIntegrations),
		"requiresApproval":      stringSet(c.Boundaries.RequiresApproval),
		"approvers":             stringSet(lowerAll(c.Boundaries.Approvers)),
	}
	return e, nil
}

// Roles returns the roles the policies mention, sorted.
func (e *Engine) Roles() []string { return slices.Clone(e.roles) }

// Request is one question to the engine.
type Request struct {
	Principal *Principal
	Action    string
	Resource  Resource
	// Approved says an approved approval request covers the action.
	Approved bool
	// Requester is who asked for the approval being decided (approve).
	Requester string
}

// Decide evaluates one request. An action that is denied only because it
// awaits approval comes back with NeedsApproval.
func (e *Engine) Decide(req Request) Decision {
	d := e.decide(req)
	if d.Allowed || req.Approved {
		return d
	}
	req.Approved = true
	if again := e.decide(req); again.Allowed {
		return Decision{NeedsApproval: true, Reason: "requires approval: " + d.Reason}
	}
	return d
}

func (e *Engine) decide(req Request) Decision {
	entities := cedar.EntityMap{}
	p := req.Principal
	puid, pent := principalEntity(p)
	entities[puid] = pent

	auid := cedar.NewEntityUID("Action", cedar.String(req.Action))
	var groups []cedar.EntityUID
	if IsWrite(req.Action) {
		groups = append(groups, cedar.NewEntityUID("Action", "write"))
	}
	if req.Action == ActionList {
		groups = append(groups, cedar.NewEntityUID("Action", "read"))
	}
	entities[auid] = cedar.Entity{UID: auid, Parents: cedar.NewEntityUIDSet(groups...)}

	ruid, rent := e.resourceEntity(req.Resource)
	entities[ruid] = rent

	ok, diag := cedar.Authorize(e.policies, entities, cedar.Request{Principal: puid, Action: auid, Resource: ruid, Context: e.context(req)})
	d := Decision{Allowed: bool(ok), Reason: reason(bool(ok), req.Action, diag)}
	for _, de := range diag.Errors {
		d.PolicyErrors = append(d.PolicyErrors, de.String())
	}
	return d
}

// context is the Cedar context of req.
func (e *Engine) context(req Request) cedar.Record {
	return cedar.NewRecord(cedar.RecordMap{
		"action":     cedar.String(req.Action),
		"approved":   cedar.Boolean(req.Approved),
		"requester":  cedar.String(req.Requester),
		"contractor": cedar.NewRecord(e.ctxRec),
	})
}

// principalEntity is p as a Cedar User whose parents are its roles. ABAC
// attributes are lowercased, as entities' are.
func principalEntity(p *Principal) (cedar.EntityUID, cedar.Entity) {
	puid := cedar.NewEntityUID("User", cedar.String(p.UserRef))
	var parents []cedar.EntityUID
	for _, r := range p.Roles {
		parents = append(parents, cedar.NewEntityUID("Role", cedar.String(r)))
	}
	own := []string{p.UserRef}
	own = append(own, p.OwnershipRefs...)
	pattrs := cedar.RecordMap{
		"ref":        cedar.String(p.UserRef),
		"kind":       cedar.String(string(p.Kind)),
		"contractor": cedar.Boolean(p.Contractor),
		"ownership":  stringSet(lowerAll(own)),
	}
	for _, k := range AttributeKeys {
		pattrs[cedar.String(k)] = cedar.String(strings.ToLower(p.Attributes[k]))
	}
	return puid, cedar.Entity{UID: puid, Parents: cedar.NewEntityUIDSet(parents...), Attributes: cedar.NewRecord(pattrs)}
}

// resourceEntity is r as a Cedar Entity (a catalog entity) or Resource.
// Every resource has every attribute, "", false or empty when unknown, so
// that a policy on one never fails to evaluate on another.
func (e *Engine) resourceEntity(r Resource) (cedar.EntityUID, cedar.Entity) {
	typ, id := "Resource", r.String()
	if r.Type == "entity" {
		typ = "Entity"
	}
	ruid := cedar.NewEntityUID(cedar.EntityType(typ), cedar.String(id))
	rattrs := cedar.RecordMap{
		"kind":        cedar.String(strings.ToLower(r.Kind)),
		"namespace":   cedar.String(strings.ToLower(r.Namespace)),
		"name":        cedar.String(strings.ToLower(r.Name)),
		"owner":       cedar.String(strings.ToLower(r.Owner)),
		"restricted":  cedar.Boolean(r.Type == "entity" && e.cfg.restricted(r.Ref)),
		"production":  cedar.Boolean(r.Production),
		"integration": cedar.String(r.Integration),
		"type":        cedar.String(strings.ToLower(r.SpecType)),
		"lifecycle":   cedar.String(strings.ToLower(r.Lifecycle)),
		"tags":        stringSet(lowerAll(r.Tags)),
		"annotations": stringRecord(r.Annotations),
		"labels":      stringRecord(r.Labels),
	}
	for _, k := range AttributeKeys {
		rattrs[cedar.String(k)] = cedar.String(strings.ToLower(r.Attributes[k]))
	}
	return ruid, cedar.Entity{UID: ruid, Attributes: cedar.NewRecord(rattrs)}
}

func stringRecord(m map[string]string) cedar.Record {
	rm := cedar.RecordMap{}
	for k, v := range m {
		rm[cedar.String(strings.ToLower(k))] = cedar.String(strings.ToLower(v))
	}
	return cedar.NewRecord(rm)
}

func reason(ok bool, action string, diag cedar.Diagnostic) string {
	var ids []string
	for _, r := range diag.Reasons {
		ids = append(ids, string(r.PolicyID))
	}
	slices.Sort(ids)
	var b strings.Builder
	switch {
	case ok:
		b.WriteString("permitted by " + strings.Join(ids, ", "))
	case len(ids) > 0:
		b.WriteString("forbidden by " + strings.Join(ids, ", "))
	default:
		b.WriteString("no policy permits " + action)
	}
	if len(diag.Errors) > 0 {
		b.WriteString(fmt.Sprintf(" (%d policy errors)", len(diag.Errors)))
	}
	return b.String()
}

func stringSet(ss []string) cedar.Set {
	vs := make([]cedar.Value, len(ss))
	for i, s := range ss {
		vs[i] = cedar.String(s)
	}
	return cedar.NewSet(vs...)
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}
