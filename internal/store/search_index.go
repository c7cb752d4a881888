package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"greenroom/internal/catalog/query"
)

// searchIndexer keeps entity_search in step with the entities written by
// one transaction (ReplaceSourceEntities, or a stitch). It batches
// everything: ids for many new entities come from one statement, the old
// rows of many entities go in one statement, and the new rows of many
// entities come in one multi-row statement, after the deletes.
//
// An entity that already has rows is reindexed by difference: its current
// rows are read (a covering index range, far cheaper than writing) and
// only the rows that changed are deleted and inserted. ApplySource indexes
// each entity twice, as replaced and then as stitched, and the stitch
// mostly adds the relations rows; an update usually changes a few rows.
type searchIndexer struct {
	tx    *Tx
	d     dialect
	stmts *stmtCache
	// queued entities, indexed at the next flush; scoped those reindexed
	// within a stitch's scope (search_index_scoped.go).
	queued []queuedEntity
	scoped []scopedEntity
	// clear holds entity ids all of whose rows go before new rows are
	// inserted; drop those of deleted entities, whose id rows go too.
	clear, drop []int64
	rows        []searchRow
	// bulk is set while the key/value indexes are dropped for a bulk load.
	bulk bool
	// batch is set for a batch of a source written in several
	// (ApplySourceBatch): a first load's batches write without the key
	// indexes, built once by EndBulkLoad.
	batch bool
}

type queuedEntity struct {
	ref, uid string
	id       int64 // 0 until allocated
	body     []byte
	// indexed is set when the entity has rows to reindex by difference.
	indexed bool
}

// searchRow is one entity_search row; value is nil for a null value and
// original nil when it equals value. kind is the entity's (see
// entityKind), the same on all its rows. seq numbers the row among its
// entity's on SQLite, where it is part of the table's key (migration
// 0020); PostgreSQL's table has no such column.
type searchRow struct {
	id                    int64
	seq                   int64
	key                   string
	value, original, kind any
}

// newSearchIndexer returns an indexer writing in tx; call flush (or
// finish, after begin) before the transaction commits.
func newSearchIndexer(tx *Tx, d dialect) *searchIndexer {
	return &searchIndexer{tx: tx, d: d, stmts: newStmtCache(tx)}
}

// begin decides, knowing that about n entities will be indexed, whether
// this is a bulk load, and readies it.
func (ix *searchIndexer) begin(ctx context.Context, n int) error {
	if ix.batch {
		return ix.beginBatch(ctx, n)
	}
	if n < bulkMinEntities {
		return nil
	}
	var indexed int
	if err := ix.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM entity_search_refs").Scan(&indexed); err != nil {
		return fmt.Errorf("store: search index: %w", err)
	}
	if !ix.d.bulkLoad(n, indexed) {
		return nil
	}
	ix.bulk = true
	return ix.d.dropSearchIndex(ctx, ix.tx)
}

// beginBatch is begin for a batch of a source written in several: the
// first batch of a first load (into an empty index) drops the key indexes,
// which stay dropped, readers going on without them, until EndBulkLoad
// builds them. Inserting rows into a table without them is several times
// faster than maintaining them row by row (COPY on PostgreSQL; on SQLite
// the B-tree inserts at random places were a third of a first load), and
// building them once sorts each a single time.
func (ix *searchIndexer) beginBatch(ctx context.Context, n int) error {
	missing, err := ix.d.missingSearchIndexes(ctx, ix.tx)
	if err != nil || missing > 0 || n == 0 {
		return err // dropped by an earlier batch
	}
	// Only into an empty index: once EndBulkLoad has built them, the last
	// batch must not drop them again.
	var indexed int
	if err := ix.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM entity_search_refs LIMIT 1) AS any_row").Scan(&indexed); err != nil {
		return fmt.Errorf("store: search index: %w", err)
	}
	if indexed > 0 {
		return nil
	}
	return ix.d.dropSearchIndex(ctx, ix.tx)
}

// finish flushes what is left and rebuilds the index after a bulk load.
// Outside the batches of a source written in several, it builds the key
// indexes when a load that never ended (a crash) left them dropped.
func (ix *searchIndexer) finish(ctx context.Context) error {
	if err := ix.flush(ctx); err != nil {
		return err
	}
	switch {
	case ix.batch:
		return nil
	case ix.bulk:
		ix.bulk = false
		return ix.d.createSearchIndex(ctx, ix.tx)
	default:
		return ix.d.ensureSearchIndex(ctx, ix.tx)
	}
}

// index replaces the rows of the entity ref, whose search id is id (0 when
// it has none yet), with those of its body, at the next flush.
func (ix *searchIndexer) index(ctx context.Context, ref string, id int64, uid string, body []byte) error {
	ix.queued = append(ix.queued, queuedEntity{ref: ref, uid: uid, id: id, body: body, indexed: id != 0})
	if len(ix.queued) >= searchEntityBatch {
		return ix.flush(ctx)
	}
	return nil
}

// remove deletes the rows and the id of an entity that is being deleted.
func (ix *searchIndexer) remove(ctx context.Context, id int64) error {
	ix.clear = append(ix.clear, id)
	ix.drop = append(ix.drop, id)
	if len(ix.drop) >= searchEntityBatch {
		return ix.flush(ctx)
	}
	return nil
}

// flush writes what is queued: ids, deletes, then inserts.
func (ix *searchIndexer) flush(ctx context.Context) error {
	if err := ix.allocate(ctx); err != nil {
		return err
	}
	ix.queued = lastPerRef(ix.queued)
	fresh := flatten(ix.queued)
	removed, err := ix.diff(ctx, fresh)
	if err != nil {
		return err
	}
	removedScoped, addedScoped, err := ix.diffScoped(ctx)
	if err != nil {
		return err
	}
	removed = append(removed, removedScoped...)
	if len(removed) > 0 {
		if err := ix.d.deleteSearchRows(ctx, ix.stmts, removed); err != nil {
			return fmt.Errorf("store: search index: %w", err)
		}
	}
	if len(ix.clear) > 0 {
		if err := ix.d.deleteIn(ctx, ix.stmts, "entity_search", "entity_id", ix.clear); err != nil {
			return fmt.Errorf("store: search index: %w", err)
		}
		ix.clear = ix.clear[:0]
	}
	if len(ix.drop) > 0 {
		if err := ix.d.deleteIn(ctx, ix.stmts, "entity_search_refs", "id", ix.drop); err != nil {
			return fmt.Errorf("store: search index: %w", err)
		}
		ix.drop = ix.drop[:0]
	}
	for _, rows := range fresh {
		ix.rows = append(ix.rows, rows...)
		if err := ix.insertFull(ctx); err != nil {
			return err
		}
	}
	ix.queued = ix.queued[:0]
	ix.rows = append(ix.rows, addedScoped...)
	if err := ix.insertFull(ctx); err != nil {
		return err
	}
	return ix.insert(ctx)
}

// lastPerRef keeps, of entities queued more than once since the last
// flush, the last body: it is the one to index, and writing the rows of
// both would repeat rows, which SQLite's key (entity_id, seq) refuses.
// (allocate gives an id only to the last of a ref queued twice.)
func lastPerRef(queued []queuedEntity) []queuedEntity {
	last := make(map[string]int, len(queued))
	for i, e := range queued {
		last[e.ref] = i
	}
	if len(last) == len(queued) {
		return queued
	}
	out := queued[:0]
	for i, e := range queued {
		if last[e.ref] == i {
			out = append(out, e)
		}
	}
	return out
}

// flatten computes the rows of each entity, on all processors: decoding
// and flattening the bodies is most of the indexer's own work.
func flatten(queued []queuedEntity) [][]searchRow {
	out := make([][]searchRow, len(queued))
	workers := min(runtime.GOMAXPROCS(0), (len(queued)+63)/64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(queued); i += workers {
				out[i] = entityRows(queued[i])
			}
		})
	}
	wg.Wait()
	return out
}

// allocate gives the queued entities without one a search id. An id left
// behind by an entity deleted outside the store is reused, its stale rows
// cleared.
func (ix *searchIndexer) allocate(ctx context.Context) error {
	var refs []string
	at := map[string]int{}
	for i, e := range ix.queued {
		if e.id == 0 {
			refs = append(refs, e.ref)
			at[e.ref] = i
		}
	}
	if len(refs) == 0 {
		return nil
	}
	scan := func(rows *sql.Rows, stale bool) error {
		defer rows.Close()
		for rows.Next() {
			var ref string
			var id int64
			if err := rows.Scan(&ref, &id); err != nil {
				return err
			}
			ix.queued[at[ref]].id = id
			if stale {
				ix.clear = append(ix.clear, id)
			}
		}
		return rows.Err()
	}
	for chunk := range chunks(refs, searchEntityBatch) {
		st, err := ix.stmts.stmt(ctx, stmtKey{"search ids", len(chunk)}, func() string {
			return "INSERT INTO entity_search_refs (ref) VALUES " + valuesList(len(chunk), 1, "") + " ON CONFLICT (ref) DO NOTHING RETURNING ref, id"
		})
		var rows *sql.Rows
		if err == nil {
			rows, err = st.QueryContext(ctx, anys(chunk)...)
		}
		if err == nil {
			err = scan(rows, false)
		}
		if err != nil {
			return fmt.Errorf("store: search ids: %w", err)
		}
	}
	var missing []string
	for _, ref := range refs {
		if ix.queued[at[ref]].id == 0 {
			missing = append(missing, ref)
		}
	}
	for chunk := range chunks(missing, searchEntityBatch) {
		rows, err := ix.tx.QueryContext(ctx, "SELECT ref, id FROM entity_search_refs WHERE ref IN ("+placeholders(len(chunk))+")", anys(chunk)...)
		if err == nil {
			err = scan(rows, true)
		}
		if err != nil {
			return fmt.Errorf("store: search ids: %w", err)
		}
	}
	return nil
}

// diff reads the current rows of the queued entities that have some and
// turns fresh, the rows each queued entity must have, into the rows to
// insert; it returns the rows to delete. An entity whose kind changed has
// all its rows rewritten, as every row carries the kind.
func (ix *searchIndexer) diff(ctx context.Context, fresh [][]searchRow) ([]searchRow, error) {
	var ids []int64
	at := map[int64]int{}
	for i, e := range ix.queued { // each id once: see lastPerRef
		if e.indexed {
			at[e.id] = i
			ids = append(ids, e.id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	current := make(map[int64][]searchRow, len(ids))
	for chunk := range chunks(ids, searchEntityBatch) {
		if err := ix.d.readSearchRows(ctx, ix.tx, chunk, false, func(r searchRow) { current[r.id] = append(current[r.id], r) }); err != nil {
			return nil, fmt.Errorf("store: search index: read rows: %w", err)
		}
	}
	var removed []searchRow
	for id, i := range at {
		old, want := current[id], fresh[i]
		// The stored rows' kind column holds entityKind of them.
		if len(old) > 0 && entityKind(old) != entityKind(want) {
			ix.clear = append(ix.clear, id)
			continue
		}
		have := make(map[rowIdentity]bool, len(old))
		next := nextSeq(old)
		for _, r := range old {
			have[identity(r)] = true
		}
		keep := make(map[rowIdentity]bool, len(want))
		var add []searchRow
		for _, r := range want {
			k := identity(r)
			keep[k] = true
			if !have[k] {
				r.seq, next = next, next+1
				add = append(add, r)
			}
		}
		for _, r := range old {
			if !keep[identity(r)] {
				removed = append(removed, r)
			}
		}
		fresh[i] = add
	}
	return removed, nil
}

// nextSeq returns the seq after the highest of rows, all of one entity:
// the first free one for rows added to them.
func nextSeq(rows []searchRow) int64 {
	var next int64
	for _, r := range rows {
		next = max(next, r.seq+1)
	}
	return next
}

// rowIdentity is what tells two rows of one entity apart.
type rowIdentity struct {
	key, value, original string
	null, same           bool
}

func identity(r searchRow) rowIdentity {
	v, vok := r.value.(string)
	o, ook := r.original.(string)
	return rowIdentity{key: r.key, value: v, original: o, null: !vok, same: !ook}
}

// entityKind is the value of the kind column of an entity's rows: its one
// non-null kind, lowercased; nil when it has none or several (a kind that
// is not a string), which the planner then cannot scope by (see
// kindScope).
func entityKind(rows []searchRow) any {
	var kind any
	for _, r := range rows {
		if r.key == "kind" && r.value != nil {
			if kind != nil {
				return nil
			}
			kind = r.value
		}
	}
	return kind
}

// entityRows returns the rows of e. A body that does not decode (which the
// catalog never stores) still gets the rows every entity has, so that the
// entity stays listable. A DuplicateKeysError leaves rows for every
// spelling, lowercased into one key: the entity stays findable, and
// rejecting such entities is the catalog's validation to make, per entity.
func entityRows(e queuedEntity) []searchRow {
	rows, err := query.BuildSearchJSON(e.body, e.uid)
	if rows == nil && err != nil {
		rows, _ = query.BuildSearch(map[string]any{"metadata": map[string]any{"uid": e.uid}})
	}
	rows = query.UniqueRows(rows)
	// BuildSearch adds one row for each of singleRowKeys after the walk; a
	// walked key differing only in case (Metadata.Name, which Backstage
	// refuses) would make a second, which the ordered queries rely on not
	// existing.
	last := map[string]int{}
	for i, r := range rows {
		if singleRowKeys[r.Key] {
			last[r.Key] = i
		}
	}
	out := make([]searchRow, 0, len(rows))
	for i, r := range rows {
		if j, single := last[r.Key]; single && i != j {
			continue
		}
		row := searchRow{id: e.id, key: noNUL(r.Key)}
		if !r.Null {
			row.value = noNUL(r.Value)
			if r.Original != r.Value {
				row.original = noNUL(r.Original)
			}
		}
		out = append(out, row)
	}
	kind := entityKind(out)
	for i := range out {
		out[i].kind, out[i].seq = kind, int64(i)
	}
	return out
}

// insertFull inserts the rows queued in statements of exactly
// searchBatchRows, keeping the rest queued: one statement shape serves
// every full batch, so that it stays prepared (write_stmts.go).
func (ix *searchIndexer) insertFull(ctx context.Context) error {
	n := ix.d.searchBatchRows()
	if len(ix.rows) < n {
		return nil
	}
	done := 0
	for ; len(ix.rows)-done >= n; done += n {
		if err := ix.d.insertSearchRows(ctx, ix.stmts, ix.rows[done:done+n]); err != nil {
			return fmt.Errorf("store: search index: %w", err)
		}
	}
	ix.rows = ix.rows[:copy(ix.rows, ix.rows[done:])]
	return nil
}

func (ix *searchIndexer) insert(ctx context.Context) error {
	if len(ix.rows) == 0 {
		return nil
	}
	if err := ix.d.insertSearchRows(ctx, ix.stmts, ix.rows); err != nil {
		return fmt.Errorf("store: search index: %w", err)
	}
	ix.rows = ix.rows[:0]
	return nil
}

// chunks yields s in pieces of at most n.
func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// noNUL replaces NUL characters, which PostgreSQL text cannot hold; both
// engines store the same text.
func noNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
