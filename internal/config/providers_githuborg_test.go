package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadGitHubOrgProviders(t *testing.T) {
	const file = "testdata/githuborg/app-config.yaml"
	c, r := mustLoad(t, LoadOptions{Files: []string{file}})
	want := []GitHubOrgProvider{
		{ID: "production", GitHubURL: "https://github.com", Host: "github.com", Orgs: []string{"acme", "acme-labs"},
			Schedule: ProviderSchedule{Frequency: 30 * time.Minute, Timeout: 3 * time.Minute, InitialDelay: 15 * time.Second}, File: file, Line: 4},
		{ID: "enterprise", GitHubURL: "https://ghe.acme.dev/", Host: "ghe.acme.dev",
			Schedule: ProviderSchedule{Frequency: time.Hour, Timeout: 15 * time.Minute}, File: file, Line: 11},
	}
	if diff := cmp.Diff(want, c.Catalog.GitHubOrgProviders); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	if got := lines(r, SeverityInfo); len(got) != 0 {
		t.Errorf("problems: %q", got)
	}
}

func TestGitHubOrgProvidersSingleObject(t *testing.T) {
	f := writeConfig(t, "app-config.yaml", `catalog:
  providers:
    githubOrg:
      id: main
      githubUrl: https://github.com
      orgs: [acme]
`)
	c, r := mustLoad(t, LoadOptions{Files: []string{f}})
	if len(c.Catalog.GitHubOrgProviders) != 1 {
		t.Fatalf("providers: %+v; problems %q", c.Catalog.GitHubOrgProviders, lines(r, SeverityInfo))
	}
	p := c.Catalog.GitHubOrgProviders[0]
	if p.ID != "main" || p.Host != "github.com" || !cmp.Equal(p.Orgs, []string{"acme"}) ||
		p.Schedule.Frequency != DefaultProviderFrequency || p.Schedule.Timeout != DefaultProviderTimeout {
		t.Errorf("provider: %+v", p)
	}
	if got := lines(r, SeverityInfo); len(got) != 0 {
		t.Errorf("problems: %q", got)
	}
}

func TestGitHubOrgProvidersBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"not a mapping", "githubOrg: yes\n",
			[]string{`error F:3:5: catalog.providers.githubOrg: expected a provider mapping with id, githubUrl, orgs and schedule, or a list of them, got "yes"`}},
		{"missing id and url", "githubOrg:\n      orgs: [acme]\n",
			[]string{"error F:3:5: catalog.providers.githubOrg.id: missing required key id", "error F:3:5: catalog.providers.githubOrg.githubUrl: missing required key githubUrl"}},
		{"bad url", "githubOrg:\n      id: x\n      githubUrl: github.com\n",
			[]string{`error F:5:7: catalog.providers.githubOrg.githubUrl: expected an absolute https:// URL of the GitHub host such as https://github.com, got "github.com"`}},
		{"bad org and id", "githubOrg:\n      id: 'a b'\n      githubUrl: https://github.com\n      orgs: [acme, 'x/y']\n",
			[]string{`error F:4:7: catalog.providers.githubOrg.id: expected letters, digits, '-', '_' or '.' (at most 63), got "a b"`,
				`error F:6:20: catalog.providers.githubOrg.orgs[1]: expected a GitHub organization login such as acme, got "x/y"`}},
		{"duplicate id and unknown key", "githubOrg:\n      - {id: a, githubUrl: 'https://github.com', org: [acme]}\n      - {id: a, githubUrl: 'https://github.com'}\n",
			[]string{`warning F:4:50: catalog.providers.githubOrg[0].org: unknown key "org"; did you mean "orgs"?`,
				"error F:5:10: catalog.providers.githubOrg[1].id: provider id a is used twice"}},
		{"cron schedule", "githubOrg:\n      id: a\n      githubUrl: https://github.com\n      schedule: {frequency: {cron: '* * * * *'}, timeout: {minutes: 1}}\n",
			[]string{"error F:6:18: catalog.providers.githubOrg.schedule.frequency: cron frequencies are not supported; give a duration such as {minutes: 30}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", "catalog:\n  providers:\n    "+tc.yaml)
			c, r, err := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			if err == nil && tc.want[len(tc.want)-1][:5] == "error" {
				t.Error("Load succeeded")
			}
			var got []string
			for _, l := range lines(r, SeverityWarning) {
				got = append(got, strings.ReplaceAll(l, f, "F"))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, p := range cfgProviders(c) {
				if p.ID != "a" {
					t.Errorf("invalid provider kept: %+v", p)
				}
			}
		})
	}
}

func cfgProviders(c *Config) []GitHubOrgProvider {
	if c == nil {
		return nil
	}
	return c.Catalog.GitHubOrgProviders
}
