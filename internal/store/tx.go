package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Tx is a write transaction begun by WithTx. Its methods take "?"
// placeholders on both engines.
type Tx struct {
	tx *sql.Tx
	d  dialect
	// conn is the connection the transaction runs on, on PostgreSQL, so
	// that bulk writes reach pgx's COPY (copyFrom); nil on SQLite.
	conn *sql.Conn
	// catalog is set once a statement may have written the catalog's
	// tables (see note): the commit then bumps the catalog version.
	catalog bool
	// stmts, on SQLite, holds the write pool's bulk statements prepared
	// across transactions (write_stmts.go).
	stmts *writeStmtCache
}

// note records whether query may write a catalog table (entities,
// entity_search, entity_search_refs): any statement naming one that is not
// a plain SELECT. Statements of other aggregates (jobs, locations, source
// states), which never name them, leave the read caches valid.
func (t *Tx) note(query string) {
	if !t.catalog && strings.Contains(query, "entit") {
		q := strings.TrimSpace(query)
		t.catalog = len(q) < 6 || !strings.EqualFold(q[:6], "SELECT")
	}
}

// ExecContext executes a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.note(query)
	return t.tx.ExecContext(ctx, t.d.rebind(query), args...)
}

// QueryContext runs a query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.note(query)
	return t.tx.QueryContext(ctx, t.d.rebind(query), args...)
}

// QueryRowContext runs a query expected to return at most one row.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.note(query)
	return t.tx.QueryRowContext(ctx, t.d.rebind(query), args...)
}

// PrepareContext prepares a statement for repeated use in the transaction;
// it is closed when the transaction ends.
func (t *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	t.note(query)
	query = t.d.rebind(query)
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st), nil
	}
	return t.tx.PrepareContext(ctx, query)
}

// copyFrom bulk-loads rows into table's columns with PostgreSQL's COPY,
// in the transaction: one stream instead of statements, the fastest way
// PostgreSQL takes many rows. PostgreSQL only.
func (t *Tx) copyFrom(ctx context.Context, table string, columns []string, rows [][]any) error {
	if t.conn == nil {
		return errors.New("store: COPY needs PostgreSQL")
	}
	t.note("COPY " + table)
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: COPY: connection is a %T, not pgx's", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	})
}

type inTxKey struct{}

// errNestedTx stops what would otherwise be a deadlock on SQLite, where the
// write pool has one connection and the outer transaction holds it.
var errNestedTx = errors.New("store: WithTx called inside WithTx; use the outer Tx")

// WithTx runs fn in a write transaction, committing when fn returns nil and
// rolling back when it returns an error or panics (the panic continues).
//
// On SQLite the transaction takes the write lock at BEGIN (BEGIN IMMEDIATE)
// on the single write connection, so it never fails half-way with
// SQLITE_BUSY. That also means fn must use only tx: a Store write method
// called from fn would wait for fn's own transaction forever on SQLite (and
// for an in-memory database, so would a read). Reads through Store methods
// inside fn do not see fn's uncommitted writes.
//
// It is for this package's aggregate files and for tests; code outside
// store calls Store methods instead of writing SQL.
func (s *Store) WithTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if ctx.Value(inTxKey{}) != nil {
		return errNestedTx
	}
	var conn *sql.Conn
	begin := s.write.BeginTx
	if s.d.name == DriverPostgres {
		if conn, err = s.write.Conn(ctx); err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		defer conn.Close() // back to the pool, after the transaction ends
		begin = conn.BeginTx
	}
	sqlTx, err := begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback() // the panic is the error that matters
			panic(p)
		}
	}()
	tx := &Tx{tx: sqlTx, d: s.d, conn: conn, stmts: s.wstmts}
	if err := fn(tx); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return err
	}
	// Last, so that on PostgreSQL the row is locked only until the commit.
	if tx.catalog {
		if _, err := sqlTx.ExecContext(ctx, bumpCatalogVersion); err != nil {
			_ = sqlTx.Rollback()
			return fmt.Errorf("store: bump catalog version: %w", err)
		}
		if err := s.announceCatalogChange(ctx, sqlTx); err != nil { // read_cache_version.go
			_ = sqlTx.Rollback()
			return err
		}
	}
	if err := sqlTx.Commit(); err != nil {
		if tx.catalog {
			// The commit may have landed all the same (a connection lost
			// after COMMIT was sent), and its echo is not counted.
			s.catalogCommitted()
		}
		return fmt.Errorf("store: commit: %w", err)
	}
	s.ckpt.poke() // sqlite_checkpoint.go
	if tx.catalog {
		s.catalogCommitted() // read_cache_version.go
	}
	return nil
}

// withTx is WithTx for this package's own methods: it marks the context
// handed to fn so that a nested WithTx fails instead of deadlocking.
func (s *Store) withTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	return s.WithTx(ctx, func(tx *Tx) error {
		return fn(context.WithValue(ctx, inTxKey{}, true), tx)
	})
}
