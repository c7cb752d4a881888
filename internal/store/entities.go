package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// EntityRecord, ReplaceResult and EntityQuery are the catalog's own types:
// the store implements catalog.Store.
type (
	EntityRecord  = catalog.Record
	ReplaceResult = catalog.ReplaceResult
	EntityQuery   = catalog.Query
)

var _ catalog.Store = (*Store)(nil)

const entityColumns = "ref, uid, kind, namespace, name, source, hash, body, created_at, updated_at"

// ReplaceSourceEntities makes recs the complete set of entities supplied by
// source, in one transaction: new refs are inserted, changed ones (by hash)
// updated keeping their uid, unchanged ones not written, and the source's
// rows missing from recs deleted. A ref owned by a different source is not
// taken over but reported in Conflicts. Duplicate refs in recs, or an empty
// source or ref, are greenroom.CodeInvalid; a uid already used by another
// entity is greenroom.CodeConflict.
func (s *Store) ReplaceSourceEntities(ctx context.Context, source string, recs []EntityRecord) (ReplaceResult, error) {
	var res ReplaceResult
	if source == "" {
		return res, greenroom.Errorf(greenroom.CodeInvalid, "entity source is empty")
	}
	seen := make(map[string]bool, len(recs))
	for i := range recs {
		ref := strings.ToLower(recs[i].Ref)
		if ref == "" {
			return res, greenroom.Errorf(greenroom.CodeInvalid, "entity %d from %s has an empty ref", i, source)
		}
		if seen[ref] {
			return res, greenroom.Errorf(greenroom.CodeInvalid, "entity %s appears twice in %s", ref, source)
		}
		seen[ref] = true
	}
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		res = ReplaceResult{}
		// Two replacements of one source (two replicas syncing it) must not
		// interleave, or each would see the other's new rows as another
		// source's and report them as conflicts.
		if err := s.d.lockFor(ctx, tx, "entities source "+source); err != nil {
			return err
		}
		existing, err := sourceHashes(ctx, tx, source)
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, "INSERT INTO entities ("+entityColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, "+s.d.now+", "+s.d.now+") ON CONFLICT (ref) DO NOTHING")
		if err != nil {
			return fmt.Errorf("store: replace entities: %w", err)
		}
		upd, err := tx.PrepareContext(ctx, "UPDATE entities SET kind = ?, namespace = ?, name = ?, hash = ?, body = ?, updated_at = "+s.d.now+" WHERE ref = ? AND source = ?")
		if err != nil {
			return fmt.Errorf("store: replace entities: %w", err)
		}
		for _, r := range recs {
			ref := strings.ToLower(r.Ref)
			hash, ours := existing[ref]
			switch {
			case ours && hash == r.Hash:
				res.Unchanged++
			case ours:
				if _, err := upd.ExecContext(ctx, r.Kind, r.Namespace, r.Name, r.Hash, string(r.Body), ref, source); err != nil {
					return fmt.Errorf("store: update entity %s: %w", ref, err)
				}
				res.Updated++
			default:
				uid := r.UID
				if uid == "" {
					uid = uuid.NewString()
				}
				result, err := ins.ExecContext(ctx, ref, uid, r.Kind, r.Namespace, r.Name, source, r.Hash, string(r.Body))
				if isUniqueViolation(err) {
					return &greenroom.Error{Code: greenroom.CodeConflict, Message: fmt.Sprintf("entity %s: uid %s is already used by another entity", ref, uid), Err: err}
				}
				if err != nil {
					return fmt.Errorf("store: insert entity %s: %w", ref, err)
				}
				n, err := result.RowsAffected()
				if err != nil {
					return fmt.Errorf("store: insert entity %s: %w", ref, err)
				}
				if n == 0 { // the ref exists and is not ours
					res.Conflicts = append(res.Conflicts, ref)
					continue
				}
				res.Inserted++
			}
		}
		for ref := range existing {
			if seen[ref] {
				continue
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM entities WHERE ref = ? AND source = ?", ref, source); err != nil {
				return fmt.Errorf("store: delete entity %s: %w", ref, err)
			}
			res.Deleted++
		}
		return nil
	})
	if err != nil {
		return ReplaceResult{}, err
	}
	return res, nil
}

// sourceHashes returns ref → hash for every entity of source.
func sourceHashes(ctx context.Context, tx *Tx, source string) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT ref, hash FROM entities WHERE source = ?", source)
	if err != nil {
		return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var ref, hash string
		if err := rows.Scan(&ref, &hash); err != nil {
			return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
		}
		m[ref] = hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read entities of %s: %w", source, err)
	}
	return m, nil
}

// ListEntities returns the entities matching q in ref order. A negative
// limit or offset is greenroom.CodeInvalid.
func (s *Store) ListEntities(ctx context.Context, q EntityQuery) ([]EntityRecord, error) {
	if q.Limit < 0 || q.Offset < 0 {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "limit and offset must not be negative")
	}
	query := "SELECT " + entityColumns + " FROM entities"
	var args []any
	if q.Kind != "" {
		query += " WHERE lower(kind) = ?"
		args = append(args, strings.ToLower(q.Kind))
	}
	query += " ORDER BY ref"
	clause, more := s.d.limitOffset(q.Limit, q.Offset)
	query += clause
	args = append(args, more...)

	rows, err := s.queryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list entities: %w", err)
	}
	defer rows.Close()
	var recs []EntityRecord
	for rows.Next() {
		r, err := scanEntity(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list entities: %w", err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list entities: %w", err)
	}
	return recs, nil
}

// EntityByRef returns the entity with the given ref (case-insensitive), or
// a greenroom.CodeNotFound error.
func (s *Store) EntityByRef(ctx context.Context, ref string) (EntityRecord, error) {
	ref = strings.ToLower(ref)
	row := s.queryRowContext(ctx, "SELECT "+entityColumns+" FROM entities WHERE ref = ?", ref)
	r, err := scanEntity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return EntityRecord{}, greenroom.Errorf(greenroom.CodeNotFound, "entity %s not found", ref)
	}
	if err != nil {
		return EntityRecord{}, fmt.Errorf("store: entity %s: %w", ref, err)
	}
	return r, nil
}

// CountEntities returns the number of stored entities.
func (s *Store) CountEntities(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRowContext(ctx, "SELECT COUNT(*) FROM entities").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count entities: %w", err)
	}
	return n, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func scanEntity(sc scanner) (EntityRecord, error) {
	var r EntityRecord
	err := sc.Scan(&r.Ref, &r.UID, &r.Kind, &r.Namespace, &r.Name, &r.Source, &r.Hash, &r.Body,
		timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
	return r, err
}
