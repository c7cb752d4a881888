package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// SourceState returns what was recorded of the source's last refresh, or
// an error with code not_found when it was never refreshed.
func (s *Store) SourceState(ctx context.Context, name string) (catalog.SourceState, error) {
	var st catalog.SourceState
	var problems []byte
	var inputs sql.NullString
	err := s.queryRowContext(ctx, "SELECT name, hash, entity_count, problems, refreshed_at, inputs FROM catalog_sources WHERE name = ?", name).
		Scan(&st.Name, &st.Hash, &st.EntityCount, &problems, timeCol{&st.RefreshedAt}, &inputs)
	if errors.Is(err, sql.ErrNoRows) {
		return st, greenroom.Errorf(greenroom.CodeNotFound, "catalog source %s has never been refreshed", name)
	}
	if err != nil {
		return st, fmt.Errorf("store: source state %s: %w", name, err)
	}
	if err := json.Unmarshal(problems, &st.Problems); err != nil {
		return st, fmt.Errorf("store: source state %s: problems: %w", name, err)
	}
	st.Inputs = inputs.String
	return st, nil
}

// SaveSourceState records a source's refresh; RefreshedAt is the
// database's clock. Empty Inputs are stored as NULL.
func (s *Store) SaveSourceState(ctx context.Context, st catalog.SourceState) error {
	problems, err := json.Marshal(append([]string{}, st.Problems...))
	if err != nil {
		return err
	}
	inputs := sql.NullString{String: st.Inputs, Valid: st.Inputs != ""}
	err = s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM catalog_sources WHERE name = ?", st.Name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO catalog_sources (name, hash, entity_count, problems, refreshed_at, inputs) VALUES (?, ?, ?, ?, "+s.d.now+", ?)",
			st.Name, st.Hash, st.EntityCount, string(problems), inputs)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save source state %s: %w", st.Name, err)
	}
	return nil
}

// MarkSourceRefreshed records that a source was refreshed now and found
// unchanged: only its refresh time moves. A source with no state is left
// without one.
func (s *Store) MarkSourceRefreshed(ctx context.Context, name string) error {
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE catalog_sources SET refreshed_at = "+s.d.now+" WHERE name = ?", name)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: mark source %s refreshed: %w", name, err)
	}
	return nil
}
