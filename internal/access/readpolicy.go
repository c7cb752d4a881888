package access

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/eval"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// Read policies become catalog filters. Every policy whose action scope
// takes in Action::"read" and whose resource scope may hold a catalog
// Entity is a read policy: for one principal, its principal scope and the
// parts of its conditions that do not name the resource (principal.*,
// context.*, literals) are evaluated to constants, and the parts that do
// are translated into a query.Filter over the entity's search rows. The
// read scope is then Cedar's decision as a filter: some permit holds and
// no forbid does (deny overrides). Each boolean expression becomes two
// filters, where it is true and where it is false; where it is neither it
// fails to evaluate, and a policy that fails to evaluate is skipped, as
// Cedar skips it. A read policy naming the resource in a way no filter
// expresses is refused when the policies load.

// entityStringAttrs are the string attributes of an Entity and the search
// keys they are read from, the ABAC attributes from their greenroom.io
// annotations. Every entity has each ("" when missing).
var entityStringAttrs = func() map[string]string {
	m := map[string]string{
		"kind":      "kind",
		"namespace": "metadata.namespace",
		"name":      "metadata.name",
		"owner":     "relations.ownedby",
		"type":      "spec.type",
		"lifecycle": "spec.lifecycle",
	}
	for _, k := range AttributeKeys {
		m[k] = annotationsPrefix + strings.ToLower(AttributeAnnotation(k))
	}
	return m
}()

// Search key prefixes and keys of the other attributes.
const (
	annotationsPrefix = "metadata.annotations."
	labelsPrefix      = "metadata.labels."
	tagsKey           = "metadata.tags"
)

// entityAttrNames lists every attribute an Entity has, for error messages.
func entityAttrNames() string {
	names := []string{"restricted", "production", "integration", "tags", "annotations", "labels"}
	for k := range entityStringAttrs {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// resourceFromRows reads an entity Resource's attributes from its search
// rows: the first non-null value of a key (every key policies read holds
// one value in a valid entity; of a list, such as a spec.type written as
// one, the filter matches any item).
func resourceFromRows(rows []query.SearchRow) Resource {
	first := func(key string) string {
		for _, r := range rows {
			if r.Key == key && !r.Null {
				return r.Value
			}
		}
		return ""
	}
	r := Resource{Type: "entity", Kind: first("kind"), Namespace: first("metadata.namespace"), Name: first("metadata.name"),
		Owner: first("relations.ownedby"), SpecType: first("spec.type"), Lifecycle: first("spec.lifecycle"),
		Attributes: map[string]string{}, Annotations: map[string]string{}, Labels: map[string]string{}}
	r.Ref = r.Kind + ":" + r.Namespace + "/" + r.Name
	for _, row := range rows {
		switch {
		case row.Key == tagsKey && !row.Null:
			r.Tags = append(r.Tags, row.Value)
		case strings.HasPrefix(row.Key, annotationsPrefix):
			addOptional(r.Annotations, strings.TrimPrefix(row.Key, annotationsPrefix), row)
		case strings.HasPrefix(row.Key, labelsPrefix):
			addOptional(r.Labels, strings.TrimPrefix(row.Key, labelsPrefix), row)
		}
	}
	for _, k := range AttributeKeys {
		if v := first(entityStringAttrs[k]); v != "" {
			r.Attributes[k] = v
		}
	}
	r.Production = r.Lifecycle == "production" || r.Attributes["environment"] == "production"
	return r
}

// addOptional records an annotation or label row: a key with only null
// rows is present with value "".
func addOptional(m map[string]string, key string, row query.SearchRow) {
	if _, seen := m[key]; !seen || (m[key] == "" && !row.Null) {
		m[key] = row.Value
	}
}

// readPolicy is a policy that decides reads of catalog entities.
type readPolicy struct {
	id      string
	builtin bool // one of the shipped default policies
	permit  bool
	ast     *xast.Policy
}

// checkReadPolicy returns the read policy of pol, nil when it is none, or
// the error of one that does not translate into a filter.
func checkReadPolicy(id string, pol *cedar.Policy) (*readPolicy, error) {
	a := (*xast.Policy)(pol.AST())
	if !appliesToRead(a) {
		return nil, nil
	}
	if s, err := (&translator{}).resourceScope(a.Resource); err != nil {
		return nil, err
	} else if s.c < 0 {
		return nil, nil // a route-level Resource, never an entity
	}
	if _, err := (&translator{}).policy(a); err != nil {
		var r *refusal
		if errors.As(err, &r) {
			return nil, fmt.Errorf("read policy %s does not translate into a catalog filter: %s", id, r.msg)
		}
		return nil, fmt.Errorf("read policy %s: %w", id, err)
	}
	return &readPolicy{id: id, permit: pol.Effect() == cedar.Permit, ast: a}, nil
}

// readFilter is what p may read of the catalog under the read policies,
// as a filter over entities' search rows.
func (e *Engine) readFilter(p *Principal) (bf, error) {
	puid, pent := principalEntity(p)
	auid := cedar.NewEntityUID("Action", cedar.String(ActionRead))
	ruid, rent := standIn(e)
	env := eval.Env{
		Entities:  cedar.EntityMap{puid: pent, auid: cedar.Entity{UID: auid}, ruid: rent},
		Principal: puid, Action: auid, Resource: ruid,
		Context: e.context(Request{Principal: p, Action: ActionRead}),
	}
	t := &translator{env: &env}
	for _, ref := range e.cfg.Boundaries.RestrictedServices {
		if r, err := greenroom.ParseEntityRef(strings.ToLower(ref), "", ""); err == nil {
			t.restricted = append(t.restricted, r)
		}
	}
	permit, forbid := never, never
	for _, rp := range e.reads {
		s, err := t.policy(rp.ast)
		if err != nil {
			return never, fmt.Errorf("access: read policy %s: %w", rp.id, err)
		}
		if rp.permit {
			permit = or(permit, s)
		} else {
			forbid = or(forbid, s)
		}
	}
	return and(permit, not(forbid)), nil
}

// ReadFilter returns what p may read of the catalog as a filter over
// entities' search rows; all reports that p reads everything, none that
// p reads nothing (f is then meaningless).
func (e *Engine) ReadFilter(p *Principal) (f query.Filter, all, none bool, err error) {
	b, err := e.readFilter(p)
	if err != nil {
		return query.Filter{}, false, false, err
	}
	return normalize(b.f), b.c > 0, b.c < 0, nil
}

// CustomReadPolicies reports whether an administrator's policy file holds
// a read policy (so that reads may be scoped by more than the contractor
// boundaries).
func (e *Engine) CustomReadPolicies() bool {
	for _, rp := range e.reads {
		if !rp.builtin {
			return true
		}
	}
	return false
}

// refKeys are the keys an entity ref alone gives values for.
var refKeys = []string{"kind", "metadata.namespace", "metadata.name"}

// refOnly reports whether f reads only keys a ref gives, so that it can
// be decided on a ref without loading the entity.
func refOnly(f query.Filter) bool {
	if f.IsMatch() {
		return slices.Contains(refKeys, query.Lower(f.Key))
	}
	for _, s := range f.Sub {
		if !refOnly(s) {
			return false
		}
	}
	return true
}

// refRows are the search rows a lowercased ref gives.
func refRows(ref string) []query.SearchRow {
	r, err := greenroom.ParseEntityRef(ref, "", "default")
	if err != nil || r.Kind == "" {
		return nil
	}
	var rows []query.SearchRow
	for i, v := range []string{r.Kind, r.Namespace, r.Name} {
		rows = append(rows, query.SearchRow{Key: refKeys[i], Value: query.Lower(v), Original: v})
	}
	return rows
}
