package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"greenroom/internal/config"
)

// DefaultHost is the host of public GitHub.
const DefaultHost = "github.com"

// Options configure one GitHub host. Zero values take the defaults named on
// each field.
type Options struct {
	// Host is the web host, e.g. "github.com" (default) or "ghe.acme.dev".
	Host string
	// APIBaseURL is the REST base URL without a trailing slash. Default:
	// https://api.github.com for github.com, https://HOST/api/v3 otherwise
	// (GitHub Enterprise Server's layout).
	APIBaseURL string
	// GraphQLURL is the GraphQL endpoint. Default: derived from APIBaseURL
	// (https://api.github.com/graphql; https://HOST/api/graphql for a base
	// ending in /api/v3).
	GraphQLURL string
	// Token is a personal access token, used when no App is configured, for
	// owners the App is not installed on, or not allowed to serve.
	Token config.Secret
	// App authenticates as a GitHub App; nil for token or anonymous access.
	App *AppCredentials

	// UserAgent is sent on every request (GitHub rejects requests without
	// one). Default "greenroom".
	UserAgent string
	// MaxConcurrent bounds requests in flight. Default 4.
	MaxConcurrent int
	// MaxRetries bounds retries of one request after 5xx answers, transport
	// errors and secondary rate limits. Default 4.
	MaxRetries int
	// MaxWait bounds one wait for a rate limit to reset or a Retry-After.
	// A longer wait fails at once with a *RateLimitError. Default 15m.
	MaxWait time.Duration
	// SecondaryBackoff is the first wait after a secondary rate limit that
	// gives no Retry-After; it doubles (with jitter) each time. Default 1m,
	// as GitHub asks.
	SecondaryBackoff time.Duration
	// ServerErrorBackoff is the first wait after a 5xx or transport error.
	// Default 1s.
	ServerErrorBackoff time.Duration
	// Reserve is how much of a rate limit scheduled (background) work leaves
	// to urgent work: background requests wait for the reset once Remaining
	// falls to it. Default 2% of the limit; negative disables.
	Reserve int
	// MaxResponseBytes bounds one response body. Default 32 MiB.
	MaxResponseBytes int64
	// MaxFileBytes bounds one file read with File. Default 4 MiB.
	MaxFileBytes int64
	// MaxPages bounds the pages one listing follows. Default 1000.
	MaxPages int
	// CacheEntries and CacheBytes bound the ETag cache. Defaults 20000
	// entries and 64 MiB; a negative CacheEntries disables the cache.
	CacheEntries int
	CacheBytes   int64
	// RepoPageSize is the page size of the GraphQL repository listing
	// (1–100). Default 100.
	RepoPageSize int
}

// AppCredentials authenticate as a GitHub App (Backstage's
// integrations.github[].apps[] entry).
type AppCredentials struct {
	AppID int64
	// PrivateKeyPEM is the App's RSA private key (PKCS#1 or PKCS#8 PEM);
	// literal "\n" sequences are read as newlines, as Backstage does.
	PrivateKeyPEM config.Secret
	// WebhookSecret verifies webhook deliveries (see VerifySignature).
	WebhookSecret config.Secret
	ClientID      string
	ClientSecret  config.Secret
	// AllowedInstallationOwners, when not empty, limits the owners whose
	// installation tokens are used; other owners get Token or anonymous
	// access, as in Backstage.
	AllowedInstallationOwners []string
}

// Deps are the client's collaborators.
type Deps struct {
	// HTTP sends requests; nil means a client with a 60 s timeout.
	HTTP *http.Client
	// Logger receives warnings about rate limits and retries; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends; nil means a timer. Tests inject
	// one that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// withDefaults returns o with defaults filled in, or every problem found.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if strings.ContainsAny(o.Host, "/@ ") || !validHostPort(o.Host) {
		errs = append(errs, fmt.Errorf("host %q: want a host name such as github.com", o.Host))
	}
	if o.APIBaseURL == "" {
		if o.Host == DefaultHost {
			o.APIBaseURL = "https://api.github.com"
		} else {
			o.APIBaseURL = "https://" + o.Host + "/api/v3"
		}
	}
	o.APIBaseURL = strings.TrimRight(o.APIBaseURL, "/")
	if err := checkBaseURL(o.APIBaseURL); err != nil {
		errs = append(errs, fmt.Errorf("apiBaseUrl: %w", err))
	}
	if o.GraphQLURL == "" {
		o.GraphQLURL = graphQLURLFor(o.APIBaseURL)
	}
	if err := checkBaseURL(o.GraphQLURL); err != nil {
		errs = append(errs, fmt.Errorf("graphqlUrl: %w", err))
	}
	if o.App != nil {
		if o.App.AppID <= 0 {
			errs = append(errs, errors.New("apps[].appId: want a positive number"))
		}
		if o.App.PrivateKeyPEM == "" {
			errs = append(errs, errors.New("apps[].privateKey: missing"))
		}
	}
	if o.UserAgent == "" {
		o.UserAgent = "greenroom"
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 4
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 15 * time.Minute
	}
	if o.SecondaryBackoff <= 0 {
		o.SecondaryBackoff = time.Minute
	}
	if o.ServerErrorBackoff <= 0 {
		o.ServerErrorBackoff = time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 32 << 20
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 4 << 20
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 1000
	}
	if o.CacheEntries == 0 {
		o.CacheEntries = 20000
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	if o.RepoPageSize == 0 {
		o.RepoPageSize = 100
	}
	if o.RepoPageSize < 1 || o.RepoPageSize > 100 {
		errs = append(errs, fmt.Errorf("repoPageSize %d: want 1 to 100 (GitHub's limit)", o.RepoPageSize))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("github %s: %w", o.Host, errors.Join(errs...))
	}
	return o, nil
}

// validHostPort accepts a host name with an optional port, as
// integrations.github[].host may carry one (ghe.acme.dev:8443).
func validHostPort(h string) bool {
	if !strings.Contains(h, ":") {
		return true
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q: want an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: want no query or fragment", s)
	}
	return nil
}

// graphQLURLFor derives the GraphQL endpoint from a REST base URL:
// GitHub Enterprise Server serves REST at /api/v3 and GraphQL at
// /api/graphql; github.com serves both from api.github.com.
func graphQLURLFor(apiBase string) string {
	if b, ok := strings.CutSuffix(apiBase, "/api/v3"); ok {
		return b + "/api/graphql"
	}
	return apiBase + "/graphql"
}
