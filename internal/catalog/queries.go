package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// Querier is what the catalog's read API needs of the store. Filters are
// evaluated by the store, never after loading.
type Querier interface {
	QueryEntities(ctx context.Context, q query.EntitiesQuery) (query.EntitiesPage[Record], error)
	// EntitiesByRefs returns one record per ref in order, nil where the
	// entity is missing or the filter rejects it.
	EntitiesByRefs(ctx context.Context, refs []string, filter *query.Filter) ([]*Record, error)
	EntityFacets(ctx context.Context, facets []string, filter *query.Filter) (map[string][]query.FacetCount, error)
	// EntityByUID and DeleteEntityByUID return code not_found for an
	// unknown uid.
	EntityByUID(ctx context.Context, uid string) (Record, error)
	DeleteEntityByUID(ctx context.Context, uid string) error
}

// EntityByUID returns one entity by its metadata.uid.
func (s *Service) EntityByUID(ctx context.Context, uid string) (json.RawMessage, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.querier.EntityByUID(ctx, uid)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return sc.visibleRecord(r, func() error { return fmt.Errorf("catalog: %w", uidNotFound(uid)) })
}

// uidNotFound is the store's error for an unknown uid, also given for a
// hidden entity.
func uidNotFound(uid string) error {
	return greenroom.Errorf(greenroom.CodeNotFound, "no entity with uid %s", uid)
}

// DeleteEntityByUID removes an entity. As in Backstage, a source that still
// supplies it brings it back at its next refresh.
func (s *Service) DeleteEntityByUID(ctx context.Context, uid string) error {
	sc, err := s.scope(ctx)
	if err != nil {
		return err
	}
	rec, err := s.querier.EntityByUID(ctx, uid) // for the event
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if !sc.visible(rec.Ref) {
		return fmt.Errorf("catalog: %w", uidNotFound(uid))
	}
	if err := s.querier.DeleteEntityByUID(ctx, uid); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	s.publish([]Event{{Type: EventDeleted, Ref: rec.Ref, UID: uid, Source: rec.Source}})
	return nil
}

// maxRefsPerRequest bounds POST /entities/by-refs, as the client chunks.
const maxRefsPerRequest = 10000

// QueryEntities returns one page of entities in their served JSON form,
// projected to fields (nil keeps whole entities).
func (s *Service) QueryEntities(ctx context.Context, q query.EntitiesQuery, fields query.Fields) (query.EntitiesPage[json.RawMessage], error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return query.EntitiesPage[json.RawMessage]{}, err
	}
	key, version, cacheable := s.cacheSlot(sc, "page", pageCacheKey{Q: q, F: fields})
	if cacheable {
		if page, ok := s.cache.getPage(key, version); ok { // items decoded afresh: the caller's
			noteCache(ctx, true)
			return page, nil
		}
	}
	q, restore := sc.scopedQuery(q)
	page, err := s.querier.QueryEntities(ctx, q)
	if err != nil {
		return query.EntitiesPage[json.RawMessage]{}, fmt.Errorf("catalog: query entities: %w", err)
	}
	restore(&page)
	out, err := query.MapItems(page, func(r Record) (json.RawMessage, error) {
		body, err := sc.served(r.Body)
		if err != nil {
			return nil, err
		}
		return project(body, fields)
	})
	if err == nil && cacheable {
		s.cache.putPage(key, version, out) // copies: out stays the caller's
		noteCache(ctx, false)
	}
	return out, err
}

// EntitiesByRefs returns the entities named by refs in their order, with
// JSON null for each that is missing or filtered out.
func (s *Service) EntitiesByRefs(ctx context.Context, refs []string, filter *query.Filter, fields query.Fields) ([]json.RawMessage, error) {
	if len(refs) > maxRefsPerRequest {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "at most %d entityRefs per request, got %d", maxRefsPerRequest, len(refs))
	}
	sc, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.querier.EntitiesByRefs(ctx, refs, sc.and(filter))
	if err != nil {
		return nil, fmt.Errorf("catalog: entities by refs: %w", err)
	}
	out := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		if r == nil {
			out[i] = json.RawMessage("null")
			continue
		}
		body, err := sc.served(r.Body)
		if err != nil {
			return nil, err
		}
		if out[i], err = project(body, fields); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Facets counts the values of each facet among the entities q.Filter
// selects.
func (s *Service) Facets(ctx context.Context, q query.FacetsQuery) (query.FacetsResponse, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return query.FacetsResponse{}, err
	}
	// The store caches counts per catalog version too, but checking that
	// version costs a read transaction (on PostgreSQL, round trips).
	key, version, cacheable := s.cacheSlot(sc, "facets", q)
	if cacheable {
		if v, ok := s.cache.get(key, version); ok {
			noteCache(ctx, true)
			return query.FacetsResponse{Facets: cloneFacets(v.(map[string][]query.FacetCount))}, nil
		}
	}
	f, err := s.querier.EntityFacets(ctx, q.Facets, sc.and(q.Filter))
	if err != nil {
		return query.FacetsResponse{}, fmt.Errorf("catalog: facets: %w", err)
	}
	sc.facetValues(f) // visibility.go
	if cacheable {
		size := 0
		for k, l := range f {
			size += len(k) + 32*len(l)
			for _, c := range l {
				size += len(c.Value)
			}
		}
		s.cache.put(key, version, cloneFacets(f), size)
		noteCache(ctx, false)
	}
	return query.FacetsResponse{Facets: f}, nil
}

// cloneFacets copies facet counts, which callers may change.
func cloneFacets(m map[string][]query.FacetCount) map[string][]query.FacetCount {
	out := make(map[string][]query.FacetCount, len(m))
	for k, l := range m {
		out[k] = slices.Clone(l)
	}
	return out
}

func project(body []byte, fields query.Fields) (json.RawMessage, error) {
	if len(fields) == 0 {
		return body, nil
	}
	b, err := fields.ApplyJSON(body)
	if err != nil {
		return nil, fmt.Errorf("catalog: project fields: %w", err)
	}
	return b, nil
}

// ValidateEntity checks an entity as processing would, without storing
// it: POST /validate-entity. locationRef must be a url: location, as in
// Backstage. The result lists every problem ("path: rule"); an empty list
// means valid. A malformed request is a CodeInvalid error.
func (s *Service) ValidateEntity(raw json.RawMessage, locationRef string) ([]string, error) {
	typ, target, ok := strings.Cut(locationRef, ":")
	if !ok || typ != "url" || target == "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid location ref %s, only 'url:<target>' is supported, e.g. url:https://host/path", locationRef)
	}
	e, err := entity.Parse(raw)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range s.proc.validator.Validate(e) {
		out = append(out, p.Path+": "+p.Message)
	}
	if len(out) == 0 {
		if _, err := entity.Relations(e); err != nil {
			out = append(out, "spec: "+err.Error())
		}
	}
	return out, nil
}
