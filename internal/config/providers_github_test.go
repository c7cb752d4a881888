package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestGitHubProviders(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     []GitHubProvider
		problems []string // substrings of the warnings and errors, in order
	}{
		{
			name: "single provider object",
			yaml: "catalog:\n  providers:\n    github:\n      organization: acme\n",
			want: []GitHubProvider{{ID: "default", Organization: "acme", Host: "github.com", CatalogPath: "/catalog-info.yaml",
				Filters: GitHubProviderFilters{AllowForks: true}, Schedule: ProviderSchedule{Frequency: 5 * time.Minute, Timeout: 3 * time.Minute}}},
		},
		{
			name: "providers by id with every key",
			yaml: `catalog:
  providers:
    github:
      acmeProd:
        organization: acme
        host: ghe.acme.dev
        catalogPath: /**/catalog-info.yaml
        webhookSecret: s3cret
        filters:
          branch: main
          repository: 'svc-.*'
          allowForks: false
          topic:
            include: [backstage]
            exclude: [experimental]
          visibility: [public, internal]
        schedule:
          frequency: { minutes: 30 }
          timeout: PT3M
          initialDelay: 15s
events:
  modules:
    github:
      webhookSecret: events-secret
`,
			want: []GitHubProvider{{ID: "acmeProd", Organization: "acme", Host: "ghe.acme.dev", CatalogPath: "/**/catalog-info.yaml", WebhookSecret: "s3cret",
				Filters: GitHubProviderFilters{Branch: "main", Repository: "svc-.*", TopicInclude: []string{"backstage"},
					TopicExclude: []string{"experimental"}, Visibility: []string{"public", "internal"}},
				Schedule: ProviderSchedule{Frequency: 30 * time.Minute, Timeout: 3 * time.Minute, InitialDelay: 15 * time.Second}}},
		},
		{
			name: "bad input",
			yaml: `catalog:
  providers:
    github:
      a:
        organizaton: acme
      b:
        organization: acme
        catalogPath: /**/catalog-info.yaml
        validateLocationsExist: true
      c:
        organization: acme
        filters:
          repository: '(unclosed'
          visibility: [secret]
      d:
        organization: acme
        schedule:
          frequency: { cron: '0 * * * *' }
          timeout: 1m
`,
			problems: []string{
				`catalog.providers.github.a.organization: missing required key organization`,
				`catalog.providers.github.a.organizaton: unknown key "organizaton"; did you mean "organization"?`,
				`catalog.providers.github.b.validateLocationsExist: the catalog path /**/catalog-info.yaml contains a wildcard`,
				`catalog.providers.github.c.filters.repository: not a valid regular expression`,
				`catalog.providers.github.c.filters.visibility[0]`,
				`catalog.providers.github.d.schedule.frequency: cron frequencies are not supported`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.yaml)
			c, r, err := Load(LoadOptions{Files: []string{f}})
			if err != nil && tt.problems == nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range r.Problems {
				if p.Severity >= SeverityWarning {
					got = append(got, p.String())
				}
			}
			if len(got) != len(tt.problems) {
				t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(tt.problems))
			}
			for i, want := range tt.problems {
				if !strings.Contains(got[i], want) {
					t.Errorf("problem %d: %s\nwant it to contain %q", i, got[i], want)
				}
			}
			if tt.problems != nil {
				return
			}
			if diff := cmp.Diff(tt.want, c.Catalog.GitHubProviders, cmpopts.IgnoreFields(GitHubProvider{}, "File", "Line"),
				cmpopts.IgnoreFields(GitHubProviderFilters{}, "RepositoryRE")); diff != "" {
				t.Errorf("providers (-want +got):\n%s", diff)
			}
			for _, p := range c.Catalog.GitHubProviders {
				if p.Filters.Repository != "" && (p.Filters.RepositoryRE == nil || !p.Filters.RepositoryRE.MatchString("svc-a") || p.Filters.RepositoryRE.MatchString("xsvc-a")) {
					t.Errorf("repository regex %v is not anchored", p.Filters.RepositoryRE)
				}
			}
			if strings.Contains(tt.yaml, "events-secret") && c.GitHubEvents.WebhookSecret.Reveal() != "events-secret" {
				t.Errorf("events.modules.github.webhookSecret = %q", c.GitHubEvents.WebhookSecret.Reveal())
			}
		})
	}
}
