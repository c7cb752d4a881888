package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"greenroom/internal/greenroom"
)

// EntityByUID returns the entity with that uid, or an error with code
// not_found.
func (s *Store) EntityByUID(ctx context.Context, uid string) (EntityRecord, error) {
	r, err := scanEntity(s.queryRowContext(ctx, "SELECT "+entityColumns+" FROM entities WHERE uid = ?", uid))
	if errors.Is(err, sql.ErrNoRows) {
		return EntityRecord{}, greenroom.Errorf(greenroom.CodeNotFound, "no entity with uid %s", uid)
	}
	if err != nil {
		return EntityRecord{}, fmt.Errorf("store: entity by uid %s: %w", uid, err)
	}
	return r, nil
}

// DeleteEntityByUID removes one entity, in one transaction: its row, its
// search rows, the relations its source recorded from or to it, and the
// source's refresh hash, so that the next refresh of a source that still
// supplies the entity brings it back (as Backstage's removeEntityByUid
// does). The entities on the other end of its relations are restitched.
// An unknown uid is an error with code not_found.
func (s *Store) DeleteEntityByUID(ctx context.Context, uid string) error {
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		var ref, source string
		err := tx.QueryRowContext(ctx, "SELECT ref, source FROM entities WHERE uid = ?", uid).Scan(&ref, &source)
		if errors.Is(err, sql.ErrNoRows) {
			return greenroom.Errorf(greenroom.CodeNotFound, "no entity with uid %s", uid)
		}
		if err != nil {
			return err
		}
		var others []string
		rows, err := tx.QueryContext(ctx, "SELECT DISTINCT source_ref FROM relations WHERE target_ref = ? AND source_ref <> ?", ref, ref)
		if err != nil {
			return err
		}
		for rows.Next() {
			var o string
			if err := rows.Scan(&o); err != nil {
				rows.Close()
				return err
			}
			others = append(others, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM relations WHERE source_name = ? AND (source_ref = ? OR target_ref = ?)",
		} {
			if _, err := tx.ExecContext(ctx, q, source, ref, ref); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM entities WHERE ref = ?", ref); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM catalog_sources WHERE name = ?", source); err != nil {
			return err
		}
		ids, err := searchIDs(ctx, tx, []any{ref})
		if err != nil {
			return err
		}
		if id, ok := ids[ref]; ok {
			ix := newSearchIndexer(tx, s.d)
			if err := ix.remove(ctx, id); err != nil {
				return err
			}
			if err := ix.flush(ctx); err != nil {
				return err
			}
		}
		for batch := range chunks(others, stitchBatch) {
			if err := s.stitch(ctx, tx, batch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete entity %s: %w", uid, err)
	}
	return nil
}
