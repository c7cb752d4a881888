package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// stmtKey names a statement of a transaction: its purpose and, for the
// multi-row ones, how many rows it writes.
type stmtKey struct {
	name string
	rows int
}

// stmtCache keeps the prepared statements of one write transaction, so
// that a multi-row statement of a given size is parsed once however many
// batches run it (parsing a VALUES list of thousands of rows costs more
// than executing it).
type stmtCache struct {
	tx *Tx
	m  map[stmtKey]*sql.Stmt
}

func newStmtCache(tx *Tx) *stmtCache { return &stmtCache{tx: tx, m: map[stmtKey]*sql.Stmt{}} }

// stmt returns the statement for key, preparing build() the first time.
// It is closed with the transaction.
func (c *stmtCache) stmt(ctx context.Context, key stmtKey, build func() string) (*sql.Stmt, error) {
	if st, ok := c.m[key]; ok {
		return st, nil
	}
	st, err := c.tx.PrepareContext(ctx, build())
	if err != nil {
		return nil, err
	}
	c.m[key] = st
	return st, nil
}

// valuesList returns "(?, …), (?, …)…": rows tuples of cols marks, each
// followed by suffix inside the parentheses.
func valuesList(rows, cols int, suffix string) string {
	tuple := "(" + placeholders(cols) + suffix + ")"
	return strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ")
}

// How many entities the search index handles per batch of statements.
const searchEntityBatch = 500

// searchBatchRows is how many index rows one insert statement carries:
// SQLite binds five parameters per row and allows 32766; PostgreSQL's
// COPY takes any number.
func (d dialect) searchBatchRows() int {
	if d.name == DriverPostgres {
		return 20000
	}
	return 2000
}

// insertSearchRows inserts one batch of index rows: a multi-row VALUES
// list on SQLite, COPY on PostgreSQL.
func (d dialect) insertSearchRows(ctx context.Context, stmts *stmtCache, rows []searchRow) error {
	if d.name == DriverPostgres {
		data := make([][]any, len(rows))
		for i, r := range rows {
			data[i] = []any{r.id, r.key, r.value, r.original, r.kind}
		}
		if err := stmts.tx.copyFrom(ctx, "entity_search", []string{"entity_id", "key", "value", "original_value", "kind"}, data); err != nil {
			return fmt.Errorf("copy %d rows: %w", len(rows), err)
		}
		return nil
	}
	// OR FAIL: a key conflict (which the store never causes) fails the
	// statement without undoing its earlier rows, so SQLite keeps no
	// statement journal for it; the transaction is rolled back anyway.
	st, err := stmts.stmt(ctx, stmtKey{"search insert", len(rows)}, func() string {
		return "INSERT OR FAIL INTO entity_search (entity_id, seq, key, value, original_value, kind) VALUES " + valuesList(len(rows), 6, "")
	})
	if err != nil {
		return fmt.Errorf("insert %d rows: %w", len(rows), err)
	}
	args := make([]any, 0, 6*len(rows))
	for _, r := range rows {
		args = append(args, r.id, r.seq, r.key, r.value, r.original, r.kind)
	}
	if _, err := st.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("insert %d rows: %w", len(rows), err)
	}
	return nil
}

// textOrNil is a nullable text column's value for pgx's arrays.
func textOrNil(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

// readSearchRows calls fn with each stored row of the entities ids (their
// kind column left out: entityKind of the rows is what it holds), or with
// scope only those of a stitch's scope and the kind rows. The statement
// reads a range of SQLite's table per entity (it is clustered by entity),
// and PostgreSQL's per-entity index, which covers it.
func (d dialect) readSearchRows(ctx context.Context, tx *Tx, ids []int64, scope bool, fn func(searchRow)) error {
	q, args := "SELECT entity_id, seq, key, value, original_value FROM entity_search WHERE entity_id IN ("+placeholders(len(ids))+")", anys(ids)
	if d.name == DriverPostgres {
		q, args = "SELECT entity_id, 0, key, value, original_value FROM entity_search WHERE entity_id = ANY(CAST(? AS BIGINT[]))", []any{ids}
	}
	if scope { // a stitch's scope and the kind (search_index_scoped.go)
		q += " AND (key IN ('kind', ?) OR substr(key, 1, ?) = ?)"
		args = append(args, orphanSearchKey, len(relationsKeyPrefix), relationsKeyPrefix)
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r searchRow
		var value, original *string
		if err := rows.Scan(&r.id, &r.seq, &r.key, &value, &original); err != nil {
			return err
		}
		if value != nil {
			r.value = *value
		}
		if original != nil {
			r.original = *original
		}
		fn(r)
	}
	return rows.Err()
}

// deleteSearchRows deletes single rows read from the table: by primary key
// on SQLite (entity, key and seq), one prepared statement per row, where a
// statement costs microseconds; on PostgreSQL each named by its entity, key
// and value (which are unique per entity), three arrays unnested, one
// round trip.
func (d dialect) deleteSearchRows(ctx context.Context, stmts *stmtCache, rows []searchRow) error {
	if d.name == DriverPostgres {
		ids, keys, values := make([]int64, len(rows)), make([]string, len(rows)), make([]*string, len(rows))
		for i, r := range rows {
			ids[i], keys[i], values[i] = r.id, r.key, textOrNil(r.value)
		}
		st, err := stmts.stmt(ctx, stmtKey{name: "search delete rows"}, func() string {
			return `DELETE FROM entity_search s USING unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS d(id, key, value)
				WHERE s.entity_id = d.id AND s.key = d.key COLLATE "C" AND (s.value = d.value COLLATE "C" OR (s.value IS NULL AND d.value IS NULL))`
		})
		if err == nil {
			_, err = st.ExecContext(ctx, ids, keys, values)
		}
		if err != nil {
			return fmt.Errorf("delete %d rows: %w", len(rows), err)
		}
		return nil
	}
	st, err := stmts.stmt(ctx, stmtKey{name: "search delete row"}, func() string {
		return "DELETE FROM entity_search WHERE entity_id = ? AND key = ? AND seq = ?"
	})
	if err != nil {
		return fmt.Errorf("delete rows: %w", err)
	}
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r.id, r.key, r.seq); err != nil {
			return fmt.Errorf("delete row: %w", err)
		}
	}
	return nil
}

// nextSeqs sets next[id], for each of ids, to the seq after the highest
// of the entity's rows on SQLite (0 when it has none): a walk of each
// entity's range of the table.
func (d dialect) nextSeqs(ctx context.Context, tx *Tx, ids []int64, next map[int64]int64) error {
	rows, err := tx.QueryContext(ctx, "SELECT r.id, (SELECT MAX(s.seq) FROM entity_search s WHERE s.entity_id = r.id)"+
		" FROM entity_search_refs r WHERE r.id IN ("+placeholders(len(ids))+")", anys(ids)...)
	if err != nil {
		return fmt.Errorf("read seqs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var top sql.NullInt64
		if err := rows.Scan(&id, &top); err != nil {
			return fmt.Errorf("read seqs: %w", err)
		}
		if top.Valid {
			next[id] = top.Int64 + 1
		}
	}
	return rows.Err()
}

// deleteIn deletes the rows of table whose column is one of ids.
func (d dialect) deleteIn(ctx context.Context, stmts *stmtCache, table, column string, ids []int64) error {
	if d.name == DriverPostgres {
		st, err := stmts.stmt(ctx, stmtKey{name: "delete " + table}, func() string {
			return "DELETE FROM " + table + " WHERE " + column + " = ANY(CAST(? AS BIGINT[]))"
		})
		if err == nil {
			_, err = st.ExecContext(ctx, ids)
		}
		if err != nil {
			return fmt.Errorf("delete from %s: %w", table, err)
		}
		return nil
	}
	for chunk := range chunks(ids, searchEntityBatch) {
		st, err := stmts.stmt(ctx, stmtKey{"delete " + table, len(chunk)}, func() string {
			return "DELETE FROM " + table + " WHERE " + column + " IN (" + placeholders(len(chunk)) + ")"
		})
		if err == nil {
			_, err = st.ExecContext(ctx, anys(chunk)...)
		}
		if err != nil {
			return fmt.Errorf("delete from %s: %w", table, err)
		}
	}
	return nil
}

// sqliteWriteCacheKiB is the page cache of SQLite's write connection
// while ReplaceSourceEntities runs. The default 2 MiB is exhausted by
// indexing a few thousand entities, after which SQLite spills dirty pages
// to the WAL in the middle of the transaction and writes most of them
// again; with room for the indexes' working set the same load takes a
// fraction of the time. Pages are allocated only as used, and given back
// when the write is done.
const (
	sqliteWriteCacheKiB   = 256 << 10
	sqliteDefaultCacheKiB = 2000 // SQLite's own default
)

// prepareBulkWrite readies the write connection, before a transaction,
// for many index rows: the page cache above, statement journals in memory
// (SQLite journals the pages a multi-row INSERT touches so that the
// statement alone can be undone, in a temporary file a write system call
// per page), and sorting on several threads for CREATE INDEX after a bulk
// load. finishBulkWrite gives the cache back.
func (d dialect) prepareBulkWrite(ctx context.Context, db *sql.DB) error {
	return d.prepareWrite(ctx, db, sqliteWriteCacheKiB)
}

// prepareWrite is prepareBulkWrite with a page cache of cacheKiB.
func (d dialect) prepareWrite(ctx context.Context, db *sql.DB, cacheKiB int) error {
	if d.name != DriverSQLite {
		return nil
	}
	return execPragmas(ctx, db,
		fmt.Sprintf("PRAGMA cache_size = -%d", cacheKiB),
		"PRAGMA temp_store = MEMORY",
		fmt.Sprintf("PRAGMA threads = %d", min(4, runtime.GOMAXPROCS(0))))
}

// execPragmas runs SQLite pragmas on db (the one-connection write pool), in
// order.
func execPragmas(ctx context.Context, db *sql.DB, pragmas ...string) error {
	for _, pragma := range pragmas {
		if _, err := db.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("store: %s: %w", pragma, err)
		}
	}
	return nil
}

// prepareIndexBuild readies SQLite's write connection for building the
// key indexes after a bulk load, which sorts every row of entity_search:
// the sorter keeps in memory what the page cache allows and spills the
// rest to temporary files, which must then be files (in memory, as
// prepareWrite has them, they held the whole table once more: 1.3 GB of
// RSS at 100k entities). finishIndexBuild puts back the temp store and
// SQLite's default cache.
//
// The sort runs on one thread with a small cache: each sorter thread holds
// a run of cache_size bytes, and at 100k entities (2.8M rows) a 64 MiB
// cache on two threads took the build to 270 MB resident for no gain in
// time (10.9 s against 7.3–8.8 s with 16 MiB on one; sqlite3 CLI on the
// same file), small runs sorting within the CPU's caches.
func (d dialect) prepareIndexBuild(ctx context.Context, db *sql.DB) error {
	if d.name != DriverSQLite {
		return nil
	}
	return execPragmas(ctx, db,
		fmt.Sprintf("PRAGMA cache_size = -%d", sqliteIndexBuildCacheKiB),
		"PRAGMA temp_store = FILE",
		"PRAGMA threads = 1")
}

// sqliteIndexBuildCacheKiB is the write connection's page cache, and so
// each sorted run's size, while the key indexes are built.
const sqliteIndexBuildCacheKiB = 16 << 10

func (d dialect) finishIndexBuild(ctx context.Context, db *sql.DB) {
	if d.name == DriverSQLite {
		_, _ = db.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = MEMORY")
		d.finishBulkWrite(ctx, db)
	}
}

// finishBulkWrite shrinks the write connection's page cache back to
// SQLite's default after the transaction. Best effort: a cache left large
// only costs memory.
func (d dialect) finishBulkWrite(ctx context.Context, db *sql.DB) {
	if d.name == DriverSQLite {
		_, _ = db.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_size = -%d", sqliteDefaultCacheKiB))
	}
}

// searchKeyIndexes are the indexes over all of a key's rows that the
// migrations create (0003, 0006); a bulk load drops them and builds them
// again (as CREATE INDEX sorts once instead of inserting rows at random
// places one by one).
var searchKeyIndexes = []struct{ name, create string }{
	{"entity_search_key_value", "CREATE INDEX entity_search_key_value ON entity_search (key, value, entity_id, original_value)"},
	{"entity_search_key_kind", "CREATE INDEX entity_search_key_kind ON entity_search (key, kind, value, entity_id, original_value)"},
}

// Bulk loading: rebuilding the key indexes costs about a third of
// inserting the same rows into it one by one, so a load of more than
// bulkFraction of what is indexed rebuilds it, once it is worth a DDL
// statement at all.
var (
	bulkMinEntities = 5000 // a variable for tests
	bulkFraction    = 0.4
)

// bulkLoad reports whether indexing n more entities, with indexed already
// indexed, should rebuild the key/value index rather than insert into it.
// On PostgreSQL dropping the index locks entity_search against readers
// until the transaction ends, so only a first load (into an index too
// small to matter to anyone) does it; SQLite's readers go on reading the
// snapshot before the transaction.
func (d dialect) bulkLoad(n, indexed int) bool {
	if n < bulkMinEntities {
		return false
	}
	if d.name == DriverPostgres {
		return indexed < bulkMinEntities
	}
	return float64(n) > bulkFraction*float64(indexed)
}

// dropSearchIndex and createSearchIndex bracket a bulk load, in one
// transaction.
func (d dialect) dropSearchIndex(ctx context.Context, tx *Tx) error {
	names := []string{searchKeyIndexes[0].name, searchKeyIndexes[1].name}
	if d.name == DriverPostgres {
		names = append(names, trigramIndex)
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, "DROP INDEX IF EXISTS "+name); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
	}
	return d.dropTextIndex(ctx, tx)
}

func (d dialect) createSearchIndex(ctx context.Context, tx *Tx) error {
	if d.name == DriverPostgres {
		// Sorting millions of rows in the default 64 MB spills to disk.
		if _, err := tx.ExecContext(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
	}
	if err := createKeyIndexes(ctx, tx); err != nil {
		return err
	}
	return d.createTrigramIndex(ctx, tx)
}

// trigramIndex is PostgreSQL's GIN index of the trigrams of the values of
// trigramKeys (migration 0018), which PostgreSQL's planner uses for a
// full-text filter of three letters or more on those keys when it expects
// few matches (a term matching nothing cost a walk of every candidate
// without it: 152 ms for kind=component at 100k entities, 0.2 ms with it);
// it exists where pg_trgm is installed. A first load drops it with the key
// indexes and builds it after them: one GIN build of all the rows costs
// less than inserting them into it row by row.
const trigramIndex = "entity_search_value_trgm"

// trigramKeys are the keys trigramIndex covers: those full-text filters
// read by default and the UI searches.
var trigramKeys = []string{"metadata.name", "metadata.title", "spec.profile.displayname"}

// trigramSchema returns the schema pg_trgm is installed in, "" when it is
// not (and always on SQLite).
func (d dialect) trigramSchema(ctx context.Context, tx *Tx) (string, error) {
	if d.name != DriverPostgres {
		return "", nil
	}
	var schema sql.NullString
	err := tx.QueryRowContext(ctx, "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'").Scan(&schema)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: pg_trgm: %w", err)
	}
	return schema.String, nil
}

// createTrigramIndex builds PostgreSQL's trigramIndex if pg_trgm is
// installed and the index is not there, or SQLite's trigram table
// (createTextIndex).
func (d dialect) createTrigramIndex(ctx context.Context, tx *Tx) error {
	if d.name == DriverSQLite {
		_, err := d.createTextIndex(ctx, tx)
		return err
	}
	schema, err := d.trigramSchema(ctx, tx)
	if err != nil || schema == "" {
		return err
	}
	create := "CREATE INDEX IF NOT EXISTS " + trigramIndex + " ON entity_search USING gin (value " + quoteIdent(schema) + ".gin_trgm_ops)" +
		" WHERE key IN " + textKeyList
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	return nil
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// missingSearchIndexes counts the key indexes that do not exist, and the
// trigram index: on PostgreSQL with pg_trgm installed, its GIN index; on
// SQLite, its table's triggers, counted as one (search_text.go).
func (d dialect) missingSearchIndexes(ctx context.Context, tx *Tx) (int, error) {
	if d.name == DriverPostgres {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN (?, ?))
			+ CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')
				THEN (SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?) ELSE 1 END`,
			searchKeyIndexes[0].name, searchKeyIndexes[1].name, trigramIndex).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("store: search indexes: %w", err)
		}
		return len(searchKeyIndexes) + 1 - n, nil
	}
	missing, err := sqliteMissingKeyIndexes(ctx, tx)
	if err != nil {
		return 0, err
	}
	if text, err := d.textIndexMissing(ctx, tx); err != nil {
		return 0, err
	} else if text {
		missing++ // the trigram table's triggers, one more index to build
	}
	return missing, nil
}

// ensureSearchIndex builds the key indexes and the trigram index if they
// are missing.
func (d dialect) ensureSearchIndex(ctx context.Context, tx *Tx) error {
	missing, err := d.missingSearchIndexes(ctx, tx)
	if err != nil || missing == 0 {
		return err
	}
	return d.createSearchIndex(ctx, tx)
}

// ensureKeyIndexes is ensureSearchIndex but for SQLite's trigram table,
// which it leaves as it is.
func (d dialect) ensureKeyIndexes(ctx context.Context, tx *Tx) error {
	if d.name != DriverSQLite {
		return d.ensureSearchIndex(ctx, tx)
	}
	missing, err := sqliteMissingKeyIndexes(ctx, tx)
	if err != nil || missing == 0 {
		return err
	}
	return createKeyIndexes(ctx, tx)
}

// sqliteMissingKeyIndexes counts the key indexes missing on SQLite.
func sqliteMissingKeyIndexes(ctx context.Context, tx *Tx) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)",
		searchKeyIndexes[0].name, searchKeyIndexes[1].name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: search indexes: %w", err)
	}
	return len(searchKeyIndexes) - n, nil
}

// createKeyIndexes creates the key indexes that do not exist.
func createKeyIndexes(ctx context.Context, tx *Tx) error {
	for _, ix := range searchKeyIndexes {
		create := strings.Replace(ix.create, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
		if _, err := tx.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
	}
	return nil
}

// readTxOptions are those of the read-only transaction a query runs its
// statements in: one snapshot for all of them (SQLite's WAL gives every
// read transaction one; PostgreSQL needs REPEATABLE READ for it).
func (d dialect) readTxOptions() *sql.TxOptions {
	if d.name == DriverPostgres {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// prepareRead sets up a query's read transaction. On PostgreSQL: the
// driver prepares statements, and after five runs PostgreSQL may switch to
// a generic plan that ignores the values (a LIMIT of 21, a selective key)
// the planned statements depend on; and compiling the rare costly count
// with JIT takes longer than running it.
func (d dialect) prepareRead(ctx context.Context, tx *sql.Tx) error {
	if d.name != DriverPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)")
	return err
}

// restitchAnalyzeMin is how many entities a restitch takes for the
// statistics to be refreshed first (analyzeCatalog): so many follow a bulk
// load, after which they are stale. A variable for tests.
var restitchAnalyzeMin = 1000

// analyzeCatalog refreshes PostgreSQL's planner statistics of the catalog
// tables. After a bulk load they describe the tables as they were before
// it, empty for a first load, unless autovacuum has caught up (it may lag,
// or be off): the planner then reads one entity's search rows, by
// entity_id = ANY(…), with a parallel scan of the whole table, which at 1M
// entities (25M rows) took a minute per batch of the restitch that ends
// the load. ANALYZE samples a bounded number of rows, a second or two at
// that size. SQLite's planner goes by the indexes without statistics.
func (d dialect) analyzeCatalog(ctx context.Context, db *sql.DB) error {
	if d.name != DriverPostgres {
		return nil
	}
	if _, err := db.ExecContext(ctx, "ANALYZE entities, entity_search, entity_search_refs, relations"); err != nil {
		return fmt.Errorf("store: analyze: %w", err)
	}
	return nil
}
