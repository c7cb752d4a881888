package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/config"
)

// runMain runs the command line in this process, with stdout and stderr
// apart.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCatalogValidate(t *testing.T) {
	t.Parallel()
	empty := "testdata/catalog/empty.yaml"
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string // exact lines
		stderrHas string
	}{
		{
			name:   "valid files",
			args:   []string{"-c", empty, "catalog", "validate", "testdata/catalog/catalog-info.yaml"},
			stdout: []string{"2 files, 6 entities, 0 errors"},
		},
		{
			name: "errors located, exit 1",
			args: []string{"-c", empty, "catalog", "validate", "testdata/catalog/catalog-info.yaml", "testdata/catalog/broken.yaml"},
			code: 1,
			stdout: []string{
				`testdata/catalog/broken.yaml:6:5: component:default/bad_name: metadata.labels.team: value is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total, or empty, but found "no spaces allowed"`,
				`testdata/catalog/broken.yaml:7:1: component:default/bad_name: spec.owner: required property "owner" is missing`,
				`testdata/catalog/broken.yaml:12:1: pipeline:default/release: kind: unknown kind "Pipeline" with apiVersion "backstage.io/v1alpha1": no built-in or registered kind recognizes the entity, possibly caused by a foreign kind or apiVersion (kinds compare case-sensitively)`,
				"3 files, 8 entities, 3 errors",
			},
		},
		{
			name: "custom kinds from the configuration",
			args: []string{"-c", "testdata/catalog/custom-kinds.yaml", "catalog", "validate", "testdata/catalog/broken.yaml"},
			code: 1,
			stdout: []string{
				`testdata/catalog/broken.yaml:6:5: component:default/bad_name: metadata.labels.team: value is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total, or empty, but found "no spaces allowed"`,
				`testdata/catalog/broken.yaml:7:1: component:default/bad_name: spec.owner: required property "owner" is missing`,
				"1 file, 2 entities, 2 errors",
			},
		},
		{
			name:   "missing file",
			args:   []string{"-c", empty, "catalog", "validate", "testdata/catalog/absent.yaml"},
			code:   1,
			stdout: []string{"testdata/catalog/absent.yaml: file does not exist", "1 file, 0 entities, 1 error"},
		},
		{name: "no file", args: []string{"-c", empty, "catalog", "validate"}, code: 2, stderrHas: "requires at least 1 arg"},
		{name: "bad format", args: []string{"-c", empty, "catalog", "validate", "--format", "xml", "x.yaml"}, code: 2, stderrHas: `--format "xml"`},
		{name: "unknown flag", args: []string{"-c", empty, "catalog", "validate", "--strict", "x.yaml"}, code: 2, stderrHas: "unknown flag: --strict"},
		{name: "bad config", args: []string{"-c", "testdata/catalog/absent-config.yaml", "catalog", "validate", "x.yaml"}, code: 2, stderrHas: "absent-config.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			var got []string
			if s := strings.TrimSuffix(stdout, "\n"); s != "" {
				got = strings.Split(s, "\n")
			}
			if diff := cmp.Diff(tt.stdout, got); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderrHas)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, stdout, _ := runMain(t, "-c", empty, "catalog", "validate", "--format", "json", "testdata/catalog/broken.yaml")
		var r struct {
			Files    []string
			Entities int
			Errors   int
			Problems []struct {
				File         string
				Line, Column int
				Ref, Path    string
				Rule         string
			}
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout)
		}
		if code != 1 || r.Errors != 3 || r.Entities != 2 || len(r.Problems) != 3 || r.Problems[1].Line != 7 || r.Problems[1].Column != 1 ||
			r.Problems[1].Path != "spec.owner" || r.Problems[1].Ref != "component:default/bad_name" {
			t.Errorf("exit %d: %+v", code, r)
		}
	})
}

func TestCatalogGetAndList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target, err := filepath.Abs("testdata/catalog/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf("catalog:\n  rules:\n    - allow: [Component, API, Resource, System, Domain, Group, User, Location]\n  locations:\n    - type: file\n      target: %s\n", target))
	p := serve(t, dir, nil, "--config", cfg)
	waitEntities(t, p.base, "", 6)
	empty := "testdata/catalog/empty.yaml"
	srv := []string{"-c", empty, "catalog"}
	args := func(a ...string) []string { return append(append([]string{}, srv...), a...) }

	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string // exact
		stdoutHas []string
		stderrHas string
	}{
		{
			name: "table",
			args: args("list", "--server", p.base, "--filter", "kind=component"),
			stdout: "KIND       NAMESPACE  NAME        OWNER                   TYPE     LIFECYCLE\n" +
				"Component  default    checkout    payments                service  production\n" +
				"Component  default    storefront  payments                website  experimental\n" +
				"Component  finance    ledger      group:default/payments  service  production\n",
		},
		{
			name: "filter sets, fields, several pages",
			args: args("list", "--server", p.base, "--filter", "kind=component,spec.type=service", "--filter", "kind=api",
				"-o", "json", "--fields", "metadata.name", "--page-size", "1"),
			stdout: "[\n  {\n    \"metadata\": {\n      \"name\": \"checkout\"\n    }\n  },\n" +
				"  {\n    \"metadata\": {\n      \"name\": \"ledger\"\n    }\n  },\n" +
				"  {\n    \"metadata\": {\n      \"name\": \"ledger-api\"\n    }\n  }\n]\n",
		},
		{
			name:   "limit across pages, yaml stream",
			args:   args("list", "--server", p.base, "--filter", "kind=component", "--limit", "2", "--page-size", "1", "-o", "yaml", "--fields", "metadata.name"),
			stdout: "---\nmetadata:\n  name: checkout\n---\nmetadata:\n  name: storefront\n",
		},
		{
			name:   "no match",
			args:   args("list", "--server", p.base, "--filter", "kind=template", "-o", "json"),
			stdout: "[]\n",
		},
		{
			name:      "get, yaml",
			args:      args("get", "--server", p.base, "component:finance/ledger"),
			stdoutHas: []string{"apiVersion: backstage.io/v1alpha1\nkind: Component\n", "  name: ledger\n  namespace: finance\n", "- type: ownedBy\n  targetRef: group:default/payments\n"},
		},
		{
			name:      "get with default kind and namespace, json",
			args:      args("get", "--server", p.base, "ledger-api", "--kind", "api", "--namespace", "finance", "-o", "json"),
			stdoutHas: []string{`"kind": "API"`, `"definition": "openapi: 3.0.0`},
		},
		{name: "ref without kind", args: args("get", "--server", p.base, "checkout"), code: 2, stderrHas: "missing or empty kind"},
		{name: "unknown entity", args: args("get", "--server", p.base, "component:nope"), code: 1, stderrHas: "component:default/nope not found"},
		{name: "fields with a table", args: args("list", "--server", p.base, "--fields", "kind"), code: 2, stderrHas: "--fields needs --output json or yaml"},
		{name: "bad output", args: args("get", "--server", p.base, "-o", "table", "component:checkout"), code: 2, stderrHas: `--output "table"`},
		{name: "server and data dir", args: args("list", "--server", p.base, "--data-dir", dir), code: 2, stderrHas: "not both"},
		{
			name: "data dir of a running server", args: args("list", "--data-dir", filepath.Join(dir, ".greenroom")), code: 1,
			stderrHas: "in use by another greenroom process",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if tt.stdout != "" || len(tt.stdoutHas) == 0 && tt.code == 0 {
				if diff := cmp.Diff(tt.stdout, stdout); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			for _, s := range tt.stdoutHas {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderrHas)
			}
		})
	}

	if code := p.stop(t); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	t.Run("local data dir", func(t *testing.T) {
		code, stdout, stderr := runMain(t, args("list", "--data-dir", filepath.Join(dir, ".greenroom"), "--filter", "kind=api")...)
		want := "KIND  NAMESPACE  NAME        OWNER                   TYPE     LIFECYCLE\n" +
			"API   finance    ledger-api  group:default/payments  openapi  production\n"
		if code != 0 || stdout != want {
			t.Errorf("exit %d\n%s\nstderr: %s", code, stdout, stderr)
		}
	})
	t.Run("falls back to the local store when no server answers", func(t *testing.T) {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		local := writeConfig(t, t.TempDir(), fmt.Sprintf("backend:\n  baseUrl: http://127.0.0.1:%d\ngreenroom:\n  dataDir: %s\n",
			port, filepath.Join(dir, ".greenroom")))
		code, stdout, stderr := runMain(t, "-c", local, "catalog", "get", "group:payments", "-o", "json")
		var e struct{ Kind string }
		if code != 0 || json.Unmarshal([]byte(stdout), &e) != nil || e.Kind != "Group" || !strings.Contains(stderr, "no server answers at http://127.0.0.1:"+strconv.Itoa(port)) {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		code, _, stderr = runMain(t, "-c", local, "catalog", "get", "group:payments", "--server", "http://127.0.0.1:"+strconv.Itoa(port))
		if code != 1 || !strings.Contains(stderr, "cannot reach") {
			t.Errorf("an explicit --server must not fall back: exit %d, %s", code, stderr)
		}
	})
}

func TestCatalogRulesFromConfig(t *testing.T) {
	cfg, _, err := config.Load(config.LoadOptions{Files: []string{"../config/testdata/auth/good.yaml"},
		LookupEnv: func(string) (string, bool) { return "ci-token-abcdef", true }})
	if err != nil {
		t.Fatal(err)
	}
	r, err := catalogRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(cfg.Catalog.Locations[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	want := "[Component, System, API, Resource, Location]; [Resource(spec.type=database)]; " +
		"[Template] from url:https://github.com/acme/**, push:templates; [User, Group] from file:" + abs
	if got := r.String(); got != want {
		t.Errorf("rules:\n%s\nwant:\n%s", got, want)
	}
	def, err := catalogRules(config.Default())
	if err != nil || def.String() != "[Component, API, Location]" {
		t.Errorf("default rules: %s %v", def, err)
	}
}
