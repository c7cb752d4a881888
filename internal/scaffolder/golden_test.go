package scaffolder_test

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
	"greenroom/templates"
)

var goldenPaths = []string{"go-service", "java-service", "react-app", "react-native-app"}

func goldenValues(name string) map[string]any {
	return map[string]any{
		"name": name, "owner": "group:default/team-payments", "system": "payments-processing",
		"repoUrl": "github.com?owner=acme-ledger&repo=" + name,
	}
}

// loadGolden parses a shipped template and returns its JSON and files.
func loadGolden(t testing.TB, id string) ([]byte, fs.FS) {
	t.Helper()
	src, err := fs.ReadFile(templates.FS, id+"/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(templates.FS, id)
	if err != nil {
		t.Fatal(err)
	}
	return yamlToJSON(t, string(src)), sub
}

// dryRunGolden renders a shipped template and writes the result to dir.
func dryRunGolden(t testing.TB, svc *scaffolder.Service, id string, values map[string]any, dir string) scaffolder.DryRunResult {
	t.Helper()
	raw, files := loadGolden(t, id)
	res, err := svc.DryRun(t.Context(), scaffolder.DryRunRequest{Template: raw, Values: values}, files)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if res.Status != scaffolder.StatusCompleted {
		t.Fatalf("%s: dry-run %s: %s", id, res.Status, res.Error)
	}
	if dir != "" {
		for _, f := range res.DirectoryContents {
			b, err := base64.StdEncoding.DecodeString(f.Base64Content)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return res
}

func TestGoldenPathsValidate(t *testing.T) {
	reg := scaffolder.NewRegistry()
	eng := scaffolder.NewEngine(scaffolder.Limits{})
	for _, id := range goldenPaths {
		raw, _ := loadGolden(t, id)
		tmpl, err := scaffolder.ParseTemplate(raw)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if ps := tmpl.Validate(reg, eng); len(ps) > 0 {
			t.Errorf("%s: %v", id, ps)
		}
	}
}

func TestGoldenPathsDryRun(t *testing.T) {
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	for _, id := range goldenPaths {
		t.Run(id, func(t *testing.T) {
			start := time.Now()
			res := dryRunGolden(t, h.svc, id, goldenValues("invoice-exporter"), "")
			t.Logf("%s: %d files in %s", id, len(res.DirectoryContents), time.Since(start))
			have := map[string]string{}
			for _, f := range res.DirectoryContents {
				b, _ := base64.StdEncoding.DecodeString(f.Base64Content)
				have[f.Path] = string(b)
			}
			for _, p := range requiredFiles {
				if _, ok := have[p]; !ok {
					t.Errorf("%s lacks %s", id, p)
				}
			}
			for p, content := range have {
				if strings.HasSuffix(p, ".njk") {
					t.Errorf("%s: %s kept its .njk extension", id, p)
				}
				if strings.Contains(content, "${{ values.") {
					t.Errorf("%s: %s has an unrendered expression", id, p)
				}
			}
			if !strings.Contains(have[".github/workflows/ci.yaml"], "${{ github.sha }}") {
				t.Errorf("%s: the workflow's GitHub expressions were rendered", id)
			}
			var ent map[string]any
			if err := yaml.Unmarshal([]byte(have["catalog-info.yaml"]), &ent); err != nil {
				t.Fatal(err)
			}
			ann := ent["metadata"].(map[string]any)["annotations"].(map[string]any)
			for _, a := range []string{"github.com/project-slug", "argocd/app-name", "datadog/dashboard-url", "sentry/project-slug", "opencost/service-label", "n8n/workflows"} {
				if s, _ := ann[a].(string); s == "" {
					t.Errorf("%s: catalog-info.yaml lacks annotation %s", id, a)
				}
			}
			if ann["github.com/project-slug"] != "acme-ledger/invoice-exporter" {
				t.Errorf("%s: project slug %v", id, ann["github.com/project-slug"])
			}
		})
	}
}

// requiredFiles are what every golden path generates (Property 5).
var requiredFiles = []string{
	"catalog-info.yaml", "Dockerfile", "README.md", "mkdocs.yml", "docs/index.md",
	".github/workflows/ci.yaml",
	"chart/Chart.yaml", "chart/values.yaml", "chart/templates/deployment.yaml", "chart/templates/service.yaml", "chart/templates/hpa.yaml",
	"argocd/invoice-exporter-dev.yaml", "argocd/invoice-exporter-staging.yaml", "argocd/invoice-exporter-production.yaml",
	"datadog/service.datadog.yaml",
}
