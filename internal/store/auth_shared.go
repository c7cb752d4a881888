package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"greenroom/internal/greenroom"
)

// Sign-in state that every replica must see but that is worth nothing
// after a minute or an hour: rate-limit counters (fixed windows) and the
// successors of just-rotated session ids. It lives in two tables of
// migration 0017 (UNLOGGED on PostgreSQL: no WAL, emptied by a crash,
// which at worst resets a window or ends a 30 s grace early). Dropping
// them any time is harmless: they are created again on next use, with the
// statements below (the migration's).
const (
	createRateCounters = `CREATE %s TABLE IF NOT EXISTS auth_rate_counters (
    key          TEXT   NOT NULL,
    window_start BIGINT NOT NULL, -- Unix seconds
    n            BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL, -- Unix seconds: purged after
    PRIMARY KEY (key, window_start))`
	createSuccessors = `CREATE %s TABLE IF NOT EXISTS auth_session_successors (
    old_hash   TEXT   PRIMARY KEY,
    new_hash   TEXT   NOT NULL,
    expires_at BIGINT NOT NULL) -- Unix milliseconds`
)

// missingTable reports an error of a query on a table not yet created.
func missingTable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "42P01" // undefined_table
	}
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// ensureShared creates the tables; concurrent creations by other replicas
// are no error.
func (s *Store) ensureShared(ctx context.Context) error {
	kind := ""
	if s.d.name == DriverPostgres {
		kind = "UNLOGGED"
	}
	for _, q := range []string{createRateCounters, createSuccessors} {
		if _, err := s.write.ExecContext(ctx, fmt.Sprintf(q, kind)); err != nil && !isUniqueViolation(err) {
			return fmt.Errorf("store: create sign-in state tables: %w", err)
		}
	}
	return nil
}

// withShared runs fn, creating the tables and running it again when they
// do not exist yet.
func (s *Store) withShared(ctx context.Context, fn func() error) error {
	err := fn()
	if missingTable(err) {
		if err := s.ensureShared(ctx); err != nil {
			return err
		}
		err = fn()
	}
	return err
}

// AddRateCount adds n to the counter key of the fixed window starting at
// window (which ends at expires) and returns the window's total over every
// replica, in one round trip.
func (s *Store) AddRateCount(ctx context.Context, key string, window, expires time.Time, n int) (int, error) {
	var total int64
	err := s.withShared(ctx, func() error {
		return s.write.QueryRowContext(ctx, s.d.rebind(`INSERT INTO auth_rate_counters (key, window_start, n, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key, window_start) DO UPDATE SET n = auth_rate_counters.n + excluded.n RETURNING n`),
			key, window.Unix(), n, expires.Unix()).Scan(&total)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count rate %s: %w", key, err)
	}
	return int(total), nil
}

// AddRateCounts adds n to the counters keys of one window and returns
// their totals in keys' order: a request's user and team counters in one
// round trip.
func (s *Store) AddRateCounts(ctx context.Context, keys []string, window, expires time.Time, n int) ([]int, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows := make([]string, len(keys))
	args := make([]any, 0, 4*len(keys))
	for i, k := range keys {
		rows[i] = "(?, ?, ?, ?)"
		args = append(args, k, window.Unix(), n, expires.Unix())
	}
	totals := map[string]int{}
	err := s.withShared(ctx, func() error {
		clear(totals)
		rs, err := s.write.QueryContext(ctx, s.d.rebind(`INSERT INTO auth_rate_counters (key, window_start, n, expires_at) VALUES `+strings.Join(rows, ", ")+`
ON CONFLICT (key, window_start) DO UPDATE SET n = auth_rate_counters.n + excluded.n RETURNING key, n`), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var k string
			var total int64
			if err := rs.Scan(&k, &total); err != nil {
				return err
			}
			totals[k] = int(total)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: count rates: %w", err)
	}
	out := make([]int, len(keys))
	for i, k := range keys {
		t, ok := totals[k]
		if !ok {
			return nil, fmt.Errorf("store: count rates: no total returned for %s", k)
		}
		out[i] = t
	}
	return out, nil
}

// RateCount returns the counter key of the window starting at window, 0
// when nothing was counted.
func (s *Store) RateCount(ctx context.Context, key string, window time.Time) (int, error) {
	var total int64
	err := s.withShared(ctx, func() error {
		return s.queryRowContext(ctx, "SELECT n FROM auth_rate_counters WHERE key = ? AND window_start = ?", key, window.Unix()).Scan(&total)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read rate %s: %w", key, err)
	}
	return int(total), nil
}

// ClaimRotation records that the session id hash old rotates to next,
// so that requests still carrying the old id, on any replica, find the
// session until until. When another request claimed old's rotation first,
// its successor is kept and returned: the caller lost the race and must
// not rotate.
func (s *Store) ClaimRotation(ctx context.Context, old, next string, until time.Time) (string, error) {
	var winner string
	err := s.withShared(ctx, func() error {
		if _, err := s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO auth_session_successors (old_hash, new_hash, expires_at) VALUES (?, ?, ?)
ON CONFLICT (old_hash) DO NOTHING`), old, next, until.UnixMilli()); err != nil {
			return err
		}
		return s.write.QueryRowContext(ctx, s.d.rebind("SELECT new_hash FROM auth_session_successors WHERE old_hash = ?"), old).Scan(&winner)
	})
	if err != nil {
		return "", fmt.Errorf("store: claim session rotation: %w", err)
	}
	return winner, nil
}

// RotatedTo returns the successor of a session id hash rotated away from
// less than its grace ago; not_found otherwise.
func (s *Store) RotatedTo(ctx context.Context, old string, now time.Time) (string, error) {
	var next string
	err := s.withShared(ctx, func() error {
		return s.queryRowContext(ctx, "SELECT new_hash FROM auth_session_successors WHERE old_hash = ? AND expires_at > ?", old, now.UnixMilli()).Scan(&next)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", greenroom.Errorf(greenroom.CodeNotFound, "no rotation of that session")
	}
	if err != nil {
		return "", fmt.Errorf("store: session rotation: %w", err)
	}
	return next, nil
}

// PurgeShared deletes expired rate counters and rotation records.
func (s *Store) PurgeShared(ctx context.Context, now time.Time) (int, error) {
	var total int64
	err := s.withShared(ctx, func() error {
		total = 0
		for _, q := range []struct {
			sql string
			at  int64
		}{{"DELETE FROM auth_rate_counters WHERE expires_at <= ?", now.Unix()}, {"DELETE FROM auth_session_successors WHERE expires_at <= ?", now.UnixMilli()}} {
			res, err := s.write.ExecContext(ctx, s.d.rebind(q.sql), q.at)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge sign-in state: %w", err)
	}
	return int(total), nil
}
