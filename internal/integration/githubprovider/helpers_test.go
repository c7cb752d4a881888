package githubprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
)

// env is one provider over a fake GitHub, a real store, catalog and jobs
// pool (not started unless start is called).
type env struct {
	t      *testing.T
	fake   *githubfake.Server
	client *github.Client
	st     *store.Store
	cat    *catalog.Service
	pool   *jobs.Pool
	disc   *Discovery
	prov   *Provider
	hook   *httptest.Server
}

func providerConfig(org string) config.GitHubProvider {
	return config.GitHubProvider{ID: "test", Organization: org, Host: "github.com", CatalogPath: config.DefaultGitHubCatalogPath,
		Filters:  config.GitHubProviderFilters{AllowForks: true},
		Schedule: config.ProviderSchedule{Frequency: time.Hour, Timeout: time.Minute}}
}

func newEnv(t *testing.T, s *store.Store, fake *githubfake.Server, pc config.GitHubProvider) *env {
	t.Helper()
	if fake == nil {
		fake = githubfake.New(t, githubfake.Config{})
	}
	client, err := github.New(github.Options{APIBaseURL: fake.APIBaseURL(), GraphQLURL: fake.GraphQLURL(),
		Token: config.Secret(githubfake.DefaultToken), ServerErrorBackoff: time.Millisecond, MaxRetries: 2},
		github.Deps{HTTP: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	cat, err := catalog.NewService(s, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetOrphanStrategy(catalog.OrphanDelete); err != nil {
		t.Fatal(err)
	}
	pool := jobs.New(s, jobs.Options{Logger: logger, PollInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	prov, err := NewProvider(pc, client, logger)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := NewDiscovery([]*Provider{prov}, [][]byte{[]byte(fake.WebhookSecret())},
		Deps{Catalog: cat, Sources: s, Queue: pool, Jobs: s, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	disc.Register()
	e := &env{t: t, fake: fake, client: client, st: s, cat: cat, pool: pool, disc: disc, prov: prov}
	e.hook = httptest.NewServer(disc.WebhookHandler())
	t.Cleanup(e.hook.Close)
	return e
}

// start runs the pool until the test ends.
func (e *env) start() {
	e.pool.Start(e.t.Context())
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.pool.Shutdown(ctx)
	})
}

func (e *env) scan() {
	e.t.Helper()
	if err := e.disc.Scan(e.t.Context(), e.prov); err != nil {
		e.t.Fatalf("scan: %v", err)
	}
}

// served is the part of an entity the tests read.
type served struct {
	Metadata struct {
		Name        string
		Annotations map[string]string
	}
}

func (e *env) entity(name string) (served, bool) {
	e.t.Helper()
	raw, err := e.cat.EntityByName(e.t.Context(), greenroom.EntityRef{Kind: "component", Namespace: "default", Name: name})
	if greenroom.IsNotFound(err) {
		return served{}, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var s served
	if err := json.Unmarshal(raw, &s); err != nil {
		e.t.Fatal(err)
	}
	return s, true
}

func (s served) orphan() bool { return s.Metadata.Annotations[catalog.OrphanAnnotation] == "true" }

// present reports which of names are in the catalog and not orphaned.
func (e *env) present(names ...string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		s, ok := e.entity(n)
		out[n] = ok && !s.orphan()
	}
	return out
}

func component(name string) string {
	return fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\nspec:\n  type: service\n  owner: team-a\n  lifecycle: production\n", name)
}

func mustRE(s string) *regexp.Regexp { return regexp.MustCompile("^" + s + "$") }
