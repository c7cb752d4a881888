package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadIntegrations(t *testing.T) {
	const file = "testdata/integrations/app-config.yaml"
	c, r := mustLoad(t, LoadOptions{Files: []string{file}, LookupEnv: envMap(map[string]string{"GITHUB_TOKEN": "ghp_env_value"})})

	want := Integrations{
		GitHub: []GitHubIntegration{
			{Host: "github.com", APIBaseURL: GitHubAPIBaseURL, RawBaseURL: GitHubRawBaseURL, Token: "ghp_env_value"},
			{Host: "ghe.acme.dev", APIBaseURL: "https://ghe.acme.dev/api/v3", Token: "ghe-token-value", Apps: []GitHubApp{{
				AppID: 1, ClientID: "Iv1.abc", ClientSecret: "gh-client-secret-value", PrivateKey: "gh-private-key-value",
				WebhookSecret: "gh-webhook-secret-value"}}},
		},
		GitLab: []GitLabIntegration{
			{Host: "git.acme.dev", APIBaseURL: "https://git.acme.dev/gitlab/api/v4", BaseURL: "https://git.acme.dev/gitlab", Token: "gitlab-token-value"},
			{Host: "gitlab.com", APIBaseURL: GitLabAPIBaseURL, BaseURL: "https://gitlab.com"},
		},
	}
	if diff := cmp.Diff(want, c.Integrations); diff != "" {
		t.Errorf("integrations (-want +got):\n%s", diff)
	}
	wantAllow := []ReadingAllow{
		{Host: "example.com"}, {Host: "*.internal.acme.dev"},
		{Host: "localhost:8080", Paths: []string{"/catalog/", "/docs/"}}, {Host: "[fd00::1]:7000-7010"},
	}
	if diff := cmp.Diff(wantAllow, c.Backend.Reading.Allow); diff != "" {
		t.Errorf("backend.reading.allow (-want +got):\n%s", diff)
	}
	wantProblems := []string{
		"info " + file + ":28:3: integrations.bitbucketCloud: ignored by Greenroom (yet)",
	}
	if diff := cmp.Diff(wantProblems, lines(r, SeverityInfo)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}

	var buf bytes.Buffer
	if err := c.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ghp_env_value", "ghe-token-value", "gitlab-token-value", "gh-client-secret-value", "gh-private-key-value", "gh-webhook-secret-value", "bb-app-password-value"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("dump shows secret %q:\n%s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "token: <redacted>") {
		t.Errorf("dump lacks the redacted tokens:\n%s", buf.String())
	}
}

func TestIntegrationsNotConfigured(t *testing.T) {
	f := writeConfig(t, "app-config.yaml", "app:\n  title: x\n")
	c, _ := mustLoad(t, LoadOptions{Files: []string{f}})
	if len(c.Integrations.GitHub)+len(c.Integrations.GitLab)+len(c.Backend.Reading.Allow) != 0 {
		t.Errorf("got %+v and %+v from a config without them", c.Integrations, c.Backend.Reading)
	}
	got := c.Integrations.WithDefaults()
	want := Integrations{
		GitHub: []GitHubIntegration{{Host: "github.com", APIBaseURL: "https://api.github.com", RawBaseURL: "https://raw.githubusercontent.com"}},
		GitLab: []GitLabIntegration{{Host: "gitlab.com", APIBaseURL: "https://gitlab.com/api/v4", BaseURL: "https://gitlab.com"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDefaults (-want +got):\n%s", diff)
	}
}

func TestIntegrationsWithDefaultsKeepsConfigured(t *testing.T) {
	in := Integrations{
		GitHub: []GitHubIntegration{{Host: "github.com", APIBaseURL: "https://proxy.acme.dev/gh", Token: "t"}},
		GitLab: []GitLabIntegration{{Host: "git.acme.dev", APIBaseURL: "https://git.acme.dev/api/v4", BaseURL: "https://git.acme.dev"}},
	}
	got := in.WithDefaults()
	if len(got.GitHub) != 1 || got.GitHub[0].APIBaseURL != "https://proxy.acme.dev/gh" {
		t.Errorf("GitHub = %+v; a configured github.com must not be replaced or repeated", got.GitHub)
	}
	if len(got.GitLab) != 2 || got.GitLab[1].Host != "gitlab.com" {
		t.Errorf("GitLab = %+v; want gitlab.com added after git.acme.dev", got.GitLab)
	}
	if len(in.GitLab) != 1 {
		t.Error("WithDefaults modified its receiver")
	}
}

func TestIntegrationsProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "github not a list",
			yaml: "integrations:\n  github: {host: github.com}\n",
			want: []string{"error F:2:3: integrations.github: expected a list of integrations, each with a host, got a mapping"},
		},
		{
			name: "github host with scheme",
			yaml: "integrations:\n  github:\n    - host: https://ghe.acme.dev\n",
			want: []string{`error F:3:7: integrations.github[0].host: "https://ghe.acme.dev" is not a valid host; write just the host name (and port), e.g. ghe.acme.dev`},
		},
		{
			name: "github host upper case",
			yaml: "integrations:\n  github:\n    - host: GHE.acme.dev\n      apiBaseUrl: https://GHE.acme.dev/api/v3\n",
			want: []string{`error F:3:7: integrations.github[0].host: "GHE.acme.dev": write the host in lower case`},
		},
		{
			name: "github api base not a URL",
			yaml: "integrations:\n  github:\n    - host: ghe.acme.dev\n      apiBaseUrl: ghe.acme.dev/api/v3\n",
			want: []string{`error F:4:7: integrations.github[0].apiBaseUrl: expected an absolute http:// or https:// URL, got "ghe.acme.dev/api/v3"`},
		},
		{
			name: "github token not a string",
			yaml: "integrations:\n  github:\n    - host: ghe.acme.dev\n      apiBaseUrl: https://ghe.acme.dev/api/v3\n      token: [a]\n",
			want: []string{"error F:5:7: integrations.github[0].token: expected a string, got a list"},
		},
		{
			name: "github typo",
			yaml: "integrations:\n  github:\n    - host: ghe.acme.dev\n      apiBaseURL: https://ghe.acme.dev/api/v3\n",
			want: []string{`warning F:4:7: integrations.github[0].apiBaseURL: unknown key "apiBaseURL"; did you mean "apiBaseUrl"?`},
		},
		{
			name: "github host twice",
			yaml: "integrations:\n  github:\n    - host: github.com\n    - host: github.com\n      token: x\n",
			want: []string{"warning F:4:7: integrations.github[1].host: host github.com is configured again; integrations.github[0] is used"},
		},
		{
			name: "gitlab without host",
			yaml: "integrations:\n  gitlab:\n    - token: x\n",
			want: []string{"error F:3:7: integrations.gitlab[0].host: missing required key host"},
		},
		{
			name: "gitlab self-hosted without apiBaseUrl",
			yaml: "integrations:\n  gitlab:\n    - host: git.acme.dev\n",
			want: []string{"error F:3:7: integrations.gitlab[0].apiBaseUrl: missing apiBaseUrl, required for hosts other than gitlab.com, e.g. https://git.acme.dev/api/v4"},
		},
		{
			name: "gitlab item not a mapping",
			yaml: "integrations:\n  gitlab:\n    - gitlab.com\n",
			want: []string{`error F:3:7: integrations.gitlab[0]: expected a mapping with host, got "gitlab.com"`},
		},
		{
			name: "unknown integration kind",
			yaml: "integrations:\n  githubb: []\n",
			want: []string{`warning F:2:3: integrations.githubb: unknown key "githubb"; did you mean "github"?`},
		},
		{
			name: "reading allow not a list",
			yaml: "backend:\n  reading:\n    allow: example.com\n",
			want: []string{`error F:3:5: backend.reading.allow: expected a list of {host, paths}, got "example.com"`},
		},
		{
			name: "reading allow without host",
			yaml: "backend:\n  reading:\n    allow:\n      - paths: [/x/]\n",
			want: []string{"error F:4:9: backend.reading.allow[0].host: missing required key host"},
		},
		{
			name: "reading allow wildcard in the middle",
			yaml: "backend:\n  reading:\n    allow:\n      - host: prod.*.acme.dev\n",
			want: []string{`error F:4:9: backend.reading.allow[0].host: "prod.*.acme.dev" is not a valid host name; only a leading *. is allowed as a wildcard`},
		},
		{
			name: "reading allow bad port range",
			yaml: "backend:\n  reading:\n    allow:\n      - host: localhost:9000-8000\n",
			want: []string{`error F:4:9: backend.reading.allow[0].host: "localhost:9000-8000": expected a port (1-65535) or a range such as 8000-8080 after the colon`},
		},
		{
			name: "reading allow relative path",
			yaml: "backend:\n  reading:\n    allow:\n      - host: example.com\n        paths: [catalog/]\n",
			want: []string{`error F:5:17: backend.reading.allow[0].paths[0]: expected a path prefix starting with /, got "catalog/"`},
		},
		{
			name: "reading typo",
			yaml: "backend:\n  reading:\n    alow: []\n",
			want: []string{`warning F:3:5: backend.reading.alow: unknown key "alow"; did you mean "allow"?`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.yaml)
			_, r, _ := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			got := lines(r, SeverityWarning)
			for i := range got {
				got[i] = strings.Replace(got[i], f, "F", 1)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHostPattern(t *testing.T) {
	tests := []struct {
		in      string
		want    HostPattern
		wantErr string
	}{
		{in: "example.com", want: HostPattern{Hostname: "example.com"}},
		{in: "Example.COM", want: HostPattern{Hostname: "example.com"}},
		{in: "*.internal.acme.dev", want: HostPattern{Hostname: "internal.acme.dev", Subdomains: true}},
		{in: "localhost:8080", want: HostPattern{Hostname: "localhost", MinPort: 8080, MaxPort: 8080}},
		{in: "*.acme.dev:8000-8080", want: HostPattern{Hostname: "acme.dev", Subdomains: true, MinPort: 8000, MaxPort: 8080}},
		{in: "10.1.2.3:443", want: HostPattern{Hostname: "10.1.2.3", MinPort: 443, MaxPort: 443}},
		{in: "[fd00::1]", want: HostPattern{Hostname: "fd00::1"}},
		{in: "[fd00::1]:7000-7010", want: HostPattern{Hostname: "fd00::1", MinPort: 7000, MaxPort: 7010}},
		{in: "", wantErr: "empty host"},
		{in: "https://example.com", wantErr: "is not a host"},
		{in: "example.com/catalog", wantErr: "is not a host"},
		{in: "prod.*.example.com", wantErr: "only a leading *."},
		{in: "*", wantErr: "not a valid host name"},
		{in: "localhost:", wantErr: "empty port"},
		{in: "localhost:0", wantErr: "expected a port"},
		{in: "localhost:65536", wantErr: "expected a port"},
		{in: "localhost:http", wantErr: "expected a port"},
		{in: "fd00::1", wantErr: "in brackets"},
		{in: "[fd00::1", wantErr: "missing ]"},
		{in: "[10.0.0.1]:80", wantErr: "not an IPv6 address"},
		{in: "[fd00::1]x", wantErr: "expected :port"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHostPattern(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseHostPattern(%q) = %+v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHostPattern(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
