package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"greenroom/internal/access/authn"
	"greenroom/internal/greenroom"
)

const tokenColumns = "id, kind, subject, name, hash, scopes, created_by, created_at, expires_at, last_used_at, revoked_at"

// maxTokensListed bounds one listing of tokens.
const maxTokensListed = 1000

// CreateToken stores a new personal access or service token (its hash).
func (s *Store) CreateToken(ctx context.Context, t authn.Token) error {
	if t.ID == "" || t.Hash == "" || t.Subject == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "a token needs an id, a hash and a subject")
	}
	_, err := s.write.ExecContext(ctx, s.d.rebind("INSERT INTO auth_tokens ("+tokenColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		t.ID, string(t.Kind), t.Subject, t.Name, t.Hash, strings.Join(t.Scopes, " "), t.CreatedBy,
		s.d.timeArg(t.CreatedAt), s.d.timeArg(t.ExpiresAt), s.d.timeArg(t.LastUsedAt), s.d.timeArg(t.RevokedAt))
	if isUniqueViolation(err) {
		return &greenroom.Error{Code: greenroom.CodeConflict, Message: "token already exists", Err: err}
	}
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	return nil
}

func scanToken(row interface{ Scan(...any) error }) (authn.Token, error) {
	var t authn.Token
	var kind, scopes string
	err := row.Scan(&t.ID, &kind, &t.Subject, &t.Name, &t.Hash, &scopes, &t.CreatedBy,
		timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.LastUsedAt}, timeCol{&t.RevokedAt})
	t.Kind = authn.TokenKind(kind)
	t.Scopes = strings.Fields(scopes)
	return t, err
}

func (s *Store) oneToken(ctx context.Context, where string, arg any) (authn.Token, error) {
	t, err := scanToken(s.queryRowContext(ctx, "SELECT "+tokenColumns+" FROM auth_tokens WHERE "+where+" = ?", arg))
	if errors.Is(err, sql.ErrNoRows) {
		return authn.Token{}, greenroom.Errorf(greenroom.CodeNotFound, "no such token")
	}
	if err != nil {
		return authn.Token{}, fmt.Errorf("store: token: %w", err)
	}
	return t, nil
}

// TokenByHash returns the token whose secret hashes to hash.
func (s *Store) TokenByHash(ctx context.Context, hash string) (authn.Token, error) {
	return s.oneToken(ctx, "hash", hash)
}

// Token returns the token with id.
func (s *Store) Token(ctx context.Context, id string) (authn.Token, error) {
	return s.oneToken(ctx, "id", id)
}

// Tokens lists the tokens of subject ("" for every subject), newest first.
func (s *Store) Tokens(ctx context.Context, subject string) ([]authn.Token, error) {
	q, args := "SELECT "+tokenColumns+" FROM auth_tokens", []any{}
	if subject != "" {
		q += " WHERE subject = ?"
		args = append(args, subject)
	}
	q += fmt.Sprintf(" ORDER BY created_at DESC, id LIMIT %d", maxTokensListed)
	rows, err := s.queryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	out := []authn.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken marks a token revoked at at; revoking it again keeps the
// first time. not_found for an unknown id.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.write.ExecContext(ctx, s.d.rebind("UPDATE auth_tokens SET revoked_at = COALESCE(revoked_at, "+s.d.timeParam()+") WHERE id = ?"), s.d.timeArg(at), id)
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return greenroom.Errorf(greenroom.CodeNotFound, "no such token")
	}
	return nil
}

// TouchToken records that a token was used at at.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.write.ExecContext(ctx, s.d.rebind("UPDATE auth_tokens SET last_used_at = ? WHERE id = ?"), s.d.timeArg(at), id); err != nil {
		return fmt.Errorf("store: touch token: %w", err)
	}
	return nil
}
