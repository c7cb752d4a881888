package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"greenroom/internal/integration/githubprovider"
)

func TestCatalogProvidersCmd(t *testing.T) {
	now := time.Now()
	list := githubprovider.StatusList{Items: []githubprovider.Status{
		{Name: "github-acme", Organization: "acme", LastSuccess: now.Add(-2 * time.Minute), NextRun: now.Add(3 * time.Minute),
			ReposSeen: 500, FilesFound: 374, Requests: 5,
			RateLimits: []githubprovider.RateLimitStatus{{Resource: "graphql", Limit: 5000, Remaining: 4990}}},
		{Name: "github-other", Organization: "other", LastError: "github provider github-other: list repositories of other: rate limit"},
		{Name: "github-org-acme", Type: "githubOrg", Organization: "acme", Users: 40, Groups: 7, LastSuccess: now.Add(-time.Minute)},
		{Name: "git-infra", Type: "git", Target: "https://git.acme.dev/infra.git", Commit: "0123456789abcdef0123", FilesFound: 3},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/catalog/providers" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"name":"NotFoundError","message":"no such route"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer srv.Close()

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"table", []string{"--server", srv.URL}, 0, []string{"github-acme", "acme", "ok", "2m0s ago", "500", "374", "graphql 4990/5000",
			"github-other", "failing", "never", "rate limit",
			"githubOrg", "40 users, 7 groups", "git-infra", "https://git.acme.dev/infra.git@0123456789ab"}, ""},
		{"json", []string{"--server", srv.URL, "-o", "json"}, 0, []string{`"name": "github-acme"`, `"filesFound": 374`}, ""},
		{"bad output", []string{"--server", srv.URL, "-o", "yaml"}, 2, nil, "want table or json"},
		{"bad server", []string{"--server", "ftp://x"}, 2, nil, "want an http:// or https:// URL"},
		{"no server", []string{"--server", "http://127.0.0.1:1"}, 1, nil, "cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(t.Context(), append([]string{"catalog", "providers"}, tt.args...), &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, errb.String())
			}
		})
	}
}
