package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// ReadScope is what one caller may read of the catalog. The zero value
// reads everything (background work, authorization off, an administrator).
type ReadScope struct {
	// Filter, when set, is ANDed into every query the store runs for the
	// caller, so that lists, counts, cursors and facets only ever hold what
	// it selects.
	Filter *query.Filter
	// Visible, when set, reports whether the caller may see the entity a
	// lowercased ref names. It must agree with Filter; single-entity reads
	// (by name, by uid, ancestry) use it, and relations to entities it
	// hides are dropped from every served entity, so that a visible entity
	// never reveals a hidden one's ref.
	Visible func(ref string) bool
	// CacheKey, when set, names the scope for the read cache: two scopes
	// with the same key must select and serve exactly the same. A
	// restricted scope without one is never cached (readcache.go).
	CacheKey string
}

func (sc ReadScope) unrestricted() bool { return sc.Filter == nil && sc.Visible == nil }

func (sc ReadScope) visible(ref string) bool {
	return sc.Visible == nil || sc.Visible(strings.ToLower(ref))
}

// ReadFilter returns the read scope of the caller of ctx. An error refuses
// the read (it is returned to the caller as it is).
type ReadFilter func(ctx context.Context) (ReadScope, error)

// SetReadFilter makes every read path of the Service ask fn what the
// caller may see. Entities the scope hides answer code not_found exactly
// like missing ones. Set it before serving.
func (s *Service) SetReadFilter(fn ReadFilter) { s.readFilter = fn }

// scope returns the read scope of ctx's caller.
func (s *Service) scope(ctx context.Context) (ReadScope, error) {
	if s.readFilter == nil {
		return ReadScope{}, nil
	}
	sc, err := s.readFilter(ctx)
	if err != nil {
		return ReadScope{}, fmt.Errorf("catalog: read scope: %w", err)
	}
	return sc, nil
}

// and combines the scope's filter with a caller's.
func (sc ReadScope) and(f *query.Filter) *query.Filter {
	switch {
	case sc.Filter == nil:
		return f
	case f == nil:
		return sc.Filter
	}
	// The caller's conditions first: the store's planner drives the query
	// from the leading conditions (a kind scope, a selective value).
	all := query.All(*f, *sc.Filter)
	return &all
}

// scopedQuery applies sc to q. For a by-query walk continued with a
// cursor the filter lives in the cursor: the store is given a copy whose
// filter carries the scope, and restore puts the caller's own filter back
// into the cursors of the page, so that the scope (which names what the
// caller may not see) never reaches the client.
func (sc ReadScope) scopedQuery(q query.EntitiesQuery) (query.EntitiesQuery, func(*query.EntitiesPage[Record])) {
	if sc.Filter == nil {
		return q, func(*query.EntitiesPage[Record]) {}
	}
	var own *query.Filter
	if q.Style == query.StyleQuery && q.Cursor != nil {
		c := *q.Cursor
		own = c.Filter
		c.Filter = sc.and(c.Filter)
		q.Cursor = &c
	} else {
		own = q.Filter
		q.Filter = sc.and(q.Filter)
	}
	return q, func(p *query.EntitiesPage[Record]) {
		for _, c := range []*query.Cursor{p.NextCursor, p.PrevCursor} {
			if c != nil {
				c.Filter = own
			}
		}
	}
}

// served returns an entity body as the caller may see it: relations to
// entities the scope hides are dropped, and so are the spec fields that
// name them (owner, system, dependsOn, providesApis…), so that a visible
// entity never reveals a hidden one's ref.
func (sc ReadScope) served(body json.RawMessage) (json.RawMessage, error) {
	if sc.Visible == nil {
		return body, nil
	}
	// Spec refs become relations, so an entity with no relation to a
	// hidden entity is served as it is, without rewriting it.
	var rs struct {
		Relations []struct {
			TargetRef string `json:"targetRef"`
		} `json:"relations"`
	}
	if err := json.Unmarshal(body, &rs); err != nil {
		return nil, fmt.Errorf("catalog: decode entity: %w", err)
	}
	hides := false
	for _, r := range rs.Relations {
		if r.TargetRef != "" && !sc.visible(r.TargetRef) {
			hides = true
			break
		}
	}
	if !hides {
		return body, nil
	}
	var e map[string]json.RawMessage
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("catalog: decode entity: %w", err)
	}
	changed := false
	if raw, ok := e["relations"]; ok {
		var rels []map[string]json.RawMessage
		if json.Unmarshal(raw, &rels) == nil {
			kept := rels[:0:0]
			for _, r := range rels {
				var target string
				_ = json.Unmarshal(r["targetRef"], &target)
				if target == "" || sc.visible(target) {
					kept = append(kept, r)
				}
			}
			if len(kept) != len(rels) {
				b, err := json.Marshal(kept)
				if err != nil {
					return nil, fmt.Errorf("catalog: encode relations: %w", err)
				}
				e["relations"], changed = b, true
			}
		}
	}
	if raw, ok := e["spec"]; ok {
		ns := entityNamespace(e["metadata"])
		if spec, ok := sc.scrubSpec(raw, ns); ok {
			e["spec"], changed = spec, true
		}
	}
	if !changed {
		return body, nil
	}
	out, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("catalog: encode entity: %w", err)
	}
	return out, nil
}

// refFields are the spec fields of the built-in kinds that hold entity
// refs, with the kind a short ref in them implies.
var refFields = map[string]string{
	"owner": "group", "system": "system", "domain": "domain", "subcomponentOf": "component", "parent": "group",
	"dependsOn": "", "dependencyOf": "", "providesApis": "api", "consumesApis": "api", "children": "group",
	"members": "user", "memberOf": "group", "subdomainOf": "domain",
}

func entityNamespace(meta json.RawMessage) string {
	var m struct {
		Namespace string `json:"namespace"`
	}
	_ = json.Unmarshal(meta, &m)
	if m.Namespace == "" {
		return "default"
	}
	return m.Namespace
}

// scrubSpec drops the refs to hidden entities from spec; ok reports a
// change.
func (sc ReadScope) scrubSpec(raw json.RawMessage, ns string) (json.RawMessage, bool) {
	var spec map[string]any
	if json.Unmarshal(raw, &spec) != nil {
		return nil, false
	}
	hidden := func(v any, kind string) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		r, err := greenroom.ParseEntityRef(s, kind, ns)
		if err != nil || r.Kind == "" {
			return false
		}
		return !sc.visible(r.String())
	}
	changed := false
	for field, kind := range refFields {
		switch v := spec[field].(type) {
		case string:
			if hidden(v, kind) {
				delete(spec, field)
				changed = true
			}
		case []any:
			kept := make([]any, 0, len(v))
			for _, it := range v {
				if !hidden(it, kind) {
					kept = append(kept, it)
				}
			}
			if len(kept) != len(v) {
				spec[field], changed = kept, true
			}
		}
	}
	if !changed {
		return nil, false
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, false
	}
	return b, true
}

// notVisible is the error of an entity the scope hides: the same code and
// message as a missing entity's.
func notVisible(ref string) error {
	return greenroom.Errorf(greenroom.CodeNotFound, "No entity named %s found", ref)
}

// visibleRecord returns rec's served body, or code not_found when sc
// hides it.
func (sc ReadScope) visibleRecord(rec Record, notFound func() error) (json.RawMessage, error) {
	if !sc.visible(rec.Ref) {
		return nil, notFound()
	}
	return sc.served(rec.Body)
}

// scopedEntities is Entities for a restricted caller: the same kind, order
// (by ref) and paging, asked of the query index with the scope's filter.
func (s *Service) scopedEntities(ctx context.Context, sc ReadScope, q Query) ([]json.RawMessage, error) {
	eq := query.EntitiesQuery{Style: query.StyleList, Limit: query.NoLimit, Offset: q.Offset}
	if q.Limit > 0 {
		eq.Limit = q.Limit
	}
	if q.Kind != "" {
		k := query.In("kind", strings.ToLower(q.Kind))
		eq.Filter = &k
	}
	eq.Filter = sc.and(eq.Filter)
	page, err := s.querier.QueryEntities(ctx, eq)
	if err != nil {
		return nil, fmt.Errorf("catalog: list entities: %w", err)
	}
	out := make([]json.RawMessage, 0, len(page.Items))
	for _, r := range page.Items {
		if !sc.visible(r.Ref) {
			continue
		}
		b, err := sc.served(r.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// VisibleRefs returns the refs (any case) the caller of ctx may see, in
// order, for pages that name entities they learnt of elsewhere (change
// events, refresh problems): a hidden entity must not appear there either.
func (s *Service) VisibleRefs(ctx context.Context, refs []string) ([]string, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	if sc.Visible == nil {
		return refs, nil
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if sc.visible(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Visibility returns whether the caller of ctx may see the entity a ref
// names, for those that hand out refs outside a query (change events on a
// live stream). Refs are compared lowercased.
func (s *Service) Visibility(ctx context.Context) (func(ref string) bool, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	return sc.visible, nil
}

// facetValues drops the values of ref-valued facets (relations.*, and
// spec fields holding refs) that name hidden entities: the entities
// counted are visible, but what they point at may not be.
func (sc ReadScope) facetValues(f map[string][]query.FacetCount) {
	if sc.Visible == nil {
		return
	}
	for key, counts := range f {
		lower := strings.ToLower(key)
		kind, isRef := "", strings.HasPrefix(lower, "relations.")
		if field, ok := strings.CutPrefix(key, "spec."); ok {
			for name, k := range refFields {
				if strings.EqualFold(name, field) {
					kind, isRef = k, true
				}
			}
		}
		if !isRef {
			continue
		}
		kept := counts[:0:0]
		for _, c := range counts {
			r, err := greenroom.ParseEntityRef(c.Value, kind, "default")
			if err == nil && r.Kind != "" && !sc.visible(r.String()) {
				continue
			}
			kept = append(kept, c)
		}
		f[key] = kept
	}
}
