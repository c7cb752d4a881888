package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"greenroom/examples"
	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
	"greenroom/internal/techdocs"
)

func init() { registerWire("techdocs", wireTechDocs) }

// techdocsBuildJob builds one entity's docs; its payload is the entity ref.
const techdocsBuildJob = "techdocs.build"

// techdocsRecheckInterval is how often sources are checked for changes
// the catalog does not see (a push that changes only docs).
const techdocsRecheckInterval = 30 * time.Second

type techdocsJob struct {
	Ref   string `json:"ref"`
	Force bool   `json:"force,omitempty"`
}

// wireTechDocs builds the TechDocs service (publisher, build records,
// notifications) and serves its API and pages. With builder local, docs
// are built as durable jobs: one per documented entity at start, and one
// whenever the catalog reports that an entity changed.
func wireTechDocs(ctx context.Context, env *wireEnv) error {
	logger := env.logger.With("component", "techdocs")
	pub, err := newTechDocsPublisher(ctx, env.cfg.TechDocs, env.dataDir)
	if err != nil {
		return err
	}
	fetcher, err := newGitDocsFetcher(env.cfg, filepath.Join(env.dataDir, "techdocs-sources"), filepath.Join(env.dataDir, "tmp"), logger)
	if err != nil {
		return err
	}
	svc := techdocs.NewService(techdocs.ServiceOptions{
		Builder:   env.cfg.TechDocs.BuilderMode(),
		Publisher: pub,
		Status:    env.store,
		Notifier:  techdocsNotifier(env.cfg.TechDocs),
		Logger:    logger,
		PortalURL: env.cfg.App.BaseURL,
		WorkDir:   filepath.Join(env.dataDir, "tmp"),
		Fetcher:   fetcher,
	})
	if err := os.MkdirAll(filepath.Join(env.dataDir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("techdocs: %w", err)
	}
	env.techdocs = svc
	api.NewTechDocs(env.catalog, svc, logger).Routes(env.mux)
	docs := env.pages.DocsPages(svc)
	docs.Routes(env.mux)
	env.pages.Register(docs.Section())
	if svc.Builder() != techdocs.BuilderLocal {
		return nil
	}
	env.pool.Register(techdocsBuildJob, func(ctx context.Context, job store.Job) error {
		var p techdocsJob
		if err := json.Unmarshal(job.Payload, &p); err != nil {
			return fmt.Errorf("techdocs: job payload: %w", err)
		}
		return runTechDocsJob(ctx, env.catalog, svc, p, logger)
	})
	enqueue := func(ctx context.Context, ref string) {
		if _, err := env.pool.Enqueue(ctx, techdocsBuildJob, techdocsJob{Ref: ref}, jobs.DedupeKey(techdocsBuildJob+":"+ref), jobs.MaxAttempts(3)); err != nil {
			logger.Warn("enqueue docs build", "entity", ref, "err", err)
		}
	}
	env.onStart = append(env.onStart, func(ctx context.Context) {
		sub, err := env.catalog.Subscribe(ctx)
		if err != nil {
			logger.Warn("docs do not follow catalog changes", "err", err)
		}
		enqueueAllDocs(ctx, env.catalog, enqueue, logger)
		// Docs-only pushes do not change the entity, so no catalog event
		// reports them: every documented entity is re-checked on this
		// interval (a check whose source did not change ends at once).
		go func() {
			t := time.NewTicker(techdocsRecheckInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					enqueueStaleDocs(ctx, env.catalog, svc, enqueue, logger)
				}
			}
		}()
		if sub == nil {
			return
		}
		go func() {
			for ev := range sub.C {
				if ev.Type == catalog.EventCreated || ev.Type == catalog.EventUpdated {
					enqueue(ctx, ev.Ref)
				}
			}
		}()
	})
	return nil
}

// runTechDocsJob builds one entity's docs. A project that cannot be built
// is recorded and not retried (the next change of the entity retries it);
// other failures are returned so the job is retried with backoff.
func runTechDocsJob(ctx context.Context, cat *catalog.Service, svc *techdocs.Service, p techdocsJob, logger *slog.Logger) error {
	ref, err := greenroom.ParseEntityRef(p.Ref, "component", greenroom.DefaultNamespace)
	if err != nil {
		return nil // a bad payload never succeeds
	}
	raw, err := cat.EntityByName(ctx, ref)
	if greenroom.ErrorCode(err) == greenroom.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	e, err := techdocs.EntityDocsFromJSON(raw)
	if err != nil || !e.HasDocs() {
		return nil
	}
	start := time.Now()
	updated, err := svc.Sync(ctx, e, p.Force, nil)
	switch code := greenroom.ErrorCode(err); {
	case err == nil:
		if updated {
			logger.Info("docs built", "entity", p.Ref, "duration_ms", time.Since(start).Milliseconds())
		}
		return nil
	case code == greenroom.CodeInvalid || code == greenroom.CodeNotFound:
		logger.Debug("docs build failed", "entity", p.Ref, "err", err)
		return nil
	default:
		return err
	}
}

// enqueueAllDocs queues a build of every documented entity; builds of
// docs whose source did not change end at once.
func enqueueAllDocs(ctx context.Context, cat *catalog.Service, enqueue func(context.Context, string), logger *slog.Logger) {
	f := query.Exists("metadata.annotations." + techdocs.AnnotationRef)
	page, err := cat.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Filter: &f, Limit: query.NoLimit},
		query.Fields{"kind", "metadata.name", "metadata.namespace"})
	if err != nil {
		logger.Warn("list documented entities", "err", err)
		return
	}
	for _, raw := range page.Items {
		e, err := techdocs.EntityDocsFromJSON(raw)
		if err == nil {
			enqueue(ctx, e.Name.String())
		}
	}
}

// enqueueStaleDocs queues a build of each documented entity whose source
// changed since its last build.
func enqueueStaleDocs(ctx context.Context, cat *catalog.Service, svc *techdocs.Service, enqueue func(context.Context, string), logger *slog.Logger) {
	f := query.Exists("metadata.annotations." + techdocs.AnnotationRef)
	page, err := cat.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Filter: &f, Limit: query.NoLimit},
		query.Fields{"kind", "metadata.name", "metadata.namespace", "metadata.etag", "metadata.annotations"})
	if err != nil {
		logger.Warn("list documented entities", "err", err)
		return
	}
	for _, raw := range page.Items {
		if e, err := techdocs.EntityDocsFromJSON(raw); err == nil && svc.Stale(ctx, e) {
			enqueue(ctx, e.Name.String())
		}
	}
}

func newTechDocsPublisher(ctx context.Context, td config.TechDocs, dataDir string) (techdocs.Publisher, error) {
	switch td.PublisherType() {
	case "awsS3":
		s := td.Publisher.AWSS3
		return techdocs.NewS3Publisher(ctx, techdocs.S3Options{Bucket: s.BucketName, Region: s.Region, Endpoint: s.Endpoint,
			ForcePathStyle: s.S3ForcePathStyle, AccessKeyID: s.AccessKeyID.Reveal(), SecretAccessKey: s.SecretAccessKey.Reveal(),
			BucketRootPath: s.BucketRootPath})
	default:
		dir := td.Publisher.LocalDir
		if dir == "" {
			dir = filepath.Join(dataDir, "techdocs")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("techdocs: publish directory: %w", err)
		}
		return &techdocs.LocalPublisher{Dir: dir}, nil
	}
}

func techdocsNotifier(td config.TechDocs) techdocs.Notifier {
	var ns techdocs.Notifiers
	if u := td.Notifications.SlackWebhookURL.Reveal(); u != "" {
		ns = append(ns, &techdocs.SlackNotifier{WebhookURL: u})
	}
	if m := td.Notifications.SMTP; m.Addr != "" {
		ns = append(ns, &techdocs.SMTPNotifier{Addr: m.Addr, From: m.From, Username: m.Username, Password: m.Password.Reveal(),
			Recipients: m.Recipients, Default: m.Default})
	}
	if len(ns) == 0 {
		return nil
	}
	return ns
}

// demoDocsFetcher serves the demo company's docs (examples.DocsFS) for
// its fictional repositories, github.com/acme-ledger/<repository>, so the
// demo shows TechDocs; other url: sources are refused with the reason.
type demoDocsFetcher struct{ tmp string }

const demoRepoPrefix = "https://github.com/acme-ledger/"

func (f demoDocsFetcher) Fetch(ctx context.Context, rawURL string) (string, string, func(), error) {
	repo, _, _ := strings.Cut(strings.TrimPrefix(rawURL, demoRepoPrefix), "/")
	root := "docs/" + repo
	if !strings.HasPrefix(rawURL, demoRepoPrefix) || repo == "" || strings.Contains(repo, "..") {
		return "", "", nil, greenroom.Errorf(greenroom.CodeInvalid, "cannot fetch %s: this server does not fetch url: docs sources (build them in CI with techdocs.builder: external, or use a file location)", rawURL)
	}
	if _, err := fs.Stat(examples.DocsFS, root+"/mkdocs.yml"); err != nil {
		return "", "", nil, greenroom.Errorf(greenroom.CodeInvalid, "%s has no mkdocs.yml (the demo ships docs for some of its services only)", rawURL)
	}
	dir, err := os.MkdirTemp(f.tmp, "demo-docs-")
	if err != nil {
		return "", "", nil, err
	}
	sub, err := fs.Sub(examples.DocsFS, root)
	if err == nil {
		err = os.CopyFS(dir, sub)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", "", nil, fmt.Errorf("techdocs: demo docs: %w", err)
	}
	return dir, "demo-" + version, func() { os.RemoveAll(dir) }, nil
}

// ETag implements techdocs.ETagger: the demo's docs change only with the
// binary.
func (f demoDocsFetcher) ETag(ctx context.Context, rawURL string) (string, error) {
	repo, _, _ := strings.Cut(strings.TrimPrefix(rawURL, demoRepoPrefix), "/")
	if !strings.HasPrefix(rawURL, demoRepoPrefix) || repo == "" || strings.Contains(repo, "..") {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "not a demo repository")
	}
	if _, err := fs.Stat(examples.DocsFS, "docs/"+repo+"/mkdocs.yml"); err != nil {
		return "", greenroom.Errorf(greenroom.CodeNotFound, "no demo docs")
	}
	return "demo-" + version, nil
}
