package urlread

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

func rewriteReader(t *testing.T) *Reader {
	t.Helper()
	in := config.Integrations{
		GitHub: []config.GitHubIntegration{
			{Host: "ghe.acme.dev", APIBaseURL: "https://ghe.acme.dev/api/v3", Token: "ghe-token"},
			{Host: "ghe-raw.acme.dev", RawBaseURL: "https://raw.ghe-raw.acme.dev"},
			{Host: "ghe-api.acme.dev:8443", APIBaseURL: "https://ghe-api.acme.dev:8443/api/v3"},
			{Host: "ghe-none.acme.dev"},
		},
		GitLab: []config.GitLabIntegration{
			{Host: "git.acme.dev", APIBaseURL: "https://git.acme.dev/gitlab/api/v4", BaseURL: "https://git.acme.dev/gitlab", Token: "gl-token"},
		},
	}
	r, err := New(in, config.Reading{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRewrite(t *testing.T) {
	r := rewriteReader(t)
	tests := []struct {
		name     string
		in       string
		want     string
		provider string
		auth     string
	}{
		{
			name: "github.com without token: raw",
			in:   "https://github.com/backstage/backstage/blob/master/packages/catalog-model/examples/all.yaml",
			want: "https://raw.githubusercontent.com/backstage/backstage/master/packages/catalog-model/examples/all.yaml", provider: "github",
		},
		{
			name: "github.com tree and raw URLs",
			in:   "https://github.com/o/r/tree/v1.2.0/catalog-info.yaml",
			want: "https://raw.githubusercontent.com/o/r/v1.2.0/catalog-info.yaml", provider: "github",
		},
		{
			name: "github.com raw URL, query and fragment dropped",
			in:   "https://github.com/o/r/raw/main/a%20b/c.yaml?plain=1#L3",
			want: "https://raw.githubusercontent.com/o/r/main/a%20b/c.yaml", provider: "github",
		},
		{
			name: "GitHub Enterprise with token: contents API",
			in:   "https://ghe.acme.dev/platform/catalog/blob/main/teams/payments.yaml",
			want: "https://ghe.acme.dev/api/v3/repos/platform/catalog/contents/teams/payments.yaml?ref=main", provider: "github", auth: "Bearer ghe-token",
		},
		{
			name: "ref with a slash through ?path=",
			in:   "https://ghe.acme.dev/o/r/blob/feature/new-team?path=catalog-info.yaml",
			want: "https://ghe.acme.dev/api/v3/repos/o/r/contents/catalog-info.yaml?ref=feature%2Fnew-team", provider: "github", auth: "Bearer ghe-token",
		},
		{
			name: "apiBaseUrl only, no token: API",
			in:   "https://ghe-api.acme.dev:8443/o/r/blob/main/x.yaml",
			want: "https://ghe-api.acme.dev:8443/api/v3/repos/o/r/contents/x.yaml?ref=main", provider: "github",
		},
		{
			name: "rawBaseUrl only",
			in:   "https://ghe-raw.acme.dev/o/r/blob/0123abc/dir/x.yaml",
			want: "https://raw.ghe-raw.acme.dev/o/r/0123abc/dir/x.yaml", provider: "github",
		},
		{
			name: "host matches case-insensitively and without the default port",
			in:   "https://GitHub.com:443/o/r/blob/main/x.yaml",
			want: "https://raw.githubusercontent.com/o/r/main/x.yaml", provider: "github",
		},
		{
			name: "gitlab.com subgroups",
			in:   "https://gitlab.com/g/sub/p/-/blob/main/catalog/all%20teams.yaml",
			want: "https://gitlab.com/api/v4/projects/g%2Fsub%2Fp/repository/files/catalog%2Fall%20teams.yaml/raw?ref=main", provider: "gitlab",
		},
		{
			name: "gitlab old blob form",
			in:   "https://gitlab.com/g/p/blob/v2/x.yaml",
			want: "https://gitlab.com/api/v4/projects/g%2Fp/repository/files/x.yaml/raw?ref=v2", provider: "gitlab",
		},
		{
			name: "gitlab self-hosted under a relative path, with token",
			in:   "https://git.acme.dev/gitlab/platform/catalog/-/blob/main/teams/payments.yaml",
			want: "https://git.acme.dev/gitlab/api/v4/projects/platform%2Fcatalog/repository/files/teams%2Fpayments.yaml/raw?ref=main", provider: "gitlab", auth: "Bearer gl-token",
		},
		{
			name: "gitlab ref with slashes through ?ref=",
			in:   "https://gitlab.com/g/p/-/blob/feature/x/catalog-info.yaml?ref=feature/x",
			want: "https://gitlab.com/api/v4/projects/g%2Fp/repository/files/catalog-info.yaml/raw?ref=feature%2Fx", provider: "gitlab",
		},
		{
			name: "gitlab ?ref= that does not lead the path is ignored",
			in:   "https://gitlab.com/g/p/-/blob/main/a/b.yaml?ref=other",
			want: "https://gitlab.com/api/v4/projects/g%2Fp/repository/files/a%2Fb.yaml/raw?ref=main", provider: "gitlab",
		},
		{
			name: "gitlab job artifact",
			in:   "https://gitlab.com/g/p/-/jobs/artifacts/main/raw/out/catalog.yaml?job=build",
			want: "https://gitlab.com/api/v4/projects/g%2Fp/jobs/artifacts/main/raw/out/catalog.yaml?job=build", provider: "gitlab",
		},
		{
			name: "gitlab files API URL read as it is",
			in:   "https://gitlab.com/api/v4/projects/42/repository/files/x.yaml/raw?ref=main",
			want: "https://gitlab.com/api/v4/projects/42/repository/files/x.yaml/raw?ref=main", provider: "gitlab",
		},
		{
			name: "other host read as it is",
			in:   "https://example.com/catalog/all.yaml?x=1",
			want: "https://example.com/catalog/all.yaml?x=1", provider: "url",
		},
		{
			name: "raw.githubusercontent.com is not an integration host",
			in:   "https://raw.githubusercontent.com/o/r/main/x.yaml",
			want: "https://raw.githubusercontent.com/o/r/main/x.yaml", provider: "url",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := parseURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.resolve(u)
			if err != nil {
				t.Fatal(err)
			}
			if got.url.String() != tt.want || got.provider != tt.provider {
				t.Errorf("resolve(%s) = %s (%s), want %s (%s)", tt.in, got.url, got.provider, tt.want, tt.provider)
			}
			if a := got.header.Get("Authorization"); a != tt.auth {
				t.Errorf("Authorization = %q, want %q", a, tt.auth)
			}
			if acc := got.header.Get("Accept"); (tt.provider == "github") != (acc == githubAccept) {
				t.Errorf("Accept = %q for provider %s", acc, tt.provider)
			}
		})
	}
}

func TestRewriteInvalid(t *testing.T) {
	r := rewriteReader(t)
	tests := []struct {
		in   string
		want string
	}{
		{"ftp://github.com/o/r/blob/main/x.yaml", "is not an absolute http:// or https:// URL"},
		{"github.com/o/r/blob/main/x.yaml", "is not an absolute http:// or https:// URL"},
		{"https:///x.yaml", "is not an absolute http:// or https:// URL"},
		{"https://" + strings.Repeat("a", 9000) + ".com/", "more than the limit"},
		{"https://github.com/o/r", "is not a GitHub file URL; expected https://github.com/<owner>/<repo>/blob/<ref>/<path>"},
		{"https://github.com/o/r/commits/main/x.yaml", "is not a GitHub file URL"},
		{"https://github.com/o/r/blob/main/", "names no file"},
		{"https://ghe-none.acme.dev/o/r/blob/main/x.yaml", "has neither apiBaseUrl nor rawBaseUrl; set one under integrations.github"},
		{"https://gitlab.com/g/p/-/tree/main/x.yaml", "is not a GitLab file URL; expected https://gitlab.com/<group>/<project>/-/blob/<ref>/<path>"},
		{"https://gitlab.com/g/p/-/blob/main", "names no file"},
		{"https://gitlab.com/-/blob/main/x.yaml", "is not a GitLab file URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 60)], func(t *testing.T) {
			_, err := r.ReadURLWithInfo(t.Context(), tt.in)
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v (%s), want invalid containing %q", err, greenroom.ErrorCode(err), tt.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      config.Integrations
		reading config.Reading
		want    string
	}{
		{"github api base", config.Integrations{GitHub: []config.GitHubIntegration{{Host: "x.dev", APIBaseURL: "not a url"}}}, config.Reading{}, "integrations.github[0]"},
		{"gitlab api base", config.Integrations{GitLab: []config.GitLabIntegration{{Host: "x.dev"}}}, config.Reading{}, "integrations.gitlab[0]: apiBaseUrl"},
		{"allow host", config.Integrations{}, config.Reading{Allow: []config.ReadingAllow{{Host: "a.*.dev"}}}, "backend.reading.allow[0].host"},
		{"allow path", config.Integrations{}, config.Reading{Allow: []config.ReadingAllow{{Host: "a.dev", Paths: []string{"x/"}}}}, "backend.reading.allow[0].paths[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.in, tt.reading, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestHostKey(t *testing.T) {
	got := map[string]string{}
	for _, s := range []string{"https://GitHub.com/x", "https://github.com:443/x", "http://h:80/", "http://h:8080/", "https://[FD00::1]:8443/", "https://[fd00::1]:443/"} {
		u, _ := parseURL(s)
		got[s] = hostKey(u)
	}
	want := map[string]string{
		"https://GitHub.com/x": "github.com", "https://github.com:443/x": "github.com", "http://h:80/": "h", "http://h:8080/": "h:8080",
		"https://[FD00::1]:8443/": "[fd00::1]:8443", "https://[fd00::1]:443/": "[fd00::1]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hostKey (-want +got):\n%s", diff)
	}
}
