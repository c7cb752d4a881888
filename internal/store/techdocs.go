package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"greenroom/internal/greenroom"
	"greenroom/internal/techdocs"
)

var _ techdocs.StatusStore = (*Store)(nil)

const techdocsColumns = "entity, status, source_key, started_at, finished_at, last_success_at, error, log, warnings, notified_key"

// Bounds of what a build record keeps: a log or an error can be long.
const (
	maxTechDocsLog      = 256 << 10
	maxTechDocsError    = 16 << 10
	maxTechDocsWarnings = 1000
)

// BuildRecord implements techdocs.StatusStore.
func (s *Store) BuildRecord(ctx context.Context, entity string) (techdocs.BuildRecord, error) {
	r, err := scanBuildRecord(s.queryRowContext(ctx, "SELECT "+techdocsColumns+" FROM techdocs_builds WHERE entity = ?", entity))
	if errors.Is(err, sql.ErrNoRows) {
		return techdocs.BuildRecord{}, greenroom.Errorf(greenroom.CodeNotFound, "no docs build for %s", entity)
	}
	if err != nil {
		return techdocs.BuildRecord{}, fmt.Errorf("store: docs build %s: %w", entity, err)
	}
	return r, nil
}

// BuildRecords implements techdocs.StatusStore.
func (s *Store) BuildRecords(ctx context.Context) ([]techdocs.BuildRecord, error) {
	rows, err := s.queryContext(ctx, "SELECT "+techdocsColumns+" FROM techdocs_builds ORDER BY entity")
	if err != nil {
		return nil, fmt.Errorf("store: docs builds: %w", err)
	}
	defer rows.Close()
	var out []techdocs.BuildRecord
	for rows.Next() {
		r, err := scanBuildRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: docs builds: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: docs builds: %w", err)
	}
	return out, nil
}

// SaveBuildRecord implements techdocs.StatusStore.
func (s *Store) SaveBuildRecord(ctx context.Context, r techdocs.BuildRecord) error {
	if r.Entity == "" || r.Status == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "a docs build record needs an entity and a status")
	}
	if len(r.Warnings) > maxTechDocsWarnings {
		r.Warnings = r.Warnings[:maxTechDocsWarnings]
	}
	warnings, err := json.Marshal(r.Warnings)
	if err != nil {
		return fmt.Errorf("store: docs build %s: %w", r.Entity, err)
	}
	if r.Warnings == nil {
		warnings = []byte("[]")
	}
	tp := s.d.timeParam()
	_, err = s.write.ExecContext(ctx, s.d.rebind("INSERT INTO techdocs_builds ("+techdocsColumns+") VALUES (?, ?, ?, "+tp+", "+tp+", "+tp+", ?, ?, ?, ?)"+
		" ON CONFLICT (entity) DO UPDATE SET status = excluded.status, source_key = excluded.source_key, started_at = excluded.started_at,"+
		" finished_at = excluded.finished_at, last_success_at = excluded.last_success_at, error = excluded.error, log = excluded.log,"+
		" warnings = excluded.warnings, notified_key = excluded.notified_key"),
		r.Entity, r.Status, r.SourceKey, s.d.timeArg(r.StartedAt), s.d.timeArg(r.FinishedAt), s.d.timeArg(r.LastSuccessAt),
		truncate(r.Error, maxTechDocsError), truncate(r.Log, maxTechDocsLog), string(warnings), r.NotifiedKey)
	if err != nil {
		return fmt.Errorf("store: save docs build %s: %w", r.Entity, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n… (truncated)"
}

func scanBuildRecord(row interface{ Scan(...any) error }) (techdocs.BuildRecord, error) {
	var r techdocs.BuildRecord
	var warnings string
	err := row.Scan(&r.Entity, &r.Status, &r.SourceKey, timeCol{&r.StartedAt}, timeCol{&r.FinishedAt}, timeCol{&r.LastSuccessAt},
		&r.Error, &r.Log, &warnings, &r.NotifiedKey)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(warnings), &r.Warnings); err != nil {
		return r, fmt.Errorf("warnings: %w", err)
	}
	return r, nil
}
