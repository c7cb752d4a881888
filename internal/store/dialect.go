package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The driver names accepted in Options.Driver and returned by Store.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// dialect holds every difference between the two SQL dialects, so that the
// queries elsewhere are written once with "?" placeholders.
//
// Time is stored as the engine's native type on PostgreSQL (timestamptz) and
// as integer Unix milliseconds (UTC) on SQLite, which compare and sort
// correctly; timeArg and timeCol convert at the boundary.
type dialect struct {
	name string
	// now is an SQL expression for the current time in the column
	// representation. The database's clock, not the caller's, so that
	// leases written by several replicas are compared on one clock.
	now string
	// skipLocked ends a SELECT that picks rows to claim. On PostgreSQL it
	// lets concurrent claimers pass over rows another transaction holds;
	// SQLite has one writer at a time, so it needs none.
	skipLocked string
}

var (
	sqliteDialect = dialect{
		name: DriverSQLite,
		now:  "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
	}
	postgresDialect = dialect{
		name:       DriverPostgres,
		now:        "now()",
		skipLocked: " FOR UPDATE SKIP LOCKED",
	}
)

// rebind rewrites "?" placeholders to PostgreSQL's "$1, $2, …", leaving
// question marks inside quoted literals and identifiers alone.
// rowKey is the key column of alias, a row of entity_search probed for
// one known entity ("alias.entity_id = …"). SQLite's table is clustered
// by entity (migration 0020), and without statistics its planner rates
// "key = ? AND value < ?" on a key index above the entity's own range of
// the table, then walks all of a key's rows for each entity probed (0.5 s
// for a page ordered by name instead of 1 ms). A unary plus, which makes
// the column an expression no index serves, leaves it the entity's range.
// PostgreSQL's planner has statistics, and its per-entity index.
func (d dialect) rowKey(alias string) string {
	if d.name == DriverSQLite {
		return "+" + alias + ".key"
	}
	return alias + ".key"
}

func (d dialect) rebind(query string) string {
	if d.name != DriverPostgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte // the quote character we are inside, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// timeArg converts t to the argument for a time column; the zero time is
// NULL.
func (d dialect) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if d.name == DriverSQLite {
		return t.UnixMilli()
	}
	return t.UTC()
}

// timeParam is a placeholder for a time argument (from timeArg) that may be
// NULL: PostgreSQL cannot infer the type of a bare NULL parameter inside
// COALESCE.
func (d dialect) timeParam() string {
	if d.name == DriverPostgres {
		return "CAST(? AS TIMESTAMPTZ)"
	}
	return "?"
}

// plusMillis returns an expression for the time expr plus a number of
// milliseconds given as the next "?" argument.
func (d dialect) plusMillis(expr string) string {
	if d.name == DriverPostgres {
		return "(" + expr + " + CAST(? AS BIGINT) * INTERVAL '1 millisecond')"
	}
	return "(" + expr + " + ?)"
}

// limitOffset returns a LIMIT/OFFSET clause and its arguments; limit <= 0
// means no limit.
func (d dialect) limitOffset(limit, offset int) (string, []any) {
	switch {
	case limit > 0 && offset > 0:
		return " LIMIT ? OFFSET ?", []any{limit, offset}
	case limit > 0:
		return " LIMIT ?", []any{limit}
	case offset > 0 && d.name == DriverSQLite:
		return " LIMIT -1 OFFSET ?", []any{offset} // SQLite has no OFFSET without LIMIT
	case offset > 0:
		return " OFFSET ?", []any{offset}
	}
	return "", nil
}

// lockFor takes a transaction-scoped lock on name, serialising the
// transactions that take it; they would otherwise act on snapshots that miss
// each other's inserts. SQLite needs none: its writes are serial already.
func (d dialect) lockFor(ctx context.Context, tx *Tx, name string) error {
	if d.name != DriverPostgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())); err != nil {
		return fmt.Errorf("store: lock %s: %w", name, err)
	}
	return nil
}

// placeholders returns "?, ?, …" with n marks, for IN lists.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// isUniqueViolation reports whether err is a unique or primary key
// constraint violation on either engine.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// timeCol scans a time column written through timeArg or dialect.now: an
// integer of Unix milliseconds on SQLite, a time.Time on PostgreSQL, NULL as
// the zero time. Anything else is an error, never silently the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMilli(x).UTC()
	case time.Time:
		*c.t = x.UTC()
	default:
		return fmt.Errorf("store: cannot scan %T into a time", v)
	}
	return nil
}
