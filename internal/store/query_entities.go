package store

import (
	"context"
	"fmt"
	"strconv"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// position is one result of a page query: the entity's search id, its
// ref once known, and, when ordered by a field, its value for that field.
type position struct {
	id    int64
	ref   string
	value string
}

// QueryEntities returns one page of the entities matching q, ordered and
// paged as q.Style says (query.StyleList for GET /entities,
// query.StyleQuery for GET /entities/by-query), with the count of all
// matches when q asks for it. Filters, order and full-text filters are
// evaluated over the search index, in SQL.
//
// An entity with several values for the order field (tags, relations)
// sorts by the smallest. Ties, and by-query results without an order, are
// in the order of an internal id (stable for the entity's life), walked in
// the order's direction, as Backstage orders by its entity id. A negative
// offset or limit (other than query.NoLimit for StyleList), or a cursor
// this store did not make, is greenroom.CodeInvalid.
func (s *Store) QueryEntities(ctx context.Context, q query.EntitiesQuery) (query.EntitiesPage[EntityRecord], error) {
	r := q.Resolved()
	if r.Offset < 0 || r.Limit < query.NoLimit || (r.Style == query.StyleQuery && r.Limit < 0) {
		return query.EntitiesPage[EntityRecord]{}, greenroom.Errorf(greenroom.CodeInvalid, "limit and offset must not be negative")
	}
	if err := checkCursor(r); err != nil {
		return query.EntitiesPage[EntityRecord]{}, err
	}
	var page query.EntitiesPage[EntityRecord]
	err := s.readTx(ctx, func(rd reader) error {
		pq := pageQuery{ctx: ctx, r: r, rd: rd, d: s.d, s: s, matches: -1}
		if err := pq.plan(ctx); err != nil {
			return err
		}
		// With a full-text filter the count comes first: how many match
		// decides how the ordered walk tests the text (fewTextMatches), and
		// none needs no walk.
		total, counted := 0, false
		if r.Count() && r.FullText.Term != "" {
			var err error
			if total, err = s.countMatches(ctx, &pq); err != nil {
				return err
			}
			counted, pq.matches = true, total
			pq.textDriver()
		}
		var pos []position
		if r.Limit != 0 && !(counted && total == 0) {
			var err error
			if pos, err = pq.positions(ctx); err != nil {
				return err
			}
		}
		recs, err := loadRecords(ctx, rd, pos)
		if err != nil {
			return err
		}
		// The snapshot cannot lose an entity between the statements; one the
		// index lists without a row (deleted outside the store) is skipped.
		var kept []EntityRecord
		var keptPos []query.Position
		for _, p := range pos {
			if rec, ok := recs[p.id]; ok {
				kept = append(kept, rec)
				keptPos = append(keptPos, query.Position{Value: p.value, Key: strconv.FormatInt(p.id, 10)})
			}
		}
		if r.Count() && !counted {
			if total, err = s.countMatches(ctx, &pq); err != nil {
				return err
			}
		}
		page = query.NewPage(r, kept, keptPos, total)
		return nil
	})
	if err != nil {
		return query.EntitiesPage[EntityRecord]{}, fmt.Errorf("store: query entities: %w", err)
	}
	return page, nil
}

// countMatches is pq.count, answered from the count cache when nothing was
// written since the same count was made.
func (s *Store) countMatches(ctx context.Context, pq *pageQuery) (int, error) {
	key, cacheable := pq.countCacheKey()
	if !cacheable || planOverride != "" { // tests of each plan must run it
		return pq.count(ctx)
	}
	version, err := pq.version()
	if err != nil {
		return 0, err
	}
	if n, ok := s.counts.get(key, version); ok {
		return n, nil
	}
	n, err := pq.count(ctx)
	if err == nil {
		s.counts.put(key, version, n)
	}
	return n, err
}

// pageQuery plans and runs the statements of one QueryEntities call.
type pageQuery struct {
	ctx context.Context
	r   query.EntitiesQuery // resolved
	rd  reader
	d   dialect
	// small is a driver worth reading the page from directly. Otherwise an
	// ordered scan probes each entity it walks, within budget rows; if that
	// does not fill the page (the matches come late in the order, or are
	// few), inSet makes the scan test membership in the filter's whole match
	// set instead, computed once with set operations.
	small  *candidates
	budget int
	inSet  bool
	// matches counts the entities matching filter and full-text filter
	// when the count was made before the page; -1 otherwise.
	matches int
	// ranged is the filter's driver when it is one predicate with one value:
	// its rows come in id order, so an unordered page can stream from them.
	ranged *candidates
	// kinds, when set, are the kinds every match has (kindScope): the
	// ordered scans, counts and text conditions read only their rows, and
	// rest is what of the filter still needs testing there (nil when
	// nothing does).
	kinds []string
	rest  *query.Filter
	// textLive says that SQLite's trigram table is kept in step in rd's
	// snapshot (checkTextIndex), so that the statements may read it.
	textLive bool
	// refKinds, when set, are the kinds of a filter of nothing but kinds,
	// read off the ref ranges while the key indexes are missing
	// (query_kinds.go).
	refKinds []string
	// s is the store, for its caches; snapshotVersion is the catalog
	// version in rd's snapshot once read (version).
	s               *Store
	snapshotVersion int64
	versionRead     bool
}

// version returns the catalog version of the read's snapshot, read once.
func (pq *pageQuery) version() (int64, error) {
	if !pq.versionRead {
		v, err := catalogVersion(pq.ctx, pq.rd)
		if err != nil {
			return 0, err
		}
		pq.snapshotVersion, pq.versionRead = v, true
	}
	return pq.snapshotVersion, nil
}

// order returns the sort fields the query applies.
func (pq *pageQuery) order() []query.Order {
	if pq.r.Style == query.StyleQuery && len(pq.r.Order) > 1 {
		return pq.r.Order[:1]
	}
	return pq.r.Order
}

// rows is how many results the statements must produce: the fetch limit,
// after the offset; -1 for all.
func (pq *pageQuery) rows() int {
	if pq.r.FetchLimit() < 0 {
		return -1
	}
	return pq.r.Offset + pq.r.FetchLimit()
}

func (pq *pageQuery) plan(ctx context.Context) error {
	if err := pq.checkTextIndex(ctx); err != nil {
		return err
	}
	if pq.r.Filter == nil {
		return nil
	}
	kinds, err := pq.refKindPlan(ctx)
	if err != nil || kinds != nil {
		pq.refKinds = kinds
		return err
	}
	n, err := indexedEntities(ctx, pq.rd, pq.version)
	if err != nil {
		return err
	}
	rows := pq.rows()
	if rows < 0 {
		rows = n
	}
	p := &planner{r: pq.rd, cap: scanBreakEven(rows, n), cache: &pq.s.estimates, version: pq.version}
	// At the break-even point a scan in order finds the page in about cap
	// rows if matches are spread evenly; allow twice that before assuming
	// they are not (kind=user sorted by name: the users' names may all come
	// late).
	pq.budget = 2 * p.cap
	d, err := p.driverFor(ctx, *pq.r.Filter)
	if err == nil && d != nil && d.est < p.cap {
		pq.small = d
	}
	if d != nil && len(d.leaves) == 1 && rowsUnique(d.leaves[0]) {
		pq.ranged = d
	}
	if err == nil {
		pq.kinds, pq.rest, err = scopeKinds(ctx, pq.rd, *pq.r.Filter, pq.version)
	}
	if pq.small != nil && pq.kinds != nil && pq.rest == nil && pq.r.Style == query.StyleQuery && pq.r.FullText.Term == "" &&
		(len(pq.order()) == 1 || (len(pq.kinds) == 1 && pq.ranged != nil)) {
		// Nothing but kinds: a scan of the key/kind index in the page's
		// order (or, unordered, of the kind's rows in id order) reads just
		// the page, where a driver reads, and sorts, all of the kind.
		pq.small = nil
	}
	if leaf, ok := pq.scopedLeaf(); ok {
		// Streamed within the kind, a predicate of the rest beats the
		// kind's own rows, which the scope already implies: for
		// kind=component,metadata.tags=java the tag's component rows hold
		// the page, where the components' rows would each need a probe.
		pq.ranged = &candidates{leaves: []query.Filter{leaf}}
		if pq.small != nil && isKindDriver(pq.small) {
			// Likewise a small kind (kind=group,metadata.tags=java): the
			// scope's rows of the leaf are some of the kind's.
			pq.small = &candidates{leaves: []query.Filter{leaf}, est: pq.small.est}
		}
	}
	switch planOverride {
	case planProbe:
		pq.small, pq.budget = nil, 0
	case planSet:
		pq.small, pq.ranged, pq.budget = nil, nil, 1
	case planStream:
		pq.small, pq.budget = nil, 2
	}
	return err
}

// scopedLeaf returns a one-value predicate of the scope's rest to stream
// an unordered page from, when the query is scoped to one kind.
func (pq *pageQuery) scopedLeaf() (query.Filter, bool) {
	if len(pq.kinds) != 1 || pq.rest == nil {
		return query.Filter{}, false
	}
	if f := *pq.rest; rowsUnique(f) {
		return f, true
	} else if f.Op == query.OpAll {
		for _, s := range f.Sub {
			if rowsUnique(s) {
				return s, true
			}
		}
	}
	return query.Filter{}, false
}

// isKindDriver reports whether d reads only the rows of kind predicates.
func isKindDriver(d *candidates) bool {
	for _, l := range d.leaves {
		if query.Lower(l.Key) != "kind" {
			return false
		}
	}
	return len(d.leaves) > 0
}

// Plan overrides, for tests: the catalogs of unit tests are small enough
// that every filter has a small driver, so they force the other plans.
const (
	planProbe = "probe" // scan in order and probe, without a budget
	planSet   = "set"   // use the match set after scanning one row
	// stream scans in order (or streams a one-value predicate's rows)
	// within a budget of two rows, then falls back to the match set.
	planStream = "stream"
)

var planOverride string

// positions reads the page's entities in order.
func (pq *pageQuery) positions(ctx context.Context) ([]position, error) {
	pq.ctx = ctx
	order := pq.order()
	fetch, offset := pq.r.FetchLimit(), pq.r.Offset
	switch {
	case pq.refKinds != nil:
		return pq.byRefKinds()
	case len(order) == 1:
		return pq.ordered(order[0])
	case len(order) > 1:
		return pq.byValues(ctx, order)
	case pq.r.Style == query.StyleQuery:
		if pq.small == nil && pq.ranged != nil {
			return pq.streamByID(fetch)
		}
		return pq.choose(fetch, pq.byID)
	}
	return pq.choose(fetch, func(d *candidates, budget int) ([]position, error) {
		return pq.byRef(d, budget, "", fetch, offset)
	})
}

// ordered reads a page ordered by one field; for StyleList the entities
// without a value for it follow, by ref, and the page is cut out of both.
func (pq *pageQuery) ordered(o query.Order) ([]position, error) {
	fetch, offset := pq.r.FetchLimit(), pq.r.Offset
	if pq.r.Style == query.StyleQuery {
		return pq.choose(fetch, func(d *candidates, budget int) ([]position, error) {
			return pq.byValue(o, d, budget, fetch, offset)
		})
	}
	rows := pq.rows()
	pos, err := pq.choose(rows, func(d *candidates, budget int) ([]position, error) {
		return pq.byValue(o, d, budget, rows, 0)
	})
	if err != nil {
		return nil, err
	}
	if rows < 0 || len(pos) < rows {
		rest := -1
		if rows >= 0 {
			rest = rows - len(pos)
		}
		more, err := pq.choose(rest, func(d *candidates, budget int) ([]position, error) {
			return pq.byRef(d, budget, o.Key(), rest, 0)
		})
		if err != nil {
			return nil, err
		}
		pos = append(pos, more...)
	}
	return cut(pos, offset, fetch), nil
}

// count counts every match of the query (for StyleQuery with an order
// field, those that have a value for it, which are all a walk reaches): by
// probing a small driver's candidates, or as the size of the intersection
// of the filter's match set with the entities having the order field and
// those matching the full-text filter.
func (pq *pageQuery) count(ctx context.Context) (int, error) {
	if pq.refKinds != nil {
		return pq.countRefKinds(ctx)
	}
	q := pq.sql()
	order := pq.order()
	var key string // the order field a StyleQuery match must have
	if pq.r.Style == query.StyleQuery && len(order) == 1 {
		key = order[0].Key()
	}
	term := pq.r.FullText.Term
	if d := pq.small; d != nil {
		q.add("SELECT COUNT(*) ")
		pq.source(&q, d, false)
		if key != "" {
			if pq.textOn(key) {
				q.add(" AND (SELECT MIN(m.value) FROM entity_search m WHERE m.entity_id = i.id AND "+pq.d.rowKey("m")+" = ?)"+` LIKE ? ESCAPE '\'`,
					key, likePattern(term))
			} else {
				q.add(" AND EXISTS (SELECT 1 FROM entity_search m WHERE m.entity_id = i.id AND "+pq.d.rowKey("m")+" = ? AND m.value IS NOT NULL)", key)
			}
		}
		if term != "" && !pq.textOn(key) {
			pq.andText(&q, "i.id")
		}
	} else {
		// The match set, as the intersection of parts each yielding ids;
		// unique says whether a lone part yields each entity once. With a
		// kind scope every part reads only those kinds' rows, which is all
		// that the filter's kind conditions then still ask.
		type part struct {
			write  func()
			unique bool
		}
		var parts []part
		f := pq.r.Filter
		if pq.kinds != nil {
			q.kinds, f = pq.kinds, pq.rest
		}
		if f != nil {
			f := *f
			parts = append(parts, part{func() { q.member(f) }, true}) // rowsOf and set operations yield each id once
		}
		switch {
		case key != "" && pq.textOn(key):
			parts = append(parts, part{func() {
				q.add("SELECT s.entity_id AS id FROM entity_search s WHERE s.key = ?", key)
				q.scope("s")
				q.add(" AND s.value LIKE ? ESCAPE '\\'", likePattern(term))
				if !singleRowKeys[key] {
					q.add(" AND NOT EXISTS (SELECT 1 FROM entity_search m WHERE m.entity_id = s.entity_id AND " + pq.d.rowKey("m") + " = s.key AND m.value < s.value)")
				}
			}, true})
		case key != "":
			everyone, err := pq.everyEntityHas(ctx, key)
			if err != nil {
				return 0, err
			}
			if !everyone {
				parts = append(parts, part{func() {
					q.add("SELECT entity_id AS id FROM entity_search WHERE key = ?", key)
					q.scope("")
					q.add(" AND value IS NOT NULL")
				}, singleRowKeys[key]})
			}
		}
		if term != "" && !pq.textOn(key) {
			ft := pq.r.FullText
			if _, ok := q.trigramText(ft); ok && q.textScoped() {
				parts = append(parts, part{func() { q.textSet(ft) }, true})
			} else {
				fields := lowerAll(ft.Fields)
				parts = append(parts, part{func() {
					q.add("SELECT DISTINCT entity_id AS id FROM entity_search WHERE key ")
					q.in(fields)
					q.scope("")
					q.add(` AND value LIKE ? ESCAPE '\'`, likePattern(term))
				}, false})
			}
		}
		if len(parts) == 0 && pq.kinds != nil {
			parts = append(parts, part{q.universe, true})
		}
		switch {
		case len(parts) == 1 && pq.kinds != nil && f != nil && f.Op == query.OpNot && len(f.Sub) == 1 && f.Sub[0].IsMatch():
			// Entities of the kinds but for those matching one predicate:
			// two counts of index ranges instead of a set difference.
			q.add("SELECT (SELECT COUNT(*) FROM (")
			q.universe()
			q.add(") u) - (SELECT COUNT(*) FROM (")
			q.rowsOf(f.Sub[0])
			q.add(") m)")
		case len(parts) == 0:
			q.add("SELECT COUNT(*) FROM entity_search_refs")
		case len(parts) == 1 && parts[0].unique:
			q.add("SELECT COUNT(*) FROM (")
			parts[0].write()
			q.add(") c")
		case len(parts) == 1:
			q.add("SELECT COUNT(DISTINCT id) FROM (")
			parts[0].write()
			q.add(") c")
		default:
			q.add("SELECT COUNT(*) FROM (")
			for i, p := range parts {
				if i > 0 {
					q.add(" INTERSECT ")
				}
				p.write()
			}
			q.add(") c")
		}
	}
	var n int
	if err := pq.rd.queryRow(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

// singleRowKeys are the keys every indexed entity has exactly one row for,
// null or not: query.BuildSearch adds one for each, and the indexer drops
// any other (see entityRows).
var singleRowKeys = map[string]bool{"metadata.name": true, "metadata.uid": true}

// everyEntityHas reports whether every indexed entity has a value for key,
// so that a count need not intersect with the key's rows: true for a key of
// singleRowKeys none of whose rows is null, which one index step tells.
func (pq *pageQuery) everyEntityHas(ctx context.Context, key string) (bool, error) {
	if !singleRowKeys[key] || planOverride != "" {
		return false, nil
	}
	var nulls int
	if err := pq.rd.queryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM entity_search WHERE key = ? AND value IS NULL LIMIT 1) n", key).Scan(&nulls); err != nil {
		return false, fmt.Errorf("count: %w", err)
	}
	return nulls == 0, nil
}

// lowerAll lowercases keys.
func lowerAll(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = query.Lower(k)
	}
	return out
}

// loadRecords reads the entities at pos, by search id.
func loadRecords(ctx context.Context, rd reader, pos []position) (map[int64]EntityRecord, error) {
	out := make(map[int64]EntityRecord, len(pos))
	ids := make([]int64, 0, len(pos))
	for _, p := range pos {
		ids = append(ids, p.id)
	}
	for chunk := range chunks(ids, searchEntityBatch) {
		rows, err := rd.query(ctx, "SELECT i.id, e.ref, e.uid, e.kind, e.namespace, e.name, e.source, e.hash, e.body, e.created_at, e.updated_at"+
			" FROM entity_search_refs i JOIN entities e ON e.ref = i.ref WHERE i.id IN ("+placeholders(len(chunk))+")", anys(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("load entities: %w", err)
		}
		for rows.Next() {
			var id int64
			var r EntityRecord
			if err := rows.Scan(&id, &r.Ref, &r.UID, &r.Kind, &r.Namespace, &r.Name, &r.Source, &r.Hash, &r.Body,
				timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load entities: %w", err)
			}
			out[id] = r
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("load entities: %w", err)
		}
	}
	return out, nil
}
