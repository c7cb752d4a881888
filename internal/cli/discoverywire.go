package cli

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/integration/githuborg"
	"greenroom/internal/integration/githubprovider"
	"greenroom/internal/integration/gitprovider"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
)

// discovery is every entity provider serve runs: GitHub repositories and
// org data, git repositories and local directories.
type discovery struct {
	github *githubprovider.Discovery
	orgs   []*githuborg.Provider
	git    *gitprovider.Providers
	logger *slog.Logger
}

// newDiscovery builds the providers of catalog.providers and registers
// their jobs on pool. With none configured it costs nothing.
func newDiscovery(cfg *config.Config, st *store.Store, pool *jobs.Pool, cat *catalog.Service, dataDir string, logger *slog.Logger) (*discovery, error) {
	log := logger.With("component", "discovery")
	enqueue := func(ctx context.Context, kind string, payload any, at time.Time, key string, opts ...jobs.EnqueueOption) error {
		_, err := pool.Enqueue(ctx, kind, payload, append([]jobs.EnqueueOption{jobs.RunAt(at), jobs.DedupeKey(key)}, opts...)...)
		return err
	}
	clients := githubprovider.NewClients(cfg, nil, log)
	provs, err := githubprovider.FromConfigWith(cfg, clients, log)
	if err != nil {
		return nil, err
	}
	gh, err := githubprovider.NewDiscovery(provs, githubprovider.WebhookSecrets(cfg),
		githubprovider.Deps{Catalog: cat, Sources: st, Queue: pool, Jobs: st, Auditor: st, Logger: log})
	if err != nil {
		return nil, err
	}
	gh.Register()
	d := &discovery{github: gh, logger: log}

	useDefault := githuborg.UseDefaultNamespace(cfg.Catalog.GitHubOrgProviders)
	var orgHandlers orgEvents
	for _, oc := range cfg.Catalog.GitHubOrgProviders {
		client, err := clients.For(oc.Host)
		if err != nil {
			return nil, err
		}
		p, err := githuborg.New(githuborg.Options{
			Config: oc, DefaultNamespace: useDefault, Client: client, Catalog: cat, Logger: log,
			Enqueue: func(ctx context.Context, kind string, payload any, at time.Time, key string) error {
				return enqueue(ctx, kind, payload, at, key)
			},
		})
		if err != nil {
			return nil, err
		}
		cat.RegisterProvider(p.Name(), p.RefreshSource)
		pool.Register(p.ReadJobKind(), func(ctx context.Context, j store.Job) error { return p.RunReadJob(ctx, j.Payload) })
		pool.Register(p.ScheduledJobKind(), func(ctx context.Context, j store.Job) error { return p.RunScheduledRead(ctx, j.Payload) })
		d.orgs = append(d.orgs, p)
		orgHandlers = append(orgHandlers, p)
	}
	if len(orgHandlers) > 0 {
		gh.SetOrgEventHandler(orgHandlers)
	}

	gp, err := gitprovider.New(cfg.Catalog.GitProviders, cfg.Catalog.DirectoryProviders, gitprovider.Options{
		Catalog: cat, CacheDir: filepath.Join(dataDir, "git"), Logger: log,
		Enqueue: func(ctx context.Context, kind string, payload any, at time.Time, key string) error {
			return enqueue(ctx, kind, payload, at, key, jobs.MaxAttempts(gitprovider.MaxAttempts))
		},
	})
	if err != nil {
		return nil, err
	}
	pool.Register(gitprovider.JobKind, func(ctx context.Context, job store.Job) error { return gp.RunJob(ctx, job.Payload) })
	d.git = gp
	return d, nil
}

// Routes mounts the GitHub webhook (Backstage's events route) and the
// providers' state.
func (d *discovery) Routes(mux *http.ServeMux) {
	mux.Handle("POST /api/events/http/github", d.github.WebhookHandler())
	mux.Handle("GET /api/catalog/providers", d.statusHandler())
}

// Start queues every provider's first run; failures are logged, never
// fatal: the catalog keeps what it had.
func (d *discovery) Start(ctx context.Context) {
	if err := d.github.Start(ctx); err != nil {
		d.logger.Warn("github providers not scheduled", "err", err)
	}
	for _, p := range d.orgs {
		if err := p.Start(ctx); err != nil {
			d.logger.Warn("github org provider not scheduled", "provider", p.Name(), "err", err)
		}
	}
	if err := d.git.Start(ctx); err != nil {
		d.logger.Warn("git providers not scheduled", "err", err)
	}
}

// orgEvents fans GitHub org events out to every org provider.
type orgEvents []*githuborg.Provider

func (o orgEvents) HandleOrgEvent(ctx context.Context, event string, payload []byte) error {
	for _, p := range o {
		if err := p.HandleOrgEvent(ctx, event, payload); err != nil {
			return err
		}
	}
	return nil
}
