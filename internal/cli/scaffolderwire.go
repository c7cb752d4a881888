package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/gitsource"
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
	tasks := &api.OwnTasks{Service: svc, SeesAll: env.seesAllTasks} // callers see their own tasks
	api.NewScaffolder(tasks, env.logger.With("component", "scaffolder")).Routes(env.mux)
	env.pages.CreatePages(tasks, scaffolderCatalog{env.catalog}).Routes(env.mux)
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
	local := scaffolder.NewResolver()
	local.SetBundled(templates.FS)
	var files scaffolder.FilesResolver = local
	var fetchTree func(context.Context, string) (fs.FS, error)
	if cache, err := gitsource.NewCache(filepath.Join(dataDir, "scaffolder", "git"), gitsource.Options{Logger: logger}); err == nil {
		rf := &remoteFiles{local: local, cache: cache, dir: filepath.Join(dataDir, "scaffolder", "templates"), in: cfg.Integrations}
		files, fetchTree = rf, rf.FetchTree
	} else {
		logger.Warn("templates at url locations cannot be fetched", "err", err)
	}
	sc := cfg.Scaffolder
	deps := &scaffolder.Deps{
		Catalog:              &registrar{cat: cat, dir: filepath.Join(dataDir, "scaffolder", "registered")},
		HTTP:                 &http.Client{Timeout: 30 * time.Second},
		Logger:               logger,
		Git:                  gitAuth(cfg.Integrations),
		GitHub:               githubAPIs(cfg.Integrations),
		FetchTree:            fetchTree,
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

// remoteFiles finds the files of templates registered at url: locations of
// git hosts (https://host/owner/repo/blob/branch/path/template.yaml, and
// GitLab's /-/blob/ form) by syncing the repository into a git cache and
// copying the template's directory out of the commit, once per commit.
type remoteFiles struct {
	local *scaffolder.Resolver
	cache *gitsource.Cache
	dir   string
	in    config.Integrations
}

// maxRemoteTemplateFiles bounds the files copied out of a repository.
const maxRemoteTemplateFiles = 10_000

func (r *remoteFiles) TemplateFiles(ctx context.Context, ent map[string]any) (fs.FS, error) {
	f, err := r.local.TemplateFiles(ctx, ent)
	if err == nil {
		return f, nil
	}
	md, _ := ent["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	loc, _ := ann["backstage.io/managed-by-location"].(string)
	target, ok := strings.CutPrefix(loc, "url:")
	if !ok {
		return nil, err
	}
	repo, file, perr := parseBlobURL(target)
	if perr != nil {
		return nil, perr
	}
	return r.tree(ctx, target, repo, path.Dir(file))
}

// FetchTree is the directory at a tree URL of a git host, for fetch:*
// actions given an absolute url.
func (r *remoteFiles) FetchTree(ctx context.Context, target string) (fs.FS, error) {
	repo, dir, err := parseBlobURL(target)
	if err != nil {
		return nil, err
	}
	return r.tree(ctx, target, repo, dir)
}

func (r *remoteFiles) tree(ctx context.Context, target string, repo gitsource.Repo, dir string) (fs.FS, error) {
	if u, tok := gitAuth(r.in)(repo.URL); tok != "" {
		repo.Auth = gitsource.Auth{Username: u, Token: config.Secret(tok)}
	}
	commit, _, serr := r.cache.Sync(ctx, repo)
	if serr != nil {
		return nil, fmt.Errorf("template files at %s: %w", target, serr)
	}
	sum := sha256.Sum256([]byte(repo.URL + "\x00" + dir))
	out := filepath.Join(r.dir, hex.EncodeToString(sum[:8]), commit)
	if _, err := os.Stat(out); err == nil {
		return os.DirFS(out), nil
	}
	snap, err := r.cache.Snapshot(ctx, repo, commit)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	tmp := out + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := copySnapshot(snap, dir, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("template files at %s: %w", target, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, err
	}
	return os.DirFS(out), nil
}

// parseBlobURL splits a file or tree URL of a git host into the
// repository, its branch, and the path in it.
func parseBlobURL(raw string) (gitsource.Repo, string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return gitsource.Repo{}, "", greenroom.Errorf(greenroom.CodeInvalid, "template location %q is not an http(s) URL", raw)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "blob" || parts[i] == "tree" {
			repoParts := parts[:i]
			if len(repoParts) > 0 && repoParts[len(repoParts)-1] == "-" {
				repoParts = repoParts[:len(repoParts)-1] // GitLab's /-/blob/
			}
			if len(repoParts) < 2 {
				break
			}
			file := strings.Join(parts[i+2:], "/")
			if file == "" {
				file = "."
			}
			repo := gitsource.Repo{URL: u.Scheme + "://" + u.Host + "/" + strings.Join(repoParts, "/") + ".git", Branch: parts[i+1]}
			return repo, file, nil
		}
	}
	return gitsource.Repo{}, "", greenroom.Errorf(greenroom.CodeInvalid, "template location %q is not a file URL of a git host (…/owner/repo/blob/branch/path)", raw)
}

func copySnapshot(fsys fs.FS, dir, out string) error {
	n := 0
	return fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if dir == "." {
			rel = p
		}
		dst := filepath.Join(out, filepath.FromSlash(rel))
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			// Kept as a link so that fetch:template refuses it by name.
			link, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			return os.Symlink(link, dst)
		}
		if n++; n > maxRemoteTemplateFiles {
			return greenroom.Errorf(greenroom.CodeInvalid, "the template's directory has more than %d files", maxRemoteTemplateFiles)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if fi, err := d.Info(); err == nil && fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return os.WriteFile(dst, b, mode)
	})
}
