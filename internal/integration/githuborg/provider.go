package githuborg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/integration/github"
)

// Client is what the provider asks GitHub; *github.Client implements it.
// Errors carry the client's codes (unavailable for outages and exhausted
// rate limits, not_found for an unknown organization).
type Client interface {
	OrgUsers(ctx context.Context, org string) ([]github.OrgUser, error)
	OrgTeams(ctx context.Context, org string) ([]github.OrgTeam, error)
	// Installations lists the GitHub App's installations, for a provider
	// configured without orgs.
	Installations(ctx context.Context) ([]github.Installation, error)
}

var _ Client = (*github.Client)(nil)

// Catalog is the part of the catalog the provider feeds.
type Catalog interface {
	ApplyProvider(ctx context.Context, provider string, sources []catalog.Source) (catalog.ProviderResult, error)
}

var _ Catalog = (*catalog.Service)(nil)

// Options configure a Provider.
type Options struct {
	// Config is the catalog.providers.githubOrg entry.
	Config config.GitHubOrgProvider
	// DefaultNamespace puts Groups in the default namespace instead of one
	// per organization; Backstage's module does so when exactly one
	// provider reads exactly one organization (see UseDefaultNamespace).
	DefaultNamespace bool
	Client           Client
	Catalog          Catalog
	// Enqueue durably queues the provider's jobs (the jobs pool).
	Enqueue catalog.ScheduleFunc
	Logger  *slog.Logger
	// Debounce is how long org events are collected before one read; zero
	// means DefaultDebounce.
	Debounce time.Duration
	// Now and Rand default to time.Now and math/rand/v2's Float64.
	Now  func() time.Time
	Rand func() float64
}

// DefaultDebounce coalesces the events of one change (GitHub sends several
// for a team with members, or a member leaving every team) into one read.
const DefaultDebounce = 2 * time.Second

// UseDefaultNamespace reports whether Groups go in the default namespace:
// Backstage's alwaysUseDefaultNamespace, true when one provider reads one
// organization.
func UseDefaultNamespace(all []config.GitHubOrgProvider) bool {
	return len(all) == 1 && len(all[0].Orgs) == 1
}

// Provider reads one catalog.providers.githubOrg entry into the catalog.
type Provider struct {
	opts Options
	name string
	log  *slog.Logger

	// readMu orders this process's reads, so that an older read never
	// applies after a newer one.
	readMu sync.Mutex

	mu    sync.Mutex
	state State
}

// State is what the provider last did, for admin pages.
type State struct {
	LastSuccess time.Time
	LastAttempt time.Time
	LastError   string // "" after a success
	NextRun     time.Time
	Users       int
	Groups      int
	Result      catalog.ProviderResult
}

// New returns the provider; it does no I/O.
func New(opts Options) (*Provider, error) {
	if opts.Client == nil || opts.Catalog == nil {
		return nil, errors.New("githuborg: a client and a catalog are required")
	}
	if opts.Config.ID == "" || strings.Contains(opts.Config.ID, ":") {
		return nil, fmt.Errorf("githuborg: provider id %q must be non-empty and without ':'", opts.Config.ID)
	}
	if opts.Config.Host == "" {
		opts.Config.Host = github.DefaultHost
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	name := ProviderName(opts.Config.ID)
	return &Provider{opts: opts, name: name, log: opts.Logger.With("provider", name)}, nil
}

// ProviderName is the catalog provider name of the entry with id.
func ProviderName(id string) string { return "github-org-" + id }

// Name is the provider's name in the catalog (its sources are
// catalog.ProviderSourceName(Name(), …)).
func (p *Provider) Name() string { return p.name }

// Host is the GitHub host the provider reads.
func (p *Provider) Host() string { return p.opts.Config.Host }

// Organizations names the organizations read, comma-separated, or says
// that every installation of the App is read.
func (p *Provider) Organizations() string {
	if len(p.opts.Config.Orgs) == 0 {
		return "(every installation)"
	}
	return strings.Join(p.opts.Config.Orgs, ",")
}

// State returns what the provider last did.
func (p *Provider) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// orgs are the organizations to read: the configured ones, or every
// organization the App is installed on.
func (p *Provider) orgs(ctx context.Context) ([]string, error) {
	if len(p.opts.Config.Orgs) > 0 {
		return p.opts.Config.Orgs, nil
	}
	ins, err := p.opts.Client.Installations(ctx)
	if err != nil {
		return nil, fmt.Errorf("githuborg: %s: list app installations (no orgs configured): %w", p.name, err)
	}
	var out []string
	for _, in := range ins {
		if strings.EqualFold(in.TargetType, "Organization") && in.Account.Login != "" && in.SuspendedAt == nil {
			out = append(out, in.Account.Login)
		}
	}
	return out, nil
}

// Read reads every organization and applies the result as the provider's
// complete set of sources. When any organization cannot be read (outage,
// exhausted rate limit, unknown organization) nothing is applied and the
// catalog keeps what it has: a partial answer would look like people
// leaving.
func (p *Provider) Read(ctx context.Context) error {
	p.readMu.Lock()
	defer p.readMu.Unlock()
	start := p.opts.Now()
	res, users, groups, err := p.read(ctx)
	p.mu.Lock()
	p.state.LastAttempt = start
	if err != nil {
		p.state.LastError = err.Error()
	} else {
		p.state.LastSuccess, p.state.LastError = start, ""
		p.state.Users, p.state.Groups, p.state.Result = users, groups, res
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.log.Info("github org read", "users", users, "groups", groups, "refreshed", res.Refreshed,
		"retired", res.Retired, "orphaned", res.Orphaned, "problems", len(res.Problems), "duration", p.opts.Now().Sub(start))
	return nil
}

func (p *Provider) read(ctx context.Context) (catalog.ProviderResult, int, int, error) {
	var res catalog.ProviderResult
	orgs, err := p.orgs(ctx)
	if err != nil {
		return res, 0, 0, err
	}
	data := make([]orgData, 0, len(orgs))
	users, groups := map[string]bool{}, 0
	for _, org := range orgs {
		u, err := p.opts.Client.OrgUsers(ctx, org)
		if err != nil {
			return res, 0, 0, fmt.Errorf("githuborg: %s: %w", p.name, err)
		}
		t, err := p.opts.Client.OrgTeams(ctx, org)
		if err != nil {
			return res, 0, 0, fmt.Errorf("githuborg: %s: %w", p.name, err)
		}
		for _, x := range u {
			users[strings.ToLower(x.Login)] = true
		}
		groups += len(t)
		data = append(data, orgData{Org: org, Users: u, Teams: t})
	}
	sources, err := buildSources(p.name, p.opts.Config.Host, data, p.opts.DefaultNamespace)
	if err != nil {
		return res, 0, 0, err
	}
	res, err = p.opts.Catalog.ApplyProvider(ctx, p.name, sources)
	if err != nil {
		return res, 0, 0, fmt.Errorf("githuborg: %s: apply: %w", p.name, err)
	}
	return res, len(users), groups, nil
}
