package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGitProviders(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "GIT_TOKEN" {
			return "s3cret-token", true
		}
		return "", false
	}
	tests := []struct {
		name     string
		yaml     string
		git      []GitProvider // File, Line not compared
		problems []string      // parts of the warnings and errors expected, in order
	}{
		{
			name: "defaults",
			yaml: "catalog:\n  providers:\n    git:\n      infra: {url: https://git.acme.dev/team/infra.git}\n",
			git: []GitProvider{{ID: "infra", URL: "https://git.acme.dev/team/infra.git", CatalogPath: "/catalog-info.yaml",
				Schedule: ProviderSchedule{Frequency: 5 * time.Minute, Timeout: 3 * time.Minute}}},
		},
		{
			name: "everything",
			yaml: `catalog:
  providers:
    git:
      infra:
        url: https://git.acme.dev/team/infra.git
        branch: refs/heads/release
        catalogPath: /**/catalog-info.yaml
        auth: {username: bot, token: {$env: GIT_TOKEN}}
        schedule: {frequency: {seconds: 90}, timeout: PT1M, initialDelay: 5s}
`,
			git: []GitProvider{{ID: "infra", URL: "https://git.acme.dev/team/infra.git", Branch: "release", CatalogPath: "/**/catalog-info.yaml",
				Auth:     GitAuth{Username: "bot", Token: "s3cret-token"},
				Schedule: ProviderSchedule{Frequency: 90 * time.Second, Timeout: time.Minute, InitialDelay: 5 * time.Second}}},
		},
		{
			name: "ssh",
			yaml: `catalog:
  providers:
    git:
      a: {url: "git@git.acme.dev:team/a.git", auth: {sshKey: KEY, passphrase: PW, knownHosts: "git.acme.dev ssh-ed25519 AAAA"}}
`,
			git: []GitProvider{{ID: "a", URL: "git@git.acme.dev:team/a.git", CatalogPath: "/catalog-info.yaml",
				Auth:     GitAuth{SSHKey: "KEY", Passphrase: "PW", KnownHosts: "git.acme.dev ssh-ed25519 AAAA"},
				Schedule: ProviderSchedule{Frequency: 5 * time.Minute, Timeout: 3 * time.Minute}}},
		},
		{
			name: "token from the gitlab integration of the host",
			yaml: `integrations:
  gitlab: [{host: git.acme.dev, apiBaseUrl: "https://git.acme.dev/api/v4", token: glpat}]
catalog:
  providers:
    git:
      a: {url: https://git.acme.dev/team/a.git}
      b: {url: https://other.dev/team/b.git}
`,
			git: []GitProvider{
				{ID: "a", URL: "https://git.acme.dev/team/a.git", CatalogPath: "/catalog-info.yaml",
					Auth:     GitAuth{Username: "oauth2", Token: "glpat", Integration: "integrations.gitlab[0]"},
					Schedule: ProviderSchedule{Frequency: 5 * time.Minute, Timeout: 3 * time.Minute}},
				{ID: "b", URL: "https://other.dev/team/b.git", CatalogPath: "/catalog-info.yaml",
					Schedule: ProviderSchedule{Frequency: 5 * time.Minute, Timeout: 3 * time.Minute}},
			},
		},
		{
			name:     "missing url",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {branch: main}\n",
			problems: []string{"catalog.providers.git.a.url: missing required key url"},
		},
		{
			name:     "credentials in the url",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: 'https://bot:tok@git.acme.dev/a.git'}\n",
			problems: []string{"catalog.providers.git.a.url: the url must not hold credentials"},
		},
		{
			name:     "not a git url",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: ftp.acme.dev/a}\n",
			problems: []string{"catalog.providers.git.a.url: expected an https://, http://, ssh:// or user@host:path git URL"},
		},
		{
			name:     "ssh key without known hosts",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: 'ssh://git@h/a.git', auth: {sshKey: K}}\n",
			problems: []string{"catalog.providers.git.a.auth.knownHosts: an sshKey needs knownHosts"},
		},
		{
			name:     "token for ssh",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: 'ssh://git@h/a.git', auth: {token: T}}\n",
			problems: []string{"catalog.providers.git.a.auth.token: a token is for an https url"},
		},
		{
			name:     "username without token",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: 'https://h/a.git', auth: {username: u}}\n",
			problems: []string{"catalog.providers.git.a.auth.username: username goes with token"},
		},
		{
			name: "typo is a warning with a suggestion",
			yaml: "catalog:\n  providers:\n    git:\n      a: {url: 'https://h/a.git', catalogpath: /x.yaml}\n",
			git: []GitProvider{{ID: "a", URL: "https://h/a.git", CatalogPath: "/catalog-info.yaml",
				Schedule: ProviderSchedule{Frequency: 5 * time.Minute, Timeout: 3 * time.Minute}}},
			problems: []string{`catalog.providers.git.a.catalogpath: unknown key "catalogpath"; did you mean "catalogPath"?`},
		},
		{
			name:     "bad id",
			yaml:     "catalog:\n  providers:\n    git:\n      'a b': {url: 'https://h/a.git'}\n",
			problems: []string{`provider id "a b" is not valid`},
		},
		{
			name:     "negated catalogPath",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: 'https://h/a.git', catalogPath: '!x'}\n",
			problems: []string{"catalog.providers.git.a.catalogPath: expected a glob"},
		},
		{
			name:     "bad branch",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: 'https://h/a.git', branch: 'a..b'}\n",
			problems: []string{"catalog.providers.git.a.branch: expected a branch name"},
		},
		{
			name:     "cron schedule",
			yaml:     "catalog:\n  providers:\n    git:\n      a: {url: 'https://h/a.git', schedule: {frequency: {cron: '* * * * *'}}}\n",
			problems: []string{"catalog.providers.git.a.schedule.frequency: cron frequencies are not supported"},
		},
		{
			name:     "not a mapping",
			yaml:     "catalog:\n  providers:\n    git: [a]\n",
			problems: []string{"catalog.providers.git: expected a mapping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, _ := Load(LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", tt.yaml)}, LookupEnv: env})
			got := lines(r, SeverityWarning)
			if len(got) != len(tt.problems) {
				t.Fatalf("problems %q, want %d matching %q", got, len(tt.problems), tt.problems)
			}
			for i, want := range tt.problems {
				if !strings.Contains(got[i], want) {
					t.Errorf("problem %d is %q, want it to contain %q", i, got[i], want)
				}
			}
			for i := range c.Catalog.GitProviders {
				g := &c.Catalog.GitProviders[i]
				if g.File == "" || g.Line == 0 {
					t.Errorf("%s has no location: %s:%d", g.ID, g.File, g.Line)
				}
				g.File, g.Line = "", 0
			}
			if diff := cmp.Diff(tt.git, c.Catalog.GitProviders); diff != "" {
				t.Errorf("git providers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDirectoryProviders(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     []DirectoryProvider // Path relative to the config's directory; File, Line not compared
		problems []string
	}{
		{
			name: "relative path resolves against the config file",
			yaml: "catalog:\n  providers:\n    directory:\n      mono: {path: ./services, catalogPath: '/**/catalog-info.yaml', schedule: {frequency: 2s}}\n",
			want: []DirectoryProvider{{ID: "mono", Target: "./services", Path: "services", CatalogPath: "/**/catalog-info.yaml",
				Schedule: ProviderSchedule{Frequency: 2 * time.Second, Timeout: 3 * time.Minute}}},
		},
		{
			name: "defaults",
			yaml: "catalog:\n  providers:\n    directory:\n      dev: {path: /srv/dev}\n",
			want: []DirectoryProvider{{ID: "dev", Target: "/srv/dev", Path: "/srv/dev", CatalogPath: "/catalog-info.yaml",
				Schedule: ProviderSchedule{Frequency: 30 * time.Second, Timeout: 3 * time.Minute}}},
		},
		{
			name:     "missing path",
			yaml:     "catalog:\n  providers:\n    directory:\n      dev: {catalogPath: /c.yaml}\n",
			problems: []string{"catalog.providers.directory.dev.path: missing required key path"},
		},
		{
			name:     "frequency under a second",
			yaml:     "catalog:\n  providers:\n    directory:\n      dev: {path: /x, schedule: {frequency: 10ms}}\n",
			problems: []string{"catalog.providers.directory.dev.schedule: frequency must be at least 1s"},
		},
		{
			name: "unknown key",
			yaml: "catalog:\n  providers:\n    directory:\n      dev: {path: /x, url: y}\n",
			want: []DirectoryProvider{{ID: "dev", Target: "/x", Path: "/x", CatalogPath: "/catalog-info.yaml",
				Schedule: ProviderSchedule{Frequency: 30 * time.Second, Timeout: 3 * time.Minute}}},
			problems: []string{`catalog.providers.directory.dev.url: unknown key "url"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeConfig(t, "app-config.yaml", tt.yaml)
			c, r, _ := Load(LoadOptions{Files: []string{file}, LookupEnv: noEnv})
			got := lines(r, SeverityWarning)
			if len(got) != len(tt.problems) {
				t.Fatalf("problems %q, want %d matching %q", got, len(tt.problems), tt.problems)
			}
			for i, want := range tt.problems {
				if !strings.Contains(got[i], want) {
					t.Errorf("problem %d is %q, want it to contain %q", i, got[i], want)
				}
			}
			for i := range tt.want {
				if !filepath.IsAbs(tt.want[i].Path) {
					tt.want[i].Path = filepath.Join(filepath.Dir(file), tt.want[i].Path)
				}
			}
			for i := range c.Catalog.DirectoryProviders {
				c.Catalog.DirectoryProviders[i].File, c.Catalog.DirectoryProviders[i].Line = "", 0
			}
			if diff := cmp.Diff(tt.want, c.Catalog.DirectoryProviders); diff != "" {
				t.Errorf("directory providers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitProviderSecretsRedacted(t *testing.T) {
	c, _, err := Load(LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", `catalog:
  providers:
    git:
      a: {url: 'https://h/a.git', auth: {token: tok-very-secret}}
      b: {url: 'ssh://git@h/b.git', auth: {sshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-very-secret\n", passphrase: pass-very-secret, knownHosts: "h ssh-ed25519 AAAA"}}
`)}, LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := c.Dump(&out); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"tok-very-secret", "key-very-secret", "pass-very-secret"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("dump shows %s:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "h ssh-ed25519 AAAA") {
		t.Errorf("dump lost knownHosts, which is no secret:\n%s", out.String())
	}
}
