package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

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
// Conflicts. Duplicate refs in recs, or an empty source or ref, are
// greenroom.CodeInvalid; a uid already used by another entity is
// greenroom.CodeConflict.
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
		var err error
		res, err = s.replaceEntities(ctx, tx, source, recs, seen)
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

// replaceEntities is ReplaceSourceEntities inside the caller's transaction.
func (s *Store) replaceEntities(ctx context.Context, tx *Tx, source string, recs []EntityRecord, seen map[string]bool) (ReplaceResult, error) {
	var res ReplaceResult
	err := func() error {
		// Two replacements of one source (two replicas syncing it) must not
		// interleave, or each would see the other's new rows as another
		// source's and report them as conflicts.
		if err := s.d.lockFor(ctx, tx, "entities source "+source); err != nil {
			return err
		}
		existing, err := sourceEntities(ctx, tx, source)
		if err != nil {
			return err
		}
		ix := newSearchIndexer(tx, s.d)
		w := &entityWriter{tx: tx, d: s.d, source: source, res: &res, stmts: ix.stmts, ix: ix}
		if err := w.ix.begin(ctx, toIndex(recs, existing)); err != nil {
			return err
		}
		for _, r := range recs {
			ref := strings.ToLower(r.Ref)
			cur, ours := existing[ref]
			switch {
			case ours && cur.hash == r.Hash:
				if cur.searchID == 0 { // stored before the search index existed
					if err := w.ix.index(ctx, ref, 0, cur.uid, r.Body); err != nil {
						return err
					}
				}
				res.Unchanged++
			case ours:
				err = w.update(ctx, ref, cur, r)
			default:
				err = w.insert(ctx, ref, r)
			}
			if err != nil {
				return err
			}
		}
		if err := w.flush(ctx); err != nil {
			return err
		}
		for ref, cur := range existing {
			if !seen[ref] {
				if err := w.remove(ctx, ref, cur); err != nil {
					return err
				}
			}
		}
		if err := w.flush(ctx); err != nil {
			return err
		}
		return w.ix.finish(ctx)
	}()
	return res, err
}

// entityBatch is how many entities one insert, update or delete statement
// writes: eight parameters a row stays well under SQLite's limit, and one
// round trip for hundreds of rows is what makes a large sync fast on
// PostgreSQL.
const entityBatch = 500

// entityWriter batches the entity writes of one ReplaceSourceEntities and
// hands what it writes to the search indexer.
type entityWriter struct {
	tx     *Tx
	d      dialect
	source string
	res    *ReplaceResult
	stmts  *stmtCache
	ix     *searchIndexer

	inserts []pendingInsert
	updates []pendingUpdate
	deletes []string
	delIDs  []int64
	uids    map[string]string // explicit uid → ref, over the whole replace
}

type pendingInsert struct {
	ref, uid string
	r        EntityRecord
}

type pendingUpdate struct {
	ref string
	cur storedEntity
	r   EntityRecord
}

func (w *entityWriter) insert(ctx context.Context, ref string, r EntityRecord) error {
	uid := r.UID
	if uid == "" {
		uid = uuid.NewString()
	} else {
		if w.uids == nil {
			w.uids = map[string]string{}
		}
		if other, ok := w.uids[uid]; ok {
			return uidConflict(ref, uid, fmt.Errorf("also given to %s", other))
		}
		w.uids[uid] = ref
	}
	w.inserts = append(w.inserts, pendingInsert{ref, uid, r})
	if len(w.inserts) >= entityBatch {
		return w.flushInserts(ctx)
	}
	return nil
}

func (w *entityWriter) update(ctx context.Context, ref string, cur storedEntity, r EntityRecord) error {
	w.updates = append(w.updates, pendingUpdate{ref, cur, r})
	if len(w.updates) >= entityBatch {
		return w.flushUpdates(ctx)
	}
	return nil
}

func (w *entityWriter) remove(ctx context.Context, ref string, cur storedEntity) error {
	w.deletes = append(w.deletes, ref)
	if cur.searchID != 0 {
		w.delIDs = append(w.delIDs, cur.searchID)
	}
	if len(w.deletes) >= entityBatch {
		return w.flushDeletes(ctx)
	}
	return nil
}

func (w *entityWriter) flush(ctx context.Context) error {
	if err := w.flushInserts(ctx); err != nil {
		return err
	}
	if err := w.flushUpdates(ctx); err != nil {
		return err
	}
	return w.flushDeletes(ctx)
}

func uidConflict(ref, uid string, err error) error {
	return &greenroom.Error{Code: greenroom.CodeConflict, Message: fmt.Sprintf("entity %s: uid %s is already used by another entity", ref, uid), Err: err}
}

// flushInserts inserts the batch; refs another source owns come back as
// conflicts, in order.
func (w *entityWriter) flushInserts(ctx context.Context) error {
	batch := w.inserts
	if len(batch) == 0 {
		return nil
	}
	w.inserts = w.inserts[:0]
	// A uid the caller chose may be taken; find out before the insert, which
	// would otherwise fail without saying for which entity.
	var explicit []any
	for _, p := range batch {
		if p.r.UID != "" {
			explicit = append(explicit, p.uid)
		}
	}
	if len(explicit) > 0 {
		taken, err := w.takenUIDs(ctx, explicit)
		if err != nil {
			return err
		}
		for _, p := range batch {
			if owner, ok := taken[p.uid]; ok && owner != p.ref {
				return uidConflict(p.ref, p.uid, fmt.Errorf("used by %s", owner))
			}
		}
	}
	args := make([]any, 0, 8*len(batch))
	for _, p := range batch {
		args = append(args, p.ref, p.uid, p.r.Kind, p.r.Namespace, p.r.Name, w.source, p.r.Hash, string(p.r.Body))
	}
	inserted := make(map[string]bool, len(batch))
	st, err := w.stmts.stmt(ctx, stmtKey{"entity insert", len(batch)}, func() string {
		return "INSERT INTO entities (" + entityColumns + ") VALUES " + valuesList(len(batch), 8, ", "+w.d.now+", "+w.d.now) +
			" ON CONFLICT (ref) DO NOTHING RETURNING ref"
	})
	var rows *sql.Rows
	if err == nil {
		rows, err = st.QueryContext(ctx, args...)
	}
	if err == nil {
		for rows.Next() {
			var ref string
			if err = rows.Scan(&ref); err != nil {
				break
			}
			inserted[ref] = true
		}
		err = errors.Join(err, rows.Err(), rows.Close())
	}
	if isUniqueViolation(err) { // a uid taken since takenUIDs looked
		return &greenroom.Error{Code: greenroom.CodeConflict, Message: "an entity uid is already used by another entity", Err: err}
	}
	if err != nil {
		return fmt.Errorf("store: insert entities: %w", err)
	}
	for _, p := range batch {
		if !inserted[p.ref] { // the ref exists and is not ours
			w.res.Conflicts = append(w.res.Conflicts, p.ref)
			continue
		}
		if err := w.ix.index(ctx, p.ref, 0, p.uid, p.r.Body); err != nil {
			return err
		}
		w.res.Inserted++
	}
	return nil
}

// takenUIDs returns uid → ref for those of uids already stored.
func (w *entityWriter) takenUIDs(ctx context.Context, uids []any) (map[string]string, error) {
	rows, err := w.tx.QueryContext(ctx, "SELECT uid, ref FROM entities WHERE uid IN ("+placeholders(len(uids))+")", uids...)
	if err != nil {
		return nil, fmt.Errorf("store: check uids: %w", err)
	}
	defer rows.Close()
	taken := map[string]string{}
	for rows.Next() {
		var uid, ref string
		if err := rows.Scan(&uid, &ref); err != nil {
			return nil, fmt.Errorf("store: check uids: %w", err)
		}
		taken[uid] = ref
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: check uids: %w", err)
	}
	return taken, nil
}

func (w *entityWriter) flushUpdates(ctx context.Context) error {
	batch := w.updates
	if len(batch) == 0 {
		return nil
	}
	w.updates = w.updates[:0]
	args := make([]any, 0, 6*len(batch)+1)
	for _, p := range batch {
		args = append(args, p.ref, p.r.Kind, p.r.Namespace, p.r.Name, p.r.Hash, string(p.r.Body))
	}
	args = append(args, w.source)
	st, err := w.stmts.stmt(ctx, stmtKey{"entity update", len(batch)}, func() string {
		return "UPDATE entities SET kind = v.column2, namespace = v.column3, name = v.column4, hash = v.column5, body = v.column6, updated_at = " +
			w.d.now + " FROM (VALUES " + valuesList(len(batch), 6, "") + ") AS v WHERE entities.ref = v.column1 AND entities.source = ?"
	})
	if err == nil {
		_, err = st.ExecContext(ctx, args...)
	}
	if err != nil {
		return fmt.Errorf("store: update entities: %w", err)
	}
	for _, p := range batch {
		if err := w.ix.index(ctx, p.ref, p.cur.searchID, p.cur.uid, p.r.Body); err != nil {
			return err
		}
		w.res.Updated++
	}
	return nil
}

func (w *entityWriter) flushDeletes(ctx context.Context) error {
	if len(w.deletes) == 0 {
		return nil
	}
	st, err := w.stmts.stmt(ctx, stmtKey{"entity delete", len(w.deletes)}, func() string {
		return "DELETE FROM entities WHERE source = ? AND ref IN (" + placeholders(len(w.deletes)) + ")"
	})
	if err == nil {
		_, err = st.ExecContext(ctx, append([]any{w.source}, anys(w.deletes)...)...)
	}
	if err != nil {
		return fmt.Errorf("store: delete entities: %w", err)
	}
	for _, id := range w.delIDs {
		if err := w.ix.remove(ctx, id); err != nil {
			return err
		}
	}
	w.res.Deleted += len(w.deletes)
	w.deletes, w.delIDs = w.deletes[:0], w.delIDs[:0]
	return nil
}

// toIndex counts the records ReplaceSourceEntities will (re)index: all but
// the unchanged, already indexed ones.
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

// storedEntity is what ReplaceSourceEntities needs of an entity already
// stored: whether it changed, the uid it keeps, and its search id (0 when
// it was stored before the search index existed and is not indexed yet).
type storedEntity struct {
	hash, uid string
	searchID  int64
}

// sourceEntities returns ref → stored entity for every entity of source.
func sourceEntities(ctx context.Context, tx *Tx, source string) (map[string]storedEntity, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.ref, e.hash, e.uid, i.id FROM entities e
		LEFT JOIN entity_search_refs i ON i.ref = e.ref WHERE e.source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
	}
	defer rows.Close()
	m := map[string]storedEntity{}
	for rows.Next() {
		var ref string
		var e storedEntity
		var id sql.NullInt64
		if err := rows.Scan(&ref, &e.hash, &e.uid, &id); err != nil {
			return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
		}
		e.searchID = id.Int64
		m[ref] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
	}
	return m, nil
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
