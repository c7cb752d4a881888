package githubprovider

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/integration/github"
	"greenroom/internal/integration/gitsource"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
)

// Catalog is what the provider needs of the catalog service.
type Catalog interface {
	// ApplyProvider makes sources the complete set provider supplies.
	ApplyProvider(ctx context.Context, provider string, sources []catalog.Source) (catalog.ProviderResult, error)
	// ApplyProviderDelta upserts some sources and retires others by name.
	ApplyProviderDelta(ctx context.Context, provider string, upsert []catalog.Source, remove []string) (catalog.ProviderResult, error)
	// RegisterProvider lets the catalog ask for one source to be re-read.
	RegisterProvider(provider string, refresh catalog.ProviderRefresher)
}

// Sources lists the catalog's known source names (the store's
// KnownSources), to find what a webhook about one repository retires.
type Sources interface {
	KnownSources(ctx context.Context) ([]string, error)
}

// Queue is the durable jobs queue (a *jobs.Pool).
type Queue interface {
	Enqueue(ctx context.Context, kind string, payload any, opts ...jobs.EnqueueOption) (int64, error)
	Register(kind string, h jobs.Handler)
}

// JobLookup reads jobs back (the store's JobByID and DedupeKeyHandled), to
// tell a replayed delivery from a new one — also after a restart and on
// another replica.
type JobLookup interface {
	JobByID(ctx context.Context, id int64) (store.Job, error)
	DedupeKeyHandled(ctx context.Context, key string) (bool, error)
}

// Deps are a Discovery's collaborators.
type Deps struct {
	Catalog Catalog
	Sources Sources
	Queue   Queue
	Jobs    JobLookup
	// Auditor, when set, records deliveries refused for their signature.
	Auditor access.Auditor
	Logger  *slog.Logger // nil discards
	Now     func() time.Time
	Rand    func() float64
}

// Provider is one configured GitHub entity provider.
type Provider struct {
	name    string // "github-<id>", the catalog's provider name
	cfg     config.GitHubProvider
	client  *github.Client
	pattern *gitsource.Pattern
	fixed   string // the catalog path without wildcards, "" for a glob
	logger  *slog.Logger

	scanMu sync.Mutex // one scan or webhook delta at a time
	cache  map[string]repoCache

	mu    sync.Mutex
	state Status
}

// repoCache is what a glob scan found in one repository at a head, so that
// an unchanged repository costs no request.
type repoCache struct {
	head  string
	files map[string]cachedFile
}

type cachedFile struct {
	sha  string // the blob's SHA
	data []byte
}

// maxCacheBytes bounds the file contents a glob provider keeps between
// scans; past it, repositories are read again.
const maxCacheBytes = 64 << 20

// NewProvider returns the provider cfg describes, reading GitHub with
// client. It does no I/O; a catalogPath that is not a valid glob is an
// error.
func NewProvider(cfg config.GitHubProvider, client *github.Client, logger *slog.Logger) (*Provider, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Organization == "" {
		return nil, fmt.Errorf("githubprovider: provider %s: organization is required", cfg.ID)
	}
	if cfg.CatalogPath == "" {
		cfg.CatalogPath = config.DefaultGitHubCatalogPath
	}
	if cfg.Schedule.Frequency <= 0 {
		cfg.Schedule.Frequency = config.DefaultProviderFrequency
	}
	if cfg.Schedule.Timeout <= 0 {
		cfg.Schedule.Timeout = config.DefaultProviderTimeout
	}
	pat, err := gitsource.ParsePattern(cfg.CatalogPath)
	if err != nil {
		return nil, fmt.Errorf("githubprovider: provider %s: catalogPath: %w", cfg.ID, err)
	}
	p := &Provider{name: "github-" + cfg.ID, cfg: cfg, client: client, pattern: pat, logger: logger.With("provider", "github-"+cfg.ID),
		cache: map[string]repoCache{}}
	if !strings.ContainsAny(cfg.CatalogPath, "*?[{\\") {
		p.fixed = strings.TrimPrefix(cfg.CatalogPath, "/")
	}
	p.state = Status{Name: p.name, Type: "github", Organization: cfg.Organization, Host: client.Host(), CatalogPath: cfg.CatalogPath,
		Frequency: cfg.Schedule.Frequency.String()}
	return p, nil
}

// Name is the provider's name in the catalog, "github-<id>".
func (p *Provider) Name() string { return p.name }

// FromConfig builds a provider for each of cfg's catalog.providers.github,
// with one client per GitHub host taken from integrations.github[] (token,
// first App). A provider whose host has no integration uses anonymous
// access to github.com only; another host is an error.
func FromConfig(cfg *config.Config, httpClient *http.Client, logger *slog.Logger) ([]*Provider, error) {
	return FromConfigWith(cfg, NewClients(cfg, httpClient, logger), logger)
}

// FromConfigWith is FromConfig sharing clients with other GitHub users
// (the org provider), so that one host's rate limit is tracked once.
func FromConfigWith(cfg *config.Config, clients *Clients, logger *slog.Logger) ([]*Provider, error) {
	var out []*Provider
	for _, pc := range cfg.Catalog.GitHubProviders {
		c, err := clients.For(pc.Host)
		if err != nil {
			return nil, fmt.Errorf("githubprovider: provider %s (%s:%d): %w", pc.ID, pc.File, pc.Line, err)
		}
		p, err := NewProvider(pc, c, logger)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Clients hands out one GitHub client per host of integrations.github[]
// (github.com always has one, anonymous unless configured).
type Clients struct {
	ints   config.Integrations
	http   *http.Client
	logger *slog.Logger
	mu     sync.Mutex
	byHost map[string]*github.Client
}

// NewClients returns the clients of cfg's GitHub integrations; they are
// built on first use.
func NewClients(cfg *config.Config, httpClient *http.Client, logger *slog.Logger) *Clients {
	return &Clients{ints: cfg.Integrations.WithDefaults(), http: httpClient, logger: logger, byHost: map[string]*github.Client{}}
}

// For returns the client of host, an error when no integration names it.
func (cs *Clients) For(host string) (*github.Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.byHost[host]; ok {
		return c, nil
	}
	var gi *config.GitHubIntegration
	for i := range cs.ints.GitHub {
		if cs.ints.GitHub[i].Host == host {
			gi = &cs.ints.GitHub[i]
		}
	}
	if gi == nil {
		return nil, fmt.Errorf("no integrations.github entry for host %s", host)
	}
	opts := github.Options{Host: gi.Host, APIBaseURL: gi.APIBaseURL, Token: gi.Token}
	if len(gi.Apps) > 0 {
		a := gi.Apps[0]
		if len(gi.Apps) > 1 {
			cs.logger.Warn("only the first GitHub App of a host is used", "host", gi.Host, "apps", len(gi.Apps))
		}
		opts.App = &github.AppCredentials{AppID: a.AppID, PrivateKeyPEM: a.PrivateKey, WebhookSecret: a.WebhookSecret,
			ClientID: a.ClientID, ClientSecret: a.ClientSecret, AllowedInstallationOwners: a.AllowedInstallationOwners}
	}
	c, err := github.New(opts, github.Deps{HTTP: cs.http, Logger: cs.logger.With("component", "github", "host", gi.Host)})
	if err != nil {
		return nil, fmt.Errorf("githubprovider: host %s: %w", gi.Host, err)
	}
	cs.byHost[host] = c
	return c, nil
}

// WebhookSecrets returns every secret a delivery may be signed with:
// events.modules.github.webhookSecret, each provider's webhookSecret and
// each GitHub App's.
func WebhookSecrets(cfg *config.Config) [][]byte {
	var out [][]byte
	add := func(s config.Secret) {
		if s != "" {
			out = append(out, []byte(s.Reveal()))
		}
	}
	add(cfg.GitHubEvents.WebhookSecret)
	for _, p := range cfg.Catalog.GitHubProviders {
		add(p.WebhookSecret)
	}
	for _, g := range cfg.Integrations.GitHub {
		for _, a := range g.Apps {
			add(a.WebhookSecret)
		}
	}
	return out
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Float64
	}
	return d
}

// sourcePrefix starts the names of the provider's sources for one
// repository ("owner/repo").
func (p *Provider) sourcePrefix(fullName string) string {
	return catalog.ProviderSourceName(p.name, strings.ToLower(fullName)+"/")
}

// sourceName names the source of one catalog file.
func (p *Provider) sourceName(fullName, path string) string {
	return p.sourcePrefix(fullName) + path
}

func (p *Provider) update(f func(s *Status)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.state)
}

// Status returns the provider's state now.
func (p *Provider) Status() Status {
	p.mu.Lock()
	s := p.state
	p.mu.Unlock()
	st := p.client.Stats()
	s.RequestsTotal = st.Requests
	for _, res := range []string{github.ResourceCore, github.ResourceGraphQL} {
		if rl := p.client.RateLimit(res); !rl.Seen.IsZero() {
			s.RateLimits = append(s.RateLimits, RateLimitStatus{Resource: res, Limit: rl.Limit, Remaining: rl.Remaining, Reset: rl.Reset})
		}
	}
	return s
}
