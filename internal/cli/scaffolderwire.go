package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/jobs"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store"
	"greenroom/templates"
)

func init() { registerWire("scaffolder", wireScaffolder) }

// bundledProvider names the catalog provider of the shipped templates.
const bundledProvider = "greenroom-templates"

func wireScaffolder(ctx context.Context, env *wireEnv) error {
	svc := newScaffolderService(env.cfg, env.store, env.catalog, env.dataDir, env.logger, func(ctx context.Context, id string) error {
		_, err := env.pool.Enqueue(ctx, scaffolder.TaskJobKind, scaffolder.TaskJob{TaskID: id}, jobs.MaxAttempts(20))
		return err
	})
	env.pool.Register(scaffolder.TaskJobKind, func(ctx context.Context, job store.Job) error {
		j, err := scaffolder.DecodeTaskJob(job.Payload)
		if err != nil {
			return fmt.Errorf("scaffolder: job payload: %w", err)
		}
		return svc.RunTask(ctx, j.TaskID)
	})
	api.NewScaffolder(svc, env.logger.With("component", "scaffolder")).Routes(env.mux)
	env.pages.CreatePages(svc, scaffolderCatalog{env.catalog}).Routes(env.mux)
	if env.cfg.BundledTemplatesEnabled() {
		env.onStart = append(env.onStart, func(ctx context.Context) {
			if err := loadBundledTemplates(ctx, env.catalog); err != nil {
				env.logger.Warn("golden-path templates not loaded", "err", err)
			}
		})
	}
	return nil
}

// loadBundledTemplates puts the shipped templates in the catalog, as a
// provider's source like the bundled demo: trusted, so catalog.rules
// (which by default admit no Template) do not apply.
func loadBundledTemplates(ctx context.Context, cat *catalog.Service) error {
	src := catalog.Source{Name: catalog.ProviderSourceName(bundledProvider, "bundled"), FS: templates.FS, Root: templates.Root}
	res, err := cat.ApplyProvider(ctx, bundledProvider, []catalog.Source{src})
	if err != nil {
		return err
	}
	if len(res.Problems) > 0 {
		return fmt.Errorf("%d problems, first: %w", len(res.Problems), res.Problems[0])
	}
	return nil
}

// newScaffolderService builds the scaffolder for serve and the CLI.
func newScaffolderService(cfg *config.Config, st scaffolder.TaskStore, cat *catalog.Service, dataDir string, logger *slog.Logger, enqueue scaffolder.Enqueuer) *scaffolder.Service {
	files := scaffolder.NewResolver()
	files.SetBundled(templates.FS)
	sc := cfg.Scaffolder
	deps := &scaffolder.Deps{
		Catalog:              &registrar{cat: cat, dir: filepath.Join(dataDir, "scaffolder", "registered")},
		HTTP:                 &http.Client{Timeout: 30 * time.Second},
		Logger:               logger,
		Git:                  gitAuth(cfg.Integrations),
		GitHub:               githubAPIs(cfg.Integrations),
		Publishers:           sc.PublishHosts,
		DefaultAuthor:        scaffolder.Author{Name: sc.DefaultAuthorName, Email: sc.DefaultAuthorEmail},
		DefaultCommitMessage: sc.DefaultCommitMessage,
		Endpoints: scaffolder.Endpoints{
			Sentry: sc.SentryBaseURL, SentryToken: sc.SentryToken.Reveal(),
			N8N: sc.N8NBaseURL, N8NToken: sc.N8NToken.Reveal(),
		},
	}
	return scaffolder.NewService(scaffolder.Options{
		Store: st, Catalog: scaffolderCatalog{cat}, Files: files, Enqueue: enqueue, DataDir: dataDir,
		Deps: deps, Logger: logger.With("component", "scaffolder"), Authorize: authorizeTask,
	})
}

// authorizeTask is the single hook where permission scaffolder.task.create
// and approvals are checked before a task is created (access.FromContext(ctx)
// gives the principal). Until the authorization engine is connected here,
// every signed-in caller (or everyone, with authentication off) may create
// tasks.
func authorizeTask(ctx context.Context, permission string, tmpl *scaffolder.Template) error {
	return nil
}

// gitAuth gives publish:git the token of the integration for a remote's host.
func gitAuth(in config.Integrations) scaffolder.GitAuth {
	return func(remote string) (string, string) {
		u, err := url.Parse(remote)
		if err != nil {
			return "", ""
		}
		for _, g := range in.GitHub {
			if strings.EqualFold(g.Host, u.Host) && g.Token != "" {
				return "x-access-token", g.Token.Reveal()
			}
		}
		for _, g := range in.GitLab {
			if strings.EqualFold(g.Host, u.Host) && g.Token != "" {
				return "oauth2", g.Token.Reveal()
			}
		}
		return "", ""
	}
}

// githubAPIs gives the GitHub actions the API and token of a host.
func githubAPIs(in config.Integrations) func(host string) (string, string, bool) {
	return func(host string) (string, string, bool) {
		for _, g := range in.GitHub {
			if strings.EqualFold(g.Host, host) {
				return g.APIBaseURL, g.Token.Reveal(), true
			}
		}
		return "", "", false
	}
}

// scaffolderCatalog adapts the catalog service to what the scaffolder reads.
type scaffolderCatalog struct{ cat *catalog.Service }

func (c scaffolderCatalog) Templates(ctx context.Context) ([]json.RawMessage, error) {
	return c.cat.Entities(ctx, catalog.Query{Kind: "template"})
}

func (c scaffolderCatalog) Entity(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	return c.cat.EntityByName(ctx, ref)
}

// Entities lists entities of a kind, for the form's pickers.
func (c scaffolderCatalog) Entities(ctx context.Context, kind string) ([]json.RawMessage, error) {
	return c.cat.Entities(ctx, catalog.Query{Kind: kind, Limit: 2000})
}

// registrar is catalog:register. A URL the catalog can read becomes a
// registered location, as in Backstage. A URL it cannot read (a git
// server without a raw-file API, a host without an integration) falls back
// to the catalog file the task wrote: a copy is kept under the data dir and
// applied as a source of the "scaffolder" provider, so the entity is in the
// catalog at once; the task log says which way was taken.
type registrar struct {
	cat *catalog.Service
	dir string
}

const scaffolderProvider = "scaffolder"

func (r *registrar) RegisterLocation(ctx context.Context, req scaffolder.RegisterRequest) (string, error) {
	in := catalog.LocationInput{Type: catalog.LocationTypeURL, Target: req.Target}
	dry, err := r.cat.CreateLocation(ctx, in, catalog.CreateLocationOptions{DryRun: true})
	if err == nil && len(dry.Entities) > 0 {
		if _, err := r.cat.CreateLocation(ctx, in, catalog.CreateLocationOptions{OnConflict: "refresh"}); err != nil {
			return "", err
		}
		return firstRef(dry.Entities[0]), nil
	}
	if req.LocalFile == "" {
		if err == nil {
			err = greenroom.Errorf(greenroom.CodeInvalid, "%s holds no entities", req.Target)
		}
		if req.Optional {
			return "", nil
		}
		return "", fmt.Errorf("catalog:register: %w", err)
	}
	b, rerr := os.ReadFile(req.LocalFile)
	if rerr != nil {
		return "", rerr
	}
	dir := filepath.Join(r.dir, req.TaskID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog-info.yaml"), b, 0o644); err != nil {
		return "", err
	}
	src := catalog.Source{Name: catalog.ProviderSourceName(scaffolderProvider, req.TaskID), FS: os.DirFS(dir), Root: "catalog-info.yaml"}
	res, aerr := r.cat.ApplyProviderDelta(ctx, scaffolderProvider, []catalog.Source{src}, nil)
	if aerr != nil {
		return "", aerr
	}
	if len(res.Problems) > 0 {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "catalog:register: %v", res.Problems[0])
	}
	var ent struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
	}
	if err := yaml.Unmarshal(b, &ent); err != nil {
		return "", nil
	}
	ns := ent.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower(ent.Kind) + ":" + ns + "/" + ent.Metadata.Name, nil
}

func firstRef(raw json.RawMessage) string {
	var ent struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if json.Unmarshal(raw, &ent) != nil {
		return ""
	}
	ns := ent.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower(ent.Kind) + ":" + ns + "/" + ent.Metadata.Name
}
