package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
)

var _ feishu.Store = (*Store)(nil)

const feishuMigrationColumns = "id, status, request, report, error, created_at, updated_at"

// CreateFeishuMigration stores a new migration; a taken id is
// greenroom.CodeConflict.
func (s *Store) CreateFeishuMigration(ctx context.Context, m feishu.Migration) error {
	req, rep, err := feishuJSON(m)
	if err != nil {
		return err
	}
	err = s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO feishu_migrations ("+feishuMigrationColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			m.ID, m.Status, req, rep, m.Error, s.d.timeArg(m.CreatedAt), s.d.timeArg(m.UpdatedAt))
		return err
	})
	if isUniqueViolation(err) {
		return &greenroom.Error{Code: greenroom.CodeConflict, Message: "Feishu migration " + m.ID + " already exists", Err: err}
	}
	if err != nil {
		return fmt.Errorf("store: create feishu migration: %w", err)
	}
	return nil
}

// UpdateFeishuMigration replaces a migration's status, report and error;
// an unknown id is greenroom.CodeNotFound.
func (s *Store) UpdateFeishuMigration(ctx context.Context, m feishu.Migration) error {
	req, rep, err := feishuJSON(m)
	if err != nil {
		return err
	}
	var n int64
	err = s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE feishu_migrations SET status = ?, request = ?, report = ?, error = ?, updated_at = ? WHERE id = ?",
			m.Status, req, rep, m.Error, s.d.timeArg(m.UpdatedAt), m.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: update feishu migration %s: %w", m.ID, err)
	}
	if n == 0 {
		return feishuNotFound(m.ID)
	}
	return nil
}

// FeishuMigration returns one migration; greenroom.CodeNotFound when there
// is none with that id.
func (s *Store) FeishuMigration(ctx context.Context, id string) (feishu.Migration, error) {
	m, err := scanFeishuMigration(s.queryRowContext(ctx, "SELECT "+feishuMigrationColumns+" FROM feishu_migrations WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return feishu.Migration{}, feishuNotFound(id)
	}
	if err != nil {
		return feishu.Migration{}, fmt.Errorf("store: feishu migration %s: %w", id, err)
	}
	return m, nil
}

// FeishuMigrations returns at most limit migrations, newest first.
func (s *Store) FeishuMigrations(ctx context.Context, limit int) ([]feishu.Migration, error) {
	clause, args := s.d.limitOffset(limit, 0)
	rows, err := s.queryContext(ctx, "SELECT "+feishuMigrationColumns+" FROM feishu_migrations ORDER BY created_at DESC, id DESC"+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list feishu migrations: %w", err)
	}
	defer rows.Close()
	out := []feishu.Migration{}
	for rows.Next() {
		m, err := scanFeishuMigration(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list feishu migrations: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list feishu migrations: %w", err)
	}
	return out, nil
}

func feishuJSON(m feishu.Migration) (string, string, error) {
	req, err := json.Marshal(m.Request)
	if err != nil {
		return "", "", fmt.Errorf("store: feishu migration request: %w", err)
	}
	rep, err := json.Marshal(m.Report)
	if err != nil {
		return "", "", fmt.Errorf("store: feishu migration report: %w", err)
	}
	return string(req), string(rep), nil
}

func feishuNotFound(id string) error {
	return &greenroom.Error{Code: greenroom.CodeNotFound, Message: "no Feishu migration " + id}
}

func scanFeishuMigration(row interface{ Scan(...any) error }) (feishu.Migration, error) {
	var m feishu.Migration
	var req, rep string
	if err := row.Scan(&m.ID, &m.Status, &req, &rep, &m.Error, timeCol{&m.CreatedAt}, timeCol{&m.UpdatedAt}); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(req), &m.Request); err != nil {
		return m, fmt.Errorf("request: %w", err)
	}
	if err := json.Unmarshal([]byte(rep), &m.Report); err != nil {
		return m, fmt.Errorf("report: %w", err)
	}
	return m, nil
}
