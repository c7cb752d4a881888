package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"greenroom/internal/access"
)

// Enricher adds what authorization knows to a signed-in Principal: roles,
// the contractor flag, ABAC attributes. It is called once per request after
// authentication; an error fails the request with 500 (or its code).
type Enricher interface {
	Enrich(ctx context.Context, p *access.Principal) error
}

// StaticToken is one backend.auth.externalAccess static token.
type StaticToken struct {
	Token   string
	Subject string
}

// GuestOptions is auth.providers.guest.
type GuestOptions struct {
	UserEntityRef       string // default user:development/guest
	OwnershipEntityRefs []string
}

// SessionOptions is auth.session.
type SessionOptions struct {
	IdleTimeout      time.Duration // default DefaultIdleTimeout
	AbsoluteTimeout  time.Duration // default DefaultAbsoluteTimeout
	RotationInterval time.Duration // default DefaultRotationInterval
	// Secret is auth.session.secret: when set, provider refresh tokens
	// are stored encrypted with it.
	Secret string
}

// Defaults of sessions, tokens and limits.
const (
	DefaultIdleTimeout      = 12 * time.Hour
	DefaultAbsoluteTimeout  = 7 * 24 * time.Hour
	DefaultRotationInterval = time.Hour
	DefaultTokenLifetime    = 90 * 24 * time.Hour
	MaxTokenLifetime        = 366 * 24 * time.Hour
	DefaultGuestUser        = "user:development/guest"
	// identityTTL is how long a user's resolved groups are reused: group
	// changes reach requests within it.
	identityTTL = 5 * time.Second
)

// Options configure a Service.
type Options struct {
	// BaseURL is backend.baseUrl: callbacks are built on it, and an https
	// one makes cookies Secure.
	BaseURL string
	// AppURL is app.baseUrl: return URLs must be on it (or BaseURL).
	AppURL string
	// Environment is auth.environment: a /start with another env query
	// parameter (Backstage's frontends send one) is refused.
	Environment string
	GitHub      *GitHubOptions
	OIDC        *OIDCOptions
	// Guest enables guest sign-in. With no other provider it is local
	// mode: requests without credentials act as the guest.
	Guest     *GuestOptions
	Session   SessionOptions
	RateLimit RateLimitOptions
	// SharedLimits, when set, keeps the rate-limit counters (requests and
	// sign-in failures) where every replica sees them; nil keeps them in
	// memory (one process, SQLite).
	SharedLimits SharedCounter
	StaticTokens []StaticToken

	Store   Store
	Catalog Catalog
	// Auditor records sign-ins, failures and token events; nil logs them.
	Auditor  access.Auditor
	Enricher Enricher
	Logger   *slog.Logger
	// HTTPClient calls the providers; nil uses a client with a timeout.
	HTTPClient *http.Client
	Now        func() time.Time
	// Errors writes API error responses (Backstage's body shape).
	Errors ErrorWriter
}

// Service is sign-in: providers, sessions, tokens and the middleware.
type Service struct {
	opts      Options
	providers []provider
	byID      map[string]provider
	store     Store
	catalog   Catalog
	audit     access.Auditor
	logger    *slog.Logger
	now       func() time.Time
	secure    bool
	static    []staticToken
	limits    *limits
	errs      ErrorWriter
	seal      sealer
	// adminCheck recognises administrators (SetAdminCheck).
	adminCheck AdminCheck

	idMu   sync.Mutex
	idByRf map[string]cachedIdentity
}

type staticToken struct {
	sum     [sha256.Size]byte
	subject string
}

type cachedIdentity struct {
	id Identity
	at time.Time
}

// New returns the sign-in service. It does no I/O: the OIDC metadata is
// fetched at the first sign-in.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Catalog == nil {
		return nil, errors.New("authn: a store and a catalog are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	if o.Session.IdleTimeout <= 0 {
		o.Session.IdleTimeout = DefaultIdleTimeout
	}
	if o.Session.AbsoluteTimeout <= 0 {
		o.Session.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if o.Session.RotationInterval <= 0 {
		o.Session.RotationInterval = DefaultRotationInterval
	}
	if o.Guest != nil && o.Guest.UserEntityRef == "" {
		o.Guest.UserEntityRef = DefaultGuestUser
	}
	base, err := url.Parse(o.BaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("authn: backend.baseUrl %q is not an absolute URL", o.BaseURL)
	}
	if o.AppURL == "" {
		o.AppURL = o.BaseURL
	}
	s := &Service{opts: o, byID: map[string]provider{}, store: o.Store, catalog: o.Catalog, logger: o.Logger, now: o.Now,
		secure: base.Scheme == "https", idByRf: map[string]cachedIdentity{}, errs: o.Errors}
	s.audit = o.Auditor
	if s.audit == nil {
		s.audit = logAuditor{o.Logger}
	}
	if s.errs == nil {
		s.errs = plainErrors
	}
	if o.GitHub != nil {
		s.add(newGitHub(*o.GitHub, o.HTTPClient))
	}
	if o.OIDC != nil {
		s.add(newOIDC(*o.OIDC, o.HTTPClient, o.Now))
	}
	if o.Guest != nil && len(s.providers) > 0 {
		s.add(guestProvider{})
	}
	for _, t := range o.StaticTokens {
		if t.Token != "" {
			s.static = append(s.static, staticToken{sum: sha256.Sum256([]byte(t.Token)), subject: t.Subject})
		}
	}
	s.limits = newLimits(o.RateLimit, o.Now)
	s.limits.shared, s.limits.logger = o.SharedLimits, o.Logger
	if s.seal, err = newSealer(o.Session.Secret); err != nil {
		return nil, fmt.Errorf("authn: auth.session.secret: %w", err)
	}
	return s, nil
}

func (s *Service) add(p provider) {
	s.providers = append(s.providers, p)
	s.byID[p.id()] = p
}

// Enabled reports whether sign-in is required: a real provider is
// configured.
func (s *Service) Enabled() bool {
	for _, p := range s.providers {
		if p.id() != "guest" {
			return true
		}
	}
	return false
}

// GuestMode reports local mode: no provider, every request is the guest.
func (s *Service) GuestMode() bool { return !s.Enabled() }

// Providers lists the configured providers in the order of the sign-in
// page.
func (s *Service) Providers() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(s.providers))
	for _, p := range s.providers {
		out = append(out, ProviderInfo{ID: p.id(), Title: p.title(), StartPath: "/api/auth/" + p.id() + "/start"})
	}
	return out
}

// callbackURL is where a provider sends the browser back: the configured
// callbackUrl, else Backstage's <baseUrl>/api/auth/<provider>/handler/frame.
func (s *Service) callbackURL(p provider) string {
	switch p.id() {
	case "github":
		if s.opts.GitHub.CallbackURL != "" {
			return s.opts.GitHub.CallbackURL
		}
	case "oidc":
		if s.opts.OIDC.CallbackURL != "" {
			return s.opts.OIDC.CallbackURL
		}
	}
	return strings.TrimRight(s.opts.BaseURL, "/") + "/api/auth/" + p.id() + "/handler/frame"
}

// identity returns the resolved identity of userRef, reusing one resolved
// within identityTTL.
func (s *Service) identity(ctx context.Context, userRef string) (Identity, error) {
	now := s.now()
	s.idMu.Lock()
	c, ok := s.idByRf[userRef]
	s.idMu.Unlock()
	if ok && now.Sub(c.at) < identityTTL {
		return c.id, nil
	}
	id, err := identityOf(ctx, s.catalog, userRef)
	if err != nil {
		return Identity{}, err
	}
	s.idMu.Lock()
	if len(s.idByRf) > maxCachedIdentities {
		clear(s.idByRf)
	}
	s.idByRf[userRef] = cachedIdentity{id: id, at: now}
	s.idMu.Unlock()
	return id, nil
}

const maxCachedIdentities = 10000

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashOf is the stored form of a session id, state or token.
func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// auditEvent records ev, filling time, request id and source from r; a
// failure to audit is logged (the request has already been decided).
func (s *Service) auditEvent(r *http.Request, ev access.AuditEvent) {
	ev.Time = s.now().UTC()
	if r != nil {
		ev.Source = clientIP(r)
		ev.RequestID = requestID(r)
	}
	if err := s.audit.Audit(r.Context(), ev); err != nil {
		s.logger.Error("audit failed", "action", ev.Action, "err", err)
	}
}

func ownsRef(p *access.Principal, ref string) bool {
	return p != nil && (strings.EqualFold(p.UserRef, ref) || slices.ContainsFunc(p.OwnershipRefs, func(o string) bool { return strings.EqualFold(o, ref) }))
}

// SetEnricher sets the authorization enricher; call it before serving.
func (s *Service) SetEnricher(e Enricher) { s.opts.Enricher = e }

// SetAuditor sets where audit events go (nil: the log); call it before
// serving.
func (s *Service) SetAuditor(a access.Auditor) {
	if a == nil {
		a = logAuditor{s.logger}
	}
	s.audit = a
}
