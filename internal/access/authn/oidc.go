package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"greenroom/internal/greenroom"
)

// OIDCOptions configures the oidc provider (Keycloak, Okta, Auth0, Azure
// AD…): auth.providers.oidc.<env>.
type OIDCOptions struct {
	MetadataURL  string
	ClientID     string
	ClientSecret string
	Scope        string // space separated; default "openid profile email"
	Prompt       string
	CallbackURL  string
	// TokenEndpointAuthMethod is client_secret_basic or client_secret_post;
	// "" tries basic, then post (what golang.org/x/oauth2 detects).
	TokenEndpointAuthMethod string
	Resolvers               []Resolver
}

type oidcProvider struct {
	opts   OIDCOptions
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use
	endpoint oauth2.Endpoint
}

func newOIDC(o OIDCOptions, client *http.Client, now func() time.Time) *oidcProvider {
	if o.Scope == "" {
		o.Scope = "openid profile email"
	}
	if !strings.Contains(" "+o.Scope+" ", " openid ") {
		o.Scope = "openid " + o.Scope
	}
	return &oidcProvider{opts: o, client: client, now: now}
}

func (p *oidcProvider) id() string            { return "oidc" }
func (p *oidcProvider) title() string         { return "Single sign-on" }
func (p *oidcProvider) resolvers() []Resolver { return p.opts.Resolvers }

// maxMetadataBytes bounds the discovery document.
const maxMetadataBytes = 1 << 20

// discover fetches metadataUrl once it succeeds; a failure is retried at
// the next sign-in, so that an identity provider down at start-up does not
// stop the portal.
func (p *oidcProvider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.opts.MetadataURL, nil)
	if err != nil {
		return nil, fmt.Errorf("authn: oidc metadata: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "The sign-in provider cannot be reached. Try again later.", Err: fmt.Errorf("authn: oidc metadata: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "The sign-in provider cannot be reached. Try again later.",
			Err: fmt.Errorf("authn: oidc metadata: status %d: %v", resp.StatusCode, err)}
	}
	var pc oidc.ProviderConfig
	if err := json.Unmarshal(body, &pc); err != nil || pc.IssuerURL == "" || pc.AuthURL == "" || pc.TokenURL == "" || pc.JWKSURL == "" {
		return nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "The sign-in provider's metadata is not usable.",
			Err: fmt.Errorf("authn: oidc metadata %s lacks issuer, endpoints or jwks_uri (%v)", p.opts.MetadataURL, err)}
	}
	// The key set outlives this request: it is fetched with the
	// provider's client under a background context.
	p.provider = pc.NewProvider(oidc.ClientContext(context.Background(), p.client))
	p.endpoint = oauth2.Endpoint{AuthURL: pc.AuthURL, TokenURL: pc.TokenURL}
	switch p.opts.TokenEndpointAuthMethod {
	case "client_secret_basic":
		p.endpoint.AuthStyle = oauth2.AuthStyleInHeader
	case "client_secret_post":
		p.endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return p.provider, nil
}

func (p *oidcProvider) config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.opts.ClientID, ClientSecret: p.opts.ClientSecret, Endpoint: p.endpoint,
		RedirectURL: redirectURL, Scopes: strings.Fields(p.opts.Scope)}
}

func (p *oidcProvider) authCodeURL(state, nonce, verifier, redirectURL string) (string, error) {
	if _, err := p.discover(context.Background()); err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if p.opts.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p.opts.Prompt))
	}
	return p.config(redirectURL).AuthCodeURL(state, opts...), nil
}

func (p *oidcProvider) exchange(ctx context.Context, code, verifier, nonce, redirectURL string) (Profile, *oauth2.Token, error) {
	prov, err := p.discover(ctx)
	if err != nil {
		return Profile{}, nil, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	tok, err := p.config(redirectURL).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Profile{}, nil, signInError("the sign-in provider refused the authorization code", err)
	}
	prof, err := p.verify(ctx, prov, tok, nonce)
	return prof, tok, err
}

func (p *oidcProvider) refresh(ctx context.Context, refreshToken string) (Profile, *oauth2.Token, error) {
	prov, err := p.discover(ctx)
	if err != nil {
		return Profile{}, nil, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	tok, err := p.config("").TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	var refused *oauth2.RetrieveError
	if errors.As(err, &refused) {
		return Profile{}, nil, signInError("the sign-in provider refused to refresh the session", err)
	}
	if err != nil {
		// Unreachable is not refused: the session stays.
		return Profile{}, nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "The sign-in provider cannot be reached. Try again later.", Err: err}
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	prof, err := p.verify(ctx, prov, tok, "")
	return prof, tok, err
}

// verify checks the ID token: signature against the issuer's keys,
// issuer, audience (the client id), expiry and, when nonce is set, the
// nonce (a refreshed ID token need not repeat it).
func (p *oidcProvider) verify(ctx context.Context, prov *oidc.Provider, tok *oauth2.Token, nonce string) (Profile, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Profile{}, signInError("the sign-in provider sent no ID token", errors.New("no id_token in token response"))
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: p.opts.ClientID, Now: p.now}).Verify(ctx, raw)
	if err != nil {
		return Profile{}, signInError("the ID token is not valid: "+idTokenProblem(err), err)
	}
	if nonce != "" && idt.Nonce != nonce {
		return Profile{}, signInError("the ID token does not answer this sign-in (nonce mismatch)", errors.New("nonce mismatch"))
	}
	var claims struct {
		Email             string `json:"email"`
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Profile{}, signInError("the ID token's claims are not readable", err)
	}
	return Profile{Provider: "oidc", Subject: idt.Subject, Username: claims.PreferredUsername, Email: claims.Email, DisplayName: claims.Name}, nil
}

// idTokenProblem names what is wrong with an ID token without echoing it.
func idTokenProblem(err error) string {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return "it has expired"
	case strings.Contains(msg, "issuer"), strings.Contains(msg, "different provider"):
		return "it was issued by another issuer"
	case strings.Contains(msg, "audience"):
		return "it was issued for another client"
	case strings.Contains(msg, "signature"):
		return "its signature does not verify"
	case strings.Contains(msg, "nbf"):
		return "it is not valid yet"
	}
	return "it is malformed"
}
