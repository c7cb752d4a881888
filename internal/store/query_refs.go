package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"greenroom/internal/catalog/query"
)

// EntitiesByRefs returns the entity for each of refs (compared
// case-insensitively), in their order, with nil where there is none or
// filter (nil for none) rejects it: POST /entities/by-refs. Repeated refs
// get the same record.
func (s *Store) EntitiesByRefs(ctx context.Context, refs []string, filter *query.Filter) ([]*EntityRecord, error) {
	want := make([]string, 0, len(refs))
	for _, r := range refs {
		want = append(want, strings.ToLower(r))
	}
	distinct := slices.Clone(want)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	found := make(map[string]*EntityRecord, len(distinct))
	err := s.readTx(ctx, func(rd reader) error {
		for chunk := range chunks(distinct, searchEntityBatch) {
			q := sqlText{d: s.d}
			q.add("SELECT e.ref, e.uid, e.kind, e.namespace, e.name, e.source, e.hash, e.body, e.created_at, e.updated_at FROM entities e")
			if filter != nil {
				q.add(" JOIN entity_search_refs i ON i.ref = e.ref WHERE ")
				q.filter(*filter, "i.id")
				q.add(" AND ")
			} else {
				q.add(" WHERE ")
			}
			q.add("e.ref ")
			q.in(chunk)
			rows, err := rd.query(ctx, q.String(), q.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				rec, err := scanEntity(rows)
				if err != nil {
					rows.Close()
					return err
				}
				found[rec.Ref] = &rec
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: entities by refs: %w", err)
	}
	out := make([]*EntityRecord, len(want))
	for i, ref := range want {
		out[i] = found[ref]
	}
	return out, nil
}

// facetEstimateCap is the candidate count up to which a facet query reads
// the candidates' rows one by one rather than scanning the facet keys' rows.
const facetEstimateCap = 5000

// EntityFacets counts, for each facet key (compared case-insensitively),
// the entities matching filter (nil for all) per value of that key:
// GET /entity-facets. Values are the text as written, counted apart when it
// differs only in case, and sorted; null values are left out. The map is
// keyed by the facets as given, each with a (possibly empty) list.
func (s *Store) EntityFacets(ctx context.Context, facets []string, filter *query.Filter) (map[string][]query.FacetCount, error) {
	var keys []string
	for _, f := range facets {
		if k := query.Lower(f); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	counts := map[string]map[string]int{}
	cacheKey, cacheable := facetCacheKey(facets, filter)
	cacheable = cacheable && planOverride == "" // tests of each plan must run it
	var version int64
	var cached map[string][]query.FacetCount
	err := s.readTx(ctx, func(rd reader) error {
		if len(keys) == 0 {
			return nil
		}
		if cacheable {
			var err error
			if version, err = catalogVersion(ctx, rd); err != nil {
				return err
			}
			if out, ok := s.facets.get(cacheKey, version); ok {
				cached = copyFacets(out)
				return nil
			}
		}
		src := facetSource{filter: filter, keys: keys}
		if filter != nil {
			// Reading the candidates' facet rows costs a seek each; past a
			// few thousand candidates scanning the facet keys' rows (of the
			// filter's kinds only, when it names them) and testing them
			// against the match set costs less.
			p := &planner{r: rd, cap: facetEstimateCap}
			var err error
			if src.d, err = p.driverFor(ctx, *filter); err != nil {
				return err
			}
			if src.d != nil && (src.d.est >= p.cap || planOverride != "") {
				src.d = nil // many candidates: test the facet rows against the match set
			}
			if src.d == nil {
				if src.kinds, src.filter, err = scopeKinds(ctx, rd, *filter, nil); err != nil {
					return err
				}
				if src.kinds == nil {
					src.filter = filter
				}
			}
		}
		// One group per key, kind and value: the indexes yield them in
		// order, so the count streams; the kinds of a value are added up
		// here. The original text is NULL where it equals the value; a value
		// written in two other ways (Component and COMPONENT) is counted
		// apart below.
		type group struct {
			n, withOriginal int
			lo, hi          *string
		}
		groups := map[[2]string]*group{}
		var order [][2]string
		q := sqlText{kinds: src.kinds, d: s.d}
		q.add("SELECT s.key, s.value, COUNT(*), COUNT(s.original_value), MIN(s.original_value), MAX(s.original_value) ")
		src.write(&q, keys)
		q.add(" GROUP BY s.key, ")
		if src.kinds != nil {
			q.add("s.kind, ")
		}
		q.add("s.value")
		err := scanRows(ctx, rd, &q, func(sc scanner) error {
			var key, value string
			var g group
			if err := sc.Scan(&key, &value, &g.n, &g.withOriginal, &g.lo, &g.hi); err != nil {
				return err
			}
			k := [2]string{key, value}
			have := groups[k]
			if have == nil {
				groups[k] = &g
				order = append(order, k)
				return nil
			}
			have.n += g.n
			have.withOriginal += g.withOriginal
			if g.lo != nil && (have.lo == nil || *g.lo < *have.lo) {
				have.lo = g.lo
			}
			if g.hi != nil && (have.hi == nil || *g.hi > *have.hi) {
				have.hi = g.hi
			}
			return nil
		})
		if err != nil {
			return err
		}
		var split [][2]string
		for _, k := range order {
			g := groups[k]
			key, value := k[0], k[1]
			if counts[key] == nil {
				counts[key] = map[string]int{}
			}
			switch {
			case g.withOriginal == 0:
				counts[key][value] += g.n
			case *g.lo == *g.hi:
				counts[key][*g.lo] += g.withOriginal
				if g.n > g.withOriginal {
					counts[key][value] += g.n - g.withOriginal
				}
			default:
				split = append(split, k)
			}
		}
		for _, kv := range split {
			q := sqlText{kinds: src.kinds, d: s.d}
			q.add("SELECT s.key, COALESCE(s.original_value, s.value), COUNT(*) ")
			src.write(&q, []string{kv[0]})
			q.add(" AND s.value = ? GROUP BY s.key, COALESCE(s.original_value, s.value)", kv[1])
			err := scanRows(ctx, rd, &q, func(sc scanner) error {
				var key, value string
				var n int
				if err := sc.Scan(&key, &value, &n); err != nil {
					return err
				}
				counts[key][value] += n
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: entity facets: %w", err)
	}
	if cached != nil {
		return cached, nil
	}
	out := make(map[string][]query.FacetCount, len(facets))
	for _, f := range facets {
		byValue := counts[query.Lower(f)]
		list := make([]query.FacetCount, 0, len(byValue))
		for v, n := range byValue {
			list = append(list, query.FacetCount{Value: v, Count: n})
		}
		slices.SortFunc(list, func(a, b query.FacetCount) int { return strings.Compare(a.Value, b.Value) })
		out[f] = list
	}
	if cacheable && len(keys) > 0 && cachedFacets(out) {
		s.facets.put(cacheKey, version, copyFacets(out))
	}
	return out, nil
}

// facetSource is where a facet query reads the facet keys' rows from: d,
// a few candidates, one seek each; or all the keys' rows, of kinds only
// when set, tested for membership in filter's match set (the rest of the
// filter, with kinds) when there is one.
type facetSource struct {
	d      *candidates
	kinds  []string
	filter *query.Filter
	keys   []string
}

// write writes the FROM and WHERE clauses of a facet query over the rows
// of keys.
func (src facetSource) write(q *sqlText, keys []string) {
	switch {
	case src.d != nil:
		q.add("FROM (")
		src.d.sql(q)
		q.add(") d CROSS JOIN entity_search s WHERE s.entity_id = d.id AND ")
		if rest := src.d.residual(*src.filter); !isTrue(rest) {
			q.filter(rest, "d.id")
			q.add(" AND ")
		}
	case src.filter != nil:
		q.add("FROM entity_search s WHERE ")
		q.inSet("s.entity_id", *src.filter)
		q.add(" AND ")
	default:
		q.add("FROM entity_search s WHERE ")
	}
	q.add("s.key ")
	q.in(keys)
	q.scope("s")
	q.add(" AND s.value IS NOT NULL")
}

// scanRows runs q and calls fn for each row.
func scanRows(ctx context.Context, rd reader, q *sqlText, fn func(scanner) error) error {
	rows, err := rd.query(ctx, q.String(), q.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
