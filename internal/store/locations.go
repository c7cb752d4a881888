package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

var _ catalog.LocationStore = (*Store)(nil)

const locationColumns = "id, type, target, entity_ref, created_at"

// CreateLocation stores a registered location, with a new UUID when
// loc.ID is empty; its type and target already registered is
// greenroom.CodeConflict, as is a taken id.
func (s *Store) CreateLocation(ctx context.Context, loc catalog.Location) (catalog.Location, error) {
	if loc.Type == "" || loc.Target == "" || loc.EntityRef == "" {
		return catalog.Location{}, greenroom.Errorf(greenroom.CodeInvalid, "a location needs a type, a target and an entity ref")
	}
	if loc.ID == "" {
		loc.ID = uuid.NewString()
	}
	var out catalog.Location
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		// seq is the next number; concurrent registrations would read the
		// same maximum without the lock.
		if err := s.d.lockFor(ctx, tx, "locations"); err != nil {
			return err
		}
		row := tx.QueryRowContext(ctx, "INSERT INTO locations ("+locationColumns+", seq) VALUES (?, ?, ?, ?, "+s.d.now+
			", (SELECT COALESCE(MAX(seq), 0) + 1 FROM locations)) RETURNING "+locationColumns,
			loc.ID, loc.Type, loc.Target, loc.EntityRef)
		var err error
		out, err = scanLocation(row)
		return err
	})
	if isUniqueViolation(err) {
		return catalog.Location{}, &greenroom.Error{Code: greenroom.CodeConflict, Message: fmt.Sprintf("Location %s:%s already exists", loc.Type, loc.Target), Err: err}
	}
	if err != nil {
		return catalog.Location{}, fmt.Errorf("store: create location: %w", err)
	}
	return out, nil
}

// Locations returns every registered location, oldest first.
func (s *Store) Locations(ctx context.Context) ([]catalog.Location, error) {
	rows, err := s.queryContext(ctx, "SELECT "+locationColumns+" FROM locations ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("store: list locations: %w", err)
	}
	defer rows.Close()
	out := []catalog.Location{}
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list locations: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list locations: %w", err)
	}
	return out, nil
}

// Location returns one registered location; greenroom.CodeNotFound when
// there is none with that id.
func (s *Store) Location(ctx context.Context, id string) (catalog.Location, error) {
	l, err := scanLocation(s.queryRowContext(ctx, "SELECT "+locationColumns+" FROM locations WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.Location{}, locationNotFound(id)
	}
	if err != nil {
		return catalog.Location{}, fmt.Errorf("store: location %s: %w", id, err)
	}
	return l, nil
}

// UpdateLocation changes the type, target and entity ref of the location
// with loc's id, keeping its creation time. Unknown id:
// greenroom.CodeNotFound; type and target registered by another location:
// greenroom.CodeConflict.
func (s *Store) UpdateLocation(ctx context.Context, loc catalog.Location) (catalog.Location, error) {
	if loc.Type == "" || loc.Target == "" || loc.EntityRef == "" {
		return catalog.Location{}, greenroom.Errorf(greenroom.CodeInvalid, "a location needs a type, a target and an entity ref")
	}
	var out catalog.Location
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		row := tx.QueryRowContext(ctx, "UPDATE locations SET type = ?, target = ?, entity_ref = ? WHERE id = ? RETURNING "+locationColumns,
			loc.Type, loc.Target, loc.EntityRef, loc.ID)
		var err error
		out, err = scanLocation(row)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return catalog.Location{}, locationNotFound(loc.ID)
	case isUniqueViolation(err):
		return catalog.Location{}, &greenroom.Error{Code: greenroom.CodeConflict, Message: fmt.Sprintf("Location %s:%s already exists", loc.Type, loc.Target), Err: err}
	case err != nil:
		return catalog.Location{}, fmt.Errorf("store: update location %s: %w", loc.ID, err)
	}
	return out, nil
}

// DeleteLocation removes a registered location; greenroom.CodeNotFound
// when there is none with that id.
func (s *Store) DeleteLocation(ctx context.Context, id string) error {
	var n int64
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM locations WHERE id = ?", id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete location %s: %w", id, err)
	}
	if n == 0 {
		return locationNotFound(id)
	}
	return nil
}

// locationNotFound is Backstage's message for an unknown location id.
func locationNotFound(id string) error {
	return greenroom.Errorf(greenroom.CodeNotFound, "Found no location with ID %s", id)
}

func scanLocation(row interface{ Scan(...any) error }) (catalog.Location, error) {
	var l catalog.Location
	err := row.Scan(&l.ID, &l.Type, &l.Target, &l.EntityRef, timeCol{&l.CreatedAt})
	return l, err
}
