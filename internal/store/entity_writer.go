package store

// The batched entity writes of one source replacement (entities.go).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// entityBatch is how many entities one insert, update or delete statement
// writes: nine parameters a row stays well under SQLite's limit, and one
// round trip for hundreds of rows is what makes a large sync fast on
// PostgreSQL.
const entityBatch = 500

// entityWriter batches the entity writes of one replacement and hands what
// it writes to the search indexer.
type entityWriter struct {
	tx     *Tx
	d      dialect
	source string
	out    *replaced
	stmts  *stmtCache
	ix     *searchIndexer
	// pre, when set, turns the bodies inserted and updated into their
	// stitched form (ApplySource).
	pre *prestitcher

	inserts []pendingInsert
	updates []pendingUpdate
	touches []pendingTouch
	deletes []pendingDelete
	orphans []string
	delIDs  []int64
	uids    map[string]string // explicit uid → ref, over the whole replace
}

type pendingInsert struct {
	ref, uid, errs string
	r              EntityRecord
}

type pendingUpdate struct {
	ref, errs string
	cur       storedEntity
	r         EntityRecord
}

// pendingTouch is an unchanged entity whose errors changed or that stops
// being an orphan: only those columns are written.
type pendingTouch struct{ ref, errs string }

type pendingDelete struct {
	ref string
	cur storedEntity
}

func (w *entityWriter) insert(ctx context.Context, ref string, r EntityRecord, errs string) error {
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
	w.inserts = append(w.inserts, pendingInsert{ref, uid, errs, r})
	if len(w.inserts) >= entityBatch {
		return w.flushInserts(ctx)
	}
	return nil
}

func (w *entityWriter) update(ctx context.Context, ref string, cur storedEntity, r EntityRecord, errs string) error {
	w.updates = append(w.updates, pendingUpdate{ref, errs, cur, r})
	if len(w.updates) >= entityBatch {
		return w.flushUpdates(ctx)
	}
	return nil
}

func (w *entityWriter) touch(ctx context.Context, ref, errs string) error {
	w.touches = append(w.touches, pendingTouch{ref, errs})
	if len(w.touches) >= entityBatch {
		return w.flushTouches(ctx)
	}
	return nil
}

func (w *entityWriter) remove(ctx context.Context, ref string, cur storedEntity) error {
	w.deletes = append(w.deletes, pendingDelete{ref, cur})
	if cur.searchID != 0 {
		w.delIDs = append(w.delIDs, cur.searchID)
	}
	if len(w.deletes) >= entityBatch {
		return w.flushDeletes(ctx)
	}
	return nil
}

func (w *entityWriter) orphan(ctx context.Context, ref string) error {
	w.orphans = append(w.orphans, ref)
	if len(w.orphans) >= entityBatch {
		return w.flushOrphans(ctx)
	}
	return nil
}

func (w *entityWriter) flush(ctx context.Context) error {
	for _, f := range []func(context.Context) error{w.flushInserts, w.flushUpdates, w.flushTouches, w.flushDeletes, w.flushOrphans} {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

func uidConflict(ref, uid string, err error) error {
	return &greenroom.Error{Code: greenroom.CodeConflict, Message: fmt.Sprintf("entity %s: uid %s is already used by another entity", ref, uid), Err: err}
}

// flushInserts inserts the batch; refs another source owns are claimed
// when they are orphans and come back as conflicts otherwise, in order.
func (w *entityWriter) flushInserts(ctx context.Context) error {
	batch := w.inserts
	if len(batch) == 0 {
		return nil
	}
	w.inserts = w.inserts[:0]
	w.pre.bodies(len(batch), func(i int) (string, string, string, *[]byte) {
		p := &batch[i]
		return p.ref, p.uid, p.errs, &p.r.Body
	})
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
	args := make([]any, 0, 9*len(batch))
	for _, p := range batch {
		args = append(args, p.ref, p.uid, p.r.Kind, p.r.Namespace, p.r.Name, w.source, p.r.Hash, string(p.r.Body), p.errs)
	}
	inserted := make(map[string]bool, len(batch))
	st, err := w.stmts.stmt(ctx, stmtKey{"entity insert", len(batch)}, func() string {
		return "INSERT INTO entities (ref, uid, kind, namespace, name, source, hash, body, errors, created_at, updated_at) VALUES " +
			valuesList(len(batch), 9, ", "+w.d.now+", "+w.d.now) + " ON CONFLICT (ref) DO NOTHING RETURNING ref"
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
	var taken []pendingInsert
	for _, p := range batch {
		if !inserted[p.ref] {
			taken = append(taken, p)
		}
	}
	claimed, err := w.claim(ctx, taken)
	if err != nil {
		return err
	}
	for _, p := range batch {
		switch {
		case claimed[p.ref]:
		case !inserted[p.ref]: // the ref exists, is not ours and not an orphan
			w.out.res.Conflicts = append(w.out.res.Conflicts, p.ref)
		default:
			if err := w.ix.index(ctx, p.ref, 0, p.uid, p.r.Body); err != nil {
				return err
			}
			w.out.inserted[p.ref] = true
			w.out.res.Inserted++
		}
	}
	return nil
}

// claim takes over those of batch that are orphans of another source: the
// row gets this source and the new content and keeps its uid, and the
// relations the orphan emitted under its old source go. It returns the
// refs claimed.
func (w *entityWriter) claim(ctx context.Context, batch []pendingInsert) (map[string]bool, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	refs := make([]any, len(batch))
	for i, p := range batch {
		refs[i] = p.ref
	}
	type orphanRow struct {
		uid, source string
		searchID    int64
	}
	orphans := map[string]orphanRow{}
	rows, err := w.tx.QueryContext(ctx, `SELECT e.ref, e.uid, e.source, i.id FROM entities e
		LEFT JOIN entity_search_refs i ON i.ref = e.ref
		WHERE e.orphaned_at IS NOT NULL AND e.ref IN (`+placeholders(len(refs))+")", refs...)
	if err != nil {
		return nil, fmt.Errorf("store: find orphans to claim: %w", err)
	}
	for rows.Next() {
		var ref string
		var o orphanRow
		var id sql.NullInt64
		if err := rows.Scan(&ref, &o.uid, &o.source, &id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: find orphans to claim: %w", err)
		}
		o.searchID = id.Int64
		orphans[ref] = o
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: find orphans to claim: %w", err)
	}
	claimed := map[string]bool{}
	for _, p := range batch {
		o, ok := orphans[p.ref]
		if !ok {
			continue
		}
		res, err := w.tx.ExecContext(ctx, "UPDATE entities SET source = ?, kind = ?, namespace = ?, name = ?, hash = ?, body = ?, errors = ?, "+
			"orphaned_at = NULL, updated_at = "+w.d.now+" WHERE ref = ? AND orphaned_at IS NOT NULL",
			w.source, p.r.Kind, p.r.Namespace, p.r.Name, p.r.Hash, string(p.r.Body), p.errs, p.ref)
		if err != nil {
			return nil, fmt.Errorf("store: claim orphan %s: %w", p.ref, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue // claimed or deleted meanwhile: a conflict this time
		}
		affected, err := dropOriginRelations(ctx, w.tx, o.source, []any{p.ref})
		if err != nil {
			return nil, err
		}
		w.out.affected = append(w.out.affected, affected...)
		if err := w.ix.index(ctx, p.ref, o.searchID, o.uid, p.r.Body); err != nil {
			return nil, err
		}
		claimed[p.ref] = true
		w.out.res.Updated++
	}
	return claimed, nil
}

// dropOriginRelations deletes the relations that the entities origins
// emitted, under source ("" for any source), and returns the source refs of
// the rows deleted.
func dropOriginRelations(ctx context.Context, tx *Tx, source string, origins []any) ([]string, error) {
	where := "origin_ref IN (" + placeholders(len(origins)) + ")"
	args := origins
	if source != "" {
		where += " AND source_name = ?"
		args = append(append([]any{}, origins...), source)
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT source_ref FROM relations WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: relations of %d entities: %w", len(origins), err)
	}
	var refs []string
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: relations of %d entities: %w", len(origins), err)
		}
		refs = append(refs, ref)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: relations of %d entities: %w", len(origins), err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM relations WHERE "+where, args...); err != nil {
		return nil, fmt.Errorf("store: delete relations of %d entities: %w", len(origins), err)
	}
	return refs, nil
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
	w.pre.bodies(len(batch), func(i int) (string, string, string, *[]byte) {
		p := &batch[i]
		return p.ref, p.cur.uid, p.errs, &p.r.Body
	})
	args := make([]any, 0, 7*len(batch)+1)
	for _, p := range batch {
		args = append(args, p.ref, p.r.Kind, p.r.Namespace, p.r.Name, p.r.Hash, string(p.r.Body), p.errs)
	}
	args = append(args, w.source)
	st, err := w.stmts.stmt(ctx, stmtKey{"entity update", len(batch)}, func() string {
		return "UPDATE entities SET kind = v.column2, namespace = v.column3, name = v.column4, hash = v.column5, body = v.column6, " +
			"errors = v.column7, orphaned_at = NULL, updated_at = " + w.d.now +
			" FROM (VALUES " + valuesList(len(batch), 7, "") + ") AS v WHERE entities.ref = v.column1 AND entities.source = ?"
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
		w.out.res.Updated++
	}
	return nil
}

func (w *entityWriter) flushTouches(ctx context.Context) error {
	batch := w.touches
	if len(batch) == 0 {
		return nil
	}
	w.touches = w.touches[:0]
	args := make([]any, 0, 2*len(batch)+1)
	for _, p := range batch {
		args = append(args, p.ref, p.errs)
	}
	args = append(args, w.source)
	st, err := w.stmts.stmt(ctx, stmtKey{"entity touch", len(batch)}, func() string {
		return "UPDATE entities SET errors = v.column2, orphaned_at = NULL, updated_at = " + w.d.now +
			" FROM (VALUES " + valuesList(len(batch), 2, "") + ") AS v WHERE entities.ref = v.column1 AND entities.source = ?"
	})
	if err == nil {
		_, err = st.ExecContext(ctx, args...)
	}
	if err != nil {
		return fmt.Errorf("store: update entity errors: %w", err)
	}
	w.out.res.Updated += len(batch)
	return nil
}

func (w *entityWriter) flushDeletes(ctx context.Context) error {
	if len(w.deletes) == 0 {
		return nil
	}
	refs := make([]any, len(w.deletes))
	for i, p := range w.deletes {
		refs[i] = p.ref
	}
	st, err := w.stmts.stmt(ctx, stmtKey{"entity delete", len(refs)}, func() string {
		return "DELETE FROM entities WHERE source = ? AND ref IN (" + placeholders(len(refs)) + ")"
	})
	if err == nil {
		_, err = st.ExecContext(ctx, append([]any{w.source}, refs...)...)
	}
	if err != nil {
		return fmt.Errorf("store: delete entities: %w", err)
	}
	for _, id := range w.delIDs {
		if err := w.ix.remove(ctx, id); err != nil {
			return err
		}
	}
	for _, p := range w.deletes {
		w.out.deleted = append(w.out.deleted, catalog.Event{Type: catalog.EventDeleted, Ref: p.ref, UID: p.cur.uid, Source: w.source})
	}
	w.out.res.Deleted += len(w.deletes)
	w.deletes, w.delIDs = w.deletes[:0], w.delIDs[:0]
	return nil
}

// flushOrphans marks the batch orphans; their data, search rows and
// relations stay.
func (w *entityWriter) flushOrphans(ctx context.Context) error {
	batch := w.orphans
	if len(batch) == 0 {
		return nil
	}
	w.orphans = w.orphans[:0]
	st, err := w.stmts.stmt(ctx, stmtKey{"entity orphan", len(batch)}, func() string {
		return "UPDATE entities SET orphaned_at = " + w.d.now + ", updated_at = " + w.d.now +
			" WHERE source = ? AND orphaned_at IS NULL AND ref IN (" + placeholders(len(batch)) + ")"
	})
	if err == nil {
		_, err = st.ExecContext(ctx, append([]any{w.source}, anys(batch)...)...)
	}
	if err != nil {
		return fmt.Errorf("store: mark orphans: %w", err)
	}
	for _, ref := range batch {
		w.out.orphaned[ref] = true
	}
	w.out.res.Orphaned += len(batch)
	return nil
}
