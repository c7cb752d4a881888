package authn

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// TokenPrefix starts every personal access and service token, so that
// secret scanners can find leaked ones and the middleware knows which
// tokens to look up.
const TokenPrefix = "grn_"

// The token scopes. A token without scopes has its owner's full rights;
// ScopeRead limits it to safe methods (GET, HEAD, OPTIONS).
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// Scopes lists the valid scopes.
var Scopes = []string{ScopeRead, ScopeWrite}

const (
	maxTokenName     = 100
	maxTokensPerUser = 50
)

// TokenRequest asks for a new token.
type TokenRequest struct {
	Name string
	Kind TokenKind // default TokenPersonal
	// Service names the automation a service token acts for
	// ([a-z0-9-_.], the principal's ref is service:<name>).
	Service   string
	Scopes    []string
	ExpiresIn time.Duration // default DefaultTokenLifetime, at most MaxTokenLifetime
}

// NewToken is a created token: Secret is shown once and never again.
type NewToken struct {
	Token
	Secret string
}

// CreateToken issues a token for p: a personal access token acting for p,
// or a service token owned by p.
func (s *Service) CreateToken(ctx context.Context, p *access.Principal, req TokenRequest) (NewToken, error) {
	if d := CanCreateToken(p); !d.Allowed {
		return NewToken{}, greenroom.Errorf(greenroom.CodeForbidden, "%s", d.Reason)
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > maxTokenName {
		return NewToken{}, greenroom.Errorf(greenroom.CodeInvalid, "a token needs a name of 1 to %d characters", maxTokenName)
	}
	if req.Kind == "" {
		req.Kind = TokenPersonal
	}
	subject := p.UserRef
	switch req.Kind {
	case TokenPersonal:
	case TokenService:
		if !validName(req.Service) {
			return NewToken{}, greenroom.Errorf(greenroom.CodeInvalid, "a service token needs a service name of letters, digits, '-', '_' or '.' (up to 63 characters)")
		}
		subject = "service:" + strings.ToLower(req.Service)
		// A service name belongs to whoever first issued a token for it:
		// otherwise anyone could mint tokens acting as another team's
		// automation and inherit the rights bound to it.
		prev, err := s.store.Tokens(ctx, subject)
		if err != nil {
			return NewToken{}, err
		}
		for _, t := range prev {
			if t.CreatedBy != p.UserRef {
				return NewToken{}, greenroom.Errorf(greenroom.CodeConflict, "the service name %q belongs to %s; choose another name", req.Service, t.CreatedBy)
			}
		}
	default:
		return NewToken{}, greenroom.Errorf(greenroom.CodeInvalid, "token kind must be personal or service, got %q", req.Kind)
	}
	for _, sc := range req.Scopes {
		if !slices.Contains(Scopes, sc) {
			return NewToken{}, greenroom.Errorf(greenroom.CodeInvalid, "unknown token scope %q; valid scopes are %s", sc, strings.Join(Scopes, ", "))
		}
	}
	if req.ExpiresIn == 0 {
		req.ExpiresIn = DefaultTokenLifetime
	}
	if req.ExpiresIn < time.Minute || req.ExpiresIn > MaxTokenLifetime {
		return NewToken{}, greenroom.Errorf(greenroom.CodeInvalid, "a token expires between one minute and %d days after creation", int(MaxTokenLifetime.Hours()/24))
	}
	mine, err := s.store.Tokens(ctx, "")
	if err != nil {
		return NewToken{}, err
	}
	live := 0
	now := s.now()
	for _, t := range mine {
		if t.CreatedBy == p.UserRef && t.RevokedAt.IsZero() && now.Before(t.ExpiresAt) {
			live++
		}
	}
	if live >= maxTokensPerUser {
		return NewToken{}, greenroom.Errorf(greenroom.CodeConflict, "you have %d live tokens, the most allowed; revoke one first", live)
	}
	secret := TokenPrefix + randomToken(32)
	t := Token{ID: uuid.NewString(), Kind: req.Kind, Subject: subject, Name: req.Name, Hash: hashOf(secret),
		Scopes: slices.Clone(req.Scopes), CreatedBy: p.UserRef, CreatedAt: now, ExpiresAt: now.Add(req.ExpiresIn)}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return NewToken{}, fmt.Errorf("authn: create token: %w", err)
	}
	return NewToken{Token: t, Secret: secret}, nil
}

// CanCreateToken says whether p may create tokens, and why not: signed-in
// users only, not services, and not through another token.
func CanCreateToken(p *access.Principal) access.Decision {
	switch {
	case p == nil || p.UserRef == "" || p.Kind == access.KindService:
		return access.Decision{Reason: "tokens are created by signed-in users"}
	case p.TokenID != "":
		return access.Decision{Reason: "a token cannot create other tokens: sign in to the portal to create one"}
	}
	return access.Decision{Allowed: true}
}

// Tokens lists the tokens p created or that act for p, newest first.
func (s *Service) Tokens(ctx context.Context, p *access.Principal) ([]Token, error) {
	if p == nil || p.UserRef == "" {
		return nil, greenroom.Errorf(greenroom.CodeUnauthorized, "sign in to see your tokens")
	}
	all, err := s.store.Tokens(ctx, "")
	if err != nil {
		return nil, err
	}
	out := []Token{}
	for _, t := range all {
		if t.CreatedBy == p.UserRef || t.Subject == p.UserRef {
			out = append(out, t)
		}
	}
	return out, nil
}

// AdminCheck decides whether the caller of ctx administers the portal
// (the permission layer's admin action); Reason says why not.
type AdminCheck func(ctx context.Context) access.Decision

// SetAdminCheck sets how administrators are recognised for the token
// administration (AllTokens, revoking anyone's token); without one nobody
// is. Call it before serving.
func (s *Service) SetAdminCheck(c AdminCheck) { s.adminCheck = c }

// CanAdministerTokens reports whether the caller of ctx may list and
// revoke every user's tokens, with the reason when not.
func (s *Service) CanAdministerTokens(ctx context.Context) access.Decision {
	p := access.FromContext(ctx)
	switch {
	case p == nil || p.UserRef == "":
		return access.Decision{Reason: "sign in to administer tokens"}
	case s.adminCheck == nil:
		return access.Decision{Reason: "no permission layer decides who administers tokens"}
	}
	return s.adminCheck(ctx)
}

// AllTokens lists every token of every user and service, newest first,
// for an administrator; others get forbidden with the reason.
func (s *Service) AllTokens(ctx context.Context) ([]Token, error) {
	if d := s.CanAdministerTokens(ctx); !d.Allowed {
		return nil, greenroom.Errorf(greenroom.CodeForbidden, "Only administrators list everyone's tokens: %s.", d.Reason)
	}
	return s.store.Tokens(ctx, "")
}

// RevokeToken revokes a token p created or that acts for p, or, for an
// administrator, anyone's token; any other id answers not_found, as an
// unknown one does, so that ids of others' tokens are not confirmed.
func (s *Service) RevokeToken(ctx context.Context, p *access.Principal, id string) (Token, error) {
	if p == nil || p.UserRef == "" {
		return Token{}, greenroom.Errorf(greenroom.CodeUnauthorized, "sign in to revoke tokens")
	}
	t, err := s.store.Token(ctx, id)
	if err != nil || (t.CreatedBy != p.UserRef && t.Subject != p.UserRef && !s.CanAdministerTokens(ctx).Allowed) {
		return Token{}, greenroom.Errorf(greenroom.CodeNotFound, "no token %q", id)
	}
	if err := s.store.RevokeToken(ctx, id, s.now()); err != nil {
		return Token{}, err
	}
	return s.store.Token(ctx, id)
}

// errBadToken is every bearer token failure, worded the same whether the
// token is unknown, revoked or expired so that probing learns nothing
// beyond "not usable"; the audit record holds the reason.
var errBadToken = unauthorized("The bearer token is not valid: it is unknown, revoked or expired.")

// bearer authenticates a bearer token: a personal access or service token,
// or a static backend.auth.externalAccess token. reason is for the audit.
func (s *Service) bearer(ctx context.Context, secret string) (p *access.Principal, teams []string, reason string, err error) {
	if strings.HasPrefix(secret, TokenPrefix) {
		t, err := s.store.TokenByHash(ctx, hashOf(secret))
		if greenroom.IsNotFound(err) {
			return nil, nil, "unknown token", errBadToken
		}
		if err != nil {
			return nil, nil, "", err
		}
		now := s.now()
		switch {
		case !t.RevokedAt.IsZero():
			return nil, nil, "token " + t.ID + " is revoked", errBadToken
		case !now.Before(t.ExpiresAt):
			return nil, nil, "token " + t.ID + " has expired", errBadToken
		}
		if now.Sub(t.LastUsedAt) >= touchEvery {
			if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
				return nil, nil, "", err
			}
		}
		p := &access.Principal{Kind: access.KindUser, UserRef: t.Subject, Scopes: slices.Clone(t.Scopes), TokenID: t.ID}
		if t.Kind == TokenService {
			p.Kind = access.KindService
			p.OwnershipRefs = []string{t.Subject}
			return p, nil, "", nil
		}
		id, err := s.identity(ctx, t.Subject)
		if err != nil {
			return nil, nil, "", err
		}
		p.OwnershipRefs, p.DisplayName, p.Email = id.OwnershipRefs, id.DisplayName, id.Email
		return p, id.Teams, "", nil
	}
	sum := sha256.Sum256([]byte(secret))
	for _, st := range s.static {
		if subtle.ConstantTimeCompare(sum[:], st.sum[:]) == 1 {
			// Backstage's principal for a static token is external:<subject>.
			ref := "external:" + st.subject
			return &access.Principal{Kind: access.KindService, UserRef: ref, OwnershipRefs: []string{ref}, TokenID: "static:" + st.subject}, nil, "", nil
		}
	}
	return nil, nil, "unknown token", errBadToken
}
