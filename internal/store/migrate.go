package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"

	"greenroom/internal/greenroom"
)

//go:embed migrations
var migrationsFS embed.FS

// migrationLockKey is the PostgreSQL advisory lock held while migrating, so
// that replicas starting together apply each migration once. ("grmigr")
const migrationLockKey int64 = 0x6772_6d69_6772

var migrationFile = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// migration is one embedded NNNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the dialect's migrations in order. Versions must
// run 1, 2, 3… without gaps, so "latest" is simply the count.
func loadMigrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("store: migration file %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		v, _ := strconv.Atoi(m[1]) // four digits: cannot fail
		if v != len(ms)+1 {
			return nil, fmt.Errorf("store: migration %s/%s: want version %04d next", dir, e.Name(), len(ms)+1)
		}
		body, err := fs.ReadFile(migrationsFS, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: m[2], sql: string(body)})
	}
	return ms, nil
}

// migrate applies the pending migrations, each in its own transaction, and
// refuses a database whose schema is newer than this binary or whose
// history disagrees with the embedded files.
func (s *Store) migrate(ctx context.Context) (err error) {
	ms, err := loadMigrations(s.d.name)
	if err != nil {
		return err
	}
	// One session throughout: PostgreSQL advisory locks belong to it.
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer func() { err = errors.Join(err, conn.Close()) }()
	if s.d.name == DriverPostgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("store: migrate: take lock: %w", err)
		}
		defer func() {
			_, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
			if uerr != nil {
				// Never hand a session still holding the lock back to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("store: migrate: release lock: %w", uerr))
			}
		}()
	}
	appliedAt := "INTEGER NOT NULL" // Unix ms, as every SQLite time column
	if s.d.name == DriverPostgres {
		appliedAt = "TIMESTAMPTZ NOT NULL"
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at `+appliedAt+`)`); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return err
	}
	for v, name := range applied {
		if v < 1 {
			return greenroom.Errorf(greenroom.CodeConflict, "database has migration version %d, which no greenroom build writes", v)
		}
		if v > len(ms) {
			return greenroom.Errorf(greenroom.CodeConflict,
				"database schema is at version %d but this greenroom binary knows only up to %d: run a newer greenroom (or restore a matching backup)", maxKey(applied), len(ms))
		}
		if want := ms[v-1].name; name != want {
			return greenroom.Errorf(greenroom.CodeConflict,
				"database migration %04d is %q but this binary's is %q: the database was migrated by a different build", v, name, want)
		}
	}
	for _, m := range ms {
		if _, ok := applied[m.version]; ok {
			continue
		}
		if err := s.apply(ctx, conn, m); err != nil {
			return err
		}
		s.log.Info("migration applied", "version", m.version, "name", m.name, "driver", s.d.name)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %04d_%s: %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return errors.Join(fmt.Errorf("store: migration %04d_%s: %w", m.version, m.name, err), tx.Rollback())
	}
	q := s.d.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, " + s.d.now + ")")
	if _, err := tx.ExecContext(ctx, q, m.version, m.name); err != nil {
		return errors.Join(fmt.Errorf("store: record migration %04d: %w", m.version, err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migration %04d_%s: commit: %w", m.version, m.name, err)
	}
	return nil
}

func appliedMigrations(ctx context.Context, conn *sql.Conn) (map[int]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version, name FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]string{}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		applied[v] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	return applied, nil
}

func maxKey(m map[int]string) int {
	n := 0
	for k := range m {
		n = max(n, k)
	}
	return n
}

// MigrationStatus returns the highest migration version applied to the
// database and the highest this binary knows; the store is current when
// they are equal (a readiness check).
func (s *Store) MigrationStatus(ctx context.Context) (applied, latest int, err error) {
	ms, err := loadMigrations(s.d.name)
	if err != nil {
		return 0, 0, err
	}
	if err := s.queryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&applied); err != nil {
		return 0, 0, fmt.Errorf("store: migration status: %w", err)
	}
	return applied, len(ms), nil
}
