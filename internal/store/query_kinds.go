package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"greenroom/internal/catalog/query"
)

// While a first load runs, its batches write entity_search without the key
// indexes (beginBatch), so every statement over a key's rows scans the
// whole table: at 1M entities, 16M rows for each poll of the count of
// kind=group or kind=user or …, which the UI and the load's own progress
// make all the time. A filter of nothing but kinds needs no search row,
// though: an indexed entity's ref is its kind, namespace and name
// lowercased (greenroom.EntityRef, from which the catalog makes every
// record's ref), so the entities of kind k are one range of the unique
// index on entity_search_refs.ref, "k:" up to "k;", which no load drops.
//
// The ref ranges answer such queries only while the key indexes are
// missing; with them, the search rows' kinds answer them as every other
// filter (and so, as Backstage, from the entity body itself, even for a
// record whose ref disagrees with it, which the catalog never writes).

// refKindPlan returns the kinds of pq's filter when the page and its count
// are read off ref ranges: a filter of kind conditions only (any of, all
// of), no full-text filter, no order field, and the key indexes missing.
func (pq *pageQuery) refKindPlan(ctx context.Context) ([]string, error) {
	if pq.r.Filter == nil || pq.r.FullText.Term != "" || len(pq.order()) > 0 {
		return nil, nil
	}
	kinds, ok := onlyKinds(*pq.r.Filter)
	if !ok || len(kinds) == 0 || len(kinds) > maxRefKinds {
		return nil, nil
	}
	for _, k := range kinds {
		if k == "" || strings.ContainsAny(k, ":/") {
			return nil, nil // no ref has that kind part; leave it to the index
		}
	}
	missing, err := pq.keyIndexesMissing(ctx)
	if err != nil || !missing {
		return nil, err
	}
	return kinds, nil
}

// maxRefKinds bounds the ref ranges of one statement.
const maxRefKinds = 32

// onlyKinds returns the lowercased kinds (sorted, distinct) an entity
// matching f may have, when f tests nothing but the kind: kind=a,
// kind in (a, b), any of such filters (the union), all of them (the
// intersection: an entity has one kind).
func onlyKinds(f query.Filter) ([]string, bool) {
	var out []string
	switch f.Op {
	case query.OpMatch:
		if query.Lower(f.Key) != "kind" || len(f.Values) == 0 {
			return nil, false
		}
		_, out = lowered(f)
	case query.OpAny, query.OpAll:
		if len(f.Sub) == 0 {
			return nil, false
		}
		for i, s := range f.Sub {
			k, ok := onlyKinds(s)
			switch {
			case !ok:
				return nil, false
			case i == 0 || f.Op == query.OpAny:
				out = append(out, k...)
			default:
				out = slices.DeleteFunc(out, func(v string) bool { return !slices.Contains(k, v) })
			}
		}
	default:
		return nil, false
	}
	slices.Sort(out)
	return slices.Compact(out), true
}

// keyIndexesMissing reports whether a key index of entity_search is
// missing in the read's snapshot (a first load is under way, or one that
// crashed left them dropped), answered once per catalog version.
func (pq *pageQuery) keyIndexesMissing(ctx context.Context) (bool, error) {
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('" +
		searchKeyIndexes[0].name + "', '" + searchKeyIndexes[1].name + "')"
	if pq.d.name == DriverPostgres {
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN ('" +
			searchKeyIndexes[0].name + "', '" + searchKeyIndexes[1].name + "')"
	}
	n, err := pq.rd.snapshotInt(ctx, pq.version, q)
	if err != nil {
		return false, fmt.Errorf("store: search indexes: %w", err)
	}
	return n < len(searchKeyIndexes), nil
}

// refRanges writes the condition "ref is of one of kinds" on column ref.
func (q *sqlText) refRanges(ref string, kinds []string) {
	q.add("(")
	for i, k := range kinds {
		if i > 0 {
			q.add(" OR ")
		}
		// ';' follows ':' in byte order: "k:" ≤ ref < "k;" is every ref
		// whose kind part is k.
		q.add("("+ref+" >= ? AND "+ref+" < ?)", k+":", k+";")
	}
	q.add(")")
}

// byRefKinds reads the page of a filter of kinds off the ref ranges: for
// by-query in id order (from the cursor), for GET /entities in ref order.
func (pq *pageQuery) byRefKinds() ([]position, error) {
	var q sqlText
	if pq.r.Style == query.StyleQuery {
		dir, cmp := direction(pq.r.Backward())
		q.add("SELECT id, '', '' FROM entity_search_refs WHERE ")
		q.refRanges("ref", pq.refKinds)
		if _, id, ok := pq.after(); ok {
			q.add(" AND id "+cmp+" ?", id)
		}
		clause, args := pq.d.limitOffset(pq.r.FetchLimit(), pq.r.Offset)
		q.add(" ORDER BY id "+dir+clause, args...)
		return pq.scan(&q)
	}
	q.add("SELECT id, ref, '' FROM entity_search_refs WHERE ")
	q.refRanges("ref", pq.refKinds)
	clause, args := pq.d.limitOffset(pq.r.FetchLimit(), pq.r.Offset)
	q.add(" ORDER BY ref"+clause, args...)
	return pq.scan(&q)
}

// countRefKinds counts the entities of the ref ranges.
func (pq *pageQuery) countRefKinds(ctx context.Context) (int, error) {
	var q sqlText
	q.add("SELECT COUNT(*) FROM entity_search_refs WHERE ")
	q.refRanges("ref", pq.refKinds)
	var n int
	if err := pq.rd.queryRow(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}
