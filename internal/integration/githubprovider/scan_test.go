package githubprovider

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/config"
	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestScanFollowsTheOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		fake.AddOrg("acme")
		fake.AddRepo("acme", githubfake.Repo{Name: "payments", Files: map[string]string{
			"catalog-info.yaml": component("payments") + "---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  targets: [./docs/more.yaml]\n",
			"docs/more.yaml":    component("payments-docs"),
		}})
		fake.AddRepo("acme", githubfake.Repo{Name: "billing", Files: map[string]string{"catalog-info.yaml": component("billing")}})
		fake.AddRepo("acme", githubfake.Repo{Name: "old", Archived: true, Files: map[string]string{"catalog-info.yaml": component("old")}})
		fake.AddRepo("acme", githubfake.Repo{Name: "nocatalog", Files: map[string]string{"README.md": "hi"}})
		fake.AddRepo("acme", githubfake.Repo{Name: "empty"})
		e := newEnv(t, s, fake, providerConfig("acme"))
		e.scan()

		all := []string{"payments", "payments-docs", "billing", "old", "billing-renamed"}
		want := map[string]bool{"payments": true, "payments-docs": true, "billing": true}
		check := func(step string) {
			t.Helper()
			got := e.present(all...)
			for _, n := range all {
				if got[n] != want[n] {
					t.Errorf("%s: %s present=%v, want %v", step, n, got[n], want[n])
				}
			}
		}
		check("first scan")
		p, _ := e.entity("payments")
		if got, want := p.Metadata.Annotations["backstage.io/managed-by-location"], "url:https://github.com/acme/payments/blob/main/catalog-info.yaml"; got != want {
			t.Errorf("managed-by-location %q, want %q", got, want)
		}
		d, _ := e.entity("payments-docs")
		if got, want := d.Metadata.Annotations["backstage.io/managed-by-location"], "url:https://github.com/acme/payments/blob/main/docs/more.yaml"; got != want {
			t.Errorf("docs managed-by-location %q, want %q", got, want)
		}
		st := e.prov.Status()
		if st.ReposSeen != 5 || st.ReposMatched != 3 || st.FilesFound != 2 || st.LastSuccess.IsZero() || st.LastError != "" {
			t.Errorf("status after first scan: %+v", st)
		}
		if st.Requests < 2 || st.Requests > 3 { // one listing query, plus the Location target's file
			t.Errorf("first scan sent %d requests, want 2", st.Requests)
		}

		// Archived: orphaned (and deleted by the next cleanup). Deleted
		// file: gone. Rename: the new name's source replaces the old.
		fake.ArchiveRepo("acme", "payments")
		fake.RenameRepo("acme", "billing", "billing2")
		e.scan()
		want = map[string]bool{"billing": true}
		check("after archive and rename")
		b, _ := e.entity("billing")
		if got := b.Metadata.Annotations["backstage.io/managed-by-location"]; !strings.Contains(got, "/acme/billing2/") {
			t.Errorf("renamed repository's entity still managed by %q", got)
		}
		fake.DeleteFile("acme", "billing2", "main", "catalog-info.yaml")
		e.scan()
		want = map[string]bool{}
		check("after the file was deleted")
	})
}

func TestScanFilters(t *testing.T) {
	fake := githubfake.New(t, githubfake.Config{})
	fake.AddOrg("acme")
	repos := []githubfake.Repo{
		{Name: "svc-pay", Visibility: "private", Topics: []string{"backstage", "team-a"}},
		{Name: "svc-web", Visibility: "public", Topics: []string{"backstage"}},
		{Name: "lib-fork", Visibility: "public", Fork: true},
		{Name: "svc-internal", Visibility: "internal", Topics: []string{"experimental"}},
	}
	for _, r := range repos {
		r.Files = map[string]string{"catalog-info.yaml": component(r.Name)}
		fake.AddRepo("acme", r)
	}
	fake.PushFile("acme", "svc-web", "release", "catalog-info.yaml", component("svc-web-release"))
	all := []string{"svc-pay", "svc-web", "lib-fork", "svc-internal", "svc-web-release"}
	tests := []struct {
		name    string
		filters config.GitHubProviderFilters
		want    []string
	}{
		{"none", config.GitHubProviderFilters{AllowForks: true}, []string{"svc-pay", "svc-web", "lib-fork", "svc-internal"}},
		{"no forks", config.GitHubProviderFilters{}, []string{"svc-pay", "svc-web", "svc-internal"}},
		{"repository regex", config.GitHubProviderFilters{AllowForks: true, RepositoryRE: mustRE("svc-.*")}, []string{"svc-pay", "svc-web", "svc-internal"}},
		{"topic include", config.GitHubProviderFilters{AllowForks: true, TopicInclude: []string{"backstage"}}, []string{"svc-pay", "svc-web"}},
		{"topic exclude", config.GitHubProviderFilters{AllowForks: true, TopicExclude: []string{"team-a", "experimental"}}, []string{"svc-web", "lib-fork"}},
		{"include and exclude", config.GitHubProviderFilters{AllowForks: true, TopicInclude: []string{"backstage"}, TopicExclude: []string{"team-a"}}, []string{"svc-web"}},
		{"visibility", config.GitHubProviderFilters{AllowForks: true, Visibility: []string{"public", "internal"}}, []string{"svc-web", "lib-fork", "svc-internal"}},
		{"branch", config.GitHubProviderFilters{AllowForks: true, Branch: "release"}, []string{"svc-web-release"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := providerConfig("acme")
			pc.Filters = tt.filters
			e := newEnv(t, storetest.SQLite(t), fake, pc)
			e.scan()
			var got []string
			for _, n := range all {
				if e.present(n)[n] {
					got = append(got, n)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entities (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanGlobReadsTreesOfMovedHeadsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		fake.AddOrg("acme")
		fake.AddRepo("acme", githubfake.Repo{Name: "mono", Files: map[string]string{
			"catalog-info.yaml": component("mono"), "services/a/catalog-info.yaml": component("mono-a"),
			".github/catalog-info.yaml": component("hidden"), "services/b/README.md": "b",
		}})
		fake.AddRepo("acme", githubfake.Repo{Name: "other", Files: map[string]string{"deep/x/catalog-info.yaml": component("other-x")}})
		pc := providerConfig("acme")
		pc.CatalogPath = "/**/catalog-info.yaml"
		e := newEnv(t, s, fake, pc)
		e.scan()
		if got := e.present("mono", "mono-a", "other-x", "hidden"); !got["mono"] || !got["mono-a"] || !got["other-x"] || got["hidden"] {
			t.Fatalf("after first glob scan: %v", got)
		}
		e.scan()
		if st := e.prov.Status(); st.Requests != 1 || st.FilesFound != 3 {
			t.Errorf("unchanged rescan: %d requests and %d files, want 1 listing query and 3 files", st.Requests, st.FilesFound)
		}
		fake.PushFile("acme", "other", "main", "deep/y/catalog-info.yaml", component("other-y"))
		e.scan()
		if st := e.prov.Status(); st.Requests != 3 { // listing, other's tree, the new file
			t.Errorf("rescan after one push: %d requests, want 3", st.Requests)
		}
		if got := e.present("other-y", "mono-a"); !got["other-y"] || !got["mono-a"] {
			t.Errorf("after push: %v", got)
		}
	})
}

func TestBrokenFileOnlyAffectsItsSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		fake.AddOrg("acme")
		fake.AddRepo("acme", githubfake.Repo{Name: "good", Files: map[string]string{"catalog-info.yaml": component("good")}})
		fake.AddRepo("acme", githubfake.Repo{Name: "broken", Files: map[string]string{"catalog-info.yaml": "kind: [unclosed\n"}})
		e := newEnv(t, s, fake, providerConfig("acme"))
		res, err := e.prov.scan(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		applied, err := e.cat.ApplyProvider(t.Context(), e.prov.Name(), res.sources)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied.Problems) != 1 || !strings.HasPrefix(applied.Problems[0].Error(), "acme/broken/catalog-info.yaml:1:") {
			t.Fatalf("problems: %v, want one about broken's catalog-info.yaml", applied.Problems)
		}
		if !e.present("good")["good"] {
			t.Error("good's entity missing next to a broken repository")
		}
		e.scan()
		if st := e.prov.Status(); st.Problems != 1 || len(st.ProblemList) != 1 || !strings.Contains(st.ProblemList[0], "acme/broken/") || st.LastError != "" {
			t.Errorf("status: problems %v, last error %q; want 1 problem naming acme/broken and no scan error", st.ProblemList, st.LastError)
		}
	})
}

func TestOutageKeepsTheCatalog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		fake.AddOrg("acme")
		fake.AddRepo("acme", githubfake.Repo{Name: "a", Files: map[string]string{"catalog-info.yaml": component("a")}})
		e := newEnv(t, s, fake, providerConfig("acme"))
		e.scan()
		ok := e.prov.Status().LastSuccess
		for _, outage := range []struct {
			name   string
			break_ func()
		}{
			{"server errors", func() { fake.FailNext(10, 502) }},
			{"rate limit exhausted", func() { fake.ExhaustRateLimit("graphql", time.Hour) }},
		} {
			outage.break_()
			err := e.disc.Scan(t.Context(), e.prov)
			if err == nil {
				t.Fatalf("%s: scan succeeded", outage.name)
			}
			if got := e.present("a"); !got["a"] {
				t.Errorf("%s: entity lost or orphaned", outage.name)
			}
			st := e.prov.Status()
			if st.LastError == "" || st.LastErrorAt.IsZero() || !st.LastSuccess.Equal(ok) {
				t.Errorf("%s: status %+v", outage.name, st)
			}
		}
		if st := e.prov.Status(); len(st.RateLimits) == 0 {
			t.Errorf("status shows no rate limits: %+v", st)
		}
	})
}
