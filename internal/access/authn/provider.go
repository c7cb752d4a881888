package authn

import (
	"context"
	"time"

	"golang.org/x/oauth2"
)

// provider is one sign-in provider: it builds the authorization URL and
// turns the callback's code into a verified profile.
type provider interface {
	// id is the route segment: github, oidc, guest.
	id() string
	title() string
	resolvers() []Resolver
	// authCodeURL is where /start sends the browser.
	authCodeURL(state, nonce, verifier, redirectURL string) (string, error)
	// exchange redeems code (with the PKCE verifier) and verifies what
	// comes back, including that the ID token carries nonce.
	exchange(ctx context.Context, code, verifier, nonce, redirectURL string) (Profile, *oauth2.Token, error)
	// refresh renews the provider session with a refresh token; providers
	// without refresh return the profile-less errNoRefresh.
	refresh(ctx context.Context, refreshToken string) (Profile, *oauth2.Token, error)
}

// ProviderInfo describes a configured provider for the sign-in page.
type ProviderInfo struct {
	ID    string
	Title string
	// StartPath is the route that begins sign-in with it.
	StartPath string
}

// flowTTL bounds how long a sign-in may take between /start and the
// callback.
const flowTTL = 10 * time.Minute

// httpTimeout bounds each call to a provider.
const httpTimeout = 15 * time.Second
