package gitprovider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/gitprovider"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// component is a catalog file with one Component per name.
func component(names ...string) string {
	docs := make([]string, len(names))
	for i, n := range names {
		docs[i] = fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n", n)
	}
	return strings.Join(docs, "---\n")
}

// newCatalog returns a catalog service over st with the delete strategy.
func newCatalog(t *testing.T, st *store.Store) *catalog.Service {
	t.Helper()
	cat, err := catalog.NewService(st, nil, storetest.Logger(t).With("component", "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetOrphanStrategy(catalog.OrphanDelete); err != nil {
		t.Fatal(err)
	}
	return cat
}

// noEnqueue is an Enqueue for tests that run providers by hand.
func noEnqueue(context.Context, string, any, time.Time, string) error { return nil }

// newProviders builds providers over cat that tests run by hand.
func newProviders(t *testing.T, cat *catalog.Service, cacheDir string, git []config.GitProvider, dirs []config.DirectoryProvider) *gitprovider.Providers {
	t.Helper()
	if cacheDir == "" {
		cacheDir = t.TempDir()
	}
	ps, err := gitprovider.New(git, dirs, gitprovider.Options{Catalog: cat, Enqueue: noEnqueue, CacheDir: cacheDir, Logger: storetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// startScheduled builds providers wired to a real jobs pool over st, and
// starts both; they stop when the test ends.
func startScheduled(t *testing.T, st *store.Store, cat *catalog.Service, git []config.GitProvider, dirs []config.DirectoryProvider) *gitprovider.Providers {
	t.Helper()
	pool := jobs.New(st, jobs.Options{Workers: 2, PollInterval: 20 * time.Millisecond, Logger: storetest.Logger(t)})
	ps, err := gitprovider.New(git, dirs, gitprovider.Options{
		Catalog:  cat,
		CacheDir: t.TempDir(),
		Logger:   storetest.Logger(t),
		Enqueue: func(ctx context.Context, kind string, payload any, at time.Time, key string) error {
			_, err := pool.Enqueue(ctx, kind, payload, jobs.RunAt(at), jobs.DedupeKey(key), jobs.MaxAttempts(gitprovider.MaxAttempts))
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pool.Register(gitprovider.JobKind, func(ctx context.Context, job store.Job) error {
		return ps.RunJob(ctx, job.Payload)
	})
	ctx, cancel := context.WithCancel(context.Background())
	pool.Start(ctx)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := pool.Shutdown(sctx); err != nil {
			t.Errorf("pool shutdown: %v", err)
		}
		cancel()
	})
	if err := ps.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return ps
}

type served struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec   map[string]any `json:"spec"`
	Status *struct {
		Items []struct {
			Message string `json:"message"`
		} `json:"items"`
	} `json:"status"`
}

func (e served) orphan() bool { return e.Metadata.Annotations[catalog.OrphanAnnotation] == "true" }

// get returns the entity of ref ("component:default/a") if the catalog has
// it.
func get(t *testing.T, cat *catalog.Service, ref string) (served, bool) {
	t.Helper()
	r, err := greenroom.ParseEntityRef(ref, "", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cat.EntityByName(context.Background(), r)
	if greenroom.IsNotFound(err) {
		return served{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var e served
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e, true
}

// live reports whether the catalog has ref and it is not an orphan.
func live(t *testing.T, cat *catalog.Service, ref string) bool {
	t.Helper()
	e, ok := get(t, cat, ref)
	return ok && !e.orphan()
}

// waitFor polls cond until it holds or d passes, and returns how long it
// took.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func run(t *testing.T, ps *gitprovider.Providers, name string, force bool) gitprovider.State {
	t.Helper()
	p := ps.Provider(name)
	if p == nil {
		t.Fatalf("no provider %s among %v", name, ps.Names())
	}
	if err := p.Run(t.Context(), force); err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return p.State()
}
