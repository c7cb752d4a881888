package config

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadEnvOverrides(t *testing.T) {
	base := writeConfig(t, "app-config.yaml", "app:\n  title: File Title\nbackend:\n  listen: ':7007'\n")
	tests := []struct {
		name    string
		environ []string
		check   func(t *testing.T, c *Config)
		want    []string // problems, warnings and errors
	}{
		{
			name:    "number parsed as JSON",
			environ: []string{"APP_CONFIG_backend_listen_port=7008"},
			check: func(t *testing.T, c *Config) {
				if c.Backend.Listen.Port != 7008 {
					t.Errorf("port = %d", c.Backend.Listen.Port)
				}
				if f, _ := c.Origin("backend.listen.port"); f != "APP_CONFIG_backend_listen_port" {
					t.Errorf("Origin = %q", f)
				}
			},
		},
		{
			name:    "quoted JSON string",
			environ: []string{`APP_CONFIG_app_title="false"`},
			check: func(t *testing.T, c *Config) {
				if c.App.Title != "false" {
					t.Errorf("title = %q", c.App.Title)
				}
			},
		},
		{
			name:    "not JSON is a string",
			environ: []string{"APP_CONFIG_app_title=Portal of Acme"},
			check: func(t *testing.T, c *Config) {
				if c.App.Title != "Portal of Acme" {
					t.Errorf("title = %q", c.App.Title)
				}
			},
		},
		{
			name:    "JSON list replaces locations",
			environ: []string{`APP_CONFIG_catalog_locations=[{"type":"file","target":"catalog/all.yaml"}]`},
			check: func(t *testing.T, c *Config) {
				want := []Location{{Type: "file", Target: "catalog/all.yaml", Path: filepath.Join("catalog", "all.yaml"), File: "APP_CONFIG_catalog_locations"}}
				if diff := cmp.Diff(want, c.Catalog.Locations); diff != "" {
					t.Errorf("locations (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "empty value skipped",
			environ: []string{"APP_CONFIG_app_title="},
			check: func(t *testing.T, c *Config) {
				if c.App.Title != "File Title" {
					t.Errorf("title = %q", c.App.Title)
				}
			},
		},
		{
			name:    "boolean where a string is expected",
			environ: []string{"APP_CONFIG_app_title=false"},
			want:    []string{"error APP_CONFIG_app_title: app.title: expected a string, got false"},
		},
		{
			name:    "invalid key",
			environ: []string{"APP_CONFIG_backend__listen=1", "APP_CONFIG_9lives=1"},
			want: []string{
				"error APP_CONFIG_backend__listen: invalid env config key 'backend__listen': each part must start with a letter and hold only letters, digits and '-'",
				"error APP_CONFIG_9lives: invalid env config key '9lives': each part must start with a letter and hold only letters, digits and '-'",
			},
		},
		{
			name:    "null refused",
			environ: []string{"APP_CONFIG_app_title=null"},
			want:    []string{"error APP_CONFIG_app_title: app.title: failed to parse JSON-serialized config value for key 'app_title': value may not be null"},
		},
		{
			name:    "conflicting variables",
			environ: []string{"APP_CONFIG_backend_listen=:7010", "APP_CONFIG_backend_listen_port=7011", `APP_CONFIG_app={"title":"A"}`, "APP_CONFIG_app=B"},
			want: []string{
				"error APP_CONFIG_backend_listen_port: backend.listen.port: could not nest config for key 'backend_listen_port' under existing value 'backend_listen'",
				"error APP_CONFIG_app: app: refusing to override existing config at key 'app'",
			},
			check: func(t *testing.T, c *Config) {
				if c.Backend.Listen.Port != 7010 || c.App.Title != "A" {
					t.Errorf("port %d, title %q", c.Backend.Listen.Port, c.App.Title)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, _ := Load(LoadOptions{Files: []string{base}, LookupEnv: noEnv, Environ: tt.environ})
			if diff := cmp.Diff(tt.want, lines(r, SeverityWarning)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestLoadEnvOverrideDuplicateKey(t *testing.T) {
	// os.Environ never repeats a name, but a caller-built list can; Backstage
	// refuses to let one variable override another.
	_, r, err := Load(LoadOptions{LookupEnv: noEnv, Environ: []string{"APP_CONFIG_app_title=A", "APP_CONFIG_app_title=B"}})
	want := []string{"error APP_CONFIG_app_title: app.title: refusing to override existing config at key 'app_title'"}
	if diff := cmp.Diff(want, lines(r, SeverityWarning)); diff != "" || err == nil {
		t.Errorf("err %v, problems (-want +got):\n%s", err, diff)
	}
}
