package authn

import (
	"context"
	"time"
)

// Session is one signed-in browser session as stored. IDHash is the
// SHA-256 (hex) of the random id in the cookie; the id itself is never
// stored.
type Session struct {
	IDHash       string
	UserRef      string
	Provider     string
	DisplayName  string
	Email        string
	RefreshToken string // OIDC refresh token, "" when none
	CreatedAt    time.Time
	LastSeenAt   time.Time
	RotatedAt    time.Time
	ExpiresAt    time.Time // absolute timeout
}

// SessionStore keeps sessions. Lookups of unknown hashes return an error
// with code not_found (greenroom.IsNotFound).
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, idHash string) (Session, error)
	// UpdateSession replaces the session stored under oldHash with s (whose
	// IDHash may differ: rotation); not_found when it is gone.
	UpdateSession(ctx context.Context, oldHash string, s Session) error
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions ends every session of userRef, returning how many.
	DeleteUserSessions(ctx context.Context, userRef string) (int, error)
	// PurgeSessions deletes sessions past their absolute timeout or idle
	// since before idleBefore, and flows past their expiry.
	PurgeSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
}

// RotationStore remembers, for a short grace, which id a session rotated
// to, where every replica sees it: a request still carrying the old id
// that reaches another replica finds the session.
type RotationStore interface {
	// ClaimRotation records old → next unless another rotation of old was
	// claimed first, and returns the successor that won.
	ClaimRotation(ctx context.Context, old, next string, until time.Time) (string, error)
	// RotatedTo returns the successor of old while its grace lasts;
	// not_found otherwise.
	RotatedTo(ctx context.Context, old string, now time.Time) (string, error)
	// PurgeShared deletes expired rotations and rate counters.
	PurgeShared(ctx context.Context, now time.Time) (int, error)
}

// SharedCounter keeps fixed-window rate-limit counters where every replica
// sees them (the database store on PostgreSQL).
type SharedCounter interface {
	// AddRateCount adds n to key's counter of the window starting at
	// window (ending at expires) and returns its total.
	AddRateCount(ctx context.Context, key string, window, expires time.Time, n int) (int, error)
	// AddRateCounts is AddRateCount of several distinct keys in one go,
	// returning their totals in order.
	AddRateCounts(ctx context.Context, keys []string, window, expires time.Time, n int) ([]int, error)
	// RateCount returns key's counter of the window, 0 when none.
	RateCount(ctx context.Context, key string, window time.Time) (int, error)
}

// Flow is a sign-in in progress, between /start and the callback.
type Flow struct {
	StateHash string
	Provider  string
	Nonce     string
	Verifier  string // PKCE code verifier
	ReturnTo  string
	ExpiresAt time.Time
}

// FlowStore keeps flows. TakeFlow deletes and returns the flow, so that a
// state is usable once; not_found when unknown or already taken.
type FlowStore interface {
	CreateFlow(ctx context.Context, f Flow) error
	TakeFlow(ctx context.Context, stateHash string) (Flow, error)
}

// TokenKind says whom a token acts for.
type TokenKind string

const (
	// TokenPersonal acts for the user who created it.
	TokenPersonal TokenKind = "personal"
	// TokenService acts for automation named by its subject.
	TokenService TokenKind = "service"
)

// Token is one personal access or service token as stored: Hash is the
// SHA-256 (hex) of the secret, which is shown once at creation.
type Token struct {
	ID         string
	Kind       TokenKind
	Subject    string // the user ref, or the service name
	Name       string
	Hash       string
	Scopes     []string
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: not revoked
}

// TokenStore keeps tokens. Unknown ids and hashes return not_found.
type TokenStore interface {
	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// Tokens lists the tokens of subject ("" for all), newest first.
	Tokens(ctx context.Context, subject string) ([]Token, error)
	Token(ctx context.Context, id string) (Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// Store is every store interface sign-in uses; the database store
// implements it.
type Store interface {
	SessionStore
	RotationStore
	FlowStore
	TokenStore
}
