package gitprovider_test

import (
	"strings"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/gitsource/gittest"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// TestGitProviderSchedule runs the provider on a 1 s schedule through the
// jobs pool: a committed file appears within one interval, a deleted one
// is orphaned and then deleted by the next full refresh.
func TestGitProviderSchedule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := gittest.NewServer(t)
		url := srv.CreateRepo("team/infra")
		srv.Commit("team/infra", "main", map[string]string{"catalog-info.yaml": component("root-svc")}, "first")
		cat := newCatalog(t, st)
		const freq = time.Second
		ps := startScheduled(t, st, cat, []config.GitProvider{{
			ID: "infra", URL: url, CatalogPath: "/**/catalog-info.yaml",
			Schedule: config.ProviderSchedule{Frequency: freq, Timeout: 30 * time.Second},
		}}, nil)
		// The first run is queued for now by Start.
		waitFor(t, 5*time.Second, "first run applies", func() bool { return live(t, cat, "component:default/root-svc") })

		// One interval (plus its jitter and a poll) after a commit, the new
		// file is in the catalog.
		commit := srv.Commit("team/infra", "main", map[string]string{"services/pay/catalog-info.yaml": component("pay")}, "add pay")
		took := waitFor(t, 3*time.Second, "new file", func() bool { return live(t, cat, "component:default/pay") })
		if limit := freq + freq/10 + time.Second; took > limit {
			t.Errorf("new file took %v, more than one interval (%v with slack)", took, limit)
		}
		p := ps.Provider("git-infra")
		waitFor(t, 3*time.Second, "state shows the commit", func() bool { return p.State().Commit == commit })
		s := p.State()
		if s.LastError != "" || s.LastSuccess.IsZero() || s.Files != 2 || s.Kind != "git" || s.Target != url {
			t.Errorf("state %+v", s)
		}
		if !s.NextRun.After(s.LastRun.Add(-freq)) {
			t.Errorf("next run %v is not after the last run %v", s.NextRun, s.LastRun)
		}

		// Deleting the file orphans its entity; the next full refresh
		// deletes it under the delete strategy.
		srv.Delete("team/infra", "main", "catalog-info.yaml")
		waitFor(t, 3*time.Second, "deleted file orphaned", func() bool {
			e, ok := get(t, cat, "component:default/root-svc")
			return ok && e.orphan()
		})
		if err := cat.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(t, cat, "component:default/root-svc"); ok {
			t.Error("orphan kept after a full refresh with the delete strategy")
		}
		if !live(t, cat, "component:default/pay") {
			t.Error("the other file's entity was lost")
		}
	})
}

// TestGitProviderGlobsAndLocations checks nested globs, Location targets
// relative to a file of the repository, skipping an unchanged commit and
// a forced re-apply.
func TestGitProviderGlobsAndLocations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := gittest.NewServer(t)
		url := srv.CreateRepo("mono")
		loc := "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: extra\nspec:\n  targets: [./extra/more.yaml]\n"
		head := srv.Commit("mono", "main", map[string]string{
			"catalog-info.yaml":              component("top"),
			"a/catalog-info.yaml":            component("a1", "a2"),
			"a/b/c/catalog-info.yaml":        component("deep") + "---\n" + loc,
			"a/b/c/extra/more.yaml":          component("via-location"),
			"a/other.yaml":                   component("unmatched"),
			"a/catalog-info.yaml.bak":        component("backup"),
			"docs/catalog-info.yaml/note.md": "a directory named like the file",
		}, "tree")
		cat := newCatalog(t, st)
		ps := newProviders(t, cat, "", []config.GitProvider{{ID: "mono", URL: url, CatalogPath: "/**/catalog-info.yaml"}}, nil)

		s := run(t, ps, "git-mono", false)
		if s.Commit != head || s.Files != 3 || s.Skipped || len(s.Problems) != 0 {
			t.Fatalf("state %+v", s)
		}
		for _, ref := range []string{"top", "a1", "a2", "deep", "via-location"} {
			if !live(t, cat, "component:default/"+ref) {
				t.Errorf("%s missing", ref)
			}
		}
		for _, ref := range []string{"unmatched", "backup"} {
			if _, ok := get(t, cat, "component:default/"+ref); ok {
				t.Errorf("%s read, but no catalogPath match names it", ref)
			}
		}

		// Nothing new: skipped, and the state says so.
		if s := run(t, ps, "git-mono", false); !s.Skipped || s.Commit != head {
			t.Errorf("unchanged commit not skipped: %+v", s)
		}
		// A forced run (a refresh of one of its entities) applies again.
		if s := run(t, ps, "git-mono", true); s.Skipped || s.Files != 3 {
			t.Errorf("forced run: %+v", s)
		}

		// Refreshing one of its entities re-reads the repository.
		if err := ps.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		next := srv.Commit("mono", "main", map[string]string{"b/catalog-info.yaml": component("b1")}, "add b")
		if err := cat.RefreshEntity(t.Context(), "component:default/top"); err != nil {
			t.Fatal(err)
		}
		if !live(t, cat, "component:default/b1") || ps.Provider("git-mono").State().Commit != next {
			t.Errorf("entity refresh did not re-read the repository: %+v", ps.Provider("git-mono").State())
		}

		// A root-only pattern on another provider sees only the root file.
		ps2 := newProviders(t, cat, "", []config.GitProvider{{ID: "mono-root", URL: url}}, nil)
		if s := run(t, ps2, "git-mono-root", false); s.Files != 1 {
			t.Errorf("default catalogPath matched %d files, want 1", s.Files)
		}
	})
}

// TestGitProviderAuthFailure checks that refused credentials leave the
// catalog as it was and are recorded, and that the first run after a
// restart applies even when the commit did not change.
func TestGitProviderAuthFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := gittest.NewServer(t, gittest.WithBasicAuth("bot", "right-token"))
		url := srv.CreateRepo("private")
		srv.Commit("private", "main", map[string]string{"catalog-info.yaml": component("secret-svc")}, "first")
		cat := newCatalog(t, st)
		cache := t.TempDir()
		good := config.GitProvider{ID: "private", URL: url, Auth: config.GitAuth{Username: "bot", Token: "right-token"}}
		ps := newProviders(t, cat, cache, []config.GitProvider{good}, nil)
		run(t, ps, "git-private", false)
		if !live(t, cat, "component:default/secret-svc") {
			t.Fatal("entity missing after a good run")
		}

		// A restart with a wrong token: the run fails, the entity stays.
		bad := good
		bad.Auth.Token = "wrong-token-value"
		psBad := newProviders(t, cat, cache, []config.GitProvider{bad}, nil)
		p := psBad.Provider("git-private")
		err := p.Run(t.Context(), false)
		if code := greenroom.ErrorCode(err); code != greenroom.CodeUnauthorized {
			t.Fatalf("run with a wrong token: %v (code %q), want unauthorized", err, code)
		}
		s := p.State()
		if s.LastError == "" || !s.LastSuccess.IsZero() || s.LastRun.IsZero() {
			t.Errorf("state after a failed run: %+v", s)
		}
		if strings.Contains(s.LastError, "wrong-token-value") || strings.Contains(err.Error(), "wrong-token-value") {
			t.Errorf("the token leaked into the error: %s", s.LastError)
		}
		if !live(t, cat, "component:default/secret-svc") {
			t.Error("a failed run changed the catalog")
		}

		// The catalog lost the provider's entities (as after a wipe); a
		// restarted provider re-applies an unchanged commit on its first run.
		if _, err := cat.ApplyProvider(t.Context(), "git-private", nil); err != nil {
			t.Fatal(err)
		}
		if e, _ := get(t, cat, "component:default/secret-svc"); !e.orphan() {
			t.Fatal("setup: the entity should be an orphan now")
		}
		psAgain := newProviders(t, cat, cache, []config.GitProvider{good}, nil)
		if s := run(t, psAgain, "git-private", false); s.Skipped || s.Files != 1 {
			t.Errorf("first run after restart: %+v", s)
		}
		if !live(t, cat, "component:default/secret-svc") {
			t.Error("first run after a restart did not re-apply the unchanged commit")
		}
		if s := psAgain.Provider("git-private").State(); s.LastError != "" || s.LastSuccess.IsZero() {
			t.Errorf("state after recovery: %+v", s)
		}
	})
}

// TestGitProviderBrokenFile checks that a file that does not parse, and
// one with an invalid entity, record their problems on their own sources
// only.
func TestGitProviderBrokenFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := gittest.NewServer(t)
		url := srv.CreateRepo("mixed")
		invalid := strings.Replace(component("bad-tags"), "  name: bad-tags\n", "  name: bad-tags\n  tags: ['Not Valid!']\n", 1)
		srv.Commit("mixed", "main", map[string]string{
			"good/catalog-info.yaml":    component("good"),
			"broken/catalog-info.yaml":  "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n",
			"invalid/catalog-info.yaml": invalid,
		}, "mixed")
		cat := newCatalog(t, st)
		ps := newProviders(t, cat, "", []config.GitProvider{{ID: "mixed", URL: url, CatalogPath: "/*/catalog-info.yaml"}}, nil)
		s := run(t, ps, "git-mixed", false)
		if s.Files != 3 {
			t.Fatalf("files %d, want 3: %+v", s.Files, s)
		}
		if !live(t, cat, "component:default/good") {
			t.Error("good file's entity missing")
		}
		var broken, invalidSeen int
		for _, p := range s.Problems {
			switch {
			case strings.Contains(p, "good/catalog-info.yaml"):
				t.Errorf("problem on the good file: %s", p)
			case strings.Contains(p, "broken/catalog-info.yaml"):
				broken++
			case strings.Contains(p, "invalid/catalog-info.yaml"):
				invalidSeen++
			}
		}
		if broken == 0 || invalidSeen == 0 {
			t.Errorf("problems %q: want one on broken/ and one on invalid/", s.Problems)
		}
		good, err := st.SourceState(t.Context(), catalog.ProviderSourceName("git-mixed", "good/catalog-info.yaml"))
		if err != nil || len(good.Problems) != 0 || good.EntityCount != 1 {
			t.Errorf("good source state %+v, %v", good, err)
		}
		bad, err := st.SourceState(t.Context(), catalog.ProviderSourceName("git-mixed", "invalid/catalog-info.yaml"))
		if err != nil || len(bad.Problems) == 0 {
			t.Errorf("invalid source state %+v, %v: want its problem recorded", bad, err)
		}
	})
}
