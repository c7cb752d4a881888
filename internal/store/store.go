package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// DefaultConnectTimeout is how long Open retries an unreachable PostgreSQL
// server when Options.ConnectTimeout is zero.
const DefaultConnectTimeout = 15 * time.Second

// Options says which database Open uses.
type Options struct {
	// Driver is DriverSQLite or DriverPostgres. Empty means PostgreSQL when
	// DSN is set and SQLite otherwise.
	Driver string
	// DSN is the PostgreSQL connection string, a URL such as
	// postgres://user:pass@host:5432/db?sslmode=disable or key=value pairs.
	DSN string
	// SQLitePath is the SQLite database file, or ":memory:" for a private
	// in-memory database. Its directory is the data dir: it is created if
	// missing and locked against other processes.
	SQLitePath string
	// Logger receives start-up and migration messages; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds how long Open retries an unreachable PostgreSQL
	// server, with exponential backoff, before it gives up with a
	// greenroom.CodeUnavailable error. Zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// Store is an open database. It is safe for concurrent use.
//
// On SQLite it holds two pools over one file: a single-connection pool that
// every write goes through, so writers queue in Go instead of contending for
// SQLite's one write lock (which ends in SQLITE_BUSY), and a pool of
// read-only connections, which WAL lets run alongside the writer. On
// PostgreSQL both are the same pool.
type Store struct {
	d     dialect
	read  *sql.DB
	write *sql.DB
	log   *slog.Logger
	// unlock releases the SQLite data dir lock; nil when there is none.
	unlock func() error

	closeOnce sync.Once
	closeErr  error

	// facets and counts cache EntityFacets answers and the totalItems of
	// QueryEntities per catalog version.
	facets readCache[map[string][]query.FacetCount]
	counts readCache[int]
	// estimates caches the planner's bounded counts per catalog version.
	estimates readCache[int]
	// changes counts catalog commits for in-memory caches above the store
	// (read_cache_version.go).
	changes catalogChanges
	// stmts keeps the read pool's statements prepared on SQLite
	// (query_stmts.go).
	stmts readStmtCache
	// wstmts keeps the write pool's bulk statements prepared on SQLite
	// (write_stmts.go); nil on PostgreSQL.
	wstmts *writeStmtCache
	// ckpt runs SQLite's WAL checkpoints in the background
	// (sqlite_checkpoint.go); nil on PostgreSQL and in memory.
	ckpt *checkpointer
	// growth counts the entities batched loads insert, for analyzeAsGrown
	// (source_batches.go).
	growth struct {
		mu                sync.Mutex
		since, analyzedAt int
	}
}

// Open connects to the database opts names, applies pending migrations and
// returns the ready store. It fails with greenroom.CodeInvalid for bad
// options, greenroom.CodeConflict when the SQLite data dir is locked by
// another process or the database schema is newer than this binary, and
// greenroom.CodeUnavailable when PostgreSQL cannot be reached within
// ConnectTimeout.
func Open(ctx context.Context, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	driver := opts.Driver
	if driver == "" {
		driver = DriverSQLite
		if opts.DSN != "" {
			driver = DriverPostgres
		}
	}
	var (
		s   *Store
		err error
	)
	switch driver {
	case DriverSQLite:
		s, err = openSQLite(ctx, opts.SQLitePath, logger)
	case DriverPostgres:
		timeout := opts.ConnectTimeout
		if timeout <= 0 {
			timeout = DefaultConnectTimeout
		}
		s, err = openPostgres(ctx, opts.DSN, timeout, logger)
	default:
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "unknown database driver %q (want %q or %q)", driver, DriverSQLite, DriverPostgres)
	}
	if err != nil {
		return nil, err
	}
	s.changes.origin = newOrigin() // read_cache_version.go
	if err := s.migrate(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	// SQLite's trigram table, filled and kept in step from here on (once
	// after migration 0021, or after a bulk load a crash cut short).
	if err := s.FinishBulkLoad(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Close closes the pools and releases the data dir lock. Calling it again
// returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stmts.close()  // query_stmts.go
		s.wstmts.close() // write_stmts.go
		errs := []error{s.ckpt.close()}
		if s.read != s.write {
			errs = append(errs, s.read.Close())
		}
		errs = append(errs, s.write.Close())
		if s.unlock != nil {
			errs = append(errs, s.unlock())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping checks that the database answers, on every pool.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "database unreachable", Err: err}
	}
	if s.read != s.write {
		if err := s.read.PingContext(ctx); err != nil {
			return &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "database unreachable", Err: err}
		}
	}
	return nil
}

// Driver returns DriverSQLite or DriverPostgres.
func (s *Store) Driver() string { return s.d.name }

// DB returns the pool that serves reads, for metrics (sql.DBStats
// collectors). On PostgreSQL it serves writes too. Other packages must not
// run SQL on it: queries belong in this package.
func (s *Store) DB() *sql.DB { return s.read }

// WriteDB returns the pool that serves writes, for metrics: on SQLite its
// single connection's wait count and duration show write contention. It is
// the same pool as DB on PostgreSQL and for an in-memory SQLite database.
func (s *Store) WriteDB() *sql.DB { return s.write }

// queryContext runs a read on the read pool.
func (s *Store) queryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = s.d.rebind(query)
	if st := s.readStmt(query); st != nil { // query_stmts.go
		return st.QueryContext(ctx, args...)
	}
	return s.read.QueryContext(ctx, query, args...)
}

// queryRowContext runs a single-row read on the read pool.
func (s *Store) queryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query = s.d.rebind(query)
	if st := s.readStmt(query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.read.QueryRowContext(ctx, query, args...)
}
