package githubprovider

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/integration/urlread"
	"greenroom/internal/store/storetest"
)

// Issue 5 part 7: analyzing a GitHub repository's root URL finds its
// catalog file, read through the URL reader's GitHub contents API (pointed
// at the fake).
func TestAnalyzeRepositoryRoot(t *testing.T) {
	fake := githubfake.New(t, githubfake.Config{})
	fake.AddOrg("acme")
	fake.AddRepo("acme", githubfake.Repo{Name: "checkout", Files: map[string]string{"catalog-info.yaml": component("checkout")}})
	fake.AddRepo("acme", githubfake.Repo{Name: "bare", Files: map[string]string{"README.md": "x"}})
	ints := config.Integrations{GitHub: []config.GitHubIntegration{{Host: "github.com", APIBaseURL: fake.APIBaseURL(), Token: githubfake.DefaultToken}}}
	urls, err := urlread.New(ints, config.Reading{}, urlread.Options{AllowPrivateAddresses: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.NewService(storetest.SQLite(t), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cat.SetURLReader(urls)
	res, err := cat.AnalyzeLocation(t.Context(), catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "https://github.com/acme/checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ExistingEntityFiles) != 1 || !strings.HasSuffix(res.ExistingEntityFiles[0].Location.Target, "/acme/checkout/blob/HEAD/catalog-info.yaml") {
		b, _ := json.Marshal(res)
		t.Fatalf("analyze of the repository root: %s", b)
	}
	res, err = cat.AnalyzeLocation(t.Context(), catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "https://github.com/acme/bare"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ExistingEntityFiles) != 0 || len(res.GenerateEntities) != 1 {
		b, _ := json.Marshal(res)
		t.Errorf("analyze of a repository without a catalog file: %s, want one entity to generate", b)
	}
}
