package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScaffolderConfig(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     Scaffolder
		problems []string
	}{
		{name: "defaults", yaml: "app: {title: x}\n", want: Scaffolder{}},
		{
			name: "all keys",
			yaml: `scaffolder:
  defaultAuthor: {name: Bot, email: bot@acme.example}
  defaultCommitMessage: scaffolded
  publishHosts: [git.acme.example]
  bundledTemplates: false
  sentry: {baseUrl: https://sentry.acme.example, token: tok}
  n8n: {baseUrl: http://n8n.local:5678}
  concurrentTasksLimit: 5
`,
			want: Scaffolder{DefaultAuthorName: "Bot", DefaultAuthorEmail: "bot@acme.example", DefaultCommitMessage: "scaffolded",
				PublishHosts: []string{"git.acme.example"}, BundledTemplates: new(false), SentryBaseURL: "https://sentry.acme.example", SentryToken: "tok", N8NBaseURL: "http://n8n.local:5678"},
			problems: []string{"scaffolder.concurrentTasksLimit: ignored by Greenroom"},
		},
		{
			name:     "bad values",
			yaml:     "scaffolder:\n  publishHosts: git.acme.example\n  sentry: {baseUrl: 'ftp://x'}\n  typo: 1\n",
			want:     Scaffolder{},
			problems: []string{"scaffolder.publishHosts", "scaffolder.sentry.baseUrl", "scaffolder.typo"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, _ := Load(LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", tt.yaml)}, LookupEnv: noEnv})
			if c == nil {
				t.Fatalf("no config: %v", r)
			}
			if d := cmp.Diff(tt.want, c.Scaffolder); d != "" {
				t.Errorf("Scaffolder (-want +got):\n%s", d)
			}
			var all []string
			for _, p := range r.Problems {
				all = append(all, p.String())
			}
			joined := strings.Join(all, "\n")
			for _, p := range tt.problems {
				if !strings.Contains(joined, p) {
					t.Errorf("problems lack %q:\n%s", p, joined)
				}
			}
			if len(tt.problems) == 0 && len(all) > 0 {
				t.Errorf("unexpected problems:\n%s", joined)
			}
		})
	}
}
