package github

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

// GitHub's limits and our margins for App authentication.
const (
	// jwtBackdate covers clock drift between us and GitHub, as GitHub advises.
	jwtBackdate = 60 * time.Second
	// jwtLifetime keeps exp−iat at 10 minutes, GitHub's maximum.
	jwtLifetime = 9 * time.Minute
	// tokenMargin renews an installation token this long before it expires,
	// so no request starts with a token about to lapse.
	tokenMargin = 5 * time.Minute
	// installationsTTL is how long the list of installations is trusted;
	// installation webhooks call InvalidateInstallations sooner.
	installationsTTL = 10 * time.Minute
	// missRefresh limits re-listing installations for an unknown owner.
	missRefresh = time.Minute
)

// Installation is a GitHub App installation (GET /app/installations).
type Installation struct {
	ID                  int64             `json:"id"`
	Account             Account           `json:"account"`
	AppID               int64             `json:"app_id"`
	TargetType          string            `json:"target_type"`
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"`
	Events              []string          `json:"events"`
	SuspendedAt         *time.Time        `json:"suspended_at"`
}

// Account is a user or organization as GitHub embeds it in other objects.
type Account struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	Type      string `json:"type"`
	HTMLURL   string `json:"html_url"`
	AvatarURL string `json:"avatar_url"`
}

// AppInfo is the authenticated App (GET /app).
type AppInfo struct {
	ID      int64   `json:"id"`
	Slug    string  `json:"slug"`
	Name    string  `json:"name"`
	Owner   Account `json:"owner"`
	HTMLURL string  `json:"html_url"`
}

type installationToken struct {
	token   string
	expires time.Time
}

// appAuth signs JWTs for one App and mints, caches and renews its
// installation tokens.
type appAuth struct {
	c       *Client
	appID   int64
	key     *rsa.PrivateKey
	allowed map[string]bool // lower-case owners; empty allows all

	mu          sync.Mutex
	jwtToken    string
	jwtExpires  time.Time
	installs    map[string]Installation // by lower-case account login
	installsAt  time.Time
	tokens      map[int64]installationToken
	listingMu   sync.Mutex // one installation listing or minting at a time
	lastListing time.Time
}

func newAppAuth(c *Client, creds AppCredentials) (*appAuth, error) {
	pem := strings.ReplaceAll(creds.PrivateKeyPEM.Reveal(), `\n`, "\n")
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(pem))
	if err != nil {
		return nil, fmt.Errorf("privateKey: %w", err)
	}
	a := &appAuth{c: c, appID: creds.AppID, key: key, allowed: map[string]bool{}, tokens: map[int64]installationToken{}}
	for _, o := range creds.AllowedInstallationOwners {
		a.allowed[strings.ToLower(o)] = true
	}
	return a, nil
}

// jwt returns a JWT for the App, signed RS256, reused until a minute
// before it expires.
func (a *appAuth) jwt() (string, error) {
	now := a.c.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.jwtToken != "" && now.Before(a.jwtExpires.Add(-time.Minute)) {
		return a.jwtToken, nil
	}
	iat := now.Add(-jwtBackdate).Truncate(time.Second)
	exp := now.Add(jwtLifetime).Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.appID, 10),
		IssuedAt:  jwt.NewNumericDate(iat),
		ExpiresAt: jwt.NewNumericDate(exp),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("github: sign app jwt: %w", err)
	}
	a.jwtToken, a.jwtExpires = s, exp
	return s, nil
}

// installationToken returns the token of owner's installation. ok is false
// when the App must not or cannot serve owner and the caller should use the
// configured token (or anonymous access) instead, as Backstage does.
func (a *appAuth) installationToken(ctx context.Context, owner string) (token string, id int64, ok bool, err error) {
	lower := strings.ToLower(owner)
	if len(a.allowed) > 0 && !a.allowed[lower] {
		return "", 0, false, nil
	}
	if tok, id, ok := a.cachedToken(lower); ok {
		return tok, id, true, nil
	}
	a.listingMu.Lock()
	defer a.listingMu.Unlock()
	if tok, id, ok := a.cachedToken(lower); ok { // minted while we waited
		return tok, id, true, nil
	}
	inst, found, err := a.installationFor(ctx, lower)
	if err != nil {
		return "", 0, false, err
	}
	if !found {
		if a.c.opts.Token != "" {
			return "", 0, false, nil
		}
		return "", 0, false, greenroom.Errorf(greenroom.CodeNotFound, "github: app %d is not installed on %q and no token is configured", a.appID, owner)
	}
	if inst.SuspendedAt != nil {
		return "", 0, false, greenroom.Errorf(greenroom.CodeForbidden, "github: app %d's installation on %q is suspended", a.appID, owner)
	}
	if tok, ok := a.validToken(inst.ID); ok {
		return tok, inst.ID, true, nil
	}
	t, err := a.mint(ctx, inst.ID)
	if err != nil {
		return "", 0, false, err
	}
	return t.token, inst.ID, true, nil
}

func (a *appAuth) cachedToken(lower string) (string, int64, bool) {
	now := a.c.now()
	a.mu.Lock()
	inst, ok := a.installs[lower]
	fresh := now.Sub(a.installsAt) <= installationsTTL
	a.mu.Unlock()
	if !ok || !fresh {
		return "", 0, false
	}
	tok, ok := a.validToken(inst.ID)
	return tok, inst.ID, ok
}

// validToken returns installation id's token unless it is within
// tokenMargin of expiring.
func (a *appAuth) validToken(id int64) (string, bool) {
	now := a.c.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[id]
	if !ok || !now.Before(t.expires.Add(-tokenMargin)) {
		return "", false
	}
	return t.token, true
}

// installationFor finds owner's installation, listing installations when
// the list is stale or (at most once a minute) when owner is missing from it.
// The caller holds listingMu.
func (a *appAuth) installationFor(ctx context.Context, lower string) (Installation, bool, error) {
	now := a.c.now()
	a.mu.Lock()
	inst, ok := a.installs[lower]
	fresh := now.Sub(a.installsAt) <= installationsTTL
	recent := now.Sub(a.lastListing) < missRefresh
	a.mu.Unlock()
	if fresh && (ok || recent) {
		return inst, ok, nil
	}
	list, err := listAll[Installation](ctx, a.c, kindApp, "", "/app/installations", nil)
	if err != nil {
		return Installation{}, false, fmt.Errorf("github: list app installations: %w", err)
	}
	byOwner := make(map[string]Installation, len(list))
	for _, in := range list {
		byOwner[strings.ToLower(in.Account.Login)] = in
	}
	a.mu.Lock()
	a.installs, a.installsAt, a.lastListing = byOwner, now, now
	a.mu.Unlock()
	inst, ok = byOwner[lower]
	return inst, ok, nil
}

// mint creates an access token for installation id. The caller holds
// listingMu.
func (a *appAuth) mint(ctx context.Context, id int64) (installationToken, error) {
	req := request{
		method: http.MethodPost,
		url:    a.c.restURL(fmt.Sprintf("/app/installations/%d/access_tokens", id), nil),
		kind:   kindApp,
	}
	resp, err := a.c.do(ctx, req)
	if err != nil {
		if greenroom.IsNotFound(err) {
			a.InvalidateInstallations()
		}
		return installationToken{}, fmt.Errorf("github: mint installation token: %w", err)
	}
	var body struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || body.Token == "" {
		return installationToken{}, greenroom.Errorf(greenroom.CodeUnavailable, "github: mint installation token %d: malformed answer", id)
	}
	t := installationToken{token: body.Token, expires: body.ExpiresAt}
	a.mu.Lock()
	a.tokens[id] = t
	a.mu.Unlock()
	a.c.stats.minted.Add(1)
	return t, nil
}

func (a *appAuth) forgetToken(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.tokens, id)
}

// InvalidateInstallations drops the cached list of installations; call it
// on installation webhooks.
func (a *appAuth) InvalidateInstallations() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.installs, a.installsAt, a.lastListing = nil, time.Time{}, time.Time{}
}

// Installations lists the App's installations (an error when no App is
// configured).
func (c *Client) Installations(ctx context.Context) ([]Installation, error) {
	if c.app == nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "github %s: no app configured", c.opts.Host)
	}
	list, err := listAll[Installation](ctx, c, kindApp, "", "/app/installations", nil)
	if err != nil {
		return nil, fmt.Errorf("github: list app installations: %w", err)
	}
	return list, nil
}

// InvalidateInstallations makes the next request list installations again,
// after an installation was created, deleted, suspended or unsuspended.
func (c *Client) InvalidateInstallations() {
	if c.app != nil {
		c.app.InvalidateInstallations()
	}
}

// App returns the authenticated App (an error when none is configured).
func (c *Client) App(ctx context.Context) (AppInfo, error) {
	if c.app == nil {
		return AppInfo{}, greenroom.Errorf(greenroom.CodeInvalid, "github %s: no app configured", c.opts.Host)
	}
	var out AppInfo
	resp, err := c.do(ctx, request{url: c.restURL("/app", nil), kind: kindApp})
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return out, fmt.Errorf("github: GET /app: decode: %w", err)
	}
	return out, nil
}

// Check tests the connection and credentials: the App's JWT against GET
// /app, else the token against GET /rate_limit (which costs no rate limit).
func (c *Client) Check(ctx context.Context) error {
	if c.app != nil {
		_, err := c.App(ctx)
		return err
	}
	var out struct {
		Resources map[string]json.RawMessage `json:"resources"`
	}
	return c.getJSON(ctx, "", "/rate_limit", nil, &out)
}

// GitUser is the user name GitHub expects with an installation token (and
// accepts with a personal token) for HTTPS git access.
const GitUser = "x-access-token"

// GitCredentials returns the password for HTTPS git access (user GitUser)
// to owner's repositories: the token of the App's installation on owner
// when an App serves owner (minted with the App's JWT, cached until
// shortly before it expires, shared with the API requests), else the
// configured token; empty for anonymous access.
func (c *Client) GitCredentials(ctx context.Context, owner string) (config.Secret, error) {
	if c.app != nil && owner != "" {
		tok, _, ok, err := c.app.installationToken(ctx, owner)
		if err != nil {
			return "", err
		}
		if ok {
			return config.Secret(tok), nil
		}
	}
	return c.opts.Token, nil
}

// usesApp reports whether requests for owner carry an installation token.
func (c *Client) usesApp(ctx context.Context, owner string) (bool, error) {
	if c.app == nil {
		return false, nil
	}
	_, _, ok, err := c.app.installationToken(ctx, owner)
	return ok, err
}
