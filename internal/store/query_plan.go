package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"greenroom/internal/catalog/query"
)

// The catalog's query methods translate filters into SQL over
// entity_search and read each page one of three ways:
//
//   - a driver: when the filter's most selective condition (by a bounded
//     count) has few rows, read those candidates, test the rest of the
//     filter on each with indexed EXISTS probes, and sort them;
//   - a scan in result order (over entity_search_refs by id or ref, or over
//     the order key's rows of entity_search_key_value by value and id),
//     probing each entity it walks and stopping at the page's end: fast when
//     matches are many and spread out; it gives up after a budget of rows;
//   - the same scan testing membership in the filter's match set, computed
//     once from index ranges with INTERSECT, UNION and EXCEPT: for when
//     matches are many but come late in the order (kind=user sorted by
//     name), and for counting totalItems.
//
// Choosing per query from bounded counts means the planner of neither
// engine has to guess the selectivity of kind=component against
// spec.owner=team-a, which it cannot know from column statistics.

// sqlText accumulates a statement and its arguments.
type sqlText struct {
	b    strings.Builder
	args []any
	// kinds, when set, restricts the rows rowsOf reads (and so set and
	// member) to entities of those kinds: see kindScope.
	kinds []string
	// d is the dialect the statement is for, when it matters (rowKey);
	// the zero dialect writes what suits both.
	d dialect
	// trigrams allows full-text conditions to read SQLite's trigram table
	// (trigramText): set by pageQuery.sql while the table is in step.
	trigrams bool
}

// rowKey is d.rowKey for the statement's dialect.
func (q *sqlText) rowKey(alias string) string { return q.d.rowKey(alias) }

func (q *sqlText) add(s string, args ...any) *sqlText {
	q.b.WriteString(s)
	q.args = append(q.args, args...)
	return q
}

func (q *sqlText) String() string { return q.b.String() }

// in writes "IN (?, …)" for values.
func (q *sqlText) in(values []string) {
	q.add("IN (" + placeholders(len(values)) + ")")
	for _, v := range values {
		q.args = append(q.args, v)
	}
}

// lowered returns f's key and distinct lowercased values; values is nil
// for an existence test.
func lowered(f query.Filter) (string, []string) {
	key := query.Lower(f.Key)
	if f.Values == nil {
		return key, nil
	}
	values := make([]string, 0, len(f.Values))
	for _, v := range f.Values {
		if v = query.Lower(v); !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	return key, values
}

// filter writes f as a condition on the entity whose search id is the SQL
// expression id. It agrees with query.Filter.Match.
func (q *sqlText) filter(f query.Filter, id string) {
	switch f.Op {
	case query.OpAll, query.OpAny:
		if len(f.Sub) == 0 {
			if f.Op == query.OpAll {
				q.add("1 = 1")
			} else {
				q.add("1 = 0")
			}
			return
		}
		join := " AND "
		if f.Op == query.OpAny {
			join = " OR "
		}
		q.add("(")
		for i, s := range f.Sub {
			if i > 0 {
				q.add(join)
			}
			q.filter(s, id)
		}
		q.add(")")
	case query.OpNot:
		q.add("NOT (")
		if len(f.Sub) == 1 {
			q.filter(f.Sub[0], id)
		} else {
			q.add("1 = 1")
		}
		q.add(")")
	default:
		key, values := lowered(f)
		if values != nil && len(values) == 0 {
			q.add("1 = 0")
			return
		}
		// +id, an expression rather than a column, keeps SQLite from
		// propagating a range on id (a cursor's "i.id > ?") into the probe
		// as f.entity_id > ?, which it then plans as a walk of the key and
		// value's whole index range from there, for every row probed (15 ms
		// a page for kind=component past a cursor at 100k entities) instead
		// of one step of the entity's own rows.
		// An equality on the value keeps its exact seek in the key and
		// value's index; a range or no value reads the entity's own rows.
		col := "f.key"
		if f.Op == query.OpPrefix || len(values) == 0 {
			col = q.rowKey("f")
		}
		q.add("EXISTS (SELECT 1 FROM entity_search f WHERE f.entity_id = +"+id+" AND "+col+" = ?", key)
		if f.Op == query.OpPrefix {
			q.prefix("f.value", values[0])
			q.add(")")
			return
		}
		switch len(values) {
		case 0:
		case 1:
			q.add(" AND f.value = ?", values[0])
		default:
			q.add(" AND f.value ")
			q.in(values)
		}
		q.add(")")
	}
}

// rowsOf writes a SELECT of the entity ids with a search row matching
// the predicate f (an OpMatch or OpPrefix): "SELECT entity_id FROM
// entity_search …".
func (q *sqlText) rowsOf(f query.Filter) {
	key, values := lowered(f)
	if rowsUnique(f) {
		q.add("SELECT entity_id AS id FROM entity_search WHERE key = ?", key)
	} else { // existence, several values or a prefix may repeat an entity
		q.add("SELECT DISTINCT entity_id AS id FROM entity_search WHERE key = ?", key)
	}
	q.scope("")
	switch {
	case f.Op == query.OpPrefix:
		q.prefix("value", values[0])
	case values == nil:
	case len(values) == 0:
		q.add(" AND 1 = 0")
	default:
		q.add(" AND value ")
		q.in(values)
	}
}

// rowsUnique reports whether rowsOf(f) yields each entity once: an
// entity has at most one row per key and value.
func rowsUnique(f query.Filter) bool { return f.Op == query.OpMatch && len(f.Values) == 1 }

// scope writes the kind restriction of q, if any, on the kind column of
// alias ("" for none).
func (q *sqlText) scope(alias string) {
	if q.kinds == nil {
		return
	}
	col := "kind"
	if alias != "" {
		col = alias + ".kind"
	}
	q.add(" AND " + col + " ")
	q.in(q.kinds)
}

// prefix writes " AND col starts with p" as a range of the index (text
// compares in byte order on both engines, where UTF-8 orders as code
// points), exact where LIKE would not use the index on SQLite.
func (q *sqlText) prefix(col, p string) {
	q.add(" AND "+col+" >= ?", p)
	if hi, ok := prefixEnd(p); ok {
		q.add(" AND "+col+" < ?", hi)
	}
}

// prefixEnd returns the least string greater than every string starting
// with p: p with its last character incremented, dropping trailing
// U+10FFFF; none when p is all U+10FFFF (or empty).
func prefixEnd(p string) (string, bool) {
	r := []rune(p)
	for len(r) > 0 {
		last := r[len(r)-1]
		switch {
		case last == utf8.MaxRune:
			r = r[:len(r)-1]
			continue
		case last == 0xD7FF: // the surrogates are no characters
			r[len(r)-1] = 0xE000
		default:
			r[len(r)-1] = last + 1
		}
		return string(r), true
	}
	return "", false
}

// set writes a SELECT of column id yielding exactly the ids of the entities
// f matches, as set operations over index ranges: INTERSECT for all-of,
// UNION for any-of, EXCEPT for not. Where many entities match, reading
// their ranges in order and combining them costs a fraction of testing
// each candidate with an indexed probe. Ids may repeat only when f is a
// single predicate.
func (q *sqlText) set(f query.Filter) {
	switch f.Op {
	case query.OpMatch, query.OpPrefix:
		q.rowsOf(f)
	case query.OpAny:
		if len(f.Sub) == 0 {
			q.add("SELECT id FROM entity_search_refs WHERE 1 = 0")
			return
		}
		for i, s := range f.Sub {
			if i > 0 {
				q.add(" UNION ")
			}
			q.member(s)
		}
	case query.OpNot:
		q.universe()
		q.add(" EXCEPT ")
		if len(f.Sub) == 1 {
			q.member(f.Sub[0])
		} else {
			q.universe()
		}
	default:
		var pos, neg []query.Filter
		for _, s := range f.Sub {
			if s.Op == query.OpNot && len(s.Sub) == 1 {
				neg = append(neg, s.Sub[0])
			} else {
				pos = append(pos, s)
			}
		}
		if len(pos) == 0 {
			q.universe()
		}
		for i, s := range pos {
			if i > 0 {
				q.add(" INTERSECT ")
			}
			q.member(s)
		}
		for _, s := range neg {
			q.add(" EXCEPT ")
			q.member(s)
		}
	}
}

// inSet writes "id is in the match set of f": IN its set, or for a
// negation NOT IN the set of what it negates, which spares computing the
// complement. (A set never holds a null id; the guard keeps NOT IN from
// failing every row if one did.)
func (q *sqlText) inSet(id string, f query.Filter) {
	if f.Op == query.OpNot && len(f.Sub) == 1 {
		q.add(id + " NOT IN (SELECT id FROM (")
		q.set(f.Sub[0])
		q.add(") n WHERE id IS NOT NULL)")
		return
	}
	q.add(id + " IN (")
	q.set(f)
	q.add(")")
}

// universe writes a SELECT of every entity's id, column id: all indexed
// entities, or with kinds set those of the kinds (each has one kind row).
func (q *sqlText) universe() {
	if q.kinds == nil {
		q.add("SELECT id FROM entity_search_refs")
		return
	}
	q.add("SELECT entity_id AS id FROM entity_search WHERE key = 'kind'")
	q.scope("")
}

// member writes f as one operand of a compound SELECT: a predicate's rows
// directly, anything compound as a subquery.
func (q *sqlText) member(f query.Filter) {
	if f.IsMatch() {
		q.rowsOf(f)
		return
	}
	q.add("SELECT id FROM (")
	q.set(f)
	q.add(") AS m")
}

// candidates is a set (a "driver") holding every entity a filter matches:
// the union of the rows of some of its predicates. It holds no others when
// its residual is always true.
type candidates struct {
	leaves []query.Filter
	est    int // upper bound of the candidates, capped by the estimate's cap
	// text, when set, makes the candidates those matching this full-text
	// filter, off the trigram table (textSet), instead of leaves: the
	// driver of a page whose term few entities hold (textDriver).
	text *query.FullTextFilter
}

// sql writes the candidates' ids as a subquery yielding column id.
func (d *candidates) sql(q *sqlText) {
	if d.text != nil {
		q.textSet(*d.text)
		return
	}
	if len(d.leaves) == 0 {
		q.add("SELECT entity_id AS id FROM entity_search WHERE 1 = 0")
		return
	}
	for i, l := range d.leaves {
		if i > 0 {
			q.add(" UNION ")
		}
		q.rowsOf(l)
	}
}

// residual returns what of f still needs testing on the candidates of d:
// a driver made of one predicate that f requires outright is implied.
func (d *candidates) residual(f query.Filter) query.Filter {
	if d.text != nil {
		return f // the text implies nothing of the filter
	}
	if f.Op == query.OpAny && len(f.Sub) == len(d.leaves) && reflect.DeepEqual(f.Sub, d.leaves) {
		return query.All() // the driver is the union of f's alternatives
	}
	if len(d.leaves) != 1 {
		return f
	}
	leaf := d.leaves[0]
	if f.IsMatch() && reflect.DeepEqual(f, leaf) {
		return query.All()
	}
	if f.Op != query.OpAll {
		return f
	}
	rest := query.Filter{Op: query.OpAll}
	for _, s := range f.Sub {
		if !reflect.DeepEqual(s, leaf) {
			rest.Sub = append(rest.Sub, s)
		}
	}
	return rest
}

// maxScopeKinds bounds the kinds a query is scoped to: each is a range of
// the key/kind index, and an ordered page merges one scan per kind.
const maxScopeKinds = 8

// kindScope returns the kinds (lowercased, sorted) that every entity f
// matches has, from its kind conditions (kind=user, kind in (user,
// group), one of several alternatives each naming kinds…), or nil when f
// does not bound them.
func kindScope(f query.Filter) []string {
	var out []string
	switch f.Op {
	case query.OpMatch:
		if query.Lower(f.Key) != "kind" || len(f.Values) == 0 {
			return nil
		}
		_, out = lowered(f)
	case query.OpAll:
		found := false
		for _, s := range f.Sub {
			k := kindScope(s)
			switch {
			case k == nil:
			case !found:
				out, found = k, true
			default:
				out = slices.DeleteFunc(out, func(v string) bool { return !slices.Contains(k, v) })
			}
		}
	case query.OpAny:
		for _, s := range f.Sub {
			k := kindScope(s)
			if k == nil {
				return nil
			}
			out = append(out, k...)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 || len(out) > maxScopeKinds {
		return nil
	}
	return out
}

// scopeRest returns what of f remains to test on entities whose kind is
// one of kinds: each kind condition that every such entity passes holds,
// each that none passes fails; so does any part of f that does so for
// each of the kinds alone (kind=user or kind=group, for users and groups).
func scopeRest(f query.Filter, kinds []string) query.Filter {
	if len(kinds) > 1 {
		holds, fails := true, true
		for _, k := range kinds {
			r := scopeRest(f, []string{k})
			holds, fails = holds && isTrue(r), fails && isFalse(r)
		}
		switch {
		case holds:
			return query.All()
		case fails:
			return query.Any()
		}
	}
	switch f.Op {
	case query.OpAll, query.OpAny:
		var subs []query.Filter
		for _, s := range f.Sub {
			r := scopeRest(s, kinds)
			switch {
			case isTrue(r) && f.Op == query.OpAny, isFalse(r) && f.Op == query.OpAll:
				return r
			case isTrue(r), isFalse(r):
				continue
			}
			subs = append(subs, r)
		}
		if len(subs) == 1 {
			return subs[0]
		}
		return query.Filter{Op: f.Op, Sub: append([]query.Filter{}, subs...)}
	case query.OpNot:
		if len(f.Sub) != 1 {
			return f
		}
		switch r := scopeRest(f.Sub[0], kinds); {
		case isTrue(r):
			return query.Any()
		case isFalse(r):
			return query.All()
		default:
			return query.Not(r)
		}
	case query.OpMatch:
		if query.Lower(f.Key) != "kind" || f.Values == nil {
			return f
		}
		_, values := lowered(f)
		in := 0
		for _, k := range kinds {
			if slices.Contains(values, k) {
				in++
			}
		}
		switch in {
		case len(kinds):
			return query.All()
		case 0:
			return query.Any()
		}
	}
	return f
}

// isFalse reports whether f is the empty disjunction, which never holds.
func isFalse(f query.Filter) bool { return f.Op == query.OpAny && len(f.Sub) == 0 }

// scopeKinds returns the kind scope of f and what of f is left to test in
// it (nil when nothing is), or no scope when the index cannot give one: an
// entity whose kind is not one string has the kind column null on its
// rows, and one is enough to make scoping miss it.
func scopeKinds(ctx context.Context, rd reader, f query.Filter, version func() (int64, error)) ([]string, *query.Filter, error) {
	kinds := kindScope(f)
	if kinds == nil {
		return nil, nil, nil
	}
	irregular, err := rd.snapshotInt(ctx, version, "SELECT COUNT(*) FROM (SELECT 1 FROM entity_search WHERE key = 'kind' AND kind IS NULL AND value IS NOT NULL LIMIT 1) x")
	if err != nil {
		return nil, nil, fmt.Errorf("store: kind scope: %w", err)
	}
	if irregular > 0 {
		return nil, nil, nil
	}
	rest := scopeRest(f, kinds)
	if isTrue(rest) {
		return kinds, nil, nil
	}
	return kinds, &rest, nil
}

// maxEstimates bounds the count queries planning one query may run.
const maxEstimates = 8

// planner estimates filters with bounded counts.
type planner struct {
	r     reader
	cap   int
	count int // estimates run
	// cache, when set, keeps estimates per catalog version (version reads
	// it in the planner's snapshot): a page's plan costs up to
	// maxEstimates counts of up to cap rows each, the same for every
	// request of the same filter while nothing is written.
	cache   *readCache[int]
	version func() (int64, error)
}

// estimate runs the bounded count q, or answers it from the cache.
func (p *planner) estimate(ctx context.Context, q *sqlText) (int, error) {
	key, cacheable := "", false
	var version int64
	if p.cache != nil && planOverride == "" {
		if args, ok := cacheKey(q.args); ok {
			key, cacheable = q.String()+"\x00"+args, true
		}
	}
	if cacheable {
		var err error
		if version, err = p.version(); err != nil {
			return 0, err
		}
		if n, ok := p.cache.get(key, version); ok {
			return n, nil
		}
	}
	var n int
	if err := p.r.queryRow(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: estimate filter: %w", err)
	}
	if cacheable {
		p.cache.put(key, version, n)
	}
	return n, nil
}

// driverFor returns the cheapest driver for f, or nil when f has none (a
// negation, or too many alternatives to estimate).
func (p *planner) driverFor(ctx context.Context, f query.Filter) (*candidates, error) {
	switch f.Op {
	case query.OpNot:
		return nil, nil
	case query.OpAll:
		var best *candidates
		for _, s := range f.Sub {
			d, err := p.driverFor(ctx, s)
			if err != nil {
				return nil, err
			}
			if d != nil && (best == nil || d.est < best.est) {
				best = d
			}
			if best != nil && best.est == 0 {
				break
			}
		}
		return best, nil
	case query.OpAny:
		all := &candidates{}
		for _, s := range f.Sub {
			d, err := p.driverFor(ctx, s)
			if err != nil || d == nil {
				return nil, err
			}
			all.leaves = append(all.leaves, d.leaves...)
			all.est += d.est
		}
		return all, nil
	}
	if f.Op == query.OpMatch && f.Values != nil && len(f.Values) == 0 {
		return &candidates{}, nil // matches nothing
	}
	if p.count >= maxEstimates {
		return nil, nil
	}
	p.count++
	var q sqlText
	q.add("SELECT COUNT(*) FROM (")
	q.rowsOf(f)
	q.add(" LIMIT ?) c", p.cap)
	n, err := p.estimate(ctx, &q)
	if err != nil {
		return nil, err
	}
	return &candidates{leaves: []query.Filter{f}, est: n}, nil
}

// scanBreakEven is the candidate count below which driving from the
// filter beats scanning in order: a scan for a page of n rows over N
// entities walks about n·N/m rows when m match, the driver m, so they meet
// at m = √(n·N).
func scanBreakEven(rows, indexed int) int {
	return max(200, int(math.Sqrt(float64(rows)*float64(indexed))))
}

// indexedEntities is about how many entities are indexed: the largest
// search id, which costs one index step where COUNT(*) walks them all.
func indexedEntities(ctx context.Context, r reader, version func() (int64, error)) (int, error) {
	n, err := r.snapshotInt(ctx, version, "SELECT COALESCE(MAX(id), 0) FROM entity_search_refs")
	if err != nil {
		return 0, fmt.Errorf("store: count indexed entities: %w", err)
	}
	return n, nil
}

// snapshotInt runs q, a statement without arguments whose one result is
// an integer, or answers it from the estimates cache when version (the
// catalog version of r's snapshot; nil for none) has not moved since: a
// page's plan asks the same few such questions every time, each a round
// trip on PostgreSQL.
func (r reader) snapshotInt(ctx context.Context, version func() (int64, error), q string) (int, error) {
	if version == nil || r.s == nil {
		var n int
		err := r.queryRow(ctx, q).Scan(&n)
		return n, err
	}
	v, err := version()
	if err != nil {
		return 0, err
	}
	key := q + "\x00[]" // as estimate keys a statement without arguments
	if n, ok := r.s.estimates.get(key, v); ok {
		return n, nil
	}
	var n int
	if err := r.queryRow(ctx, q).Scan(&n); err != nil {
		return 0, err
	}
	r.s.estimates.put(key, v, n)
	return n, nil
}

// likePattern is a LIKE pattern for "contains term", lowercased, with the
// term's own % and _ taken literally (ESCAPE '\').
func likePattern(term string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(query.Lower(term)) + "%"
}

// text writes the full-text condition of ft (resolved) on entity id.
func (q *sqlText) text(ft query.FullTextFilter, id string) {
	keys, ok := q.textKeys(ft)
	if !ok {
		return
	}
	q.add("EXISTS (SELECT 1 FROM entity_search t WHERE t.entity_id = " + id + " AND t.key ")
	q.in(keys)
	q.add(` AND t.value LIKE ? ESCAPE '\')`, likePattern(ft.Term))
}

// textIn writes the full-text condition of ft (resolved) on entity id as
// membership of the set of entities matching it, which the database reads
// once per statement (SQLite materializes an uncorrelated IN subquery;
// PostgreSQL makes it a semi-join). text's correlated EXISTS is the better
// test of a few candidates; on a walk of a whole order that stops only
// after a page of matches, it ran once per entity walked: 1.4–1.7 s for a
// term nothing matches among 60k components, against 25 ms to read the set
// (a count's scan).
//
// On SQLite, for the terms and keys its trigram table holds, the set comes
// from that table (trigramIDs), scoped to q's kinds when they all have a
// code there (the statement around reads only its own kinds' ids anyway).
func (q *sqlText) textIn(ft query.FullTextFilter, id string) {
	if codes, ok := q.trigramText(ft); ok {
		kinds, _ := textKindCodes(q.kinds) // nil (none) for a kind without a code
		q.add(id + " IN (")
		q.trigramIDs(ft, codes, kinds)
		q.add(")")
		return
	}
	keys, ok := q.textKeys(ft)
	if !ok {
		return
	}
	q.add(id + " IN (SELECT t.entity_id FROM entity_search t WHERE t.key ")
	q.in(keys)
	q.scope("t")
	q.add(` AND t.value LIKE ? ESCAPE '\')`, likePattern(ft.Term))
}

// textKeys returns the lowercased fields ft searches; with none it writes
// a condition that never holds and returns false.
func (q *sqlText) textKeys(ft query.FullTextFilter) ([]string, bool) {
	if len(ft.Fields) == 0 {
		q.add("1 = 0")
		return nil, false
	}
	return lowerAll(ft.Fields), true
}

// reader runs the queries of one read-only transaction, so that the
// several statements of a page see one snapshot.
type reader struct {
	tx *sql.Tx
	d  dialect
	s  *Store
}

func (r reader) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = r.d.rebind(q)
	if st := r.s.readStmt(q); st != nil { // query_stmts.go
		return r.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return r.tx.QueryContext(ctx, q, args...)
}

func (r reader) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = r.d.rebind(q)
	if st := r.s.readStmt(q); st != nil {
		return r.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return r.tx.QueryRowContext(ctx, q, args...)
}

// readTx runs fn in a read-only transaction on the read pool.
func (s *Store) readTx(ctx context.Context, fn func(r reader) error) (err error) {
	tx, err := s.read.BeginTx(ctx, s.d.readTxOptions())
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer func() {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("store: end read: %w", rbErr))
		}
	}()
	if err := s.d.prepareRead(ctx, tx); err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	return fn(reader{tx: tx, d: s.d, s: s})
}
