package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// The statements below read one page in each order the catalog API has.
// Each takes d, a driver to read candidates from (nil to scan in order), and
// budget, how many rows such a scan may walk (0 for no bound), so that
// choose can fall back to the match set when a scan finds too little.

// choose runs plan, which returns at most need rows (-1 for all): from the
// small driver, or scanning in order and probing, within budget, then,
// should that come up short, scanning again testing membership in the
// filter's match set.
func (pq *pageQuery) choose(need int, plan func(d *candidates, budget int) ([]position, error)) ([]position, error) {
	switch {
	case pq.small != nil:
		return plan(pq.small, 0)
	case pq.r.Filter == nil:
		return plan(nil, 0)
	case need < 0:
		pq.inSet = true // every match: one pass over the set
		defer func() { pq.inSet = false }()
		return plan(nil, 0)
	}
	pos, err := plan(nil, pq.budget)
	if err != nil || len(pos) >= need {
		return pos, err
	}
	pq.inSet = true
	defer func() { pq.inSet = false }()
	return plan(nil, 0)
}

// cond writes " AND " and the filter as a condition on the entity id: a
// probe per predicate, or, in set mode, membership in the match set.
func (pq *pageQuery) cond(q *sqlText, id string) {
	f := pq.r.Filter
	if f == nil {
		return
	}
	q.add(" AND ")
	if pq.inSet {
		q.inSet(id, *f)
		return
	}
	q.filter(*f, id)
}

// source writes the FROM clause of the entities to consider as alias i,
// with column id (and ref when withRef), and the filter, leaving the WHERE
// clause open. With a kind scope the driver reads only the rows of those
// kinds (one range of the key/kind index per kind) and what is left to
// test is the scope's rest: kind=component,spec.owner=team-a reads the
// owner's component rows and probes nothing.
func (pq *pageQuery) source(q *sqlText, d *candidates, withRef bool) {
	f := pq.r.Filter
	scoped := d != nil && pq.kinds != nil
	drive := func() {
		if scoped {
			outer := q.kinds
			q.kinds = pq.kinds
			defer func() { q.kinds = outer }()
		}
		d.sql(q)
	}
	switch {
	case d != nil && withRef:
		q.add("FROM (")
		drive()
		q.add(") d CROSS JOIN entity_search_refs i WHERE i.id = d.id")
	case d != nil:
		q.add("FROM (")
		drive()
		q.add(") i WHERE 1 = 1")
	default:
		q.add("FROM entity_search_refs i WHERE 1 = 1")
	}
	if scoped {
		if f = pq.rest; f == nil {
			return
		}
	}
	if d != nil && f != nil { // the text driver runs without a filter too
		rest := d.residual(*f)
		f = &rest
	}
	if f != nil && !isTrue(*f) {
		q.add(" AND ")
		q.filter(*f, "i.id")
	}
}

// isTrue reports whether f is the empty conjunction, which always holds.
func isTrue(f query.Filter) bool { return f.Op == query.OpAll && len(f.Sub) == 0 }

// textOn reports whether the full-text filter reads only the order key,
// which the ordered statements test on the value they sort by.
func (pq *pageQuery) textOn(key string) bool {
	ft := pq.r.FullText
	return ft.Term != "" && len(ft.Fields) == 1 && query.Lower(ft.Fields[0]) == key
}

// andText writes the full-text condition on the entity id, if any.
func (pq *pageQuery) andText(q *sqlText, id string) {
	if pq.r.FullText.Term != "" {
		q.add(" AND ")
		q.text(pq.r.FullText, id)
	}
}

// andWalkText is andText for a statement reading candidates d (nil: a
// walk of the order) within budget rows (0: no bound). A walk without a
// bound may pass many entities before the page is full: when the trigram
// table holds the term's keys, its test is membership of the set that
// table gives, read once, instead of a probe of each entity's rows. With
// the text driver (textDriver) as d the candidates are the matches, and
// nothing is left to test.
func (pq *pageQuery) andWalkText(q *sqlText, id string, d *candidates, budget int) {
	if d != nil && d.text != nil {
		return
	}
	if d == nil && budget <= 0 && pq.trigrams() {
		q.add(" AND ")
		q.textIn(pq.r.FullText, id)
		return
	}
	pq.andText(q, id)
}

// trigrams reports whether the full-text filter is one the trigram table
// answers (sqlText.trigramText).
func (pq *pageQuery) trigrams() bool {
	q := pq.sql()
	_, ok := q.trigramText(pq.r.FullText)
	return ok
}

// fewTextMatches reports whether a walk of the whole order should test the
// full-text filter as membership of its matching set (textIn) rather than
// entity by entity (text): when so few entities match that the walk would
// go far to fill the page. A walk that tests each entity it passes costs
// about 12 µs an entity (SQLite, 60k components: 726 ms to pass them all),
// reading the set about 0.25 µs an entity in scope (two fields' rows), so
// with m matches among N the walk to fill a page of n costs n·N/m·12 µs
// against N·0.25 µs for the set: the set wins below m = 48·n, whatever N.
// BenchmarkQueryEntities/ByQuery/fullText=*,2fields measures both sides:
// a common word (2,125 of 60k) at 12 ms either way, a rare one (a few)
// 726 → 86 ms. Unknown (no count before the page): entity by entity.
func (pq *pageQuery) fewTextMatches() bool {
	need := pq.r.Offset + max(pq.r.FetchLimit(), 1)
	return pq.matches >= 0 && pq.matches <= 48*need
}

// after returns the cursor's position and its id, if the query continues
// a walk (QueryEntities has checked that the id parses).
func (pq *pageQuery) after() (query.Position, int64, bool) {
	if pq.r.Style != query.StyleQuery || pq.r.Cursor == nil {
		return query.Position{}, 0, false
	}
	p, ok := pq.r.Cursor.After()
	if !ok {
		return p, 0, false
	}
	id, err := strconv.ParseInt(p.Key, 10, 64)
	return p, id, err == nil
}

// checkCursor rejects a cursor whose position is not one the store made.
func checkCursor(q query.EntitiesQuery) error {
	if q.Style != query.StyleQuery || q.Cursor == nil {
		return nil
	}
	if p, ok := q.Cursor.After(); ok {
		if _, err := strconv.ParseInt(p.Key, 10, 64); err == nil {
			return nil
		}
	}
	return greenroom.Errorf(greenroom.CodeInvalid, "Malformed cursor, could not be parsed")
}

// direction returns the SQL direction and comparison of a walk.
func direction(desc bool) (string, string) {
	if desc {
		return "DESC", "<"
	}
	return "ASC", ">"
}

// byID reads a by-query page without an order field, in id order.
func (pq *pageQuery) byID(d *candidates, budget int) ([]position, error) {
	dir, cmp := direction(pq.r.Backward())
	q := pq.sql()
	if d != nil {
		q.add("SELECT i.id, '', '' ")
		pq.source(&q, d, false)
		if _, id, ok := pq.after(); ok {
			q.add(" AND i.id "+cmp+" ?", id)
		}
	} else {
		q.add("SELECT x.id, '', '' FROM (SELECT id FROM entity_search_refs WHERE 1 = 1")
		if _, id, ok := pq.after(); ok {
			q.add(" AND id "+cmp+" ?", id)
		}
		q.add(" ORDER BY id " + dir + limitOnly(pq.d, budget) + ") x WHERE 1 = 1")
		pq.cond(&q, "x.id")
	}
	id := "i.id"
	if d == nil {
		id = "x.id"
	}
	pq.andWalkText(&q, id, d, budget)
	clause, args := pq.d.limitOffset(pq.r.FetchLimit(), pq.r.Offset)
	q.add(" ORDER BY "+id+" "+dir+clause, args...)
	return pq.scan(&q)
}

// streamByID reads an unordered by-query page off the id-ordered rows of
// the filter's one-value predicate, probing the rest of the filter, within
// budget rows; then, if that comes up short, from the match set.
func (pq *pageQuery) streamByID(need int) ([]position, error) {
	d := pq.ranged
	dir, cmp := direction(pq.r.Backward())
	key, values := lowered(d.leaves[0])
	q := pq.sql()
	q.add("SELECT x.id, '', '' FROM (SELECT entity_id AS id FROM entity_search WHERE key = ?", key)
	// Scoped to one kind, the rows are one range of the key/kind index, in
	// id order too, and only the scope's rest needs testing.
	f := pq.r.Filter
	if len(pq.kinds) == 1 {
		q.add(" AND kind = ?", pq.kinds[0])
		if f = pq.rest; f == nil {
			f = &query.Filter{Op: query.OpAll}
		}
	}
	q.add(" AND value = ?", values[0])
	if _, id, ok := pq.after(); ok {
		q.add(" AND entity_id "+cmp+" ?", id)
	}
	q.add(" ORDER BY entity_id " + dir + limitOnly(pq.d, pq.budget) + ") x WHERE 1 = 1")
	rest := d.residual(*f)
	if !isTrue(rest) {
		q.add(" AND ")
		q.filter(rest, "x.id")
	}
	pq.andText(&q, "x.id")
	clause, args := pq.d.limitOffset(pq.r.FetchLimit(), pq.r.Offset)
	q.add(" ORDER BY x.id "+dir+clause, args...)
	pos, err := pq.scan(&q)
	if err != nil || pq.budget <= 0 || len(pos) >= need {
		return pos, err
	}
	if isTrue(rest) && pq.r.FullText.Term == "" && pq.r.Offset+len(pos) < pq.budget {
		// Every row streamed was a match, and fewer than the budget came:
		// the range held no more.
		return pos, nil
	}
	pq.inSet = true
	defer func() { pq.inSet = false }()
	return pq.byID(nil, 0)
}

// byRef reads a GET /entities page in ref order, limit entities from
// offset; with lacking, only entities without a value for that key.
func (pq *pageQuery) byRef(d *candidates, budget int, lacking string, limit, offset int) ([]position, error) {
	q := pq.sql()
	ref, id := "x.ref", "x.id"
	if d != nil {
		ref, id = "i.ref", "i.id"
		q.add("SELECT i.id, i.ref, '' ")
		pq.source(&q, d, true)
	} else {
		q.add("SELECT x.id, x.ref, '' FROM (SELECT id, ref FROM entity_search_refs ORDER BY ref" + limitOnly(pq.d, budget) + ") x WHERE 1 = 1")
		pq.cond(&q, "x.id")
	}
	if lacking != "" {
		q.add(" AND NOT EXISTS (SELECT 1 FROM entity_search m WHERE m.entity_id = "+id+" AND "+pq.d.rowKey("m")+" = ? AND m.value IS NOT NULL)", lacking)
	}
	pq.andWalkText(&q, id, d, budget)
	clause, args := pq.d.limitOffset(limit, offset)
	q.add(" ORDER BY "+ref+clause, args...)
	return pq.scan(&q)
}

// byValue reads a page ordered by one field: the entities with a value for
// it, by that value (the smallest, when several), ties by id, limit from
// offset.
func (pq *pageQuery) byValue(o query.Order, d *candidates, budget, limit, offset int) ([]position, error) {
	if d == nil && pq.kinds != nil {
		return pq.byValueScoped(o, budget, limit, offset)
	}
	key := o.Key()
	dir, cmp := direction(o.Desc != pq.r.Backward())
	q := pq.sql()
	var v, id string
	if d == nil {
		// Walk the key's rows in index order, keeping each entity's
		// smallest value only.
		v, id = "x.value", "x.entity_id"
		q.add("SELECT x.entity_id, '', x.value FROM (SELECT s.entity_id, s.value FROM entity_search s WHERE s.key = ? AND s.value IS NOT NULL", key)
		if p, after, ok := pq.after(); ok {
			q.add(" AND s.value "+cmp+"= ? AND (s.value "+cmp+" ? OR s.entity_id "+cmp+" ?)", p.Value, p.Value, after)
		}
		q.add(" ORDER BY s.value " + dir + ", s.entity_id " + dir + limitOnly(pq.d, budget) + ") x WHERE 1 = 1")
		if !singleRowKeys[key] {
			q.add(" AND NOT EXISTS (SELECT 1 FROM entity_search m WHERE m.entity_id = x.entity_id AND "+pq.d.rowKey("m")+" = ? AND m.value < x.value)", key)
		}
		pq.cond(&q, "x.entity_id")
	} else {
		v, id = "x.v", "x.id"
		q.add("SELECT x.id, '', x.v FROM (SELECT i.id AS id, (SELECT MIN(m.value) FROM entity_search m WHERE m.entity_id = i.id AND "+pq.d.rowKey("m")+" = ?) AS v ", key)
		pq.source(&q, d, false)
		q.add(") x WHERE x.v IS NOT NULL")
		if p, after, ok := pq.after(); ok {
			q.add(" AND ("+v+" "+cmp+" ? OR ("+v+" = ? AND "+id+" "+cmp+" ?))", p.Value, p.Value, after)
		}
	}
	if ft := pq.r.FullText; ft.Term != "" {
		if pq.textOn(key) {
			q.add(" AND "+v+` LIKE ? ESCAPE '\'`, likePattern(ft.Term))
		} else {
			pq.andWalkText(&q, id, d, budget)
		}
	}
	clause, args := pq.d.limitOffset(limit, offset)
	q.add(" ORDER BY "+v+" "+dir+", "+id+" "+dir+clause, args...)
	return pq.scan(&q)
}

// byValueScoped is byValue's scan for a kind-scoped filter: the order
// key's rows of each kind in scope, read off the key/kind index in order,
// and merged. With nothing of the filter left to test (kind=user) or in set
// mode (budget 0), each kind's scan tests its rows and stops at the page's
// end, and the page is the first of their union; otherwise the merged scan
// stops after budget rows, which are then probed.
func (pq *pageQuery) byValueScoped(o query.Order, budget, limit, offset int) ([]position, error) {
	key := o.Key()
	dir, cmp := direction(o.Desc != pq.r.Backward())
	q := pq.sql()
	q.kinds = pq.kinds
	order := func(alias string) string {
		return " ORDER BY " + alias + ".value " + dir + ", " + alias + ".entity_id " + dir
	}
	// conds writes the tests of a row of alias: its entity's smallest value
	// for the key (when an entity may have several), the rest of the
	// filter, and the full-text filter.
	conds := func(alias string, probe bool) {
		id := alias + ".entity_id"
		if !singleRowKeys[key] {
			q.add(" AND NOT EXISTS (SELECT 1 FROM entity_search m WHERE m.entity_id = "+id+" AND "+pq.d.rowKey("m")+" = ? AND m.value < "+alias+".value)", key)
		}
		if f := pq.rest; f != nil {
			if probe {
				q.add(" AND ")
				q.filter(*f, id)
			} else {
				q.add(" AND ")
				q.inSet(id, *f)
			}
		}
		if ft := pq.r.FullText; ft.Term != "" {
			switch {
			case pq.textOn(key):
				q.add(" AND "+alias+`.value LIKE ? ESCAPE '\'`, likePattern(ft.Term))
			case !probe && (pq.fewTextMatches() || pq.trigrams()):
				q.add(" AND ")
				q.textIn(ft, id)
			default:
				q.add(" AND ")
				q.text(ft, id)
			}
		}
	}
	// merged writes the first n rows (all for n <= 0) of the scoped order,
	// each kind's scan testing its rows with conds when withConds.
	merged := func(n int, withConds bool) {
		arm := func(kind string) {
			q.add("SELECT * FROM (SELECT s.entity_id, s.value FROM entity_search s WHERE s.key = ? AND s.kind = ? AND s.value IS NOT NULL", key, kind)
			if p, after, ok := pq.after(); ok {
				q.add(" AND s.value "+cmp+"= ? AND (s.value "+cmp+" ? OR s.entity_id "+cmp+" ?)", p.Value, p.Value, after)
			}
			if withConds {
				conds("s", false)
			}
			q.add(order("s") + limitOnly(pq.d, n) + ") k")
		}
		if len(pq.kinds) == 1 {
			arm(pq.kinds[0])
			return
		}
		q.add("SELECT * FROM (")
		for i, k := range pq.kinds {
			if i > 0 {
				q.add(" UNION ALL ")
			}
			arm(k)
		}
		q.add(") u" + order("u") + limitOnly(pq.d, n))
	}
	q.add("SELECT x.entity_id, '', x.value FROM (")
	if budget <= 0 || pq.rest == nil {
		need := -1
		if limit >= 0 {
			need = offset + limit
		}
		merged(need, true)
		q.add(") x")
	} else {
		merged(budget, false)
		q.add(") x WHERE 1 = 1")
		conds("x", true)
	}
	clause, args := pq.d.limitOffset(limit, offset)
	q.add(order("x")+clause, args...)
	return pq.scan(&q)
}

// byValues reads a GET /entities page ordered by several fields: by each
// field's smallest value, entities without one after those with one, then
// by id.
func (pq *pageQuery) byValues(ctx context.Context, order []query.Order) ([]position, error) {
	q := pq.sql()
	q.add("SELECT x.id, '', '' FROM (SELECT i.id AS id")
	var by []string
	for n, o := range order {
		col := fmt.Sprintf("x.v%d", n)
		q.add(fmt.Sprintf(", (SELECT MIN(m.value) FROM entity_search m WHERE m.entity_id = i.id AND %s = ?) AS v%d", pq.d.rowKey("m"), n), o.Key())
		dir, _ := direction(o.Desc)
		by = append(by, "("+col+" IS NULL)", col+" "+dir)
	}
	q.add(" ")
	if pq.small != nil {
		pq.source(&q, pq.small, false)
	} else {
		q.add("FROM entity_search_refs i WHERE 1 = 1")
		pq.inSet = true // every match is sorted: test membership in the set
		pq.cond(&q, "i.id")
		pq.inSet = false
	}
	pq.andWalkText(&q, "i.id", pq.small, 0)
	clause, args := pq.d.limitOffset(pq.r.FetchLimit(), pq.r.Offset)
	q.add(") x ORDER BY "+strings.Join(by, ", ")+", x.id"+clause, args...)
	return pq.scan(&q)
}

// limitOnly is a LIMIT clause for n rows, none for n <= 0.
func limitOnly(d dialect, n int) string {
	if n <= 0 {
		return ""
	}
	clause, _ := d.limitOffset(n, 0)
	return strings.Replace(clause, "?", strconv.Itoa(n), 1)
}

// cut returns the page at offset of at most limit (all when negative).
func cut(pos []position, offset, limit int) []position {
	if offset >= len(pos) {
		return nil
	}
	pos = pos[offset:]
	if limit >= 0 && len(pos) > limit {
		pos = pos[:limit]
	}
	return pos
}

func (pq *pageQuery) scan(q *sqlText) ([]position, error) {
	rows, err := pq.rd.query(pq.ctx, q.String(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []position
	for rows.Next() {
		var p position
		if err := rows.Scan(&p.id, &p.ref, &p.value); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
