package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"greenroom/internal/access/authn"
	"greenroom/internal/greenroom"
)

var _ authn.Store = (*Store)(nil)

const sessionColumns = "id_hash, user_ref, provider, display_name, email, refresh_token, created_at, last_seen_at, rotated_at, expires_at"

// CreateSession stores a new sign-in session.
func (s *Store) CreateSession(ctx context.Context, ss authn.Session) error {
	if ss.IDHash == "" || ss.UserRef == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "a session needs an id hash and a user ref")
	}
	_, err := s.write.ExecContext(ctx, s.d.rebind("INSERT INTO auth_sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		ss.IDHash, ss.UserRef, ss.Provider, ss.DisplayName, ss.Email, ss.RefreshToken,
		s.d.timeArg(ss.CreatedAt), s.d.timeArg(ss.LastSeenAt), s.d.timeArg(ss.RotatedAt), s.d.timeArg(ss.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// Session returns the session with idHash; not_found when there is none.
func (s *Store) Session(ctx context.Context, idHash string) (authn.Session, error) {
	var ss authn.Session
	err := s.queryRowContext(ctx, "SELECT "+sessionColumns+" FROM auth_sessions WHERE id_hash = ?", idHash).Scan(
		&ss.IDHash, &ss.UserRef, &ss.Provider, &ss.DisplayName, &ss.Email, &ss.RefreshToken,
		timeCol{&ss.CreatedAt}, timeCol{&ss.LastSeenAt}, timeCol{&ss.RotatedAt}, timeCol{&ss.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return authn.Session{}, greenroom.Errorf(greenroom.CodeNotFound, "no such session")
	}
	if err != nil {
		return authn.Session{}, fmt.Errorf("store: session: %w", err)
	}
	return ss, nil
}

// UpdateSession replaces the session stored under oldHash.
func (s *Store) UpdateSession(ctx context.Context, oldHash string, ss authn.Session) error {
	res, err := s.write.ExecContext(ctx, s.d.rebind("UPDATE auth_sessions SET id_hash = ?, user_ref = ?, provider = ?, display_name = ?, email = ?, "+
		"refresh_token = ?, created_at = ?, last_seen_at = ?, rotated_at = ?, expires_at = ? WHERE id_hash = ?"),
		ss.IDHash, ss.UserRef, ss.Provider, ss.DisplayName, ss.Email, ss.RefreshToken,
		s.d.timeArg(ss.CreatedAt), s.d.timeArg(ss.LastSeenAt), s.d.timeArg(ss.RotatedAt), s.d.timeArg(ss.ExpiresAt), oldHash)
	if err != nil {
		return fmt.Errorf("store: update session: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return greenroom.Errorf(greenroom.CodeNotFound, "no such session")
	}
	return nil
}

// DeleteSession ends one session; deleting a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.write.ExecContext(ctx, s.d.rebind("DELETE FROM auth_sessions WHERE id_hash = ?"), idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of userRef.
func (s *Store) DeleteUserSessions(ctx context.Context, userRef string) (int, error) {
	res, err := s.write.ExecContext(ctx, s.d.rebind("DELETE FROM auth_sessions WHERE user_ref = ?"), userRef)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions: %w", err)
	}
	return int(n), nil
}

// PurgeSessions deletes expired and idle sessions and expired flows.
func (s *Store) PurgeSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	var total int64
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM auth_sessions WHERE expires_at <= ? OR last_seen_at < ?", s.d.timeArg(now), s.d.timeArg(idleBefore))
		if err != nil {
			return err
		}
		total, err = res.RowsAffected()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM auth_flows WHERE expires_at <= ?", s.d.timeArg(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge sessions: %w", err)
	}
	return int(total), nil
}

// CreateFlow stores a sign-in flow in progress.
func (s *Store) CreateFlow(ctx context.Context, f authn.Flow) error {
	_, err := s.write.ExecContext(ctx, s.d.rebind("INSERT INTO auth_flows (state_hash, provider, nonce, verifier, return_to, expires_at) VALUES (?, ?, ?, ?, ?, ?)"),
		f.StateHash, f.Provider, f.Nonce, f.Verifier, f.ReturnTo, s.d.timeArg(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create sign-in flow: %w", err)
	}
	return nil
}

// TakeFlow deletes the flow with stateHash and returns it, so that each
// state is used at most once, even by concurrent callbacks.
func (s *Store) TakeFlow(ctx context.Context, stateHash string) (authn.Flow, error) {
	var f authn.Flow
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		return tx.QueryRowContext(ctx, "DELETE FROM auth_flows WHERE state_hash = ? RETURNING state_hash, provider, nonce, verifier, return_to, expires_at", stateHash).
			Scan(&f.StateHash, &f.Provider, &f.Nonce, &f.Verifier, &f.ReturnTo, timeCol{&f.ExpiresAt})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return authn.Flow{}, greenroom.Errorf(greenroom.CodeNotFound, "no such sign-in flow")
	}
	if err != nil {
		return authn.Flow{}, fmt.Errorf("store: take sign-in flow: %w", err)
	}
	return f, nil
}
