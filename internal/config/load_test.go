package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// envMap returns a LookupEnv over m.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// noEnv is a LookupEnv with nothing set, so tests never see the real
// environment.
func noEnv(string) (string, bool) { return "", false }

// writeConfig writes text to a file in a fresh temporary directory.
func writeConfig(tb testing.TB, name, text string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// lines renders the problems of at least severity min, one per string.
func lines(r Report, min Severity) []string {
	var out []string
	for _, p := range r.Problems {
		if p.Severity >= min {
			out = append(out, p.Severity.String()+" "+p.String())
		}
	}
	return out
}

func mustLoad(tb testing.TB, opts LoadOptions) (*Config, Report) {
	tb.Helper()
	if opts.LookupEnv == nil {
		opts.LookupEnv = noEnv
	}
	c, r, err := Load(opts)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return c, r
}

func TestLoadBackstageDefaults(t *testing.T) {
	env := envMap(map[string]string{
		"POSTGRES_HOST": "db.internal", "POSTGRES_PORT": "5433",
		"POSTGRES_USER": "backstage", "POSTGRES_PASSWORD": "pg-password",
	})
	tests := []struct {
		name       string
		files      []string
		wantListen Listen
		wantDriver string
		wantLocs   []string
		wantInfos  []string
	}{
		{
			name:       "app-config.yaml alone",
			files:      []string{"testdata/backstage/app-config.yaml"},
			wantListen: Listen{Port: 7007},
			wantDriver: "sqlite",
			// ../../examples/... relative to testdata/backstage/.
			wantLocs: []string{
				"examples/entities.yaml", "examples/template/template.yaml", "examples/org.yaml",
			},
			wantInfos: []string{
				"warning testdata/backstage/app-config.yaml:3:3: app.baseUrl: differs from backend.baseUrl (http://localhost:7007); Greenroom serves the UI and the API from one address, so links to the UI will use http://localhost:3000",
				"info testdata/backstage/app-config.yaml:20:3: backend.csp: ignored by Greenroom (yet)",
				"info testdata/backstage/app-config.yaml:24:3: backend.cors: ignored by Greenroom (yet)",
				"info testdata/backstage/app-config.yaml:40:7: integrations.github[0].token: environment variable GITHUB_TOKEN is not set, so the value is left out",
				"info testdata/backstage/app-config.yaml:75:3: catalog.import: ignored by Greenroom (yet)",
				"info testdata/backstage/app-config.yaml:108:3: catalog.useUrlReadersSearch: ignored by Greenroom (yet)",
			},
		},
		{
			name:       "with app-config.production.yaml",
			files:      []string{"testdata/backstage/app-config.yaml", "testdata/backstage/app-config.production.yaml"},
			wantListen: Listen{Port: 7007},
			wantDriver: "postgres",
			// The production file's ./examples/... replace them, relative to it.
			wantLocs: []string{
				"testdata/backstage/examples/entities.yaml", "testdata/backstage/examples/template/template.yaml",
				"testdata/backstage/examples/org.yaml",
			},
			wantInfos: []string{
				"info testdata/backstage/app-config.yaml:20:3: backend.csp: ignored by Greenroom (yet)",
				"info testdata/backstage/app-config.yaml:24:3: backend.cors: ignored by Greenroom (yet)",
				"info testdata/backstage/app-config.yaml:40:7: integrations.github[0].token: environment variable GITHUB_TOKEN is not set, so the value is left out",
				"info testdata/backstage/app-config.yaml:75:3: catalog.import: ignored by Greenroom (yet)",
				"info testdata/backstage/app-config.yaml:108:3: catalog.useUrlReadersSearch: ignored by Greenroom (yet)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r := mustLoad(t, LoadOptions{Files: tt.files, LookupEnv: env})
			if diff := cmp.Diff(tt.wantInfos, lines(r, SeverityInfo)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantListen, c.Backend.Listen); diff != "" {
				t.Errorf("listen (-want +got):\n%s", diff)
			}
			if got := c.Backend.Database.Driver(); got != tt.wantDriver {
				t.Errorf("Driver() = %q, want %q", got, tt.wantDriver)
			}
			var locs []string
			for _, l := range c.Catalog.Locations {
				locs = append(locs, filepath.ToSlash(l.Path))
			}
			if diff := cmp.Diff(tt.wantLocs, locs); diff != "" {
				t.Errorf("location paths (-want +got):\n%s", diff)
			}
			if c.DemoEnabled() {
				t.Error("DemoEnabled() = true with catalog locations configured")
			}
		})
	}
}

func TestLoadMergeOrder(t *testing.T) {
	tests := []struct {
		name      string
		files     []string
		environ   []string
		title     string
		listen    Listen
		org       any
		methods   any
		locTarget []string
	}{
		{
			name:      "base then override",
			files:     []string{"testdata/merge/base.yaml", "testdata/merge/override.yaml"},
			title:     "Override Portal",
			listen:    Listen{Host: "127.0.0.1", Port: 8080},
			org:       "Acme Corp",
			methods:   []any{"GET"},
			locTarget: []string{"./catalog/override.yaml"},
		},
		{
			name:      "override then base",
			files:     []string{"testdata/merge/override.yaml", "testdata/merge/base.yaml"},
			title:     "Base Portal",
			listen:    Listen{Host: "127.0.0.1", Port: 7007},
			org:       map[string]any{"name": "Acme"},
			methods:   []any{"GET", "POST"},
			locTarget: []string{"./catalog/base.yaml", "https://github.com/acme/base/blob/main/catalog-info.yaml"},
		},
		{
			name:      "APP_CONFIG_ applies last",
			files:     []string{"testdata/merge/base.yaml", "testdata/merge/override.yaml"},
			environ:   []string{"APP_CONFIG_backend_listen_port=9090", "APP_CONFIG_app_title=From Env", "PATH=/usr/bin"},
			title:     "From Env",
			listen:    Listen{Host: "127.0.0.1", Port: 9090},
			org:       "Acme Corp",
			methods:   []any{"GET"},
			locTarget: []string{"./catalog/override.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustLoad(t, LoadOptions{Files: tt.files, Environ: tt.environ})
			if c.App.Title != tt.title {
				t.Errorf("title = %q, want %q", c.App.Title, tt.title)
			}
			if diff := cmp.Diff(tt.listen, c.Backend.Listen); diff != "" {
				t.Errorf("listen (-want +got):\n%s", diff)
			}
			raw := c.Raw()
			if diff := cmp.Diff(tt.org, raw["organization"]); diff != "" {
				t.Errorf("organization (-want +got):\n%s", diff)
			}
			cors := raw["backend"].(map[string]any)["cors"].(map[string]any)
			if diff := cmp.Diff(tt.methods, cors["methods"]); diff != "" {
				t.Errorf("cors.methods (-want +got):\n%s", diff)
			}
			if cors["origin"] != "http://localhost:3000" {
				t.Errorf("cors.origin = %v, want it kept from base.yaml", cors["origin"])
			}
			var targets []string
			for _, l := range c.Catalog.Locations {
				targets = append(targets, l.Target)
			}
			if diff := cmp.Diff(tt.locTarget, targets); diff != "" {
				t.Errorf("locations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadListen(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Listen
		errs []string
	}{
		{name: "absent", yaml: "backend: {}\n", want: Listen{Port: 7007}},
		{name: "port string", yaml: "backend:\n  listen: '7008'\n", want: Listen{Port: 7008}},
		{name: "colon port", yaml: "backend:\n  listen: ':7008'\n", want: Listen{Port: 7008}},
		{name: "host and port", yaml: "backend:\n  listen: 127.0.0.1:7008\n", want: Listen{Host: "127.0.0.1", Port: 7008}},
		{name: "object", yaml: "backend:\n  listen:\n    host: 0.0.0.0\n    port: 7008\n", want: Listen{Host: "0.0.0.0", Port: 7008}},
		{name: "object with empty host", yaml: "backend:\n  listen:\n    host: ''\n    port: 7008\n", want: Listen{Port: 7008}},
		{name: "object port from substitution", yaml: "backend:\n  listen:\n    port: '7008'\n", want: Listen{Port: 7008}},
		{name: "bare number", yaml: "backend:\n  listen: 7008\n", want: Listen{Port: 7008}},
		{
			name: "ipv6 string", yaml: "backend:\n  listen: '[::1]:7008'\n", want: Listen{Port: 7007},
			errs: []string{`error F:2:3: backend.listen: expected <port>, <host>:<port> or {host, port}, got "[::1]:7008"`},
		},
		{
			name: "bad port", yaml: "backend:\n  listen: 'localhost:http'\n", want: Listen{Port: 7007},
			errs: []string{`error F:2:3: backend.listen: expected <port>, <host>:<port> or {host, port}, got "localhost:http"`},
		},
		{
			name: "port zero", yaml: "backend:\n  listen:\n    port: 0\n", want: Listen{Port: 7007},
			errs: []string{"error F:3:5: backend.listen.port: expected an integer between 1 and 65535, got 0"},
		},
		{
			name: "list", yaml: "backend:\n  listen: [7008]\n", want: Listen{Port: 7007},
			errs: []string{"error F:2:3: backend.listen: expected <port>, <host>:<port> or {host, port}, got a list"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.yaml)
			c, r, _ := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			if diff := cmp.Diff(tt.want, c.Backend.Listen); diff != "" {
				t.Errorf("listen (-want +got):\n%s", diff)
			}
			got := lines(r, SeverityWarning)
			for i := range got {
				got[i] = strings.Replace(got[i], f, "F", 1)
			}
			if diff := cmp.Diff(tt.errs, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadErrorsLocated(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{
			file: "testdata/errors/types.yaml",
			want: []string{
				`error testdata/errors/types.yaml:2:3: app.baseUrl: expected an absolute http:// or https:// URL, got "localhost:7007"`,
				"error testdata/errors/types.yaml:3:3: app.title: expected a string, got 42",
				`error testdata/errors/types.yaml:7:5: backend.listen.port: expected an integer between 1 and 65535, got "abc"`,
				`error testdata/errors/types.yaml:9:5: backend.database.client: expected one of better-sqlite3, sqlite3, pg, got "mysql"`,
				`error testdata/errors/types.yaml:12:7: catalog.locations[0].type: expected one of file, url, got "github"`,
				`error testdata/errors/types.yaml:15:7: catalog.locations[1].target: expected an absolute http:// or https:// URL, got "not-a-url"`,
				"error testdata/errors/types.yaml:16:7: catalog.locations[2].type: missing required key type",
				`error testdata/errors/types.yaml:18:3: greenroom.demo: expected true or false, got "maybe"`,
				`error testdata/errors/types.yaml:20:5: greenroom.log.format: expected one of text, json, got "xml"`,
				`error testdata/errors/types.yaml:21:5: greenroom.log.level: expected one of debug, info, warn, error, got "verbose"`,
				"error testdata/errors/types.yaml:23:5: greenroom.server.requestTimeout: expected a duration such as '30s', '2 minutes', 'PT1M' or {seconds: 30}, got 30",
				"error testdata/errors/types.yaml:24:5: greenroom.server.shutdownTimeout: unknown property 'minuts'; expected one or more of 'years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'",
				`error testdata/errors/types.yaml:25:5: greenroom.server.maxBodyBytes: expected a positive integer (bytes), got "10MB"`,
				`error testdata/errors/types.yaml:27:5: greenroom.database.connectTimeout: "soon" is not a valid duration; try a number followed by a unit such as '1d' or '2 seconds'`,
			},
		},
		{
			file: "testdata/errors/duplicate.yaml",
			want: []string{`error testdata/errors/duplicate.yaml:5:3: duplicate key: mapping key "baseUrl" already defined at [2:3]`},
		},
		{
			file: "testdata/errors/syntax.yaml",
			want: []string{"error testdata/errors/syntax.yaml:4:8: did not find expected ',' or ']' (while parsing a flow sequence at line 3, column 12)"},
		},
		{
			file: "testdata/errors/root-list.yaml",
			want: []string{"error testdata/errors/root-list.yaml:1:1: expected a mapping of keys at the top of the file, got a list"},
		},
		{
			file: "testdata/errors/multidoc.yaml",
			want: []string{"error testdata/errors/multidoc.yaml:4:1: a config file holds one YAML document; document 2 is extra"},
		},
		{
			file: "testdata/errors/port-range.yaml",
			want: []string{
				"error testdata/errors/port-range.yaml:2:3: backend.listen.port: expected an integer between 1 and 65535, got 70000",
				"error testdata/errors/port-range.yaml:7:7: backend.database.connection.port: expected an integer between 1 and 65535, got 99999",
			},
		},
		{
			file: "testdata/errors/absent.yaml",
			want: []string{"error testdata/errors/absent.yaml: cannot read config file: testdata/errors/absent.yaml does not exist"},
		},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			c, r, err := Load(LoadOptions{Files: []string{tt.file}, LookupEnv: noEnv})
			if diff := cmp.Diff(tt.want, lines(r, SeverityWarning)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			var pe *ProblemsError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ProblemsError", err)
			}
			if got := strings.Split(err.Error(), "\n"); len(got) != len(tt.want) {
				t.Errorf("Error() has %d lines, want one per problem: %q", len(got), err.Error())
			}
			var p Problem
			if !errors.As(err, &p) || p.Severity != SeverityError {
				t.Errorf("errors.As(err, &Problem) = %v", p)
			}
			if c == nil {
				t.Fatal("Config is nil on error")
			}
			if c.Backend.Listen.Port != 7007 {
				t.Errorf("a bad value must leave the default, port = %d", c.Backend.Listen.Port)
			}
		})
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	_, r, err := Load(LoadOptions{Files: []string{"testdata/unknown/app-config.yaml"}, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("unknown keys must not fail Load: %v", err)
	}
	want := []string{
		`warning testdata/unknown/app-config.yaml:3:3: app.baseURL: unknown key "baseURL"; did you mean "baseUrl"?`,
		`warning testdata/unknown/app-config.yaml:7:5: backend.listen.prot: unknown key "prot"; did you mean "port"?`,
		`warning testdata/unknown/app-config.yaml:8:3: backend.databse: unknown key "databse"; did you mean "database"?`,
		"info testdata/unknown/app-config.yaml:10:3: backend.cors: ignored by Greenroom (yet)",
		`warning testdata/unknown/app-config.yaml:12:3: backend.frobnicate: unknown key "frobnicate"`,
		`warning testdata/unknown/app-config.yaml:17:7: catalog.locations[0].tpye: unknown key "tpye"; did you mean "type"?`,
		`warning testdata/unknown/app-config.yaml:20:3: greenroom.dataDri: unknown key "dataDri"; did you mean "dataDir"?`,
		`warning testdata/unknown/app-config.yaml:22:5: greenroom.log.levle: unknown key "levle"; did you mean "level"?`,
		`warning testdata/unknown/app-config.yaml:23:1: catalgo: unknown top-level section "catalgo"; did you mean "catalog"?`,
	}
	if diff := cmp.Diff(want, lines(r, SeverityInfo)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestLoadNoFiles(t *testing.T) {
	c, r := mustLoad(t, LoadOptions{})
	want := Default()
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(Config{}), cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".raw"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("config without files (-want +got):\n%s", diff)
	}
	if len(r.Problems) != 0 {
		t.Errorf("problems = %v", r.Problems)
	}
	if !c.DemoEnabled() {
		t.Error("demo must default to on without catalog locations")
	}
}

func TestLoadLocations(t *testing.T) {
	text := `catalog:
  locations:
    - type: file
      target: /srv/catalog/all.yaml
    - type: file
      target: teams/org.yaml
      rules:
        - allow: [User, Group]
    - type: url
      target: https://github.com/acme/catalog/blob/main/all.yaml
    - type: file
    - just-a-string
    - type: url
      target: https://github.com/acme/x.yaml
      rules:
        - allow: Component
        - allow: [API, 7]
`
	f := writeConfig(t, "app-config.yaml", text)
	c, r, _ := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
	want := []Location{
		{Type: "file", Target: "/srv/catalog/all.yaml", Path: filepath.Clean("/srv/catalog/all.yaml"), File: f, Line: 3},
		{Type: "file", Target: "teams/org.yaml", Path: filepath.Join(filepath.Dir(f), "teams", "org.yaml"),
			Rules: []LocationRule{{Allow: []string{"User", "Group"}}}, File: f, Line: 5},
		{Type: "url", Target: "https://github.com/acme/catalog/blob/main/all.yaml", File: f, Line: 9},
		{Type: "url", Target: "https://github.com/acme/x.yaml", Rules: []LocationRule{{Allow: []string{"API"}}}, File: f, Line: 13},
	}
	if diff := cmp.Diff(want, c.Catalog.Locations); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
	wantProblems := []string{
		"error F:11:7: catalog.locations[3].target: missing required key target",
		`error F:12:7: catalog.locations[4]: expected a mapping with type and target, got "just-a-string"`,
		`error F:16:11: catalog.locations[5].rules[0].allow: expected a list of entity kinds, got "Component"`,
		"error F:17:24: catalog.locations[5].rules[1].allow[1]: expected an entity kind such as Component, got 7",
	}
	got := lines(r, SeverityWarning)
	for i := range got {
		got[i] = strings.Replace(got[i], f, "F", 1)
	}
	if diff := cmp.Diff(wantProblems, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
