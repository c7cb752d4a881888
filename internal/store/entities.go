package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// EntityRecord, ReplaceResult and EntityQuery are the catalog's own types:
// the store implements catalog.Store.
type (
	EntityRecord  = catalog.Record
	ReplaceResult = catalog.ReplaceResult
	EntityQuery   = catalog.Query
)

var _ catalog.Store = (*Store)(nil)

const entityColumns = "ref, uid, kind, namespace, name, source, hash, body, created_at, updated_at"

// ReplaceSourceEntities makes recs the complete set of entities supplied by
// source, in one transaction: new refs are inserted, changed ones (by hash)
// updated keeping their uid, unchanged ones not written, and the source's
// rows missing from recs deleted. The search index (entity_search) follows
// in the same transaction, for the inserted, updated and deleted entities
// only. A ref owned by a different source is not taken over but reported in
// Conflicts, unless it is an orphan, which is claimed. Duplicate refs in
// recs, or an empty source or ref, are greenroom.CodeInvalid; a uid already
// used by another entity is greenroom.CodeConflict. It does not stitch;
// catalog processing uses ApplySource, which keeps orphans instead of
// deleting.
func (s *Store) ReplaceSourceEntities(ctx context.Context, source string, recs []EntityRecord) (ReplaceResult, error) {
	var res ReplaceResult
	seen, err := checkRecords(source, recs)
	if err != nil {
		return res, err
	}
	if ctx.Value(inTxKey{}) == nil { // else withTx fails below, and the write pool is busy
		if err := s.d.prepareBulkWrite(ctx, s.write); err != nil {
			return res, err
		}
		defer s.d.finishBulkWrite(ctx, s.write)
	}
	err = s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		out, err := s.replaceEntities(ctx, tx, source, recs, seen, missingDelete, nil)
		res = out.res
		return err
	})
	if err != nil {
		return ReplaceResult{}, err
	}
	return res, nil
}

// checkRecords rejects an empty source, empty refs and duplicate refs, and
// returns the set of lowercased refs.
func checkRecords(source string, recs []EntityRecord) (map[string]bool, error) {
	if source == "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "entity source is empty")
	}
	seen := make(map[string]bool, len(recs))
	for i := range recs {
		ref := strings.ToLower(recs[i].Ref)
		if ref == "" {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "entity %d from %s has an empty ref", i, source)
		}
		if seen[ref] {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "entity %s appears twice in %s", ref, source)
		}
		seen[ref] = true
	}
	return seen, nil
}

// missingPolicy says what becomes of a source's entities missing from a
// replacement.
type missingPolicy uint8

const (
	missingDelete missingPolicy = iota // ReplaceSourceEntities: deleted at once
	missingOrphan                      // ApplySource: kept as orphans
	// missingKeep: ApplySourceBatch, one batch of a source written in
	// several; only the batch's refs are compared, and FinishSource
	// makes orphans of what no batch supplied.
	missingKeep
)

// replaced is what replaceEntities did, beyond the counts: what ApplySource
// needs to name the changes and to restitch.
type replaced struct {
	res      ReplaceResult
	inserted map[string]bool // refs inserted
	orphaned map[string]bool // refs made orphans
	// unchanged are refs found as stored: not written, nothing to stitch
	// unless their relations changed.
	unchanged map[string]bool
	// deleted are the events of the rows deleted (missingDelete).
	deleted []catalog.Event
	// affected are refs whose stitched relations may have changed because
	// a claimed orphan's relations went with its old source.
	affected []string
}

// replaceEntities is ReplaceSourceEntities, or the entity part of
// ApplySource, inside the caller's transaction.
func (s *Store) replaceEntities(ctx context.Context, tx *Tx, source string, recs []EntityRecord, seen map[string]bool, missing missingPolicy, pre *prestitcher) (replaced, error) {
	out := replaced{inserted: map[string]bool{}, orphaned: map[string]bool{}, unchanged: map[string]bool{}}
	err := func() error {
		// Two replacements of one source (two replicas syncing it) must not
		// interleave, or each would see the other's new rows as another
		// source's and report them as conflicts.
		if err := s.d.lockFor(ctx, tx, "entities source "+source); err != nil {
			return err
		}
		var existing map[string]storedEntity
		var err error
		if missing == missingKeep {
			existing, err = batchEntities(ctx, tx, source, seen)
		} else {
			existing, err = sourceEntities(ctx, tx, source)
		}
		if err != nil {
			return err
		}
		ix := newSearchIndexer(tx, s.d)
		ix.batch = missing == missingKeep
		w := &entityWriter{tx: tx, d: s.d, source: source, out: &out, stmts: ix.stmts, ix: ix, pre: pre}
		if err := w.ix.begin(ctx, toIndex(recs, existing)); err != nil {
			return err
		}
		for _, r := range recs {
			ref := strings.ToLower(r.Ref)
			errs, err := errorsColumn(r.Errors)
			if err != nil {
				return fmt.Errorf("entity %s: errors: %w", ref, err)
			}
			cur, ours := existing[ref]
			switch {
			case ours && cur.hash == r.Hash:
				if cur.searchID == 0 { // stored before the search index existed
					if err := w.ix.index(ctx, ref, 0, cur.uid, r.Body); err != nil {
						return err
					}
				}
				if cur.orphan || cur.errors != errs {
					err = w.touch(ctx, ref, errs)
				} else {
					out.res.Unchanged++
					out.unchanged[ref] = true
				}
			case ours:
				err = w.update(ctx, ref, cur, r, errs)
			default:
				err = w.insert(ctx, ref, r, errs)
			}
			if err != nil {
				return err
			}
		}
		if err := w.flush(ctx); err != nil {
			return err
		}
		for ref, cur := range existing {
			switch {
			case seen[ref], missing == missingKeep:
			case missing == missingDelete:
				err = w.remove(ctx, ref, cur)
			case !cur.orphan:
				err = w.orphan(ctx, ref)
			}
			if err != nil {
				return err
			}
		}
		if err := w.flush(ctx); err != nil {
			return err
		}
		return w.ix.finish(ctx)
	}()
	return out, err
}

// errorsColumn encodes an entity's processing errors for the errors
// column: empty for none.
func errorsColumn(errs []catalog.EntityError) (string, error) {
	if len(errs) == 0 {
		return "", nil
	}
	b, err := json.Marshal(errs)
	return string(b), err
}

// toIndex counts the records a replacement will (re)index: all but the
// unchanged, already indexed ones.
func toIndex(recs []EntityRecord, existing map[string]storedEntity) int {
	n := 0
	for _, r := range recs {
		cur, ok := existing[strings.ToLower(r.Ref)]
		if !ok || cur.hash != r.Hash || cur.searchID == 0 {
			n++
		}
	}
	return n
}

// storedEntity is what a replacement needs of an entity already stored:
// whether it changed, the uid it keeps, its search id (0 when it was
// stored before the search index existed and is not indexed yet), its
// errors column and whether it is an orphan.
type storedEntity struct {
	hash, uid, errors string
	searchID          int64
	orphan            bool
}

// sourceEntities returns ref → stored entity for every entity of source,
// orphans included.
func sourceEntities(ctx context.Context, tx *Tx, source string) (map[string]storedEntity, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.ref, e.hash, e.uid, e.errors, CASE WHEN e.orphaned_at IS NULL THEN 0 ELSE 1 END, i.id
		FROM entities e LEFT JOIN entity_search_refs i ON i.ref = e.ref WHERE e.source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
	}
	defer rows.Close()
	m := map[string]storedEntity{}
	for rows.Next() {
		var ref string
		var e storedEntity
		var orphan int
		var id sql.NullInt64
		if err := rows.Scan(&ref, &e.hash, &e.uid, &e.errors, &orphan, &id); err != nil {
			return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
		}
		e.searchID, e.orphan = id.Int64, orphan != 0
		m[ref] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
	}
	return m, nil
}

// batchEntities is sourceEntities for the refs of one batch. The rows
// are found by ref (the primary key) and their source tested here: a
// condition on source lets the planner scan the whole source by its
// index, which on a first load's stale statistics it does.
func batchEntities(ctx context.Context, tx *Tx, source string, refs map[string]bool) (map[string]storedEntity, error) {
	m := map[string]storedEntity{}
	list := slices.Collect(maps.Keys(refs))
	for chunk := range chunks(list, entityBatch) {
		q, args := inList(tx.d, `SELECT e.ref, e.source, e.hash, e.uid, e.errors, CASE WHEN e.orphaned_at IS NULL THEN 0 ELSE 1 END, i.id
			FROM entities e LEFT JOIN entity_search_refs i ON i.ref = e.ref WHERE e.ref`, chunk)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
		}
		for rows.Next() {
			var ref, src string
			var e storedEntity
			var orphan int
			var id sql.NullInt64
			if err := rows.Scan(&ref, &src, &e.hash, &e.uid, &e.errors, &orphan, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
			}
			if src != source {
				continue
			}
			e.searchID, e.orphan = id.Int64, orphan != 0
			m[ref] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
		}
	}
	return m, nil
}

// inList completes query, which ends with a column, with a test that the
// column is one of values: "IN (?, …)" on SQLite, "= ANY(?)" with one text
// array on PostgreSQL (one plan whatever the count).
func inList(d dialect, query string, values []string) (string, []any) {
	if d.name == DriverPostgres {
		return query + " = ANY(CAST(? AS TEXT[]))", []any{values}
	}
	return query + " IN (" + placeholders(len(values)) + ")", anys(values)
}

// SourceEntities returns the entities source supplies now, orphans left
// out, with their recorded errors, in ref order.
func (s *Store) SourceEntities(ctx context.Context, source string) ([]EntityRecord, error) {
	rows, err := s.queryContext(ctx, "SELECT "+entityColumns+", errors FROM entities WHERE source = ? AND orphaned_at IS NULL ORDER BY ref", source)
	if err != nil {
		return nil, fmt.Errorf("store: entities of %s: %w", source, err)
	}
	defer rows.Close()
	var recs []EntityRecord
	for rows.Next() {
		var r EntityRecord
		var errs string
		if err := rows.Scan(&r.Ref, &r.UID, &r.Kind, &r.Namespace, &r.Name, &r.Source, &r.Hash, &r.Body,
			timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, &errs); err != nil {
			return nil, fmt.Errorf("store: entities of %s: %w", source, err)
		}
		if errs != "" {
			if err := json.Unmarshal([]byte(errs), &r.Errors); err != nil {
				return nil, fmt.Errorf("store: entity %s: errors: %w", r.Ref, err)
			}
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: entities of %s: %w", source, err)
	}
	return recs, nil
}

// KnownSources returns, sorted, the sources that have a refresh state or
// supply an entity that is not an orphan.
func (s *Store) KnownSources(ctx context.Context) ([]string, error) {
	rows, err := s.queryContext(ctx, `SELECT DISTINCT source FROM entities WHERE orphaned_at IS NULL
		UNION SELECT name FROM catalog_sources ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("store: list sources: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("store: list sources: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sources: %w", err)
	}
	return names, nil
}

// ListEntities returns the entities matching q in ref order. A negative
// limit or offset is greenroom.CodeInvalid.
func (s *Store) ListEntities(ctx context.Context, q EntityQuery) ([]EntityRecord, error) {
	if q.Limit < 0 || q.Offset < 0 {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "limit and offset must not be negative")
	}
	query := "SELECT " + entityColumns + " FROM entities"
	var args []any
	if q.Kind != "" {
		query += " WHERE lower(kind) = ?"
		args = append(args, strings.ToLower(q.Kind))
	}
	query += " ORDER BY ref"
	clause, more := s.d.limitOffset(q.Limit, q.Offset)
	query += clause
	args = append(args, more...)

	rows, err := s.queryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list entities: %w", err)
	}
	defer rows.Close()
	var recs []EntityRecord
	for rows.Next() {
		r, err := scanEntity(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list entities: %w", err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list entities: %w", err)
	}
	return recs, nil
}

// EntityByRef returns the entity with the given ref (case-insensitive), or
// a greenroom.CodeNotFound error.
func (s *Store) EntityByRef(ctx context.Context, ref string) (EntityRecord, error) {
	ref = strings.ToLower(ref)
	row := s.queryRowContext(ctx, "SELECT "+entityColumns+" FROM entities WHERE ref = ?", ref)
	r, err := scanEntity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return EntityRecord{}, greenroom.Errorf(greenroom.CodeNotFound, "entity %s not found", ref)
	}
	if err != nil {
		return EntityRecord{}, fmt.Errorf("store: entity %s: %w", ref, err)
	}
	return r, nil
}

// CountEntities returns the number of stored entities.
func (s *Store) CountEntities(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRowContext(ctx, "SELECT COUNT(*) FROM entities").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count entities: %w", err)
	}
	return n, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func scanEntity(sc scanner) (EntityRecord, error) {
	var r EntityRecord
	err := sc.Scan(&r.Ref, &r.UID, &r.Kind, &r.Namespace, &r.Name, &r.Source, &r.Hash, &r.Body,
		timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
	return r, err
}
