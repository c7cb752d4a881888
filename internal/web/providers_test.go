package web

import (
	"strings"
	"testing"
	"time"

	"greenroom/internal/integration/githubprovider"
	"greenroom/internal/store/storetest"
)

func TestProvidersPage(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	now := time.Now()
	states := []githubprovider.Status{
		{Name: "github-acme", Type: "github", Organization: "acme", LastSuccess: now.Add(-3 * time.Minute), NextRun: now.Add(2*time.Minute + 20*time.Second),
			ReposSeen: 500, FilesFound: 374, RequestsTotal: 12,
			RateLimits: []githubprovider.RateLimitStatus{{Resource: "graphql", Limit: 5000, Remaining: 4990, Reset: now.Add(time.Hour)}}},
		{Name: "github-other", Organization: "other", LastError: `list repositories: <script>alert(1)</script> rate limit exhausted`,
			LastErrorAt: now.Add(-time.Minute), Problems: 1, ProblemList: []string{"other/svc/catalog-info.yaml: line 3: bad"}},
		{Name: "github-org-acme", Type: "githubOrg", Organization: "acme", Users: 40, Groups: 7, Running: true},
		{Name: "git-infra", Type: "git", Target: "https://git.acme.dev/infra.git", Commit: "0123456789abcdef0123", FilesFound: 3},
	}
	f.h.ProviderPages(func() []githubprovider.Status { return states }).Routes(f.mux)

	res := f.get(t, "/admin/providers")
	if res.Code != 200 {
		t.Fatalf("status %d\n%s", res.Code, res.body)
	}
	for _, want := range []string{"<h1>Entity providers</h1>", "1 provider is failing", "github-acme", "500 repositories seen, 374 catalog files",
		"3 minutes ago", "in 2m", "graphql: 4,990 of 5,000 left", ">failing<", ">running<", ">ok<", ">pending<",
		"40 users, 7 groups", "https://git.acme.dev/infra.git @ 0123456789ab", "3 catalog files", "other/svc/catalog-info.yaml: line 3: bad",
		"&lt;script&gt;"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(res.body, "<script>alert") {
		t.Error("an error message was not escaped")
	}
	for _, p := range markupProblems(res.doc) {
		t.Error(p)
	}

	states = nil
	if res := f.get(t, "/admin/providers"); !strings.Contains(res.body, "No entity providers are configured") {
		t.Errorf("empty page:\n%s", res.body)
	}
}
