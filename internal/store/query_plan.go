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
}

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
		q.add("EXISTS (SELECT 1 FROM entity_search f WHERE f.entity_id = "+id+" AND f.key = ?", key)
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
// the predicate f (an OpMatch): "SELECT entity_id FROM entity_search …".
func (q *sqlText) rowsOf(f query.Filter) {
	key, values := lowered(f)
	distinct := len(values) != 1 // existence, or several values, may repeat an entity
	if distinct {
		q.add("SELECT DISTINCT entity_id AS id FROM entity_search WHERE key = ?", key)
	} else {
		q.add("SELECT entity_id AS id FROM entity_search WHERE key = ?", key)
	}
	switch {
	case values == nil:
	case len(values) == 0:
		q.add(" AND 1 = 0")
	default:
		q.add(" AND value ")
		q.in(values)
	}
}

// set writes a SELECT of column id yielding exactly the ids of the entities
// f matches, as set operations over index ranges: INTERSECT for all-of,
// UNION for any-of, EXCEPT for not. Where many entities match, reading
// their ranges in order and combining them costs a fraction of testing
// each candidate with an indexed probe. Ids may repeat only when f is a
// single predicate.
func (q *sqlText) set(f query.Filter) {
	switch f.Op {
	case query.OpMatch:
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
		q.add("SELECT id FROM entity_search_refs EXCEPT ")
		if len(f.Sub) == 1 {
			q.member(f.Sub[0])
		} else {
			q.add("SELECT id FROM entity_search_refs")
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
			q.add("SELECT id FROM entity_search_refs")
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

// member writes f as one operand of a compound SELECT: a predicate's rows
// directly, anything compound as a subquery.
func (q *sqlText) member(f query.Filter) {
	if f.Op == query.OpMatch {
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
}

// sql writes the candidates' ids as a subquery yielding column id.
func (d *candidates) sql(q *sqlText) {
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
	if f.Op == query.OpAny && len(f.Sub) == len(d.leaves) && reflect.DeepEqual(f.Sub, d.leaves) {
		return query.All() // the driver is the union of f's alternatives
	}
	if len(d.leaves) != 1 {
		return f
	}
	leaf := d.leaves[0]
	if f.Op == query.OpMatch && reflect.DeepEqual(f, leaf) {
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

// maxEstimates bounds the count queries planning one query may run.
const maxEstimates = 8

// planner estimates filters with bounded counts.
type planner struct {
	r     reader
	cap   int
	count int // estimates run
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
	if f.Values != nil && len(f.Values) == 0 {
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
	var n int
	if err := p.r.queryRow(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return nil, fmt.Errorf("store: estimate filter: %w", err)
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
func indexedEntities(ctx context.Context, r reader) (int, error) {
	var n sql.NullInt64
	if err := r.queryRow(ctx, "SELECT MAX(id) FROM entity_search_refs").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count indexed entities: %w", err)
	}
	return int(n.Int64), nil
}

// likePattern is a LIKE pattern for "contains term", lowercased, with the
// term's own % and _ taken literally (ESCAPE '\').
func likePattern(term string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(query.Lower(term)) + "%"
}

// text writes the full-text condition of ft (resolved) on entity id.
func (q *sqlText) text(ft query.FullTextFilter, id string) {
	keys := make([]string, len(ft.Fields))
	for i, f := range ft.Fields {
		keys[i] = query.Lower(f)
	}
	if len(keys) == 0 {
		q.add("1 = 0")
		return
	}
	q.add("EXISTS (SELECT 1 FROM entity_search t WHERE t.entity_id = " + id + " AND t.key ")
	q.in(keys)
	q.add(` AND t.value LIKE ? ESCAPE '\')`, likePattern(ft.Term))
}

// reader runs the queries of one read-only transaction, so that the
// several statements of a page see one snapshot.
type reader struct {
	tx *sql.Tx
	d  dialect
}

func (r reader) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.tx.QueryContext(ctx, r.d.rebind(q), args...)
}

func (r reader) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return r.tx.QueryRowContext(ctx, r.d.rebind(q), args...)
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
	return fn(reader{tx: tx, d: s.d})
}
